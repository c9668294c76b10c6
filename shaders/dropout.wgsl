// Inverted dropout (Keras' Dropout while training, tf.nn.dropout):
//   out[i] = keep(m(i)) ? x[i] / (1 − rate) : 0
// m(i) is the mask bit element i reads: i itself, or with a noise shape (x seen
// as [outer, shared, inner], one bit shared along the middle) ⌊i / span⌋·inner +
// i mod inner, span = shared·inner; inner = span = 1 gives m(i) = i.
// keep(i) is a pure function of (seed, step, i), so the CPU reference draws the
// same mask bit for bit, and the gradient is the same op on dy with the same
// seed and step. The step is data (binding 1), written before each training step:
//   s = pcg(pcg(seed) ^ step), h = pcg(s + m), keep(m) = (h >> 8) ≥ threshold,
//   threshold = round(rate · 2²⁴)
// pcg is the PCG-RXS-M-XS hash of Jarzynski and Olano, "Hash Functions for GPU
// Rendering" (JCGT 2020), in hash.wgsl, which src/ops/dropout.ts prepends.
// Dispatch is 1-D, folded into 2-D past 65535 workgroups.

const WG = 256u;

struct Params {
  n: u32,
  seed: u32,
  threshold: u32,
  scale: f32,  // 1 / (1 − rate)
  inner: u32,
  span: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> step_number: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn dropout(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG;
  if (i >= p.n) { return; }
  let m = (i / p.span) * p.inner + i % p.inner;
  let h = pcg(stepSeed(p.seed, step_number[0]) + m);
  out[i] = select(0.0, x[i] * p.scale, (h >> 8u) >= p.threshold);
}
