import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import type { Kernel } from '../../src/ops/kernel.js';
import {
  hinge, hingeBackward, losses, meanAbsoluteError, meanAbsoluteErrorBackward, meanSquaredError, nll, nllBackward,
  sigmoidBinaryCrossEntropy, sigmoidBinaryCrossEntropyBackward, softmaxCrossEntropy, softmaxCrossEntropyBackward, softmaxCrossEntropyWithGrad,
} from '../../src/ops/loss.js';
import type { Random } from '../../src/core/random.js';
import { backends, largeCase } from '../helpers/backends.js';
import { expectClose, FD_TOL, numericGradient, randLabels, randn, reference, rng, runOn, tensor } from '../helpers/check.js';
import type { HostTensor, Tolerance } from '../helpers/check.js';

// ---- error bounds, from the WGSL spec's accuracy table (§ Floating Point Accuracy) ----

const U = 2 ** -24; // float32 unit roundoff: +, -, * are correctly rounded, off by ≤ U|v|
const ULP = 2 * U; // one ULP of v is at most 2U|v|
const TINY = 2 ** -126; // WGSL may flush subnormals to zero: an underflowing exp is off by up to this
const LOG_ABS = 2 ** -21; // WGSL log(y): absolute 2^-21 for y in [0.5, 2], else 3 ULP
const DIV = 2.5 * ULP; // WGSL x / y: 2.5 ULP
const gamma = (n: number) => (n * U) / (1 - n * U); // n-term float32 sum, any order (Higham 3.4)
/** WGSL exp(x) is within 3 + 2|x| ULP; rounding its argument x = a - b adds U|x| (relative). */
const expRel = (x: number) => (3 + 2 * Math.abs(x)) * ULP + U * Math.abs(x);
/** log of a value with relative error δ: δ propagated (≤ 1.01δ for δ < 1%) plus log's own error in either range. */
const logErr = (y: number, delta: number) => 1.01 * delta + LOG_ABS + 3 * ULP * Math.abs(Math.log(y));

const tol = (atol: Float64Array, why: string): Tolerance => ({ atol, rtol: 0, why });
const EXACT: Tolerance = { atol: 0, rtol: 0, why: 'negation and selection are exact in float32' };

/** Per-row softmax facts in float64, with a bound on the relative error of the GPU's Σ exp(z - max). */
function softmaxStats(z: ArrayLike<number>, base: number, C: number) {
  let m = z[base];
  for (let c = 1; c < C; c++) m = Math.max(m, z[base + c]);
  const e = Array.from({ length: C }, (_, c) => Math.exp(z[base + c] - m));
  const s = e.reduce((a, v) => a + v, 0);
  const dS = e.reduce((a, v, c) => a + v * expRel(z[base + c] - m), 0) / s + gamma(C) + (C * TINY) / s;
  return { m, e, s, dS };
}

function targetSums(t: HostTensor, b: number, C: number) {
  if (t.info.dtype === 'i32') return { T: 1, errT: 0 };
  let T = 0;
  for (let c = 0; c < C; c++) T += t.data[b * C + c];
  return { T, errT: gamma(C) * Math.abs(T) };
}

function sceForwardTol([z, t]: HostTensor[], want: Float64Array): Tolerance {
  const [B, C] = z.info.shape;
  const atol = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    const { m, s, dS } = softmaxStats(z.data, b * C, C);
    const { T, errT } = targetSums(t, b, C);
    let tz = 0;
    if (t.info.dtype === 'i32') tz = m - z.data[b * C + t.data[b]];
    else for (let c = 0; c < C; c++) tz += Math.abs(t.data[b * C + c]) * (m - z.data[b * C + c]);
    const lg = Math.log(s);
    atol[b] = (2 * U + gamma(C)) * tz + Math.abs(T) * logErr(s, dS) + lg * errT + U * Math.abs(T * lg) + U * Math.abs(want[b]);
  }
  return tol(atol, 'WGSL exp (3+2|x| ULP) and log (2^-21 abs / 3 ULP) through Σexp, (m - z) and Σ t, plus γ_C summation');
}

