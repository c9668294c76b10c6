// 2-D pooling over NHWC tensors [n, h, w, c], forward and backward.
// One invocation per output element; dispatch is 1-D, folded into 2-D past
// 65535 workgroups (see gridIndex).
//
// Output (oy, ox) pools rows oy·sh − top .. + ph − 1 and columns
// ox·sw − left .. + pw − 1 of x; rows and columns outside the image are
// padding, which neither max nor mean sees (TensorFlow's SAME semantics).
// The host computes the geometry (src/ops/pool.ts, poolGeometry); global
// average pooling is avg_pool with the pool as large as the image.
//
// max_pool:          y = the largest real element of the window.
// avg_pool:          y = Σ window / count of its real elements.
// max_pool_backward: dx[i] = Σ dy[o] over the windows o whose FIRST max, in
//                    row-major window order, is x[i] (TensorFlow's rule).
//                    Each x element gathers from the windows that contain it,
//                    so overlapping windows add up without atomics. y tells
//                    at one compare whether x[i] is its window's max at all;
//                    only then are the elements before it scanned for a tie.
// avg_pool_backward: dx[i] = Σ dy[o] / count(o) over the windows o that contain i.

const WG = 256u;

struct Pool {
  total: u32,  // invocations: elements of the output (y or dx)
  h: u32,
  w: u32,
  c: u32,
  oh: u32,
  ow: u32,
  ph: u32,
  pw: u32,
  sh: u32,
  sw: u32,
  top: u32,
  left: u32,
}

// Entry points with one input: x (or dy), the output, the uniform block.
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Pool;

// max_pool_backward: x, y, dy, dx, the uniform block.
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<uniform> bp: Pool;

fn gridIndex(gid: vec3u, groups: vec3u) -> u32 {
  return gid.x + gid.y * groups.x * WG;
}

// A window clipped to the image: rows [r0, r1), columns [c0, c1), and where its row 0 of x starts.
struct Window {
  r0: u32,
  r1: u32,
  c0: u32,
  c1: u32,
  image: u32,  // b · h · w · c + ch: add (r · w + s) · c for element (r, s)
}

// The window of output element o = ((b · oh + oy) · ow + ox) · c + ch.
fn windowOf(g: Pool, o: u32) -> Window {
  let ch = o % g.c;
  let ox = (o / g.c) % g.ow;
  let oy = (o / (g.c * g.ow)) % g.oh;
  let b = o / (g.c * g.ow * g.oh);
  let y0 = i32(oy * g.sh) - i32(g.top);
  let x0 = i32(ox * g.sw) - i32(g.left);
  return Window(
    u32(max(y0, 0)), u32(min(y0 + i32(g.ph), i32(g.h))),
    u32(max(x0, 0)), u32(min(x0 + i32(g.pw), i32(g.w))),
    b * g.h * g.w * g.c + ch,
  );
}

// The outputs whose window covers input coordinate i on one axis: [lo, hi).
fn coveringRange(i: u32, pool: u32, stride: u32, pad: u32, outSize: u32) -> vec2u {
  let last = i + pad;                              // o·stride ≤ i + pad
  let reach = i32(last) - i32(pool) + 1;           // o·stride ≥ i + pad − pool + 1
  let lo = select(0u, (u32(reach) + stride - 1u) / stride, reach > 0);
  return vec2u(lo, min(last / stride + 1u, outSize));
}

@compute @workgroup_size(WG)
fn max_pool(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let o = gridIndex(gid, groups);
  if (o >= p.total) { return; }
  let win = windowOf(p, o);
  var best = x[win.image + (win.r0 * p.w + win.c0) * p.c];
  for (var r = win.r0; r < win.r1; r++) {
    for (var s = win.c0; s < win.c1; s++) {
      let v = x[win.image + (r * p.w + s) * p.c];
      if (v > best) { best = v; }
    }
  }
  out[o] = best;
}

@compute @workgroup_size(WG)
fn avg_pool(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let o = gridIndex(gid, groups);
  if (o >= p.total) { return; }
  let win = windowOf(p, o);
  var sum = 0.0;
  for (var r = win.r0; r < win.r1; r++) {
    for (var s = win.c0; s < win.c1; s++) {
      sum += x[win.image + (r * p.w + s) * p.c];
    }
  }
  out[o] = sum / f32((win.r1 - win.r0) * (win.c1 - win.c0));
}

