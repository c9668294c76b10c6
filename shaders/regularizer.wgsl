// Keras' weight regularizers, l1 and l2 in one (L1L2):
//
// penalty:      out[0] = Σ l1·|w| + l2·w²  (one workgroup: invocation t sums
//               w[t], w[t+WG], ... in order, then the partial sums are added
//               pairwise in workgroup memory, as reduce_sum)
// penalty_grad: dw[i] = d[0] · (l1·sign(w[i]) + 2·l2·w[i]); sign(0) = 0, as
//               TensorFlow's gradient of |w|. 1-D, folded into 2-D past
//               65535 workgroups.

const WG = 256u;

struct Params {
  n: u32,
  l1: f32,
  l2: f32,
}

@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn penalty(@builtin(local_invocation_index) t: u32) {
  var s = 0.0;
  for (var i = t; i < p.n; i += WG) {
    s += p.l1 * abs(w[i]) + p.l2 * w[i] * w[i];
  }
  partial[t] = s;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    if (t < half) { partial[t] += partial[t + half]; }
    workgroupBarrier();
  }
  if (t == 0u) { out[0] = partial[0]; }
}

@group(0) @binding(1) var<storage, read> d: array<f32>;
@group(0) @binding(2) var<storage, read_write> dw: array<f32>;
@group(0) @binding(3) var<uniform> gp: Params;

@compute @workgroup_size(WG)
fn penalty_grad(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG;
  if (i >= gp.n) { return; }
  dw[i] = d[0] * (gp.l1 * sign(w[i]) + 2.0 * gp.l2 * w[i]);
}
