// Whole-tensor reductions to one value, and their backward.
//
// reduce_sum:       out[0] = scale · Σ x  (scale 1 for sum, 1/n for mean).
//                   One workgroup: invocation t sums x[t], x[t+WG], ... in
//                   order, then the WG partial sums are added pairwise in
//                   workgroup memory (log2 WG levels). One dispatch covers any
//                   n, which is all a per-sample loss or metric vector needs.
// reduce_sum_into:  out[0] += scale · Σ x, in place: a per-sample loss or
//                   metric added straight into its running total.
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

// Σ x over the workgroup, returned to invocation 0. Called from uniform control flow only (it has barriers).
fn workgroupSum(t: u32) -> f32 {
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
  return partial[0];
}

@compute @workgroup_size(WG)
fn reduce_sum(@builtin(local_invocation_index) t: u32) {
  let s = workgroupSum(t);
  if (t == 0u) { out[0] = p.scale * s; }
}

// The sum rounded to f32 before it is scaled and added, as reduce_sum then accumulate would.
@compute @workgroup_size(WG)
fn reduce_sum_into(@builtin(local_invocation_index) t: u32) {
  let s = workgroupSum(t);
  if (t == 0u) { out[0] = out[0] + p.scale * s; }
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