function sceBackwardTol([z, t, g]: HostTensor[], want: Float64Array): Tolerance {
  const [B, C] = z.info.shape;
  const atol = new Float64Array(B * C);
  for (let b = 0; b < B; b++) {
    const { m, e, s, dS } = softmaxStats(z.data, b * C, C);
    const { T, errT } = targetSums(t, b, C);
    for (let c = 0; c < C; c++) {
      const i = b * C + c;
      const p = e[c] / s;
      const target = t.info.dtype === 'i32' ? Number(c === t.data[b]) : t.data[i];
      const errPT = Math.abs(T) * p * (expRel(z.data[i] - m) + dS + DIV) + p * errT + U * Math.abs(p * T);
      atol[i] = Math.abs(g.data[b]) * (errPT + U * Math.abs(p * T - target) + TINY) + U * Math.abs(want[i]);
    }
  }
  return tol(atol, 'softmax from WGSL exp (3+2|x| ULP) / Σexp (2.5 ULP divide), then one rounding per - and *');
}

/** Elementwise losses: absolute error bounds of the term and of its derivative, as the WGSL computes them. */
interface TermBounds {
  term(p: number, t: number): { value: number; err: number };
  gradErr(p: number, t: number): number;
}

const bceBounds: TermBounds = {
  term(x, t) {
    const a = Math.max(x, 0) - x * t;
    const e = Math.exp(-Math.abs(x));
    const value = a + Math.log1p(e);
    // x t and the subtraction round; log(1 + e) has 1 + e in [1, 2]: 2^-21 absolute, plus e's error and 1 + e's rounding.
    return { value, err: U * Math.abs(x * t) + U * Math.abs(a) + LOG_ABS + e * (3 + 2 * Math.abs(x)) * ULP + U + U * Math.abs(value) };
  },
  gradErr(x, t) {
    const sig = 1 / (1 + Math.exp(-x));
    // e = exp(-|x|) may sit in both numerator and denominator (2 × its error), 1 + e rounds (U),
    // the divide (2.5 ULP), then - t rounds.
    return sig * (2 * (3 + 2 * Math.abs(x)) * ULP + U + DIV) + U * Math.abs(sig - t);
  },
};
const mseBounds: TermBounds = {
  term: (p, t) => ({ value: (p - t) ** 2, err: 3.01 * U * (p - t) ** 2 }), // (d(1+ε))²(1+ε')
  gradErr: (p, t) => U * Math.abs(2 * (p - t)),
};
const maeBounds: TermBounds = {
  term: (p, t) => ({ value: Math.abs(p - t), err: U * Math.abs(p - t) }),
  gradErr: () => 0, // the sign of a rounded difference is exact
};
function hingeBounds(binary: boolean): TermBounds {
  const s = (t: number) => (binary ? 2 * t - 1 : t);
  const near = (p: number, t: number) => Math.abs(1 - s(t) * p) <= 2 * U * (Math.abs(s(t) * p) + 1);
  return {
    term: (p, t) => ({ value: Math.max(0, 1 - s(t) * p), err: U * (Math.abs(s(t) * p) + Math.abs(1 - s(t) * p)) }),
    gradErr: (p, t) => (near(p, t) ? Math.abs(s(t)) : 0), // within rounding of the kink either side may be taken
  };
}

function rowMeanForwardTol(bounds: TermBounds) {
  return ([p, t]: HostTensor[], want: Float64Array): Tolerance => {
    const [B, D] = p.info.shape;
    const atol = new Float64Array(B);
    for (let b = 0; b < B; b++) {
      let err = 0;
      let abs = 0;
      for (let d = 0; d < D; d++) {
        const r = bounds.term(p.data[b * D + d], t.data[b * D + d]);
        err += r.err;
        abs += Math.abs(r.value);
      }
      atol[b] = (err + gamma(D) * abs) / D + (DIV + U) * Math.abs(want[b]);
    }
    return tol(atol, 'per-term WGSL error (exp/log for BCE, one rounding per op), γ_D summation, 2.5 ULP mean divide');
  };
}

function rowMeanBackwardTol(bounds: TermBounds) {
  return ([p, t, g]: HostTensor[], want: Float64Array): Tolerance => {
    const [B, D] = p.info.shape;
    const atol = new Float64Array(B * D);
    for (let i = 0; i < B * D; i++) {
      const gd = Math.abs(g.data[Math.floor(i / D)]) / D;
      atol[i] = gd * (bounds.gradErr(p.data[i], t.data[i]) + TINY) + (DIV + U) * 1.001 * Math.abs(want[i]);
    }
    return tol(atol, "term' error, then dLoss / D (2.5 ULP) and one product");
  };
}

// ---- the losses under test ----

