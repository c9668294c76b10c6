import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, DeviceTensor } from '../../src/backend/backend.js';
import { gradients } from '../../src/graph/autodiff.js';
import { compileGraph } from '../../src/graph/executor.js';
import { Graph } from '../../src/graph/graph.js';
import { activation } from '../../src/ops/activation.js';
import { dropout, dropoutKeeps, dropoutThreshold, noiseFold, pcg } from '../../src/ops/dropout.js';
import { reduceSum } from '../../src/ops/reduce.js';
import { backends, gpuOnly } from '../helpers/backends.js';
import type { Tolerance } from '../helpers/check.js';
import { expectClose, FD_TOL, numericGradient, randn, reference, rng, runOn, tensor } from '../helpers/check.js';

/*
 * Inverted dropout, the op under Keras' Dropout layer in training: the mask is
 * a hash of (seed, step, index), the step being an input (i32[1]) the training
 * step writes, so the GPU draws the CPU reference's mask bit for bit, and the
 * op is its own gradient.
 */
const at = (step: number) => tensor([1], [step], 'i32');
// x / (1 − rate) is one float32 rounding on the GPU (x · f32(1/(1 − rate)): two) against the float64 reference.
const ONE_ROUNDING: Tolerance = { atol: 0, rtol: 2.5e-7, why: 'x·(1/(1 − rate)) in float32: two roundings, each ≤ 2^-24 relative' };

describe('the dropout hash', () => {
  it('is PCG-RXS-M-XS on u32 (Jarzynski and Olano), values worked out by hand from its definition', () => {
    // state = 0·747796405 + 2891336453 = 2891336453 = 0xAC564B05; state >> 28 = 10; shift 14:
    // word = ((0xAC564B05 >> 14) ^ 0xAC564B05) · 277803737 mod 2^32; result = (word >> 22) ^ word.
    const state = 2891336453;
    const word = Number((BigInt(((state >>> 14) ^ state) >>> 0) * 277803737n) % 2n ** 32n);
    expect(pcg(0)).toBe(((word >>> 22) ^ word) >>> 0);
    // Inputs past 2^31 stay unsigned, and the result is always a u32.
    for (const v of [1, 2 ** 31, 2 ** 32 - 1, 123456789]) {
      const h = pcg(v);
      expect(Number.isInteger(h) && h >= 0 && h < 2 ** 32).toBe(true);
    }
    expect(new Set([0, 1, 2, 3, 4].map(pcg)).size).toBe(5);
  });

  it('drops a fraction `rate` of elements, independent of position', () => {
    const n = 200_000;
    for (const rate of [0.1, 0.5, 0.8]) {
      const t = dropoutThreshold(rate);
      let dropped = 0;
      let droppedEven = 0;
      for (let i = 0; i < n; i++) {
        if (!dropoutKeeps(42, 3, i, t)) {
          dropped++;
          if (i % 2 === 0) droppedEven++;
        }
      }
      // Binomial: within 5σ = 5·sqrt(rate(1 − rate)/n) (< 0.6% here) of rate; even and odd indices alike.
      const sigma = Math.sqrt((rate * (1 - rate)) / n);
      expect(Math.abs(dropped / n - rate), `rate ${rate}`).toBeLessThan(5 * sigma);
      expect(Math.abs(droppedEven / (n / 2) - rate), `rate ${rate}, even indices`).toBeLessThan(5 * Math.sqrt(2) * sigma);
    }
    expect(dropoutThreshold(0)).toBe(0);
  });
});

