// 2-D convolution (tf.nn.conv2d, a cross-correlation) and its two gradients.
// x is NHWC [n, h, w, cin], the kernel [kh, kw, cin, cout], y [n, oh, ow, cout]:
//
//   y[b, oy, ox, co] = Σ_{ky, kx, ci} x[b, iy, ix, ci] · k[ky, kx, ci, co],
//   iy = oy·sh − padTop + ky·dh,  ix = ox·sw − padLeft + kx·dw,
//
// taps outside x reading zero (the padding). One invocation per element of the
// entry point's output, walking the 1-D grid of grid1d:
//   conv2d_forward:         x, k → y    sums kh·kw·cin products
//   conv2d_backward_input:  dy, k → dx  sums, over the taps (ky, kx) whose
//                           output row oy = (iy + padTop − ky·dh)/sh is whole
//                           and inside dy (likewise columns), cout products
//   conv2d_backward_filter: x, dy → dk  sums n·oh·ow products
// Positions are i32: the padding makes them negative at the edges.

const WG = 64u;

struct Conv {
  count: i32,   // invocations: the elements of this entry point's output
  n: i32,
  h: i32,
  w: i32,
  cin: i32,
  oh: i32,
  ow: i32,
  cout: i32,
  kh: i32,
  kw: i32,
  sh: i32,
  sw: i32,
  dh: i32,
  dw: i32,
  padTop: i32,
  padLeft: i32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Conv;

// conv2d_backward_input's dy is its first input, conv2d_backward_filter's its second.
@group(0) @binding(0) var<storage, read> dyFirst: array<f32>;
@group(0) @binding(1) var<storage, read> dySecond: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<storage, read_write> dk: array<f32>;

// This invocation's output element, or -1 past the end.
fn elementOf(gid: vec3u, groups: vec3u, count: i32) -> i32 {
  let i = gid.x + gid.y * groups.x * WG;
  if (i >= u32(count)) { return -1; }
  return i32(i);
}

// The output position whose tap at offset `tap` (k·d) reads input position i along one axis:
// o with o·s − pad + tap = i, or −1 where no whole o inside [0, out) does. conv2d_backward_input
// and col2im gather with it.
fn tapSource(i: i32, pad: i32, tap: i32, s: i32, out: i32) -> i32 {
  let t = i + pad - tap;
  if (t < 0 || t % s != 0 || t / s >= out) { return -1; }
  return t / s;
}

@compute @workgroup_size(WG)
fn conv2d_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let e = elementOf(gid, groups, p.count);
  if (e < 0) { return; }
  let co = e % p.cout;
  let ox = (e / p.cout) % p.ow;
  let oy = (e / (p.cout * p.ow)) % p.oh;
  let b = e / (p.cout * p.ow * p.oh);
  var s = 0.0;
  for (var ky = 0; ky < p.kh; ky++) {
    let iy = oy * p.sh - p.padTop + ky * p.dh;
    if (iy < 0 || iy >= p.h) { continue; }
    for (var kx = 0; kx < p.kw; kx++) {
      let ix = ox * p.sw - p.padLeft + kx * p.dw;
      if (ix < 0 || ix >= p.w) { continue; }
      let xAt = ((b * p.h + iy) * p.w + ix) * p.cin;
      let kAt = (ky * p.kw + kx) * p.cin * p.cout + co;
      for (var ci = 0; ci < p.cin; ci++) {
        s += x[xAt + ci] * k[kAt + ci * p.cout];
      }
    }
  }
  y[e] = s;
}

@compute @workgroup_size(WG)
fn conv2d_backward_input(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let e = elementOf(gid, groups, p.count);
  if (e < 0) { return; }
  let ci = e % p.cin;
  let ix = (e / p.cin) % p.w;
  let iy = (e / (p.cin * p.w)) % p.h;
  let b = e / (p.cin * p.w * p.h);
  var s = 0.0;
  for (var ky = 0; ky < p.kh; ky++) {
    let oy = tapSource(iy, p.padTop, ky * p.dh, p.sh, p.oh);
    if (oy < 0) { continue; }
    for (var kx = 0; kx < p.kw; kx++) {
      let ox = tapSource(ix, p.padLeft, kx * p.dw, p.sw, p.ow);
      if (ox < 0) { continue; }
      let dyAt = ((b * p.oh + oy) * p.ow + ox) * p.cout;
      let kAt = ((ky * p.kw + kx) * p.cin + ci) * p.cout;
      for (var co = 0; co < p.cout; co++) {
        s += dyFirst[dyAt + co] * k[kAt + co];
      }
    }
  }
  dx[e] = s;
}

