// Masks of padded steps (src/ops/mask.ts): padding_mask makes Keras' mask from
// token ids (an Embedding's mask_zero); mask_weights turns a mask into the
// weights of a mean over its real entries, which the loss and the metrics use.

const WG = 256u;

struct Params {
  n: u32,
  pad: u32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

// 1 where the id is not 0, else 0. 1-D, folded into 2-D past 65535 workgroups.
@compute @workgroup_size(WG)
fn padding_mask(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG;
  if (i < p.n) { dst[i] = select(0.0, 1.0, src[i] != 0.0); }
}

var<workgroup> partial: array<f32, WG>;

// w = m / Σm (all 0 where Σm is 0): one workgroup sums the mask (WG strided partial sums, then a
// tree), then writes every weight. Masks are [batch, steps], small beside the step's other work.
@compute @workgroup_size(WG)
fn mask_weights(@builtin(local_invocation_id) lid: vec3u) {
  var s = 0.0;
  for (var i = lid.x; i < p.n; i += WG) { s += src[i]; }
  partial[lid.x] = s;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k /= 2u) {
    if (lid.x < k) { partial[lid.x] += partial[lid.x + k]; }
    workgroupBarrier();
  }
  let total = partial[0];
  let inv = select(0.0, 1.0 / total, total > 0.0);
  for (var i = lid.x; i < p.n; i += WG) { dst[i] = src[i] * inv; }
}

struct StepParams {
  n: u32,      // batch · steps · inner
  inner: u32,  // the values of one step
}

@group(0) @binding(0) var<storage, read> steps_x: array<f32>;
@group(0) @binding(1) var<storage, read> steps_mask: array<f32>;
@group(0) @binding(2) var<storage, read_write> steps_out: array<f32>;
@group(0) @binding(3) var<uniform> steps_p: StepParams;

// out = x · m[step]: every value of a step times its mask entry (Keras' zero output at padded steps).
@compute @workgroup_size(WG)
fn mask_steps(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG;
  if (i < steps_p.n) { steps_out[i] = steps_x[i] * steps_mask[i / steps_p.inner]; }
}
