// Two adjacent axes swapped (NumPy's swapaxes(x, 1, 2), torch's
// x.transpose(1, 2)): x viewed as [outer, m, n, inner] becomes [outer, n, m,
// inner], out[o, j, i, c] = x[o, i, j, c]. Attention's heads: [B, T, H, D] ↔
// [B, H, T, D]. One invocation per element; 1-D dispatch folded into 2-D past
// 65535 workgroups.

const WG = 256u;

struct Params {
  total: u32,  // outer · m · n · inner
  m: u32,      // the first swapped axis of x
  n: u32,      // the second
  inner: u32,  // the product of the axes after them
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn swap_axes(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let k = gid.x + gid.y * groups.x * WG;
  if (k >= p.total) { return; }
  // k indexes out [outer, n, m, inner].
  let c = k % p.inner;
  let i = (k / p.inner) % p.m;
  let j = (k / (p.inner * p.m)) % p.n;
  let o = k / (p.inner * p.m * p.n);
  out[k] = x[((o * p.m + i) * p.n + j) * p.inner + c];
}