interface LossCase {
  name: string;
  fwd: Kernel<any>;
  bwd: Kernel<any>;
  attrs: object;
  make(r: Random, B: number, D: number): HostTensor[];
  fwdTol(inputs: HostTensor[], want: Float64Array): Tolerance;
  bwdTol(inputs: HostTensor[], want: Float64Array): Tolerance;
}

function distributions(r: Random, B: number, C: number, total = 1): HostTensor {
  const t = randn(r, [B, C], 0, 1);
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let c = 0; c < C; c++) s += t.data[b * C + c];
    for (let c = 0; c < C; c++) t.data[b * C + c] *= total / s;
  }
  return t;
}

function signs(r: Random, shape: number[], lo: number): HostTensor {
  const t = randn(r, shape, 0, 1);
  return tensor(shape, t.data.map((v) => (v < 0.5 ? lo : 1)));
}

type Make = LossCase['make'];
const sce = (name: string, make: Make): LossCase => ({ name, fwd: softmaxCrossEntropy, bwd: softmaxCrossEntropyBackward, attrs: {}, make, fwdTol: sceForwardTol, bwdTol: sceBackwardTol });
const rowMean = (name: string, [fwd, bwd]: readonly Kernel<any>[], bounds: TermBounds, make: Make, attrs = {}): LossCase =>
  ({ name, fwd, bwd, attrs, make, fwdTol: rowMeanForwardTol(bounds), bwdTol: rowMeanBackwardTol(bounds) });
const uniform2 = (lo: number, hi: number): Make => (r, B, D) => [randn(r, [B, D], lo, hi), randn(r, [B, D], lo, hi)];

const CASES: LossCase[] = [
  sce('softmaxCrossEntropy (labels)', (r, B, C) => [randn(r, [B, C], -4, 4), randLabels(r, B, C)]),
  sce('softmaxCrossEntropy (targets)', (r, B, C) => [randn(r, [B, C], -4, 4), distributions(r, B, C)]),
  rowMean('sigmoidBinaryCrossEntropy', losses.sigmoidBinaryCrossEntropy, bceBounds, (r, B, D) => [randn(r, [B, D], -6, 6), randn(r, [B, D], 0, 1)]),
  rowMean('meanSquaredError', losses.meanSquaredError, mseBounds, uniform2(-2, 2)),
  rowMean('meanAbsoluteError', losses.meanAbsoluteError, maeBounds, uniform2(-2, 2)),
  rowMean('hinge (-1/1 targets)', losses.hinge, hingeBounds(false), (r, B, D) => [randn(r, [B, D], -2, 2), signs(r, [B, D], -1)]),
  rowMean('hinge (0/1 targets)', losses.hinge, hingeBounds(true), (r, B, D) => [randn(r, [B, D], -2, 2), signs(r, [B, D], 0)], { binaryTargets: true }),
  { name: 'nll', fwd: nll, bwd: nllBackward, attrs: {}, make: (r, B, C) => [randn(r, [B, C], -8, 0), randLabels(r, B, C)], fwdTol: () => EXACT, bwdTol: () => EXACT },
];

// [B, D]: ones, primes, a row longer than any workgroup (1000 > 256), many short rows.
const SHAPES: [number, number][] = [[1, 1], [1, 10], [13, 7], [2000, 10], [7, 1000]];
// Large: more than 65535 rows on WebGPU, where the row kernels' and the elementwise backward's grids fold into 2-D.
const LARGE = (backend: 'cpu' | 'webgpu') => largeCase<[number, number]>(backend, [70000, 64], [4375, 64]);

async function checkCase(be: Backend, c: LossCase, B: number, D: number, seed: number) {
  const r = rng(seed);
  const inputs = c.make(r, B, D);
  const g = randn(r, [B]);
  const [loss] = await runOn(be, c.fwd, inputs, c.attrs);
  const [wantLoss] = reference(c.fwd, inputs, c.attrs);
  expectClose(loss, wantLoss, c.fwdTol(inputs, wantLoss), `${c.name} [${B}, ${D}] loss`);
  const [grad] = await runOn(be, c.bwd, [...inputs, g], c.attrs);
  const [wantGrad] = reference(c.bwd, [...inputs, g], c.attrs);
  expectClose(grad, wantGrad, c.bwdTol([...inputs, g], wantGrad), `${c.name} [${B}, ${D}] gradient`);
}

