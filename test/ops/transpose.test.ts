import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, DeviceTensor } from '../../src/backend/backend.js';
import { gradients } from '../../src/graph/autodiff.js';
import { compileGraph } from '../../src/graph/executor.js';
import { Graph } from '../../src/graph/graph.js';
import type { Value } from '../../src/graph/graph.js';
import { multiply } from '../../src/ops/elementwise.js';
import { reduceSum } from '../../src/ops/reduce.js';
import { swapAxes } from '../../src/ops/transpose.js';
import { backends } from '../helpers/backends.js';
import { expectClose, randn, reference, rng, runOn } from '../helpers/check.js';

/* swapAxes: [B, T, H, D] ↔ [B, H, T, D] for attention's heads, and its gradient. */

const EXACT = { atol: 0, rtol: 0, why: 'a permutation of the values' };

describe('swapAxes (CPU reference)', () => {
  it('moves x[b, t, h, d] to out[b, h, t, d], as torch.transpose(1, 2)', () => {
    const x = randn(rng(1), [2, 3, 4, 5]);
    const [out] = reference(swapAxes, [x], {});
    expect(swapAxes.outputs([x.info], {})[0].shape).toEqual([2, 4, 3, 5]);
    for (let b = 0; b < 2; b++) for (let t = 0; t < 3; t++) for (let h = 0; h < 4; h++) for (let d = 0; d < 5; d++) {
      expect(out[((b * 4 + h) * 3 + t) * 5 + d]).toBe(x.data[((b * 3 + t) * 4 + h) * 5 + d]);
    }
  });

  it('swaps axes 0 and 1 of a matrix (a transpose) and refuses an axis with no next one, naming the range', () => {
    const x = randn(rng(2), [3, 7]);
    const [out] = reference(swapAxes, [x], { axis: 0 });
    expect(out[4 * 3 + 2]).toBe(x.data[2 * 7 + 4]);
    expect(() => swapAxes.outputs([x.info], { axis: 1 })).toThrow(/axis must be a whole number in \[0, 0\] for a tensor of rank 2 .* got 1/);
    expect(() => swapAxes.outputs([{ shape: [4], dtype: 'f32' }], {})).toThrow(/x must be an f32 tensor of rank ≥ 2, got f32\[4\]/);
  });
});

describe.each(backends)('swapAxes on %s', (_name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  it.each([
    [[3, 17, 5, 9], 1],
    [[2, 3, 4, 5, 6], 2],
    [[1, 1, 7, 3], 1],
  ] as const)('%j axis %i against the reference', async (shape, axis) => {
    const x = randn(rng(3), [...shape]);
    expectClose((await runOn(be, swapAxes, [x], { axis }))[0], reference(swapAxes, [x], { axis })[0], EXACT, 'swapAxes');
  });

  it('through autodiff: d⟨swapAxes(x), W⟩/dx is W swapped back', async () => {
    const x = randn(rng(4), [2, 5, 3, 4]);
    const W = randn(rng(5), [2, 3, 5, 4]);
    const g = new Graph();
    const xv = g.param('x', x.info.shape);
    const wv = g.input('W', W.info.shape);
    const L = g.op(reduceSum, [g.op(multiply, [g.op(swapAxes, [xv], {}), wv], {})], {}, 'L');
    const grads = gradients(g, L, [xv]);
    const bound = new Map<Value, DeviceTensor>();
    for (const [v, t] of [[xv, x], [wv, W]] as const) {
      const d = be.allocate(v.shape);
      be.write(d, t.data);
      bound.set(v, d);
    }
    const compiled = await compileGraph(be, g, bound, [grads.get(xv)!]);
    compiled.program.run();
    const got = await be.read(compiled.tensor(grads.get(xv)!));
    expectClose(got, reference(swapAxes, [W], {})[0], EXACT, 'd(x)');
    compiled.dispose();
    for (const t of bound.values()) be.free(t);
  });
});