// True when no element of the window before (iy, ix), in row-major order, equals m.
fn firstInWindow(win: Window, iy: u32, ix: u32, m: f32) -> bool {
  for (var r = win.r0; r <= iy; r++) {
    let end = select(win.c1, ix, r == iy);
    for (var s = win.c0; s < end; s++) {
      if (x[win.image + (r * bp.w + s) * bp.c] == m) { return false; }
    }
  }
  return true;
}

@compute @workgroup_size(WG)
fn max_pool_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gridIndex(gid, groups);
  if (i >= bp.total) { return; }
  let ch = i % bp.c;
  let ix = (i / bp.c) % bp.w;
  let iy = (i / (bp.c * bp.w)) % bp.h;
  let b = i / (bp.c * bp.w * bp.h);
  let v = x[i];
  // Windows that do not overlap (stride ≥ pool, Keras' default): at most one covers x[i], found with two
  // divisions (integer division is the slow part on CPU-emulated adapters), then scanned once for its first max.
  if (bp.sh >= bp.ph && bp.sw >= bp.pw) {
    let ty = iy + bp.top;
    let tx = ix + bp.left;
    let oy = ty / bp.sh;
    let ox = tx / bp.sw;
    var d = 0.0;
    if (ty - oy * bp.sh < bp.ph && tx - ox * bp.sw < bp.pw && oy < bp.oh && ox < bp.ow) {
      let r0 = max(i32(oy * bp.sh) - i32(bp.top), 0);
      let r1 = min(i32(oy * bp.sh) - i32(bp.top) + i32(bp.ph), i32(bp.h));
      let c0 = max(i32(ox * bp.sw) - i32(bp.left), 0);
      let c1 = min(i32(ox * bp.sw) - i32(bp.left) + i32(bp.pw), i32(bp.w));
      let image = b * bp.h * bp.w * bp.c + ch;
      var at = image + (u32(r0) * bp.w + u32(c0)) * bp.c;
      var best = x[at];
      for (var r = r0; r < r1; r++) {
        for (var s = c0; s < c1; s++) {
          let j = image + (u32(r) * bp.w + u32(s)) * bp.c;
          if (x[j] > best) { best = x[j]; at = j; }
        }
      }
      if (at == i) { d = dy[((b * bp.oh + oy) * bp.ow + ox) * bp.c + ch]; }
    }
    dx[i] = d;
    return;
  }
  let rows = coveringRange(iy, bp.ph, bp.sh, bp.top, bp.oh);
  let cols = coveringRange(ix, bp.pw, bp.sw, bp.left, bp.ow);
  var sum = 0.0;
  for (var oy = rows.x; oy < rows.y; oy++) {
    for (var ox = cols.x; ox < cols.y; ox++) {
      let o = ((b * bp.oh + oy) * bp.ow + ox) * bp.c + ch;
      if (v == y[o] && firstInWindow(windowOf(bp, o), iy, ix, v)) { sum += dy[o]; }
    }
  }
  dx[i] = sum;
}

// x holds dy here, out dx; p.total is the size of dx.
@compute @workgroup_size(WG)
fn avg_pool_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gridIndex(gid, groups);
  if (i >= p.total) { return; }
  let ch = i % p.c;
  let ix = (i / p.c) % p.w;
  let iy = (i / (p.c * p.w)) % p.h;
  let b = i / (p.c * p.w * p.h);
  let rows = coveringRange(iy, p.ph, p.sh, p.top, p.oh);
  let cols = coveringRange(ix, p.pw, p.sw, p.left, p.ow);
  var sum = 0.0;
  for (var oy = rows.x; oy < rows.y; oy++) {
    for (var ox = cols.x; ox < cols.y; ox++) {
      let o = ((b * p.oh + oy) * p.ow + ox) * p.c + ch;
      let win = windowOf(p, o);
      sum += x[o] / f32((win.r1 - win.r0) * (win.c1 - win.c0));
    }
  }
  out[i] = sum;
}
