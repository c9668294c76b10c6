import { ShapeError, ValueError } from '../core/errors.js';
import type { TensorInfo } from '../core/shape.js';
import { expectRank, fmt } from '../core/shape.js';
import type { ActivationAttrs } from './activation.js';
import { activationBackward, activationConstants, activationFunction, activationGradOfOutput, gradFromOutput } from './activation.js';
import type { HostArray, Kernel } from './kernel.js';
import { defineKernel } from './kernel.js';
import type { MatmulAttrs } from './matmul.js';
import { matmul, matmulDims, matmulLaunch, matmulPacked } from './matmul.js';

/**
 * Matmuls that finish their neighbours' work as they store C (matmul.wgsl's
 * epilogue), so that a Dense layer's forward, the gradient flowing back
 * through its activation, a branch added to its residual and a gradient
 * added to those summed before it each take one launch instead of two or
 * three and never write the intermediate to memory. graph/fuse.ts puts them in place of
 * the unfused ops; they have no gradient rule of their own.
 */
export interface MatmulActivationAttrs extends MatmulAttrs {
  readonly activation: ActivationAttrs;
}

/** The activations matmul.wgsl's epilogue knows: those whose gradient needs only the output. */
export function epilogueActivation(op: string, attrs: ActivationAttrs): { ACT: number; ALPHA: number } {
  if (!gradFromOutput(attrs)) {
    throw new ValueError(`${op}: activation '${attrs.kind}'${attrs.alpha !== undefined ? ` (alpha ${attrs.alpha})` : ''} cannot ride in a matmul epilogue; only those whose gradient needs just the output (linear, relu, leakyRelu, elu with alpha ≥ 0, sigmoid, tanh)`);
  }
  const { kind, alpha } = activationConstants(op, attrs);
  return { ACT: kind, ALPHA: alpha };
}

/** An epilogue's activation constants, checked: epilogueActivation, or any kind (ofInput) for the gradient from the activation's input. */
type Constants = (op: string, attrs: ActivationAttrs) => { ACT: number; ALPHA: number };

/** Any elementwise kind: its gradient from its input is activateGrad, which every kind has. */
const ofInput: Constants = (op, attrs) => {
  const { kind, alpha } = activationConstants(op, attrs);
  return { ACT: kind, ALPHA: alpha };
};

/** An epilogue operand: what errors call it, and its shape for C [M, N]. */
interface Operand {
  readonly what: string;
  readonly want: (M: number, N: number) => number[];
}

const COUNT = ['', '', '', 'three', 'four'];

/** C's shape, after checking each epilogue operand has its `want` shape. */
function withOperands(op: string, inputs: readonly TensorInfo[], attrs: MatmulActivationAttrs, operands: readonly Operand[], constants: Constants): TensorInfo[] {
  const names = ['A', 'B', ...operands.map((o) => o.what)];
  if (inputs.length !== names.length || inputs.some((x) => !x)) {
    throw new ShapeError(`${op}: expects ${COUNT[names.length]} inputs, ${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`);
  }
  constants(op, attrs.activation);
  if (op === 'matmulAdd' && attrs.activation.kind !== 'linear') throw new ValueError(`matmulAdd: adds op(A)·op(B) to r as it is; its activation must be 'linear', got '${attrs.activation.kind}'`);
  const [c] = matmul.outputs(inputs.slice(0, 2), attrs);
  operands.forEach(({ what, want }, k) => {
    const operand = inputs[2 + k];
    const shape = want(c.shape[0], c.shape[1]);
    expectRank(operand, shape.length, op, what);
    if (operand.dtype !== 'f32' || operand.shape.some((d, i) => d !== shape[i])) {
      throw new ShapeError(`${op}: ${what} must be f32[${shape.join(', ')}] to match C ${fmt(c)}, got ${fmt(operand)}`);
    }
  });
  return [c];
}

type Finish = (c: HostArray, operands: readonly HostArray[], M: number, N: number, attrs: MatmulActivationAttrs) => void;

