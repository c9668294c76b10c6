// Elementwise ops: fill, scale, add, accumulate, multiply.
// Dispatch is 1-D, folded into 2-D past 65535 workgroups: see gridIndex.

const WG = 256u;

struct Params {
  n: u32,
  alpha: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> sum_out: array<f32>;
@group(0) @binding(3) var<uniform> add_p: Params;

@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@group(0) @binding(0) var<storage, read_write> fill_out: array<f32>;
@group(0) @binding(1) var<uniform> fill_p: Params;

fn gridIndex(gid: vec3u, groups: vec3u) -> u32 {
  return gid.x + gid.y * groups.x * WG;
}

@compute @workgroup_size(WG)
fn fill(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gridIndex(gid, groups);
  if (i < fill_p.n) { fill_out[i] = fill_p.alpha; }
}

// out = alpha * x
@compute @workgroup_size(WG)
fn scale(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gridIndex(gid, groups);
  if (i < p.n) { out[i] = p.alpha * x[i]; }
}

// out += alpha * x  (reads out: gradient and metric accumulation)
@compute @workgroup_size(WG)
fn accumulate(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gridIndex(gid, groups);
  if (i < p.n) { out[i] = out[i] + p.alpha * x[i]; }
}

// sum_out = x + alpha * y
@compute @workgroup_size(WG)
fn add(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gridIndex(gid, groups);
  if (i < add_p.n) { sum_out[i] = x[i] + add_p.alpha * y[i]; }
}

// sum_out = x ⊙ y (the same bindings as add; alpha unread)
@compute @workgroup_size(WG)
fn multiply(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gridIndex(gid, groups);
  if (i < add_p.n) { sum_out[i] = x[i] * y[i]; }
}
