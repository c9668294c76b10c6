// Random translation of NHWC images (Keras' RandomTranslation with
// interpolation 'nearest' and fill_mode 'constant'): sample n moves by whole
// pixels (dy, dx), drawn from a hash of (seed, step, n), uniform in [−max, max];
// pixels moved in from outside are 0. The step is data (binding 1), written
// before each training step, so every step moves the images anew:
//   h = pcg(stepSeed(seed, step) + n); dy = h % (2·maxDy + 1) − maxDy; dx = (h >> 16) % (2·maxDx + 1) − maxDx
//   out[n, i, j, c] = x[n, i − dy, j − dx, c] (0 outside)
// pcg and stepSeed are in hash.wgsl, which src/ops/augment.ts prepends.
// With `sign` −1 the move is undone (out[n, i, j, c] = x[n, i + dy, j + dx, c]): the adjoint, which is the gradient.

const WG = 256u;

struct Params {
  total: u32,
  h: u32,
  w: u32,
  c: u32,
  max_dy: u32,
  max_dx: u32,
  seed: u32,
  sign: i32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> step_number: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn translate(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let k = gid.x + gid.y * groups.x * WG;
  if (k >= p.total) { return; }
  let c = k % p.c;
  let j = (k / p.c) % p.w;
  let i = (k / (p.c * p.w)) % p.h;
  let n = k / (p.c * p.w * p.h);
  let hash = pcg(stepSeed(p.seed, step_number[0]) + n);
  let dy = i32((hash & 0xffffu) % (2u * p.max_dy + 1u)) - i32(p.max_dy);
  let dx = i32((hash >> 16u) % (2u * p.max_dx + 1u)) - i32(p.max_dx);
  let si = i32(i) - p.sign * dy;
  let sj = i32(j) - p.sign * dx;
  var v = 0.0;
  if (si >= 0 && si < i32(p.h) && sj >= 0 && sj < i32(p.w)) {
    v = x[((n * p.h + u32(si)) * p.w + u32(sj)) * p.c + c];
  }
  out[k] = v;
}
