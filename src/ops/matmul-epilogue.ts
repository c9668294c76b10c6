import { ShapeError, ValueError } from '../core/errors.js';
import type { TensorInfo } from '../core/shape.js';
import { expectRank, fmt } from '../core/shape.js';
import type { ActivationAttrs } from './activation.js';
import { activationConstants, activationFunction, activationGradOfOutput, gradFromOutput } from './activation.js';
import type { HostArray, Kernel } from './kernel.js';
import { defineKernel } from './kernel.js';
import type { MatmulAttrs } from './matmul.js';
import { matmul, matmulDims, matmulLaunch, matmulPacked } from './matmul.js';

/**
 * Matmuls that finish their neighbours' work as they store C (matmul.wgsl's
 * epilogue), so that a Dense layer's forward, and the gradient flowing back
 * through its activation, each take one launch instead of two or three and
 * never write the intermediate to memory. graph/fuse.ts puts them in place of
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

/** C's shape, after checking the epilogue's operand has `want`'s shape. */
function withOperand(op: string, inputs: readonly TensorInfo[], attrs: MatmulActivationAttrs, what: string, want: (M: number, N: number) => number[]): TensorInfo[] {
  const operand = inputs[2];
  if (inputs.length !== 3 || !operand) throw new ShapeError(`${op}: expects three inputs, A, B and ${what}`);
  epilogueActivation(op, attrs.activation);
  const [c] = matmul.outputs(inputs.slice(0, 2), attrs);
  const shape = want(c.shape[0], c.shape[1]);
  expectRank(operand, shape.length, op, what);
  if (operand.dtype !== 'f32' || operand.shape.some((d, i) => d !== shape[i])) {
    throw new ShapeError(`${op}: ${what} must be f32[${shape.join(', ')}] to match C ${fmt(c)}, got ${fmt(operand)}`);
  }
  return [c];
}

type Finish = (c: HostArray, operand: HostArray, M: number, N: number, attrs: MatmulActivationAttrs) => void;

/** A fused kernel: the matmul (reference or fast), then `finish` on C in place, in C's own precision at each step as the unfused ops store it. */
function fused(name: string, what: string, want: (M: number, N: number) => number[], epilogue: number, finish: Finish): Kernel<MatmulActivationAttrs> {
  return defineKernel<MatmulActivationAttrs>({
    name,
    shader: matmul.shader,
    outputs: (inputs, attrs) => withOperand(name, inputs, attrs, what, want),
    cpu([a, b, e], [c], infos, attrs) {
      matmul.cpu([a, b], [c], infos, attrs);
      const { M, N } = matmulDims(infos, attrs);
      finish(c, e, M, N, attrs);
    },
    cpuFast([a, b, e], [c], infos, attrs) {
      const { M, N, K } = matmulDims(infos, attrs);
      matmulPacked(a, b, c, M, N, K, attrs.transA ?? false, attrs.transB ?? false);
      finish(c, e, M, N, attrs);
    },
    gpu(inputs, attrs, ctx) {
      return matmulLaunch(inputs, attrs, ctx, { EPILOGUE: epilogue, ...epilogueActivation(name, attrs.activation) }, 2);
    },
  });
}

/** y = f(op(A)·op(B) + bias), bias [N] added to every row: a Dense layer's forward. */
export const matmulBiasActivation = fused('matmulBiasActivation', 'bias', (_M, N) => [N], 1, (c, bias, M, N, attrs) => {
  const f = activationFunction(attrs.activation);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      const k = i * N + j;
      c[k] = c[k] + bias[j]; // stored (rounded) first, as biasAdd's output is
      c[k] = f(c[k]);
    }
  }
});

/** dx = (op(A)·op(B)) · f'(x), from y = f(x) [M, N]: a gradient matmul followed by the activation's backward. */
export const matmulActivationGrad = fused('matmulActivationGrad', 'y', (M, N) => [M, N], 2, (c, y, M, N, attrs) => {
  const g = activationGradOfOutput(attrs.activation);
  for (let k = 0; k < M * N; k++) c[k] = g(y[k]) * c[k];
});
