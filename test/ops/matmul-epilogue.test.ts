import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { ShapeError, ValueError } from '../../src/core/errors.js';
import type { ActivationAttrs } from '../../src/ops/activation.js';
import { activation, activationBackward, activationBackwardFromOutput } from '../../src/ops/activation.js';
import { biasAdd } from '../../src/ops/bias.js';
import type { MatmulAttrs } from '../../src/ops/matmul.js';
import { MATMUL_VARIANTS, matmul } from '../../src/ops/matmul.js';
import { add } from '../../src/ops/elementwise.js';
import { matmulActivationGrad, matmulActivationGradOfInput, matmulAdd, matmulBiasActivation, matmulBiasActivationAdd } from '../../src/ops/matmul-epilogue.js';
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

// The gradient from the activation's input takes every kind; those whose gradient needs it first.
const INPUT_KINDS: ActivationAttrs[] = [{ kind: 'gelu' }, { kind: 'softplus' }, { kind: 'elu', alpha: -0.5 }, { kind: 'relu' }, { kind: 'tanh' }];

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

  /** (op(A)·op(B))·f'(x) from x fused, against matmul and activationBackward one by one. */
  async function ofInput(form: MatmulAttrs, act: ActivationAttrs, shape: [number, number, number], seed: number) {
    const [a, b] = operands(seed, shape, form);
    const [M, , N] = shape;
    const x = randn(rng(seed + 5), [M, N], -3, 3);
    const [got] = await runOn(be, matmulActivationGradOfInput, [a, b, x], { ...form, activation: act });
    const [dh] = await runOn(be, matmul, [a, b], form);
    const [want] = await runOn(be, activationBackward, [x, tensor([M, N], dh)], act);
    expectClose(got, want, SAME, `${tag(form, act)} ${shape.join('x')} matmulActivationGradOfInput`);
  }

  /**
   * op(A)·op(B) + r and f(op(A)·op(B) + bias) + r fused, against matmul,
   * biasAdd, activation and add one by one: the sum of a tensor's gradients
   * and a branch into its residual, each with the other addend first as the
   * graph has it.
   */
  async function sums(form: MatmulAttrs, act: ActivationAttrs, shape: [number, number, number], seed: number) {
    const [a, b] = operands(seed, shape, form);
    const [M, , N] = shape;
    const bias = randn(rng(seed + 3), [N], -1, 1);
    const r = randn(rng(seed + 4), [M, N], -2, 2);
    const [c] = await runOn(be, matmul, [a, b], form);
    const [gotSum] = await runOn(be, matmulAdd, [a, b, r], { ...form, activation: { kind: 'linear' } });
    const [wantSum] = await runOn(be, add, [r, tensor([M, N], c)], {});
    expectClose(gotSum, wantSum, SAME, `${tag(form, act)} ${shape.join('x')} matmulAdd`);
    const [z] = await runOn(be, biasAdd, [tensor([M, N], c), bias], {});
    const [y] = await runOn(be, activation, [tensor([M, N], z)], act);
    const [gotBranch] = await runOn(be, matmulBiasActivationAdd, [a, b, bias, r], { ...form, activation: act });
    const [wantBranch] = await runOn(be, add, [r, tensor([M, N], y)], {});
    expectClose(gotBranch, wantBranch, SAME, `${tag(form, act)} ${shape.join('x')} matmulBiasActivationAdd`);
  }

  // Every variant (each stores C its own way) on every shape; the epilogue is
  // blind to transposes, so the forms and the kinds are taken in turn.
  let turn = 0;
  for (const variant of variants) {
    for (const shape of SHAPES) {
      const form = { ...FORMS[turn % FORMS.length], variant };
      const act = KINDS[turn++ % KINDS.length];
      const seed = turn * 7;
      it(`${tag(form, act)} ${shape.join('x')}: fused = unfused, forward, backward (from y and from x) and the sums`, async () => {
        await forward(form, act, shape, seed + shape[0]);
        await backward(form, act, shape, seed + shape[1]);
        await sums(form, act, shape, seed + shape[2]);
        await ofInput(form, INPUT_KINDS[turn % INPUT_KINDS.length], shape, seed + 1);
      });
    }
  }

  it.each(KINDS)('every kind at a Dense-sized shape (128×784×130): %o', async (act) => {
    await forward({}, act, [128, 784, 130], 3);
    await backward({ transB: true }, act, [128, 130, 784], 4);
  });

  it("the sums and GELU's gradient at a GPT block's shapes (2048×128×128, 2048×512×128, 2048×128×512; large enough for tiled128's grid)", async () => {
    await sums({ transB: true }, { kind: 'linear' }, [2048, 128, 128], 5);
    await sums({}, { kind: 'linear' }, [2048, 512, 128], 6);
    await ofInput({ transB: true }, { kind: 'gelu' }, [2048, 128, 512], 7);
  });

  it('agrees with the float64 reference of the whole chain', async () => {
    const [a, b] = operands(9, [33, 70, 45], {});
    const bias = randn(rng(10), [45]);
    const act: ActivationAttrs = { kind: 'tanh' };
    const [got] = await runOn(be, matmulBiasActivation, [a, b, bias], { activation: act });
    const [want] = reference(matmulBiasActivation, [a, b, bias], { activation: act });
    // K·U relative on each dot product (|A||B| ≤ 70·2.25), tanh' ≤ 1, plus tanh's own 22U.
    expectClose(got, want, { atol: 70 * 2.25 * 70 * U * 1.01 + 1e-7, rtol: 30 * U, why: 'γ_K·|A||B| carried through tanh (slope ≤ 1), tanh\'s WGSL error' }, 'tanh chain');
    // The residual added last: one more rounding of a sum up to |tanh| + |r| ≤ 3.
    const r = randn(rng(11), [33, 45], -2, 2);
    const [gotBranch] = await runOn(be, matmulBiasActivationAdd, [a, b, bias, r], { activation: act });
    const [wantBranch] = reference(matmulBiasActivationAdd, [a, b, bias, r], { activation: act });
    expectClose(gotBranch, wantBranch, { atol: 70 * 2.25 * 70 * U * 1.01 + 1e-7 + 3 * U, rtol: 30 * U, why: "the chain's bound, and the sum's rounding" }, 'tanh chain + residual');
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
    expect(() => be.run(matmulBiasActivationAdd, [a, b, be.allocate([5])], [c], relu)).toThrow(/expects four inputs, A, B, bias and r/);
    expect(() => be.run(matmulBiasActivationAdd, [a, b, be.allocate([5]), be.allocate([5, 3])], [c], relu)).toThrow(/r must be f32\[3, 5\] to match C f32\[3, 5\], got f32\[5, 3\]/);
    expect(() => be.run(matmulAdd, [a, b, be.allocate([15])], [c], { activation: { kind: 'linear' } })).toThrow(/matmulAdd: r must have rank 2, got f32\[15\]/);
    expect(() => be.run(matmulAdd, [a, b, be.allocate([3, 5])], [c], relu)).toThrow(/matmulAdd: .* its activation must be 'linear', got 'relu'/);
    expect(() => be.run(matmulActivationGradOfInput, [a, b, be.allocate([5, 3])], [c], { activation: { kind: 'gelu' } })).toThrow(/matmulActivationGradOfInput: x must be f32\[3, 5\]/);
    expect(() => be.run(matmulActivationGradOfInput, [a, b, be.allocate([3, 5])], [c], { activation: { kind: 'softmax' } as never })).toThrow(/softmax/);
    expect(() => be.run(matmulBiasActivation, [a, b, be.allocate([5])], [c], { activation: { kind: 'gelu' } })).toThrow(ValueError);
    expect(() => be.run(matmulBiasActivation, [a, b, be.allocate([5])], [c], { activation: { kind: 'gelu' } })).toThrow(/'gelu' cannot ride in a matmul epilogue/);
  });
});
