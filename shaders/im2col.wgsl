// im2col and col2im: a convolution's receptive fields as the rows of a matrix,
// and the gradient back. x is NHWC [n, h, w, cin]; cols is [n·oh·ow, kh·kw·cin],
// row (b, oy, ox), column (ky, kx, ci):
//
//   cols[(b, oy, ox), (ky, kx, ci)] = x[b, oy·sh − padTop + ky·dh, ox·sw − padLeft + kx·dw, ci]
//
// or zero where that position lies in the padding. One invocation per element
// of the entry point's output (im2col: per tap of a row), on grid1d's 1-D grid:
//   im2col: x → cols      per (row, tap): cin copies, or zeros
//   col2im: dcols → dx    sums the entries copied from this x element: over
//                         the taps (ky, kx) whose output row oy = (iy + padTop − ky·dh)/sh
//                         is whole and inside the output (likewise columns)

const WG = 256u;

struct Geometry {
  count: i32,
  n: i32,
  h: i32,
  w: i32,
  cin: i32,
  oh: i32,
  ow: i32,
  kh: i32,
  kw: i32,
  sh: i32,
  sw: i32,
  dh: i32,
  dw: i32,
  padTop: i32,
  padLeft: i32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: Geometry;

fn element(gid: vec3u, groups: vec3u) -> i32 {
  let i = gid.x + gid.y * groups.x * WG;
  if (i >= u32(p.count)) { return -1; }
  return i32(i);
}

@compute @workgroup_size(WG)
fn im2col(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  // One invocation per (row, tap): it copies the tap's cin channels, contiguous in x and in cols.
  let e = element(gid, groups);
  if (e < 0) { return; }
  let taps = p.kh * p.kw;
  let tap = e % taps;
  let row = e / taps;
  let kx = tap % p.kw;
  let ky = tap / p.kw;
  let ox = row % p.ow;
  let oy = (row / p.ow) % p.oh;
  let b = row / (p.ow * p.oh);
  let iy = oy * p.sh - p.padTop + ky * p.dh;
  let ix = ox * p.sw - p.padLeft + kx * p.dw;
  let to = e * p.cin;
  if (iy >= 0 && iy < p.h && ix >= 0 && ix < p.w) {
    let at = ((b * p.h + iy) * p.w + ix) * p.cin;
    for (var ci = 0; ci < p.cin; ci++) { dst[to + ci] = src[at + ci]; }
  } else {
    for (var ci = 0; ci < p.cin; ci++) { dst[to + ci] = 0.0; }
  }
}

@compute @workgroup_size(WG)
fn col2im(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let e = element(gid, groups);
  if (e < 0) { return; }
  let ci = e % p.cin;
  let ix = (e / p.cin) % p.w;
  let iy = (e / (p.cin * p.w)) % p.h;
  let b = e / (p.cin * p.w * p.h);
  let width = p.kh * p.kw * p.cin;
  var s = 0.0;
  for (var ky = 0; ky < p.kh; ky++) {
    let ty = iy + p.padTop - ky * p.dh;
    if (ty < 0 || ty % p.sh != 0 || ty / p.sh >= p.oh) { continue; }
    let oy = ty / p.sh;
    for (var kx = 0; kx < p.kw; kx++) {
      let tx = ix + p.padLeft - kx * p.dw;
      if (tx < 0 || tx % p.sw != 0 || tx / p.sw >= p.ow) { continue; }
      let ox = tx / p.sw;
      s += src[((b * p.oh + oy) * p.ow + ox) * width + (ky * p.kw + kx) * p.cin + ci];
    }
  }
  dst[e] = s;
}
