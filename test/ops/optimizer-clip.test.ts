import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import type { Kernel } from '../../src/ops/kernel.js';
import type { GradientAttrs } from '../../src/ops/optimizer.js';
import { adam, adamValues, adamw, momentum, rateValues, rmsprop, sgd, sumSquares } from '../../src/ops/optimizer.js';
import { backends } from '../helpers/backends.js';
import type { HostTensor, Tolerance } from '../helpers/check.js';
import { expectClose, randn, reference, rng, runOn, tensor } from '../helpers/check.js';

/*
 * Gradient clipping (Keras' clipnorm / global_clipnorm through clipNorm and a
 * sum of squares, clipvalue) and weights left out of weight decay (decayEnd),
 * as every update kernel applies them before its rule: by hand, then each
 * kernel against its float64 CPU reference on an awkward size.
 */

const U = 2 ** -24; // float32 unit roundoff

/** Short chains on data without cancellation: a few roundings of u each (sqrt and division are 2–2.5 ulp in WGSL). */
const HAND: Tolerance = { atol: 0, rtol: 32 * U, why: 'float32 evaluation of short cancellation-free formulas' };

/**
 * One update of O(1) values against the float64 reference: the clip scale
 * c/max(√s, c) carries ≤ 16u (sqrt 10u, division 5u, product 1u), the update's
 * own chain the ≤ 26u of optimizer.test.ts's bound; Adam's m/(√v + ε) at step 3
 * divides values of one size. A missed clip or decay moves p by ≥ 1e-3 here.
 */
const ONE_STEP: Tolerance = { atol: 1e-6, rtol: 64 * U, why: 'one float32 update of O(1) values: clip scale ≤ 16u, the rule ≤ 26u (optimizer.test.ts)' };

interface Case {
  readonly name: string;
  readonly kernel: Kernel<any>;
  readonly attrs: object;
  readonly values: number[];
  readonly outputs: number;
}

/** Every kernel with weight decay on, so that decayEnd has something to leave out; Adam at step 3. */
const CASES: Case[] = [
  { name: 'sgd', kernel: sgd, attrs: { weightDecay: 0.1 }, values: rateValues('sgd', 0.1), outputs: 1 },
  { name: 'momentum (Nesterov)', kernel: momentum, attrs: { momentum: 0.9, nesterov: true, weightDecay: 0.1 }, values: rateValues('momentum', 0.1), outputs: 2 },
  { name: 'rmsprop centered, momentum', kernel: rmsprop, attrs: { centered: true, momentum: 0.9, epsilonInsideSqrt: true, weightDecay: 0.1 }, values: rateValues('rmsprop', 0.01), outputs: 4 },
  // L2 decay in Adam is normalised away by √v, mostly: a large one, so that leaving it out moves p by ≥ 1e-4.
  { name: 'adam', kernel: adam, attrs: { weightDecay: 1 }, values: adamValues('adam', 0.01, 3), outputs: 3 },
  { name: 'adamw', kernel: adamw, attrs: { weightDecay: 0.1, epsilonHat: true }, values: adamValues('adamw', 0.01, 3), outputs: 3 },
];

const N = 1031; // not a multiple of the workgroup (256)

