// The kernel lab's conv2d variants and their check. A variant computes one
// pass of a convolution (forward y, dX or dW) from device tensors, in one or
// more launches: the direct kernels of src/ops/conv.ts, or the lowered path
// of src/ops/conv.ts (im2col, col2im) around matmul. Each is compared with
// conv2d's CPU reference in float64 before it is timed.
import type { Backend, DeviceTensor, Shape } from '../../src/index.js';
import { ops, Random } from '../../src/index.js';
import type { Conv2dAttrs, Conv2dGeometry } from '../../src/ops/conv.js';
import { conv2dGeometry } from '../../src/ops/conv.js';

export const CONV_PASSES = ['forward', 'dX', 'dW'] as const;
export type ConvPass = (typeof CONV_PASSES)[number];

/** One convolution: x [n, h, w, cin], kernel [kh, kw, cin, cout], conv2d's options. */
export interface ConvCase {
  readonly label: string;
  readonly x: [number, number, number, number];
  readonly k: [number, number, number, number];
  readonly attrs: Conv2dAttrs;
}

/** A pass's operands and result: forward (x, k) → y; dX (dy, k) → dx; dW (x, dy) → dk. */
export function passShapes(c: ConvCase, pass: ConvPass): { a: Shape; b: Shape; out: Shape } {
  const g = conv2dGeometry(c.x, c.k, c.attrs);
  const y = [g.n, g.oh, g.ow, g.cout];
  if (pass === 'forward') return { a: c.x, b: c.k, out: y };
  if (pass === 'dX') return { a: y, b: c.k, out: c.x };
  return { a: c.x, b: y, out: c.k };
}

/** 2·n·oh·ow·kh·kw·cin·cout: the multiply-adds of every pass (without padding's skipped taps), ×2. */
export function convFlops(c: ConvCase): number {
  const g = conv2dGeometry(c.x, c.k, c.attrs);
  return 2 * g.n * g.oh * g.ow * g.kh * g.kw * g.cin * g.cout;
}

/** A variant prepared for one case: run() queues its launches; free() releases its scratch tensors. */
export interface PreparedConv {
  run(): void;
  free(): void;
}

export interface ConvVariant {
  readonly name: string;
  readonly pass: ConvPass;
  prepare(be: Backend, c: ConvCase, a: DeviceTensor, b: DeviceTensor, out: DeviceTensor): PreparedConv;
}

const noScratch = (run: () => void): PreparedConv => ({ run, free: () => {} });

/** The direct kernels: one launch per pass. */
function direct(pass: ConvPass): ConvVariant {
  return {
    name: 'direct',
    pass,
    prepare(be, c, a, b, out) {
      if (pass === 'forward') return noScratch(() => be.run(ops.conv2d, [a, b], [out], c.attrs));
      if (pass === 'dX') return noScratch(() => be.run(ops.conv2dBackwardInput, [a, b], [out], { ...c.attrs, inputShape: c.x }));
      return noScratch(() => be.run(ops.conv2dBackwardFilter, [a, b], [out], { ...c.attrs, filterShape: c.k }));
    },
  };
}

/**
 * The lowered path: cols = im2col(x) [n·oh·ow, kh·kw·cin]; forward = cols · k₂;
 * dW = colsᵀ · dy₂; dX = col2im(dy₂ · k₂ᵀ). k₂ and dy₂ are views (no copy):
 * k as [kh·kw·cin, cout], dy as [n·oh·ow, cout].
 */
function lowered(pass: ConvPass): ConvVariant {
  return {
    name: 'im2col + matmul',
    pass,
    prepare(be, c, a, b, out) {
      const g: Conv2dGeometry = conv2dGeometry(c.x, c.k, c.attrs);
      const rows = g.n * g.oh * g.ow;
      const width = g.kh * g.kw * g.cin;
      const im = { ...c.attrs, kernelSize: [g.kh, g.kw] as [number, number] };
      const cols = be.allocate([rows, width]);
      const free = () => be.free(cols);
      if (pass === 'forward') {
        const k2 = be.view(b, 0, [width, g.cout]);
        const y2 = be.view(out, 0, [rows, g.cout]);
        return { run: () => (be.run(ops.im2col, [a], [cols], im), be.run(ops.matmul, [cols, k2], [y2], {})), free };
      }
      if (pass === 'dW') {
        const dy2 = be.view(b, 0, [rows, g.cout]);
        const dk2 = be.view(out, 0, [width, g.cout]);
        return { run: () => (be.run(ops.im2col, [a], [cols], im), be.run(ops.matmul, [cols, dy2], [dk2], { transA: true })), free };
      }
      const dy2 = be.view(a, 0, [rows, g.cout]);
      const k2 = be.view(b, 0, [width, g.cout]);
      return { run: () => (be.run(ops.matmul, [dy2, k2], [cols], { transB: true }), be.run(ops.col2im, [cols], [out], { ...im, inputShape: c.x })), free };
    },
  };
}

