// Whole-tensor reductions to one value, and their backward.
//
// reduce_sum:       out[0] = scale · Σ x  (scale 1 for sum, 1/n for mean).
//                   One workgroup: invocation t sums x[t], x[t+WG], ... in
//                   order, then the WG partial sums are added pairwise in
//                   workgroup memory (log2 WG levels). One dispatch covers any
//                   n, which is all a per-sample loss or metric vector needs.
// broadcast_scalar: out[i] = scale · g[0]. The backward of reduce_sum, so the
//                   upstream gradient never leaves the GPU.

const WG = 256u;

struct Params {
  n: u32,
  scale: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn reduce_sum(@builtin(local_invocation_index) t: u32) {
  var s = 0.0;
  for (var i = t; i < p.n; i += WG) {
    s += x[i];
  }
  partial[t] = s;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    if (t < half) { partial[t] += partial[t + half]; }
    workgroupBarrier();
  }
  if (t == 0u) { out[0] = p.scale * partial[0]; }
}

fn gridIndex(gid: vec3u, groups: vec3u) -> u32 {
  return gid.x + gid.y * groups.x * WG;
}

// x holds the upstream gradient g, of one element.
@compute @workgroup_size(WG)
fn broadcast_scalar(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gridIndex(gid, groups);
  if (i < p.n) { out[i] = p.scale * x[0]; }
}
