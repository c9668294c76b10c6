import { ValueError } from '../core/errors.js';
import type { TensorInfo } from '../core/shape.js';
import { expectSame, fmt, sizeOf } from '../core/shape.js';
import code from '../../shaders/activation.wgsl?raw';
import type { ActivationAttrs } from './activations.js';
import { activationWgsl, gradFromOutput, resolveActivation } from './activations.js';
import type { GpuContext, GpuLaunch } from './kernel.js';
import { defineKernel, grid1d } from './kernel.js';

export { ACTIVATIONS, erfc, gradFromOutput, normalCdf } from './activations.js';
export type { ActivationAttrs, ActivationKind } from './activations.js';

/** The derivative from the output, f'(x) = g(f(x)), in float64: the reference for the WGSL. */
export function activationGradOfOutput(attrs: ActivationAttrs): (y: number) => number {
  if (!gradFromOutput(attrs)) throw new ValueError(`activation: the gradient of '${attrs.kind}'${attrs.kind === 'elu' ? ` with alpha ${attrs.alpha}` : ''} needs its input, not its output`);
  const { record, alpha } = resolveActivation('activation', attrs);
  return (y) => record.ofOutput!.g(y, alpha);
}

/** f(x) in float64, for references that apply an activation after other work. */
export function activationFunction(attrs: ActivationAttrs): (x: number) => number {
  const { record, alpha } = resolveActivation('activation', attrs);
  return (x) => record.f(x, alpha);
}

/** The WGSL KIND constant and alpha of an activation, validated. */
export function activationConstants(op: string, attrs: ActivationAttrs): { kind: number; alpha: number } {
  const { index, alpha } = resolveActivation(op, attrs);
  return { kind: index, alpha };
}

function onlyF32(op: string, arg: string, t: TensorInfo): void {
  if (t.dtype !== 'f32') throw new ValueError(`${op}: ${arg} must be f32, got ${fmt(t)}`);
}

const shader = { name: 'activation', code: `${activationWgsl()}\n\n${code}` };
const WG = 256;

/** One invocation per element of `t`: the KIND constant and alpha of the activation, then the count. */
function elementwiseLaunch(op: string, entry: string, t: TensorInfo, attrs: ActivationAttrs, ctx: GpuContext): GpuLaunch {
  const { alpha, index } = resolveActivation(op, attrs);
  const n = sizeOf(t.shape);
  return { entry, constants: { KIND: index }, params: [['u32', n], ['f32', alpha]], workgroups: grid1d(n, WG, ctx) };
}

/** y = f(x), elementwise, for any shape. */
export const activation = defineKernel<ActivationAttrs>({
  name: 'activation',
  shader,
  outputs([x], attrs) {
    resolveActivation('activation', attrs);
    onlyF32('activation', 'x', x);
    return [x];
  },
  cpu([x], [y], _infos, attrs) {
    const { record, alpha } = resolveActivation('activation', attrs);
    for (let i = 0; i < x.length; i++) y[i] = record.f(x[i], alpha);
  },
  gpu([x], attrs, ctx) {
    return elementwiseLaunch('activation', 'activation_forward', x, attrs, ctx);
  },
});

/** dx = f'(x)·dy, from the forward's input x (not its output: relu'(0) and gelu' need x). */
export const activationBackward = defineKernel<ActivationAttrs>({
  name: 'activationBackward',
  shader,
  outputs([x, dy], attrs) {
    resolveActivation('activationBackward', attrs);
    onlyF32('activationBackward', 'x', x);
    expectSame(x, dy, 'activationBackward', ['x', 'dy']);
    return [x];
  },
  cpu([x, dy], [dx], _infos, attrs) {
    const { record, alpha } = resolveActivation('activationBackward', attrs);
    for (let i = 0; i < x.length; i++) dx[i] = record.df(x[i], alpha) * dy[i];
  },
  gpu([x], attrs, ctx) {
    return elementwiseLaunch('activationBackward', 'activation_backward', x, attrs, ctx);
  },
});

/**
 * dx = f'(x)·dy from the forward's output y = f(x), for the kinds where
 * gradFromOutput holds: autodiff's choice for them.
 */
export const activationBackwardFromOutput = defineKernel<ActivationAttrs>({
  name: 'activationBackwardFromOutput',
  shader,
  outputs([y, dy], attrs) {
    activationGradOfOutput(attrs);
    onlyF32('activationBackwardFromOutput', 'y', y);
    expectSame(y, dy, 'activationBackwardFromOutput', ['y', 'dy']);
    return [y];
  },
  cpu([y, dy], [dx], _infos, attrs) {
    const g = activationGradOfOutput(attrs);
    for (let i = 0; i < y.length; i++) dx[i] = g(y[i]) * dy[i];
  },
  gpu([y], attrs, ctx) {
    return elementwiseLaunch('activationBackwardFromOutput', 'activation_backward_from_output', y, attrs, ctx);
  },
});
