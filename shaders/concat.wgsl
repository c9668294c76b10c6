// Concatenation along the last axis and its inverse: rows [rows, a] ‖ [rows, b]
// → [rows, a + b], and back. One invocation per element of the wide tensor;
// 1-D dispatch folded into 2-D past 65535 workgroups (gridIndex).

const WG = 256u;

struct Params {
  n: u32,     // rows · (a + b)
  a: u32,     // the first operand's last axis
  b: u32,     // the second's
  pad: u32,
}

@group(0) @binding(0) var<storage, read> cat_x: array<f32>;
@group(0) @binding(1) var<storage, read> cat_y: array<f32>;
@group(0) @binding(2) var<storage, read_write> cat_out: array<f32>;
@group(0) @binding(3) var<uniform> cat_p: Params;

@group(0) @binding(0) var<storage, read> split_in: array<f32>;
@group(0) @binding(1) var<storage, read_write> split_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> split_y: array<f32>;
@group(0) @binding(3) var<uniform> split_p: Params;

fn gridIndex(gid: vec3u, groups: vec3u) -> u32 {
  return gid.x + gid.y * groups.x * WG;
}

@compute @workgroup_size(WG)
fn concat_last(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gridIndex(gid, groups);
  if (i >= cat_p.n) { return; }
  let w = cat_p.a + cat_p.b;
  let row = i / w;
  let col = i % w;
  if (col < cat_p.a) {
    cat_out[i] = cat_x[row * cat_p.a + col];
  } else {
    cat_out[i] = cat_y[row * cat_p.b + col - cat_p.a];
  }
}

@compute @workgroup_size(WG)
fn split_last(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gridIndex(gid, groups);
  if (i >= split_p.n) { return; }
  let w = split_p.a + split_p.b;
  let row = i / w;
  let col = i % w;
  if (col < split_p.a) {
    split_x[row * split_p.a + col] = split_in[i];
  } else {
    split_y[row * split_p.b + col - split_p.a] = split_in[i];
  }
}