describe.each(backends)('losses on %s', (name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  for (const c of CASES) {
    it.each(SHAPES)(`${c.name} [%i, %i]: loss and gradient`, (B, D) => checkCase(be, c, B, D, B * 7919 + D));
  }
  // One launch for both: the same operations as the two kernels apart, so the same bits.
  for (const c of [CASES[0], CASES[1]]) {
    it.each([...SHAPES, [300, 10]])(`${c.name} [%i, %i]: loss and gradient in one launch, as the two apart`, async (B, D) => {
      const r = rng(B * 13 + D);
      const inputs = c.make(r, B, D);
      const g = randn(r, [B]);
      const [loss, grad] = await runOn(be, softmaxCrossEntropyWithGrad, [...inputs, g], {});
      const [wantLoss] = await runOn(be, softmaxCrossEntropy, inputs, {});
      const [wantGrad] = await runOn(be, softmaxCrossEntropyBackward, [...inputs, g], {});
      expect([...loss]).toEqual([...wantLoss]);
      expect([...grad]).toEqual([...wantGrad]);
    });
  }
  for (const c of [CASES[0], CASES[2], CASES[3]]) { // softmax CE (labels), BCE, MSE
    it(`${c.name} ${LARGE(name).join('x')}${name === 'webgpu' ? ' (2-D grids)' : ''}`, () => checkCase(be, c, ...LARGE(name), 5));
  }
});

// ---- fusion, agreement, stability, bad labels, shape errors ----

function oneHot(labels: HostTensor, C: number): HostTensor {
  const B = labels.data.length;
  const t = new Float32Array(B * C);
  labels.data.forEach((l, b) => (t[b * C + l] = 1));
  return tensor([B, C], t);
}

/** The unfused path in float64: p = softmax(z), L = -Σ t log p, then dz = Jᵀ dp through the softmax Jacobian. */
function unfusedChain(z: HostTensor, t: HostTensor, g: HostTensor) {
  const [B, C] = z.info.shape;
  const loss = new Float64Array(B);
  const grad = new Float64Array(B * C);
  for (let b = 0; b < B; b++) {
    const { e, s } = softmaxStats(z.data, b * C, C);
    const p = e.map((v) => v / s);
    const dp = p.map((pc, c) => (-g.data[b] * t.data[b * C + c]) / pc);
    loss[b] = -p.reduce((a, pc, c) => a + t.data[b * C + c] * Math.log(pc), 0);
    for (let j = 0; j < C; j++) {
      let sum = 0;
      for (let c = 0; c < C; c++) sum += dp[c] * p[c] * ((c === j ? 1 : 0) - p[j]);
      grad[b * C + j] = sum;
    }
  }
  return { loss, grad };
}

/** Adds the float64 chain's own rounding (≤ C terms of 2^-53 relative, far below 1e-12) to a float32 bound. */
function plusChain(t: Tolerance, want: Float64Array): Tolerance {
  const atol = Float64Array.from(t.atol as Float64Array, (a, i) => a + 1e-12 * (1 + Math.abs(want[i])));
  return { ...t, atol, why: `${t.why}; + 1e-12 for the float64 unfused chain` };
}

function sumTol(a: Tolerance, b: Tolerance): Tolerance {
  const atol = Float64Array.from(a.atol as Float64Array, (v, i) => v + (b.atol as Float64Array)[i]);
  return tol(atol, `both results lie within their own bound of the same exact value: ${a.why}`);
}

/** The elements of the rows that pass `keep` (rows of `cols` elements), and their bounds. */
const goodRows = (v: Float64Array, cols: number, keep: (b: number) => boolean) => v.filter((_, i) => keep(Math.floor(i / cols)));
const goodTol = (t: Tolerance, cols: number, keep: (b: number) => boolean): Tolerance =>
  typeof t.atol === 'number' ? t : { ...t, atol: goodRows(Float64Array.from(t.atol), cols, keep) };

const zeros = (shape: number[]) => tensor(shape, new Float32Array(shape[0] * (shape[1] ?? 1)));

