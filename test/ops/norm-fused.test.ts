import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { add } from '../../src/ops/elementwise.js';
import { layerNorm, layerNormBackward } from '../../src/ops/norm.js';
import { layerNormBackwardAdd } from '../../src/ops/norm-fused.js';
import { backends } from '../helpers/backends.js';
import { expectClose, randn, reference, rng, runOn, tensor } from '../helpers/check.js';
import type { HostTensor, Tolerance } from '../helpers/check.js';

const U = 2 ** -24;
// The same f32 operations in the same order; a shader compiler may contract a multiply-add in one entry point and not the other.
const SAME: Tolerance = { atol: 2 ** -120, rtol: 8 * U, why: 'the same f32 operations; at most a contracted multiply-add apart' };

// [rows…, features]: 1s, primes, the 4-D rows the self-check uses, a GPT block's (batch 32 × context 64, width 128).
const SHAPES = [[1, 1], [7, 13], [67, 129], [3, 11, 9, 5], [32, 64, 128]];

/** x, γ, mean, rstd as layerNorm makes them, dy and r: layerNormBackwardAdd's inputs. */
function operands(shape: number[], seed: number): HostTensor[] {
  const r = rng(seed);
  const C = shape[shape.length - 1];
  const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const x = randn(r, shape, -2, 2);
  const gamma = randn(r, [C], 0.5, 1.5);
  const [, mean, rstd] = reference(layerNorm, [x, gamma, randn(r, [C])], { epsilon: 1e-5 });
  return [x, gamma, tensor([rows], mean), tensor([rows], rstd), randn(r, shape, -1, 1), randn(r, shape, -3, 3)];
}

describe.each(backends)('layerNormBackwardAdd on %s', (_name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  it.each(SHAPES.map((s) => [s]))('= layerNormBackward then add(r, dx), %j', async (shape) => {
    const ins = operands(shape, shape.length * 31 + shape[0]);
    const [got] = await runOn(be, layerNormBackwardAdd, ins, {});
    const [dx] = await runOn(be, layerNormBackward, ins.slice(0, 5), {});
    const [want] = await runOn(be, add, [ins[5], tensor(shape, dx)], {});
    expectClose(got, want, SAME, `${shape.join('x')}`);
  });

  it('agrees with the float64 reference', async () => {
    const ins = operands([67, 129], 5);
    const [got] = await runOn(be, layerNormBackwardAdd, ins, {});
    const [want] = reference(layerNormBackwardAdd, ins, {});
    // dx's error (129-term sums of |g| ≤ 1.5, times rstd ≤ ~2), then one rounding of a sum of magnitude ≤ ~6.
    expectClose(got, want, { atol: 2e-6, rtol: 1e-5, why: "layerNormBackward's f32 row sums, and the sum's rounding" }, 'reference');
  });

  it('refuses an r unlike x and a missing one, by name', () => {
    const [x, gamma, mean, rstd, dy] = operands([4, 3], 1).map((t) => t.info);
    expect(() => layerNormBackwardAdd.outputs([x, gamma, mean, rstd, dy, { shape: [3, 4], dtype: 'f32' }], {})).toThrow(/layerNormBackwardAdd: r must be f32\[4, 3\] like x, got f32\[3, 4\]/);
    expect(() => layerNormBackwardAdd.outputs([x, gamma, mean, rstd, dy], {})).toThrow(/expects six inputs, x, gamma, mean, rstd, dy and r, got 5/);
  });
});