describe.each(backends)('dropout on %s', (name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  // 1, a prime, a batch of images, and on WebGPU more than 65,535 workgroups of 256 (2-D dispatch; the CPU backend has no grid).
  // Steps: the first, a large one, and 2^31 − 1, the last an i32 holds.
  it.each([[[1], 0.5, 3, 1], [[1031], 0.3, 7, 123457], [[64, 26, 26, 32], 0.25, 2 ** 32 - 1, 2 ** 31 - 1], ...gpuOnly(name, [[65536 * 257 + 3], 0.5, 11, 2] as const)] as const)(
    'x %j, rate %d, seed %d, step %d: the reference mask and values',
    async (shape, rate, seed, step) => {
      const x = randn(rng(shape[0]), [...shape]);
      const attrs = { rate, seed };
      const [got] = await runOn(be, dropout, [x, at(step)], attrs);
      const [want] = reference(dropout, [x, at(step)], attrs);
      // The same zeros exactly, then the values.
      for (let i = 0; i < want.length; i++) if ((got[i] === 0) !== (want[i] === 0)) expect.fail(`mask differs at ${i}: got ${got[i]}, want ${want[i]}`);
      expectClose(got, want, ONE_ROUNDING, `dropout ${JSON.stringify(shape)}`);
    },
  );

  // A noise shape: one bit per (sample, feature) shared over the steps (a recurrent layer's input dropout), over
  // two adjacent axes (SpatialDropout2D's [B, 1, 1, C]), a shared axis of size 1 (no sharing), inner size 1.
  it.each([
    [[3, 5, 7], [3, 1, 7]],
    [[64, 28, 128], [64, 1, 128]],
    [[3, 4, 5, 6], [3, 1, 1, 6]],
    [[5, 1, 7], [5, 1, 7]],
    [[4, 9, 1], [4, 1, 1]],
    [[1, 1], [1, 1]],
  ] as const)('x %j, noiseShape %j: the reference mask and values', async (shape, noiseShape) => {
    const x = randn(rng(shape.length), [...shape]);
    const attrs = { rate: 0.4, seed: 21, noiseShape };
    const [got] = await runOn(be, dropout, [x, at(9)], attrs);
    const [want] = reference(dropout, [x, at(9)], attrs);
    for (let i = 0; i < want.length; i++) if ((got[i] === 0) !== (want[i] === 0)) expect.fail(`mask differs at ${i}: got ${got[i]}, want ${want[i]}`);
    expectClose(got, want, ONE_ROUNDING, `dropout ${JSON.stringify(shape)} noise ${JSON.stringify(noiseShape)}`);
  });

  it('rate 0 is the identity; the same seed and step draw the same mask, another seed or step another', async () => {
    const x = randn(rng(1), [4099]);
    expect(Array.from((await runOn(be, dropout, [x, at(1)], { rate: 0, seed: 5 }))[0])).toEqual(Array.from(x.data));
    const a = (await runOn(be, dropout, [x, at(1)], { rate: 0.5, seed: 5 }))[0];
    const b = (await runOn(be, dropout, [x, at(1)], { rate: 0.5, seed: 5 }))[0];
    expect(Array.from(a)).toEqual(Array.from(b));
    for (const [seed, step] of [[6, 1], [5, 2]]) {
      const c = (await runOn(be, dropout, [x, at(step)], { rate: 0.5, seed }))[0];
      const differs = a.filter((v, i) => (v === 0) !== (c[i] === 0)).length;
      // Two independent masks at rate 0.5 disagree on about half the elements.
      expect(differs / a.length, `seed ${seed}, step ${step}`).toBeGreaterThan(0.45);
      expect(differs / a.length, `seed ${seed}, step ${step}`).toBeLessThan(0.55);
    }
  });

  it('through autodiff: d(x) of Σ tanh(dropout(x)) matches finite differences, with the same mask', async () => {
    const attrs = { rate: 0.4, seed: 99 };
    const g = new Graph();
    const x = g.param('x', [7, 13]);
    const step = g.input('step', [1], 'i32');
    const L = g.op(reduceSum, [g.op(activation, [g.op(dropout, [x, step], attrs, 'd')], { kind: 'tanh' })], {}, 'L');
    const grads = gradients(g, L, [x]);
    const data = randn(rng(3), [7, 13]).data as Float32Array;
    const t = be.allocate([7, 13]);
    be.write(t, data);
    const s = be.allocate([1], 'i32');
    be.write(s, Int32Array.of(17));
    const compiled = await compileGraph(be, g, new Map<typeof x, DeviceTensor>([[x, t], [step, s]]), [grads.get(x)!]);
    compiled.program.run();
    const got = await be.read(compiled.tensor(grads.get(x)!));
    const loss = (v: Float64Array) => reference(dropout, [{ info: { shape: [7, 13], dtype: 'f32' }, data: v }, at(17)], attrs)[0].reduce((s, y) => s + Math.tanh(y), 0);
    const want = numericGradient(loss, Float64Array.from(data));
    // float32 tanh' and one scaling against float64 central differences.
    expectClose(got, want, { atol: 1e-6, rtol: 1e-5, why: 'float32 tanh derivative times 1/(1 − rate)' }, 'd(x)');
    // Dropped elements get no gradient.
    const [y] = reference(dropout, [tensor([7, 13], data), at(17)], attrs);
    y.forEach((v, i) => v === 0 && expect(got[i], `element ${i}`).toBe(0));
    compiled.dispose();
    be.free(t);
    be.free(s);
  });
});

