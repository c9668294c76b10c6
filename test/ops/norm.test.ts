import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, DeviceTensor } from '../../src/backend/backend.js';
import { gradients } from '../../src/graph/autodiff.js';
import { compileGraph } from '../../src/graph/executor.js';
import { Graph } from '../../src/graph/graph.js';
import type { Value } from '../../src/graph/graph.js';
import { batchNorm, batchNormBackward, batchNormInference, layerNorm, layerNormBackward, layerNormParamGrad, movingAverage, normTile } from '../../src/ops/norm.js';
import { reduceSum } from '../../src/ops/reduce.js';
import { activation } from '../../src/ops/activation.js';
import { backends } from '../helpers/backends.js';
import type { HostTensor, Tolerance } from '../helpers/check.js';
import { expectClose, FD_TOL, numericGradient, randn, reference, rng, runOn, tensor } from '../helpers/check.js';

/*
 * Batch and layer normalization over the last axis, their gradients, and the
 * moving average of batch normalization's statistics.
 */

/**
 * Normalized values are O(1). The GPU sums each column (or row) in float32:
 * lanes of up to rows/ROWS terms, added pairwise. The mean's error is then
 * about √n·2⁻²⁴ relative for n terms of random sign, a few 1e-7 at the sizes
 * below, and the output carries it times rstd·γ (≤ about 4 here: rows of
 * numbers in [−1, 1] have a variance near 1/3). The gradients add two more
 * such sums. The worst difference seen on llvmpipe was 2.7e-6; 2e-5 leaves
 * room for other adapters.
 */
const NORM_TOL: Tolerance = { atol: 2e-5, rtol: 2e-5, why: 'float32 column and row sums of up to 43,264 terms, pairwise across lanes, against float64' };

// A single row (variance 0: y = β), primes, rows that no tile divides, an image batch, and the large case.
const SHAPES: number[][] = [[1, 5], [7, 1], [67, 13], [3, 11, 9, 5], [2, 7, 7, 129], [64, 26, 26, 32]];