describe.each(backends)('loss properties on %s', (name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  it.each([[13, 7, 1], [7, 1000, 1], [13, 7, 2.5]])('fused softmax CE equals softmax then -Σ t log p, [%i, %i], Σt = %d', async (B, C, total) => {
    const r = rng(B + C);
    const z = randn(r, [B, C], -4, 4);
    const t = distributions(r, B, C, total);
    const g = randn(r, [B]);
    const chain = unfusedChain(z, t, g);
    const [loss] = await runOn(be, softmaxCrossEntropy, [z, t], {});
    expectClose(loss, chain.loss, plusChain(sceForwardTol([z, t], chain.loss), chain.loss), 'loss');
    const [grad] = await runOn(be, softmaxCrossEntropyBackward, [z, t, g], {});
    expectClose(grad, chain.grad, plusChain(sceBackwardTol([z, t, g], chain.grad), chain.grad), 'gradient');
  });

  it.each([[13, 7], [2000, 10], [7, 1000]])('sparse labels and one-hot targets agree, [%i, %i]', async (B, C) => {
    const r = rng(B * C);
    const z = randn(r, [B, C], -4, 4);
    const labels = randLabels(r, B, C);
    const hot = oneHot(labels, C);
    const g = randn(r, [B]);
    const [a] = await runOn(be, softmaxCrossEntropy, [z, labels], {});
    const [b] = await runOn(be, softmaxCrossEntropy, [z, hot], {});
    expectClose(a, b, sumTol(sceForwardTol([z, labels], a), sceForwardTol([z, hot], b)), 'loss');
    const [da] = await runOn(be, softmaxCrossEntropyBackward, [z, labels, g], {});
    const [db] = await runOn(be, softmaxCrossEntropyBackward, [z, hot, g], {});
    expectClose(da, db, sumTol(sceBackwardTol([z, labels, g], da), sceBackwardTol([z, hot, g], db)), 'gradient');
  });

  it('softmax CE stays finite and correct for logits of ±100', async () => {
    const z = tensor([5, 4], [100, -100, 0, 100, -100, -100, -100, -100, 100, 100, -100, 99, -100, 100, -100, -100, 100, -100, 100, -100]);
    const labels = tensor([5], [1, 2, 2, 1, 3], 'i32');
    const soft = tensor([5, 4], [0.5, 0.5, 0, 0, 0.25, 0.25, 0.25, 0.25, 0, 0, 1, 0, 0.1, 0.2, 0.3, 0.4, 0, 1, 0, 0]);
    const g = tensor([5], [1, -0.5, 2, 1, 0.25]);
    for (const t of [labels, soft]) {
      const [loss] = await runOn(be, softmaxCrossEntropy, [z, t], {});
      const [want] = reference(softmaxCrossEntropy, [z, t], {});
      expect(loss.every(Number.isFinite), `loss ${loss}`).toBe(true);
      expectClose(loss, want, sceForwardTol([z, t], want), `loss (${t.info.dtype})`);
      const [grad] = await runOn(be, softmaxCrossEntropyBackward, [z, t, g], {});
      const [wantGrad] = reference(softmaxCrossEntropyBackward, [z, t, g], {});
      expect(grad.every(Number.isFinite), `gradient ${grad}`).toBe(true);
      expectClose(grad, wantGrad, sceBackwardTol([z, t, g], wantGrad), `gradient (${t.info.dtype})`);
    }
    expect(reference(softmaxCrossEntropy, [z, labels], {})[0][0]).toBeCloseTo(200 + Math.log(2), 12);
  });

  it('sigmoid BCE stays finite and correct for logits of ±100', async () => {
    const x = tensor([2, 6], [100, -100, 100, -100, 0, 50, -100, -100, -100, 100, 100, 100]);
    const t = tensor([2, 6], [1, 0, 0, 1, 0.5, 0.3, 0, 0, 0, 1, 1, 1]);
    const g = tensor([2], [1, -2]);
    const [loss] = await runOn(be, sigmoidBinaryCrossEntropy, [x, t], {});
    const [want] = reference(sigmoidBinaryCrossEntropy, [x, t], {});
    expect(loss.every(Number.isFinite), `loss ${loss}`).toBe(true);
    expectClose(loss, want, rowMeanForwardTol(bceBounds)([x, t], want), 'loss');
    expect(want[0]).toBeCloseTo((200 + Math.log(2) + 50 * (1 - Math.fround(0.3))) / 6, 10); // targets are float32
    const [grad] = await runOn(be, sigmoidBinaryCrossEntropyBackward, [x, t, g], {});
    const [wantGrad] = reference(sigmoidBinaryCrossEntropyBackward, [x, t, g], {});
    expect(grad.every(Number.isFinite), `gradient ${grad}`).toBe(true);
    expectClose(grad, wantGrad, rowMeanBackwardTol(bceBounds)([x, t, g], wantGrad), 'gradient');
  });

  it.each([
    ['softmaxCrossEntropy', softmaxCrossEntropy, softmaxCrossEntropyBackward],
    ['nll', nll, nllBackward],
  ] as const)('%s: a label outside [0, C) throws on the CPU, gives NaN on the GPU', async (op, fwd, bwd) => {
    const r = rng(3);
    const z = randn(r, [5, 7], -4, 0);
    const bad = tensor([5], [0, 3, 7, -1, 6], 'i32');
    const g = randn(r, [5]);
    if (name === 'cpu') {
      await expect(runOn(be, fwd, [z, bad], {})).rejects.toThrow(new RegExp(`${op}: label 7 in row 2 is outside \\[0, 7\\)`));
      await expect(runOn(be, bwd, [z, tensor([5], [0, 1, 2, -1, 6], 'i32'), g], {})).rejects.toThrow(/label -1 in row 3 is outside \[0, 7\)/);
      return;
    }
    // Outputs start at 0 (not runOn's NaN), so a NaN can only come from the kernel.
    const fixed = tensor([5], [0, 3, 0, 0, 6], 'i32');
    const good = (b: number) => b !== 2 && b !== 3;
    const [loss] = await runOn(be, fwd, [z, bad], {}, [zeros([5])]);
    const [want] = reference(fwd, [z, fixed], {});
    for (let b = 0; b < 5; b++) expect(Number.isNaN(loss[b]), `row ${b}: ${loss[b]}`).toBe(!good(b));
    const t = op === 'nll' ? EXACT : sceForwardTol([z, fixed], want);
    expectClose(goodRows(loss, 1, good), goodRows(want, 1, good), goodTol(t, 1, good), 'good rows');
    const [grad] = await runOn(be, bwd, [z, bad, g], {}, [zeros([5, 7])]);
    const [wantGrad] = reference(bwd, [z, fixed, g], {});
    for (let i = 0; i < 35; i++) expect(Number.isNaN(grad[i]), `element ${i}: ${grad[i]}`).toBe(!good(Math.floor(i / 7)));
    const tg = op === 'nll' ? EXACT : sceBackwardTol([z, fixed, g], wantGrad);
    expectClose(goodRows(grad, 7, good), goodRows(wantGrad, 7, good), goodTol(tg, 7, good), 'good rows');
  });

  it('softmaxCrossEntropyWithGrad: a label outside [0, C) throws on the CPU, gives NaN rows on the GPU, as the two apart', async () => {
    const r = rng(4);
    const z = randn(r, [5, 7], -4, 0);
    const bad = tensor([5], [0, 3, 7, -1, 6], 'i32');
    const g = randn(r, [5]);
    if (name === 'cpu') {
      await expect(runOn(be, softmaxCrossEntropyWithGrad, [z, bad, g], {})).rejects.toThrow(/label 7 in row 2 is outside \[0, 7\)/);
      return;
    }
    // Outputs start at 0, so a NaN can only come from the kernel; rows 2 and 3 are NaN, the rest the two kernels' bits.
    const [loss, grad] = await runOn(be, softmaxCrossEntropyWithGrad, [z, bad, g], {}, [zeros([5]), zeros([5, 7])]);
    const [wantLoss] = await runOn(be, softmaxCrossEntropy, [z, bad], {}, [zeros([5])]);
    const [wantGrad] = await runOn(be, softmaxCrossEntropyBackward, [z, bad, g], {}, [zeros([5, 7])]);
    expect([...loss].map(Number.isNaN)).toEqual([false, false, true, true, false]);
    expect([...loss]).toEqual([...wantLoss]);
    expect([...grad]).toEqual([...wantGrad]);
  });

  it('refuses wrong shapes and dtypes, naming the argument and both shapes', () => {
    const z = be.allocate([13, 7]);
    const out = be.allocate([13]);
    const run = (k: Kernel<any>, ins: Parameters<Backend['allocate']>[], o = out) => () => be.run(k, ins.map((s) => be.allocate(...s)), [o], {});
    const i32 = 'i32' as const;
    expect(run(softmaxCrossEntropy, [[[13]], [[13], i32]])).toThrow(/softmaxCrossEntropy: logits must have rank 2, got f32\[13\]/);
    expect(run(softmaxCrossEntropy, [[[13, 7]], [[13]]])).toThrow(/softmaxCrossEntropy: labels must be i32\[13\] \(class indices\) or f32\[13, 7\] \(class probabilities\), got f32\[13\]/);
    expect(run(softmaxCrossEntropy, [[[13, 7]], [[12], i32]])).toThrow(/labels must be i32\[13\] .* got i32\[12\]/);
    expect(run(softmaxCrossEntropy, [[[13, 7]], [[13, 7], i32]])).toThrow(/got i32\[13, 7\]/);
    expect(run(softmaxCrossEntropyBackward, [[[13, 7]], [[13], i32], [[13, 1]]], be.allocate([13, 7]))).toThrow(/softmaxCrossEntropyBackward: dLoss must be f32\[13\] \(one gradient per sample\), got f32\[13, 1\]/);
    expect(run(meanSquaredError, [[[13, 7]], [[13, 6]]])).toThrow(/meanSquaredError: predictions f32\[13, 7\] and targets f32\[13, 6\] must have the same shape and dtype/);
    expect(run(sigmoidBinaryCrossEntropy, [[[13, 7]], [[13, 7], i32]])).toThrow(/sigmoidBinaryCrossEntropy: logits f32\[13, 7\] and targets i32\[13, 7\]/);
    expect(run(nll, [[[13, 7]], [[13]]])).toThrow(/nll: labels must be i32\[13\] \(one class index per row\), got f32\[13\]/);
    expect(run(hinge, [[[13, 7]]])).toThrow(/hinge: expects 2 inputs \(predictions, targets\), got 1/);
    expect(run(meanAbsoluteErrorBackward, [[[13, 7]], [[13, 7]]], be.allocate([13, 7]))).toThrow(/expects 3 inputs \(predictions, targets, dLoss\), got 2/);
    expect(() => be.run(softmaxCrossEntropy, [z, be.allocate([13], 'i32')], [be.allocate([13, 1])], {})).toThrow(/output 0 must be f32\[13\], got f32\[13, 1\]/);
  });
});

