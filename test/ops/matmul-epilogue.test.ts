import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { ShapeError, ValueError } from '../../src/core/errors.js';
import type { ActivationAttrs } from '../../src/ops/activation.js';
import { activation, activationBackwardFromOutput } from '../../src/ops/activation.js';
import { biasAdd } from '../../src/ops/bias.js';
import type { MatmulAttrs } from '../../src/ops/matmul.js';
import { MATMUL_VARIANTS, matmul } from '../../src/ops/matmul.js';
import { matmulActivationGrad, matmulBiasActivation } from '../../src/ops/matmul-epilogue.js';
import { backends } from '../helpers/backends.js';
import { expectClose, randn, reference, rng, runOn, tensor } from '../helpers/check.js';
import type { HostTensor, Tolerance } from '../helpers/check.js';

const U = 2 ** -24;

/**
 * A fused launch does the unfused ops' float32 operations in the same order,
 * on the same accumulators: the results should agree to the bit. The slack
 * is for a shader compiler contracting a multiply and an add into one FMA
 * (one rounding fewer) in one shader and not in the other.
 */
const SAME: Tolerance = { atol: 2 ** -120, rtol: 4 * U, why: 'the same f32 operations; at most a contracted multiply-add apart' };

// Every kind the epilogue knows, with non-default alphas.
const KINDS: ActivationAttrs[] = [
  { kind: 'linear' }, { kind: 'relu' }, { kind: 'leakyRelu' }, { kind: 'leakyRelu', alpha: 0.05 },
  { kind: 'elu' }, { kind: 'elu', alpha: 0.7 }, { kind: 'sigmoid' }, { kind: 'tanh' },
];

// [M, K, N]: 1s, primes, multiples of 4 off every tile (mat8/16 edges), past a second 128-tile edge.
const SHAPES: [number, number, number][] = [[1, 1, 1], [7, 13, 17], [65, 36, 132], [131, 19, 257]];
const FORMS: MatmulAttrs[] = [{}, { transA: true }, { transB: true }, { transA: true, transB: true }];

function operands(seed: number, [M, K, N]: [number, number, number], { transA, transB }: MatmulAttrs): [HostTensor, HostTensor] {
  const r = rng(seed);
  return [randn(r, transA ? [K, M] : [M, K], -1.5, 1.5), randn(r, transB ? [N, K] : [K, N], -1.5, 1.5)];
}

const tag = (form: MatmulAttrs, act: ActivationAttrs) =>
  `${form.transA ? 'Aᵀ' : 'A'}·${form.transB ? 'Bᵀ' : 'B'}${form.variant ? ` (${form.variant})` : ''} ${act.kind}${act.alpha !== undefined ? ` α=${act.alpha}` : ''}`;

describe.each(backends)('matmul epilogues on %s', (name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());
  const variants = name === 'webgpu' ? [...MATMUL_VARIANTS] : [undefined];

  /** f(op(A)·op(B) + bias) fused, against matmul, biasAdd and activation launched one by one. */
  async function forward(form: MatmulAttrs, act: ActivationAttrs, shape: [number, number, number], seed: number) {
    const [a, b] = operands(seed, shape, form);
    const bias = randn(rng(seed + 1), [shape[2]], -1, 1);
    const [got] = await runOn(be, matmulBiasActivation, [a, b, bias], { ...form, activation: act });
    const [c] = await runOn(be, matmul, [a, b], form);
    const [z] = await runOn(be, biasAdd, [tensor([shape[0], shape[2]], c), bias], {});
    const [want] = await runOn(be, activation, [tensor([shape[0], shape[2]], z)], act);
    expectClose(got, want, SAME, `${tag(form, act)} ${shape.join('x')} forward`);
  }

  /** (op(A)·op(B))·f'(x) from y fused, against matmul and activationBackwardFromOutput one by one. */
  async function backward(form: MatmulAttrs, act: ActivationAttrs, shape: [number, number, number], seed: number) {
    const [a, b] = operands(seed, shape, form);
    const [M, , N] = shape;
    const [y0] = reference(activation, [randn(rng(seed + 2), [M, N], -3, 3)], act);
    const y = tensor([M, N], y0);
    const [got] = await runOn(be, matmulActivationGrad, [a, b, y], { ...form, activation: act });
    const [dh] = await runOn(be, matmul, [a, b], form);
    const [want] = await runOn(be, activationBackwardFromOutput, [y, tensor([M, N], dh)], act);
    expectClose(got, want, SAME, `${tag(form, act)} ${shape.join('x')} backward`);
  }

  // Every variant (each stores C its own way) on every shape; the epilogue is
  // blind to transposes, so the forms and the kinds are taken in turn.
  let turn = 0;
  for (const variant of variants) {
    for (const shape of SHAPES) {
      const form = { ...FORMS[turn % FORMS.length], variant };
      const act = KINDS[turn++ % KINDS.length];
      const seed = turn * 7;
      it(`${tag(form, act)} ${shape.join('x')}: fused = unfused, forward and backward`, async () => {
        await forward(form, act, shape, seed + shape[0]);
        await backward(form, act, shape, seed + shape[1]);
      });
    }
  }

  it.each(KINDS)('every kind at a Dense-sized shape (128×784×130): %o', async (act) => {
    await forward({}, act, [128, 784, 130], 3);
    await backward({ transB: true }, act, [128, 130, 784], 4);
  });

  it('agrees with the float64 reference of the whole chain', async () => {
    const [a, b] = operands(9, [33, 70, 45], {});
    const bias = randn(rng(10), [45]);
    const act: ActivationAttrs = { kind: 'tanh' };
    const [got] = await runOn(be, matmulBiasActivation, [a, b, bias], { activation: act });
    const [want] = reference(matmulBiasActivation, [a, b, bias], { activation: act });
    // K·U relative on each dot product (|A||B| ≤ 70·2.25), tanh' ≤ 1, plus tanh's own 22U.
    expectClose(got, want, { atol: 70 * 2.25 * 70 * U * 1.01 + 1e-7, rtol: 30 * U, why: 'γ_K·|A||B| carried through tanh (slope ≤ 1), tanh\'s WGSL error' }, 'tanh chain');
  });

  it('refuses a wrong operand shape, a missing operand, an activation that needs its input', () => {
    const a = be.allocate([3, 4]);
    const b = be.allocate([4, 5]);
    const c = be.allocate([3, 5]);
    const relu = { activation: { kind: 'relu' } as ActivationAttrs };
    expect(() => be.run(matmulBiasActivation, [a, b, be.allocate([4])], [c], relu)).toThrow(ShapeError);
    expect(() => be.run(matmulBiasActivation, [a, b, be.allocate([4])], [c], relu)).toThrow(/bias must be f32\[5\] to match C f32\[3, 5\], got f32\[4\]/);
    expect(() => be.run(matmulActivationGrad, [a, b, be.allocate([5, 3])], [c], relu)).toThrow(/y must be f32\[3, 5\]/);
    expect(() => be.run(matmulBiasActivation, [a, b], [c], relu)).toThrow(/expects three inputs, A, B and bias/);
    expect(() => be.run(matmulBiasActivation, [a, b, be.allocate([5])], [c], { activation: { kind: 'gelu' } })).toThrow(ValueError);
    expect(() => be.run(matmulBiasActivation, [a, b, be.allocate([5])], [c], { activation: { kind: 'gelu' } })).toThrow(/'gelu' cannot ride in a matmul epilogue/);
  });
});