describe.each(backends)('normalization on %s', (_name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  it.each(SHAPES.map((s) => [s]))('batchNorm and its gradient, x %j, against the float64 reference', async (shape) => {
    const C = shape[shape.length - 1];
    const x = randn(rng(C), shape, -1, 3);
    const gamma = randn(rng(2), [C], 0.5, 1.5);
    const beta = randn(rng(3), [C]);
    const attrs = { epsilon: 1e-3 };
    const got = await runOn(be, batchNorm, [x, gamma, beta], attrs);
    const want = reference(batchNorm, [x, gamma, beta], attrs);
    ['y', 'mean', 'var'].forEach((n, i) => expectClose(got[i], want[i], NORM_TOL, `batchNorm ${n}`));
    // The backward pass with batchNorm's own statistics (as float32, as the device holds them).
    const [mean, variance] = [tensor([C], want[1]), tensor([C], want[2])];
    const dy = randn(rng(4), shape);
    const gb = await runOn(be, batchNormBackward, [x, gamma, mean, variance, dy], attrs);
    const wb = reference(batchNormBackward, [x, gamma, mean, variance, dy], attrs);
    ['dx', 'dgamma', 'dbeta'].forEach((n, i) => expectClose(gb[i], wb[i], { ...NORM_TOL, atol: Number(NORM_TOL.atol) * Math.max(1, Math.sqrt(wb[0].length / C) / 16) }, `batchNormBackward ${n}`));
    const gi = await runOn(be, batchNormInference, [x, gamma, beta, mean, variance], attrs);
    // With the batch's own statistics, inference is training's y.
    expectClose(gi[0], want[0], NORM_TOL, 'batchNormInference with the batch statistics');
  });

  it.each(SHAPES.map((s) => [s]))('layerNorm and its gradients, x %j, against the float64 reference', async (shape) => {
    const C = shape[shape.length - 1];
    const R = shape.reduce((a, b) => a * b, 1) / C;
    const x = randn(rng(C + 1), shape, -2, 1);
    const gamma = randn(rng(5), [C], 0.5, 1.5);
    const beta = randn(rng(6), [C]);
    const attrs = { epsilon: 1e-3 };
    const got = await runOn(be, layerNorm, [x, gamma, beta], attrs);
    const want = reference(layerNorm, [x, gamma, beta], attrs);
    ['y', 'mean', 'rstd'].forEach((n, i) => expectClose(got[i], want[i], { ...NORM_TOL, rtol: 1e-4 }, `layerNorm ${n}`));
    const [mean, rstd] = [tensor([R], want[1]), tensor([R], want[2])];
    const dy = randn(rng(7), shape);
    expectClose((await runOn(be, layerNormBackward, [x, gamma, mean, rstd, dy], {}))[0], reference(layerNormBackward, [x, gamma, mean, rstd, dy], {})[0], { ...NORM_TOL, rtol: 1e-4 }, 'layerNormBackward dx');
    const gp = await runOn(be, layerNormParamGrad, [x, mean, rstd, dy], {});
    const wp = reference(layerNormParamGrad, [x, mean, rstd, dy], {});
    // dγ and dβ are sums over the rows: their error grows with √rows.
    const sumTol = { ...NORM_TOL, atol: Number(NORM_TOL.atol) * Math.max(1, Math.sqrt(R) / 16) };
    expectClose(gp[0], wp[0], sumTol, 'layerNormParamGrad dgamma');
    expectClose(gp[1], wp[1], sumTol, 'layerNormParamGrad dbeta');
  });

  it('movingAverage updates in place: avg = m·avg + (1 − m)·v', async () => {
    const v = randn(rng(8), [1031]);
    const avg = randn(rng(9), [1031]);
    const got = await runOn(be, movingAverage, [v], { momentum: 0.99 }, [avg]);
    expectClose(got[0], reference(movingAverage, [v], { momentum: 0.99 }, [avg])[0], { atol: 1e-7, rtol: 2e-7, why: 'two float32 products and a sum' }, 'avg');
    expect(got[0][5]).toBeCloseTo(0.99 * avg.data[5] + 0.01 * v.data[5], 6);
  });

  it('through autodiff, on the device: batchNorm then layerNorm then tanh, every gradient against finite differences', async () => {
    const shape = [5, 3, 2, 4];
    const g = new Graph();
    const x = g.param('x', shape);
    const [g1, b1, g2, b2] = ['g1', 'b1', 'g2', 'b2'].map((n) => g.param(n, [4]));
    const [h] = g.apply(batchNorm, [x, g1, b1], { epsilon: 1e-3 });
    const [h2] = g.apply(layerNorm, [h, g2, b2], { epsilon: 1e-3 });
    const L = g.op(reduceSum, [g.op(activation, [g.op(activation, [h2], { kind: 'tanh' })], { kind: 'relu' })], {}, 'L');
    const wrt = [x, g1, b1, g2, b2];
    const grads = gradients(g, L, wrt);
    const data: HostTensor[] = [randn(rng(11), shape, -1, 2), randn(rng(12), [4], 0.5, 1.5), randn(rng(13), [4]), randn(rng(14), [4], 0.5, 1.5), randn(rng(15), [4])];
    const bound = new Map<Value, DeviceTensor>();
    wrt.forEach((v, i) => {
      const t = be.allocate(v.shape);
      be.write(t, data[i].data);
      bound.set(v, t);
    });
    const compiled = await compileGraph(be, g, bound, wrt.map((v) => grads.get(v)!));
    compiled.program.run();
    // The same function in float64 from the references.
    const f = (vals: Float64Array[]) => {
      const t = (i: number, s: number[]) => ({ info: { shape: s, dtype: 'f32' as const }, data: vals[i] as never });
      const [y1] = reference(batchNorm, [t(0, shape), t(1, [4]), t(2, [4])], { epsilon: 1e-3 });
      const [y2] = reference(layerNorm, [{ info: { shape, dtype: 'f32' }, data: y1 as never }, t(3, [4]), t(4, [4])], { epsilon: 1e-3 });
      return y2.reduce((s, v) => s + Math.max(0, Math.tanh(v)), 0);
    };
    for (let k = 0; k < wrt.length; k++) {
      const base = data.map((d) => Float64Array.from(d.data));
      const want = numericGradient((v) => f(base.map((b, i) => (i === k ? v : b))), base[k]);
      const got = await be.read(compiled.tensor(grads.get(wrt[k])!));
      // float32 forward and backward against float64 central differences; relu's kink is met with probability 0.
      expectClose(got, want, { atol: 2e-5, rtol: 1e-4, why: 'float32 normalization, tanh and their gradients against float64 differences' }, `d(${wrt[k].name})`);
    }
    compiled.dispose();
    for (const t of bound.values()) be.free(t);
  });
});