describe('loss gradients (CPU reference vs finite differences)', () => {
  const f64 = (t: HostTensor, data: Float64Array): HostTensor => ({ info: t.info, data: data as never });
  /** Moves points within 1e-3 of a kink (|p - t| for MAE, 1 - t p for hinge) away from it, so differences see one side. */
  function awayFromKinks(c: LossCase, [p, t]: HostTensor[]) {
    const s = (v: number) => ((c.attrs as { binaryTargets?: boolean }).binaryTargets ? 2 * v - 1 : v);
    for (let i = 0; i < p.data.length; i++) {
      const kink = c.fwd === meanAbsoluteError ? p.data[i] - t.data[i] : c.fwd === hinge ? 1 - s(t.data[i]) * p.data[i] : 1;
      if (Math.abs(kink) < 1e-3) p.data[i] += 0.01;
    }
  }
  const unnormalized: LossCase = { ...CASES[1], name: 'softmaxCrossEntropy (targets, Σt = 2.5)', make: (r, B, C) => [randn(r, [B, C], -4, 4), distributions(r, B, C, 2.5)] };

  for (const c of [...CASES, unnormalized]) {
    it.each([[1, 1], [3, 5], [4, 13]])(`${c.name} [%i, %i]: backward = d(Σ dLoss·loss)/dx`, (B, D) => {
      const r = rng(B * 31 + D);
      const [x, ...rest] = c.make(r, B, D);
      awayFromKinks(c, [x, ...rest]);
      const g = randn(r, [B]);
      const f = (xs: Float64Array) => reference(c.fwd, [f64(x, xs), ...rest], c.attrs)[0].reduce((a, v, b) => a + v * g.data[b], 0);
      const [grad] = reference(c.bwd, [x, ...rest, g], c.attrs);
      expectClose(grad, numericGradient(f, Float64Array.from(x.data)), FD_TOL, c.name);
    });
  }

  it('hinge with 0/1 targets is hinge with 2t - 1 targets', () => {
    const r = rng(11);
    const p = randn(r, [13, 7], -2, 2);
    const t01 = signs(r, [13, 7], 0);
    const tpm = tensor([13, 7], t01.data.map((v) => 2 * v - 1));
    const g = randn(r, [13]);
    expect(reference(hinge, [p, t01], { binaryTargets: true })).toEqual(reference(hinge, [p, tpm], {}));
    expect(reference(hingeBackward, [p, t01, g], { binaryTargets: true })).toEqual(reference(hingeBackward, [p, tpm, g], {}));
  });
});