describe('gradient clipping and decayEnd: refusals', () => {
  const values = { shape: [1], dtype: 'f32' } as const;
  const g = { shape: [4], dtype: 'f32' } as const;
  it('refuses both clips, a clip <= 0, a decayEnd that is no index, and a missing or unasked sum of squares', () => {
    expect(() => sgd.outputs([g, values, values], { clipNorm: 1, clipValue: 1 })).toThrow(/clipNorm and clipValue cannot both be set/);
    expect(() => sgd.outputs([g, values], { clipValue: 0 })).toThrow(/clipValue must be > 0, got 0/);
    expect(() => sgd.outputs([g, values, values], { clipNorm: -1 })).toThrow(/clipNorm must be > 0/);
    expect(() => sgd.outputs([g, values], { decayEnd: 1.5 })).toThrow(/decayEnd must be an element index/);
    expect(() => adam.outputs([g, { shape: [3], dtype: 'f32' }], { clipNorm: 1 })).toThrow(/with clipNorm, input 2 must be the gradients' sum of squares, f32\[1\]/);
    expect(() => sgd.outputs([g, values, values], {})).toThrow(/input 2 \(a sum of squares\) is read only with clipNorm/);
  });
});

describe.each(backends)('gradient clipping and decayEnd on %s', (_name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  async function sgdStep(g: number[], p: number[], attrs: GradientAttrs & { weightDecay?: number }, lr = 1): Promise<number[]> {
    const inputs = [tensor([g.length], g), tensor([1], [lr])];
    if (attrs.clipNorm !== undefined) {
      const [ss] = await runOn(be, sumSquares, [tensor([g.length], g)], {});
      inputs.push(tensor([1], ss));
    }
    const [out] = await runOn(be, sgd, inputs, attrs, [tensor([p.length], p)]);
    return [...out];
  }

  it('by hand: ‖(3, 4)‖ = 5 clipped to 2.5 halves g, to 10 leaves it; clipvalue 3.5 clamps; decayEnd 2 spares the last two', async () => {
    const [ss] = await runOn(be, sumSquares, [tensor([2], [3, 4])], {});
    expectClose(ss, [25], HAND, 'sum of squares');
    // SGD with lr 1 from p = 0: p = −g', the clipped gradient.
    expectClose(await sgdStep([3, 4], [0, 0], { clipNorm: 2.5 }), [-1.5, -2], HAND, 'clipNorm 2.5');
    expectClose(await sgdStep([3, 4], [0, 0], { clipNorm: 10 }), [-3, -4], HAND, 'clipNorm 10 (norm below it)');
    expectClose(await sgdStep([3, -4, 0.5], [0, 0, 0], { clipValue: 3.5 }), [-3, 3.5, -0.5], HAND, 'clipValue 3.5');
    // g = 0, wd 0.1, lr 1: p ← p − 0.1·p where decayed, p where not.
    expectClose(await sgdStep([0, 0, 0, 0], [1, 2, 3, 4], { weightDecay: 0.1, decayEnd: 2 }), [0.9, 1.8, 3, 4], HAND, 'decayEnd 2');
    // AdamW decays decoupled: p·(1 − lr·wd) only before decayEnd; g = 0 leaves m, v and the Adam step at 0.
    const adamInputs = [tensor([3], [0, 0, 0]), tensor([3], adamValues('adamw', 0.5, 1))];
    const [p] = await runOn(be, adamw, adamInputs, { weightDecay: 0.1, decayEnd: 1 }, [tensor([3], [1, 2, 3]), tensor([3], [0, 0, 0]), tensor([3], [0, 0, 0])]);
    expectClose(p, [0.95, 2, 3], HAND, 'adamw decayEnd 1');
  });

  it('sumSquares over 1031 and 65537 elements against float64', async () => {
    for (const n of [N, 65537]) {
      const g = randn(rng(n), [n], -2, 2);
      const [got] = await runOn(be, sumSquares, [g], {});
      // Positive terms: invocation t adds ⌈n/256⌉ in order, then 8 pairwise levels, each a rounding of u relative to the sum.
      const bound = (Math.ceil(n / 256) + 8) * U;
      expectClose(got, reference(sumSquares, [g], {})[0], { atol: 0, rtol: bound, why: `sum of ${n} positive squares: (⌈n/256⌉ + 8)·u` }, `n=${n}`);
    }
  });

  describe.each(CASES)('$name', ({ kernel, attrs, values, outputs }) => {
    const r = rng(7);
    const g = randn(r, [N], -1, 1);
    // p in [−1, 1]; slots in [0.1, 0.2] (v, RMSprop's mean square ≥ 0) but RMSprop's mean gradient (last) in
    // [−0.1, 0.1], so that the variance s − mg² ≥ 0.09 stays away from the cancellation a random state would make.
    const state: HostTensor[] = Array.from({ length: outputs }, (_, k) =>
      k === 0 || (kernel === rmsprop && k === outputs - 1) ? randn(r, [N], k === 0 ? -1 : -0.1, k === 0 ? 1 : 0.1) : randn(r, [N], 0.1, 0.2),
    );
    const squares = tensor([1], [reference(sumSquares, [g], {})[0][0]]);
    const sumNorm = Math.sqrt(squares.data[0]);
    const clips: [string, object, HostTensor[]][] = [
      // Half the norm: every element scaled by 1/2 (a missed clip doubles the step).
      ['clipNorm', { clipNorm: sumNorm / 2 }, [squares]],
      ['clipValue', { clipValue: 0.5 }, []],
      ['decayEnd 500', { decayEnd: 500 }, []],
      ['clipNorm and decayEnd 0', { clipNorm: sumNorm / 2, decayEnd: 0 }, [squares]],
    ];
    it.each(clips)('%s against the float64 reference', async (_label, extra, more) => {
      const all = { ...attrs, ...extra };
      const inputs = [g, tensor([values.length], values), ...more];
      const got = await runOn(be, kernel, inputs, all, state);
      const want = reference(kernel, inputs, all, state);
      got.forEach((o, k) => expectClose(o, want[k], ONE_STEP, `output ${k}`));
      // The option changes the result: the same step without it lands elsewhere.
      const plain = reference(kernel, [g, tensor([values.length], values)], attrs, state)[0];
      const moved = Math.max(...plain.map((v, i) => Math.abs(v - want[0][i])));
      expect(moved).toBeGreaterThan(1e-4);
    });
  });
});
