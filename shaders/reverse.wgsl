// Reversal of one axis (a sequence's steps): x viewed as [outer, n, inner],
// out[o, k, i] = x[o, n − 1 − k, i]. One invocation per element; 1-D dispatch
// folded into 2-D past 65535 workgroups (gridIndex).

const WG = 256u;

struct Params {
  total: u32,  // outer · n · inner
  n: u32,      // the reversed axis
  inner: u32,  // the product of the axes after it
  pad: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

fn gridIndex(gid: vec3u, groups: vec3u) -> u32 {
  return gid.x + gid.y * groups.x * WG;
}

@compute @workgroup_size(WG)
fn reverse_axis(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gridIndex(gid, groups);
  if (i >= p.total) { return; }
  let block = p.n * p.inner;
  let o = i / block;
  let k = (i % block) / p.inner;
  let j = i % p.inner;
  out[i] = x[o * block + (p.n - 1u - k) * p.inner + j];
}