describe('dropout with a noise shape (CPU reference)', () => {
  it('x [B, T, F] with [B, 1, F]: every step reads bit b·F + f, the mask plain dropout draws on [B, F]', () => {
    const [B, T, F] = [6, 11, 9];
    const attrs = { rate: 0.5, seed: 77, noiseShape: [B, 1, F] };
    const ones = tensor([B, T, F], new Float32Array(B * T * F).fill(1));
    const [y] = reference(dropout, [ones, at(4)], attrs);
    const [plain] = reference(dropout, [tensor([B, F], new Float32Array(B * F).fill(1)), at(4)], { rate: 0.5, seed: 77 });
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let f = 0; f < F; f++) expect(y[(b * T + t) * F + f], `[${b}, ${t}, ${f}]`).toBe(plain[b * F + f]);
    expect(noiseFold([B, T, F], [B, 1, F])).toEqual({ inner: F, span: T * F });
    expect(noiseFold([B, T, F], undefined)).toEqual({ inner: 1, span: 1 });
  });

  it('drops a fraction `rate` of the (sample, feature) bits', () => {
    const [B, T, F] = [400, 3, 250];
    const rate = 0.3;
    const [y] = reference(dropout, [tensor([B, T, F], new Float32Array(B * T * F).fill(1)), at(2)], { rate, seed: 5, noiseShape: [B, 1, F] });
    const dropped = y.filter((v) => v === 0).length / y.length;
    // Binomial over B·F = 100,000 bits (each repeated T times): within 5σ of rate.
    expect(Math.abs(dropped - rate)).toBeLessThan(5 * Math.sqrt((rate * (1 - rate)) / (B * F)));
  });

  it('refuses a noise shape that does not fit, or shares axes that are not adjacent', () => {
    const x = { shape: [4, 5, 6], dtype: 'f32' as const };
    const step = { shape: [1], dtype: 'i32' as const };
    const attrs = (noiseShape: number[]) => ({ rate: 0.5, seed: 1, noiseShape });
    expect(() => dropout.outputs([x, step], attrs([4, 1]))).toThrow(/dropout: noiseShape \[4,1\] does not fit x \[4, 5, 6\]: give x's shape with 1 on the axes that share a mask bit, e\.g\. \[4, 1, 6\]/);
    expect(() => dropout.outputs([x, step], attrs([4, 2, 6]))).toThrow(/noiseShape \[4,2,6\] does not fit x/);
    expect(() => dropout.outputs([x, step], attrs([1, 5, 1]))).toThrow(/dropout: noiseShape \[1,5,1\] shares axes that are not adjacent \(0, 2\)/);
  });

  it('L = Σ dropout(x)·G with a noise shape: d(x) = dropout(G), the same seed and noise shape', () => {
    const attrs = { rate: 0.3, seed: 999, noiseShape: [3, 1, 4] };
    const x = randn(rng(6), [3, 5, 4]);
    const G = randn(rng(7), [3, 5, 4]);
    const loss = (v: Float64Array) => reference(dropout, [{ info: x.info, data: v }, at(8)], attrs)[0].reduce((s, y, i) => s + y * G.data[i], 0);
    expectClose(reference(dropout, [G, at(8)], attrs)[0], numericGradient(loss, Float64Array.from(x.data)), FD_TOL, 'd(x)');
  });
});

describe('dropout refuses bad options, naming them', () => {
  const x = { shape: [3], dtype: 'f32' as const };
  const step = { shape: [1], dtype: 'i32' as const };
  it.each([
    [{ rate: 1, seed: 0 }, /dropout: rate must be a number in \[0, 1\), got 1/],
    [{ rate: -0.1, seed: 0 }, /rate must be a number in \[0, 1\), got -0.1/],
    [{ rate: Number.NaN, seed: 0 }, /rate must be a number in \[0, 1\), got NaN/],
    [{ rate: 0.5, seed: 1.5 }, /dropout: seed must be an integer in \[0, 2\^32\), got 1.5/],
    [{ rate: 0.5, seed: 2 ** 32 }, /seed must be an integer in \[0, 2\^32\)/],
  ])('%j', (attrs, message) => {
    expect(() => dropout.outputs([x, step], attrs)).toThrow(message);
  });
  it('an i32 input, and a missing or malformed step number', () => {
    const ok = { rate: 0.5, seed: 1 };
    expect(() => dropout.outputs([{ shape: [3], dtype: 'i32' }, step], ok)).toThrow(/dropout: input 0 must be f32, got i32\[3\]/);
    expect(() => dropout.outputs([x], ok)).toThrow(/dropout: input 1 must be the step number, i32\[1\], got nothing/);
    expect(() => dropout.outputs([x, { shape: [1], dtype: 'f32' }], ok)).toThrow(/input 1 must be the step number, i32\[1\], got f32\[1\]/);
    expect(() => dropout.outputs([x, { shape: [2], dtype: 'i32' }], ok)).toThrow(/got i32\[2\]/);
  });
});

describe('dropout against finite differences (CPU reference)', () => {
  it('L = Σ dropout(x)·G: d(x) = dropout(G), the same seed', () => {
    const attrs = { rate: 0.3, seed: 12345 };
    const x = randn(rng(4), [101]);
    const G = randn(rng(5), [101]);
    const loss = (v: Float64Array) => reference(dropout, [{ info: x.info, data: v }, at(5)], attrs)[0].reduce((s, y, i) => s + y * G.data[i], 0);
    expectClose(reference(dropout, [G, at(5)], attrs)[0], numericGradient(loss, Float64Array.from(x.data)), FD_TOL, 'd(x)');
  });
});