/** Every variant of every pass. */
export function convVariants(): ConvVariant[] {
  return CONV_PASSES.flatMap((pass) => [direct(pass), lowered(pass)]);
}

/** Small awkward cases: odd sizes, a kernel that is not square, stride 2 with 'same' padding, dilation, one channel. */
export const CONV_CHECK_CASES: ConvCase[] = [
  { label: 'valid 2×7×6×3 * 3×2×3×5', x: [2, 7, 6, 3], k: [3, 2, 3, 5], attrs: {} },
  { label: 'same, stride 2: 3×9×8×4 * 3×3×4×6', x: [3, 9, 8, 4], k: [3, 3, 4, 6], attrs: { padding: 'same', strides: [2, 2] } },
  { label: 'same, dilation [2, 1]: 1×8×9×2 * 2×3×2×3', x: [1, 8, 9, 2], k: [2, 3, 2, 3], attrs: { padding: 'same', dilation: [2, 1] } },
  { label: 'valid, one channel: 5×10×10×1 * 3×3×1×7', x: [5, 10, 10, 1], k: [3, 3, 1, 7], attrs: {} },
];

const U = 2 ** -24; // float32 unit roundoff

/** The reference pass in float64: y, dx or dk from the operands a and b. */
function reference(c: ConvCase, pass: ConvPass, a: Float64Array, b: Float64Array, out: Float64Array): void {
  const { a: sa, b: sb } = passShapes(c, pass);
  const infos = [{ shape: sa, dtype: 'f32' as const }, { shape: sb, dtype: 'f32' as const }];
  if (pass === 'forward') ops.conv2d.cpu([a, b], [out], infos, c.attrs);
  else if (pass === 'dX') ops.conv2dBackwardInput.cpu([a, b], [out], infos, { ...c.attrs, inputShape: c.x });
  else ops.conv2dBackwardFilter.cpu([a, b], [out], infos, { ...c.attrs, filterShape: c.k });
}

/** The most products any output element of the pass sums: kh·kw·cin (y), kh·kw·cout (dx), n·oh·ow (dk). */
function terms(g: Conv2dGeometry, pass: ConvPass): number {
  if (pass === 'forward') return g.kh * g.kw * g.cin;
  if (pass === 'dX') return g.kh * g.kw * g.cout;
  return g.n * g.oh * g.ow;
}

/**
 * Runs a variant on one case and compares it with the float64 reference. The
 * bound per element is γ_K·Σ|products| + u·|ref| (K: the most products an
 * element sums, in any order and grouping), the matmul check's bound. Returns
 * the largest error as a fraction of it: ≤ 1 passes; an indexing mistake gives ≫ 1.
 */
export async function checkConv(be: Backend, v: ConvVariant, c: ConvCase, seed: number): Promise<number> {
  const shapes = passShapes(c, v.pass);
  const size = (s: Shape) => s.reduce((p, d) => p * d, 1);
  const rng = new Random(seed);
  const a = rng.fill(new Float32Array(size(shapes.a)));
  const b = rng.fill(new Float32Array(size(shapes.b)));
  const ref = new Float64Array(size(shapes.out));
  const bound = new Float64Array(ref.length);
  reference(c, v.pass, Float64Array.from(a), Float64Array.from(b), ref);
  reference(c, v.pass, Float64Array.from(a, Math.abs), Float64Array.from(b, Math.abs), bound);
  const ta = be.allocate(shapes.a);
  const tb = be.allocate(shapes.b);
  const tout = be.allocate(shapes.out);
  const prepared = v.prepare(be, c, ta, tb, tout);
  try {
    be.write(ta, a);
    be.write(tb, b);
    be.write(tout, new Float32Array(ref.length).fill(NaN)); // an element left unwritten shows up
    prepared.run();
    const got = await be.read(tout);
    const K = terms(conv2dGeometry(c.x, c.k, c.attrs), v.pass);
    const gamma = (K * U) / (1 - K * U);
    let worst = 0;
    for (let i = 0; i < ref.length; i++) {
      const err = Math.abs(got[i] - ref[i]);
      const r = Number.isNaN(err) ? Infinity : err / (gamma * bound[i] + U * Math.abs(ref[i]) + 1e-30);
      if (r > worst) worst = r;
    }
    return worst;
  } finally {
    prepared.free();
    for (const t of [ta, tb, tout]) be.free(t);
  }
}

/** The largest error ratio of a variant over every check case. */
export async function checkConvVariant(be: Backend, v: ConvVariant): Promise<number> {
  let worst = 0;
  for (const [i, c] of CONV_CHECK_CASES.entries()) worst = Math.max(worst, await checkConv(be, v, c, 101 + i));
  return worst;
}
