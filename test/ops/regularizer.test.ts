import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { MAX_PENALTY_VALUES, penalty, penaltyGrad } from '../../src/ops/regularizer.js';
import { backends, gpuOnly } from '../helpers/backends.js';
import { expectClose, FD_TOL, numericGradient, randn, reference, rng, runOn, tensor } from '../helpers/check.js';

/* Keras' L1L2 penalty, l1·Σ|w| + l2·Σw², and its gradient. */

describe.each(backends)('penalty on %s', (name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  // 1, a prime, a conv kernel, a 784×1000 dense kernel, and on WebGPU the largest weight the penalty takes (what one
  // workgroup sums; the CPU backend runs the reference's loop, for which 784×1000 is as large).
  it.each([[[1]], [[1031]], [[3, 3, 32, 64]], [[784, 1000]], ...gpuOnly(name, [[MAX_PENALTY_VALUES]])])('w %j: the penalty and its gradient against float64', async (shape) => {
    const w = randn(rng(shape[0]), shape);
    for (const attrs of [{ l1: 0.01, l2: 0 }, { l1: 0, l2: 1e-3 }, { l1: 1e-4, l2: 5e-4 }]) {
      const [got] = await runOn(be, penalty, [w], attrs);
      const [want] = reference(penalty, [w], attrs);
      // Σ of n terms in float32, pairwise across 256 lanes of n/256 terms each: relative error ≤ (n/256 + 8)·2⁻²⁴ for these positive terms.
      const n = w.data.length;
      expectClose(got, want, { atol: 0, rtol: (n / 256 + 8) * 2 ** -24 + 1e-7, why: 'a float32 sum of positive terms, n/256 in order then pairwise' }, `penalty ${JSON.stringify(attrs)}`);
      const d = tensor([1], [0.7]);
      const [dw] = await runOn(be, penaltyGrad, [w, d], attrs);
      expectClose(dw, reference(penaltyGrad, [w, d], attrs)[0], { atol: 1e-12, rtol: 4e-7, why: 'a few float32 products and a sum per element' }, `penaltyGrad ${JSON.stringify(attrs)}`);
    }
  });

  it('the gradient of |w| at 0 is 0, as TensorFlow has it', async () => {
    const [dw] = await runOn(be, penaltyGrad, [tensor([3], [0, 2, -2]), tensor([1], [1])], { l1: 0.5, l2: 0 });
    expect(Array.from(dw)).toEqual([0, 0.5, -0.5]);
  });
});

describe('penalty against finite differences (CPU reference)', () => {
  it('d(penalty)/dw = l1·sign(w) + 2·l2·w', () => {
    const w = randn(rng(3), [57]);
    const attrs = { l1: 0.03, l2: 0.2 };
    const f = (v: Float64Array) => reference(penalty, [{ info: w.info, data: v as never }], attrs)[0][0];
    expectClose(reference(penaltyGrad, [w, tensor([1], [1])], attrs)[0], numericGradient(f, Float64Array.from(w.data)), FD_TOL, 'dw');
  });
});

describe('penalty refuses bad factors, naming them', () => {
  it.each([
    [{ l1: -1, l2: 0 }, /penalty: l1 must be a number >= 0, got -1/],
    [{ l1: 0, l2: Number.NaN }, /penalty: l2 must be a number >= 0, got NaN/],
  ])('%j', (attrs, message) => expect(() => penalty.outputs([{ shape: [3], dtype: 'f32' }], attrs)).toThrow(message));
  it('a weight too large to sum in one workgroup', () => {
    expect(() => penalty.outputs([{ shape: [4096, 1025], dtype: 'f32' }], { l1: 0, l2: 1 })).toThrow(/penalty: at most 4,194,304 values per weight, got f32\[4096, 1025\]/);
  });
});