/** A fused kernel: the matmul (reference or fast), then `finish` on C in place, in C's own precision at each step as the unfused ops store it. */
function fused(name: string, operands: readonly Operand[], epilogue: number, finish: Finish, constants: Constants = epilogueActivation): Kernel<MatmulActivationAttrs> {
  return defineKernel<MatmulActivationAttrs>({
    name,
    shader: matmul.shader,
    outputs: (inputs, attrs) => withOperands(name, inputs, attrs, operands, constants),
    cpu([a, b, ...e], [c], infos, attrs) {
      matmul.cpu([a, b], [c], infos, attrs);
      const { M, N } = matmulDims(infos, attrs);
      finish(c, e, M, N, attrs);
    },
    cpuFast([a, b, ...e], [c], infos, attrs) {
      const { M, N, K } = matmulDims(infos, attrs);
      matmulPacked(a, b, c, M, N, K, attrs.transA ?? false, attrs.transB ?? false);
      finish(c, e, M, N, attrs);
    },
    gpu(inputs, attrs, ctx) {
      return matmulLaunch(inputs, attrs, ctx, { EPILOGUE: epilogue, ...constants(name, attrs.activation) }, operands.map((_, k) => 2 + k));
    },
  });
}

const BIAS: Operand = { what: 'bias', want: (_M, N) => [N] };
/** An operand with C's own shape, under the name errors give it. */
const like = (what: string): Operand => ({ what, want: (M, N) => [M, N] });

/** f(c + bias) in place, rounded to f32 after the sum as biasAdd stores it. */
function biasActivation(c: HostArray, bias: HostArray, M: number, N: number, attrs: MatmulActivationAttrs): void {
  const f = activationFunction(attrs.activation);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      const k = i * N + j;
      c[k] = c[k] + bias[j]; // stored (rounded) first, as biasAdd's output is
      c[k] = f(c[k]);
    }
  }
}

/** y = f(op(A)·op(B) + bias), bias [N] added to every row: a Dense layer's forward. */
export const matmulBiasActivation = fused('matmulBiasActivation', [BIAS], 1, (c, [bias], M, N, attrs) => biasActivation(c, bias, M, N, attrs));

/** dx = (op(A)·op(B)) · f'(x), from y = f(x) [M, N]: a gradient matmul followed by the activation's backward. */
export const matmulActivationGrad = fused('matmulActivationGrad', [like('y')], 2, (c, [y], M, N, attrs) => {
  const g = activationGradOfOutput(attrs.activation);
  for (let k = 0; k < M * N; k++) c[k] = g(y[k]) * c[k];
});

/**
 * dx = (op(A)·op(B)) · f'(x), from the activation's input x [M, N]: as
 * matmulActivationGrad, for the kinds whose gradient needs x (gelu, softplus):
 * a gradient matmul followed by activationBackward, which it computes as that
 * kernel does on the matmul's stored C.
 */
export const matmulActivationGradOfInput = fused('matmulActivationGradOfInput', [like('x')], 5, (c, [x], M, N, attrs) => {
  activationBackward.cpu([x, c], [c], [], attrs.activation);
}, ofInput);

/**
 * op(A)·op(B) + r, r [M, N]: a gradient matmul added to the gradients summed
 * before it, where a tensor feeds several ops (self-attention's query, key and
 * value projections of one input). The activation is always linear here.
 */
export const matmulAdd = fused('matmulAdd', [like('r')], 3, (c, [r], M, N) => {
  for (let k = 0; k < M * N; k++) c[k] = c[k] + r[k];
});

/** f(op(A)·op(B) + bias) + r, bias [N], r [M, N]: a Dense branch added to its residual (a Transformer block's two sums). */
export const matmulBiasActivationAdd = fused('matmulBiasActivationAdd', [BIAS, like('r')], 4, (c, [bias, r], M, N, attrs) => {
  biasActivation(c, bias, M, N, attrs);
  for (let k = 0; k < M * N; k++) c[k] = c[k] + r[k];
});