@compute @workgroup_size(WG)
fn conv2d_backward_filter(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let e = elementOf(gid, groups, p.count);
  if (e < 0) { return; }
  let co = e % p.cout;
  let ci = (e / p.cout) % p.cin;
  let kx = (e / (p.cout * p.cin)) % p.kw;
  let ky = e / (p.cout * p.cin * p.kw);
  var s = 0.0;
  for (var b = 0; b < p.n; b++) {
    for (var oy = 0; oy < p.oh; oy++) {
      let iy = oy * p.sh - p.padTop + ky * p.dh;
      if (iy < 0 || iy >= p.h) { continue; }
      for (var ox = 0; ox < p.ow; ox++) {
        let ix = ox * p.sw - p.padLeft + kx * p.dw;
        if (ix < 0 || ix >= p.w) { continue; }
        s += x[((b * p.h + iy) * p.w + ix) * p.cin + ci] * dySecond[((b * p.oh + oy) * p.ow + ox) * p.cout + co];
      }
    }
  }
  dk[e] = s;
}

// im2col and col2im, the lowering of conv2d to a matrix product (im2col and col2im in src/ops/conv.ts):
// cols [n·oh·ow, kh·kw·cin] holds row (b, oy, ox), column (ky, kx, ci):
//
//   cols[(b, oy, ox), (ky, kx, ci)] = x[b, iy, ix, ci]   (zero where (iy, ix) is padding)
//
//   im2col: x → cols      one invocation per (row, tap): cin copies, or zeros
//   col2im: dcols → dx    one per dx element: sums the entries copied from it, over
//                         the same taps as conv2d_backward_input
// They bind one input, the output and the uniform block (cout is 1 there, unused).
@group(0) @binding(1) var<storage, read_write> cols: array<f32>;
@group(0) @binding(1) var<storage, read_write> xGrad: array<f32>;
@group(0) @binding(2) var<uniform> q: Conv;

@compute @workgroup_size(WG)
fn im2col(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  // One invocation per (row, tap): it copies the tap's cin channels, contiguous in x and in cols.
  let e = elementOf(gid, groups, q.count);
  if (e < 0) { return; }
  let taps = q.kh * q.kw;
  let tap = e % taps;
  let row = e / taps;
  let kx = tap % q.kw;
  let ky = tap / q.kw;
  let ox = row % q.ow;
  let oy = (row / q.ow) % q.oh;
  let b = row / (q.ow * q.oh);
  let iy = oy * q.sh - q.padTop + ky * q.dh;
  let ix = ox * q.sw - q.padLeft + kx * q.dw;
  let to = e * q.cin;
  if (iy >= 0 && iy < q.h && ix >= 0 && ix < q.w) {
    let at = ((b * q.h + iy) * q.w + ix) * q.cin;
    for (var ci = 0; ci < q.cin; ci++) { cols[to + ci] = x[at + ci]; }
  } else {
    for (var ci = 0; ci < q.cin; ci++) { cols[to + ci] = 0.0; }
  }
}

@compute @workgroup_size(WG)
fn col2im(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let e = elementOf(gid, groups, q.count);
  if (e < 0) { return; }
  let ci = e % q.cin;
  let ix = (e / q.cin) % q.w;
  let iy = (e / (q.cin * q.w)) % q.h;
  let b = e / (q.cin * q.w * q.h);
  let width = q.kh * q.kw * q.cin;
  var s = 0.0;
  for (var ky = 0; ky < q.kh; ky++) {
    let oy = tapSource(iy, q.padTop, ky * q.dh, q.sh, q.oh);
    if (oy < 0) { continue; }
    for (var kx = 0; kx < q.kw; kx++) {
      let ox = tapSource(ix, q.padLeft, kx * q.dw, q.sw, q.ow);
      if (ox < 0) { continue; }
      s += dyFirst[((b * q.oh + oy) * q.ow + ox) * width + (ky * q.kw + kx) * q.cin + ci];
    }
  }
  xGrad[e] = s;
}