describe('normalization gradients against finite differences (CPU reference, float64)', () => {
  const shape = [6, 2, 3, 5];
  const C = 5;
  const x = randn(rng(20), shape, -1, 2);
  const gamma = randn(rng(21), [C], 0.5, 1.5);
  const beta = randn(rng(22), [C]);
  const G = randn(rng(23), shape);
  const attrs = { epsilon: 1e-3 };
  const f64 = (t: HostTensor, v: Float64Array) => ({ info: t.info, data: v as never });
  const dot = (y: Float64Array) => y.reduce((s, v, i) => s + v * G.data[i], 0);

  it('batchNorm: L = Σ y·G, for x, γ and β (the statistics depend on x)', () => {
    const [, mean, variance] = reference(batchNorm, [x, gamma, beta], attrs);
    const [dx, dgamma, dbeta] = reference(batchNormBackward, [x, gamma, tensor([C], mean), tensor([C], variance), G], attrs);
    const L = (i: number) => (v: Float64Array) => dot(reference(batchNorm, [x, gamma, beta].map((t, k) => (k === i ? f64(t, v) : t)), attrs)[0]);
    // mean and var were rounded to float32 above: their rounding moves dx by ~1e-7 relative.
    expectClose(dx, numericGradient(L(0), Float64Array.from(x.data)), { atol: 1e-5, rtol: 1e-5, why: 'statistics passed through float32 (2^-24 relative) and finite differences' }, 'dx');
    expectClose(dgamma, numericGradient(L(1), Float64Array.from(gamma.data)), { atol: 1e-5, rtol: 1e-5, why: 'as dx' }, 'dgamma');
    expectClose(dbeta, numericGradient(L(2), Float64Array.from(beta.data)), FD_TOL, 'dbeta');
  });

  it('layerNorm: L = Σ y·G, for x, γ and β', () => {
    const [, mean, rstd] = reference(layerNorm, [x, gamma, beta], attrs);
    const R = mean.length;
    const [dx] = reference(layerNormBackward, [x, gamma, tensor([R], mean), tensor([R], rstd), G], {});
    const [dgamma, dbeta] = reference(layerNormParamGrad, [x, tensor([R], mean), tensor([R], rstd), G], {});
    const L = (i: number) => (v: Float64Array) => dot(reference(layerNorm, [x, gamma, beta].map((t, k) => (k === i ? f64(t, v) : t)), attrs)[0]);
    const tol: Tolerance = { atol: 1e-5, rtol: 1e-5, why: 'statistics passed through float32 (2^-24 relative) and finite differences' };
    expectClose(dx, numericGradient(L(0), Float64Array.from(x.data)), tol, 'dx');
    expectClose(dgamma, numericGradient(L(1), Float64Array.from(gamma.data)), tol, 'dgamma');
    expectClose(dbeta, numericGradient(L(2), Float64Array.from(beta.data)), FD_TOL, 'dbeta');
  });

  it('batchNorm normalizes each channel over the batch and pixels; layerNorm each row over the channels', () => {
    const [y] = reference(batchNorm, [x, tensor([C], new Array(C).fill(1)), tensor([C], new Array(C).fill(0))], attrs);
    for (let c = 0; c < C; c++) {
      const col = y.filter((_, i) => i % C === c);
      const m = col.reduce((a, b) => a + b, 0) / col.length;
      expect(Math.abs(m)).toBeLessThan(1e-12);
      // Variance var/(var + ε): just under 1.
      const v = col.reduce((a, b) => a + (b - m) ** 2, 0) / col.length;
      expect(v).toBeGreaterThan(0.99);
      expect(v).toBeLessThan(1);
    }
    const [z] = reference(layerNorm, [x, tensor([C], new Array(C).fill(1)), tensor([C], new Array(C).fill(0))], attrs);
    const row = z.slice(0, C);
    expect(Math.abs(row.reduce((a, b) => a + b, 0))).toBeLessThan(1e-12);
  });
});

describe('normalization kernels refuse bad inputs, naming them', () => {
  const x = { shape: [4, 3], dtype: 'f32' as const };
  const v3 = { shape: [3], dtype: 'f32' as const };
  it.each([
    [() => batchNorm.outputs([{ shape: [3], dtype: 'f32' }, v3, v3], { epsilon: 1e-3 }), /batchNorm: x must be f32 of rank 2 or more/],
    [() => batchNorm.outputs([x, { shape: [4], dtype: 'f32' }, v3], { epsilon: 1e-3 }), /batchNorm: gamma must be f32\[3\] \(x's last axis\), got f32\[4\]/],
    [() => batchNorm.outputs([x, v3, v3], { epsilon: 0 }), /batchNorm: epsilon must be a positive number, got 0/],
    [() => batchNormBackward.outputs([x, v3, v3, v3, { shape: [4, 4], dtype: 'f32' }], { epsilon: 1e-3 }), /batchNormBackward: dy must be f32\[4, 3\] like x/],
    [() => movingAverage.outputs([v3], { momentum: 1 }), /movingAverage: momentum must be a number in \[0, 1\), got 1/],
    [() => layerNormBackward.outputs([x, v3, v3, v3, x], {}), /layerNormBackward: mean must be f32\[4\] \(one per row of x\), got f32\[3\]/],
  ])('%#', (f, message) => expect(f).toThrow(message));

  it('the column tile gives at least 8 workgroups where the channels allow, 256 invocations always', () => {
    expect(normTile(32)).toEqual({ cols: 4, rows: 64 });
    expect(normTile(5)).toEqual({ cols: 1, rows: 256 });
    expect(normTile(4096)).toEqual({ cols: 32, rows: 8 });
  });
});
