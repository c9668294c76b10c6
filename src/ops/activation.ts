import { ValueError } from '../core/errors.js';
import type { TensorInfo } from '../core/shape.js';
import { expectSame, fmt, sizeOf } from '../core/shape.js';
import code from '../../shaders/activation.wgsl?raw';
import type { GpuContext, GpuLaunch } from './kernel.js';
import { defineKernel, grid1d } from './kernel.js';

/** In the order of the WGSL `KIND` constant. */
export const ACTIVATIONS = ['linear', 'relu', 'leakyRelu', 'elu', 'sigmoid', 'tanh', 'softplus', 'gelu'] as const;
export type ActivationKind = (typeof ACTIVATIONS)[number];

export interface ActivationAttrs {
  readonly kind: ActivationKind;
  /** leakyRelu: slope for x < 0 (default 0.2, ≥ 0, as Keras); elu: scale of e^x − 1 for x < 0 (default 1). */
  readonly alpha?: number;
}

interface Rule {
  /** Default alpha; kinds without one take no alpha. */
  readonly alpha?: number;
  f(x: number, alpha: number): number;
  /** df/dx. At a kink, the one-sided value PyTorch uses. */
  df(x: number, alpha: number): number;
  /** df/dx as a function of y = f(x), where it is one (see gradFromOutput). */
  dfy?(y: number, alpha: number): number;
}

const SQRT2 = Math.SQRT2;
const SQRT_PI = Math.sqrt(Math.PI);
const SQRT_2PI = Math.sqrt(2 * Math.PI);

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/**
 * erf(z) for 0 ≤ z < 1.5 by the series 2/√π·e^{-z²}·Σ 2ⁿz^{2n+1}/(1·3···(2n+1)),
 * whose terms are all positive (no cancellation, unlike the Taylor series).
 */
function erfSeries(z: number): number {
  let term = z;
  let sum = z;
  for (let n = 1; Math.abs(term) > 1e-17 * sum; n++) {
    term *= (2 * z * z) / (2 * n + 1);
    sum += term;
  }
  return (2 / SQRT_PI) * Math.exp(-z * z) * sum;
}

/**
 * erfc(z) for z ≥ 1.5 by Laplace's continued fraction e^{-z²}/√π · 1/(z + ½/(z + 1/(z + 3/2/(z + …)))),
 * 100 levels deep: converged to 1e-16 from z = 1.5 on. Below that, 1 − erf(z) loses at most 1.5 digits.
 */
function erfcFraction(z: number): number {
  let f = z;
  for (let k = 100; k >= 1; k--) f = z + k / 2 / f;
  return Math.exp(-z * z) / (SQRT_PI * f);
}

/** Complementary error function in float64 (about 1e-15 relative): the reference for the WGSL fit. */
export function erfc(z: number): number {
  if (z < 0) return 2 - erfc(-z);
  return z < 1.5 ? 1 - erfSeries(z) : erfcFraction(z);
}

/** Φ(x) = P(N(0,1) ≤ x), on the side where erfc does not cancel. */
export function normalCdf(x: number): number {
  return x < 0 ? 0.5 * erfc(-x / SQRT2) : 1 - 0.5 * erfc(x / SQRT2);
}

// The float64 references. Each is the textbook form, computed with the host's
// libm: none shares an approximation with the WGSL.
const RULES: { readonly [K in ActivationKind]: Rule } = {
  linear: { f: (x) => x, df: () => 1, dfy: () => 1 },
  relu: { f: (x) => (x > 0 ? x : 0), df: (x) => (x > 0 ? 1 : 0), dfy: (y) => (y > 0 ? 1 : 0) },
  leakyRelu: { alpha: 0.2, f: (x, a) => (x > 0 ? x : a * x), df: (x, a) => (x > 0 ? 1 : a), dfy: (y, a) => (y > 0 ? 1 : a) },
  elu: { alpha: 1, f: (x, a) => (x > 0 ? x : a * Math.expm1(x)), df: (x, a) => (x > 0 ? 1 : a * Math.exp(x)), dfy: (y, a) => (y > 0 ? 1 : y + a) },
  sigmoid: { f: sigmoid, df: (x) => sigmoid(x) * sigmoid(-x), dfy: (y) => y * (1 - y) },
  tanh: {
    f: Math.tanh,
    df: (x) => 1 / Math.cosh(x) ** 2,
    dfy: (y) => 1 - y * y,
  },
  softplus: { f: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))), df: sigmoid },
  gelu: { f: (x) => x * normalCdf(x), df: (x) => normalCdf(x) + (x * Math.exp(-0.5 * x * x)) / SQRT_2PI },
};

/** Validates kind and alpha; returns the rule and the alpha to use. */
function resolve(op: string, { kind, alpha }: ActivationAttrs): { rule: Rule; alpha: number; index: number } {
  const index = ACTIVATIONS.indexOf(kind);
  if (index < 0) throw new ValueError(`${op}: unknown activation '${String(kind)}' (use one of ${ACTIVATIONS.join(', ')})`);
  const rule = RULES[kind];
  if (alpha === undefined) return { rule, alpha: rule.alpha ?? 0, index };
  if (rule.alpha === undefined) throw new ValueError(`${op}: '${kind}' takes no alpha, got ${alpha} (only leakyRelu and elu do)`);
  if (typeof alpha !== 'number' || !Number.isFinite(alpha)) throw new ValueError(`${op}: alpha must be a finite number, got ${alpha}`);
  if (kind === 'leakyRelu' && alpha < 0) throw new ValueError(`${op}: leakyRelu alpha (negative slope) must be ≥ 0, got ${alpha}`);
  return { rule, alpha, index };
}

/**
 * Whether f'(x) is a function of y = f(x) alone, so that the gradient needs
 * only the forward's output (as PyTorch's sigmoid_backward and tanh_backward):
 * then nothing keeps the pre-activation, and a matmul can write y directly
 * (ops/matmul-epilogue.ts). For elu that takes alpha ≥ 0, where y > 0 exactly
 * when x > 0; softplus and gelu need x.
 */
export function gradFromOutput(attrs: ActivationAttrs): boolean {
  const { rule, alpha } = resolve('activation', attrs);
  return rule.dfy !== undefined && (attrs.kind !== 'elu' || alpha >= 0);
}

/** The derivative from the output, f'(x) = g(f(x)), in float64: the reference for the WGSL. */
export function activationGradOfOutput(attrs: ActivationAttrs): (y: number) => number {
  if (!gradFromOutput(attrs)) throw new ValueError(`activation: the gradient of '${attrs.kind}'${attrs.kind === 'elu' ? ` with alpha ${attrs.alpha}` : ''} needs its input, not its output`);
  const { rule, alpha } = resolve('activation', attrs);
  return (y) => rule.dfy!(y, alpha);
}

/** f(x) in float64, for references that apply an activation after other work. */
export function activationFunction(attrs: ActivationAttrs): (x: number) => number {
  const { rule, alpha } = resolve('activation', attrs);
  return (x) => rule.f(x, alpha);
}

/** The WGSL KIND constant and alpha of an activation, validated. */
export function activationConstants(op: string, attrs: ActivationAttrs): { kind: number; alpha: number } {
  const { index, alpha } = resolve(op, attrs);
  return { kind: index, alpha };
}

function onlyF32(op: string, arg: string, t: TensorInfo): void {
  if (t.dtype !== 'f32') throw new ValueError(`${op}: ${arg} must be f32, got ${fmt(t)}`);
}

const shader = { name: 'activation', code };
const WG = 256;

/** One invocation per element of `t`: the KIND constant and alpha of the activation, then the count. */
function elementwiseLaunch(op: string, entry: string, t: TensorInfo, attrs: ActivationAttrs, ctx: GpuContext): GpuLaunch {
  const { alpha, index } = resolve(op, attrs);
  const n = sizeOf(t.shape);
  return { entry, constants: { KIND: index }, params: [['u32', n], ['f32', alpha]], workgroups: grid1d(n, WG, ctx) };
}

/** y = f(x), elementwise, for any shape. */
export const activation = defineKernel<ActivationAttrs>({
  name: 'activation',
  shader,
  outputs([x], attrs) {
    resolve('activation', attrs);
    onlyF32('activation', 'x', x);
    return [x];
  },
  cpu([x], [y], _infos, attrs) {
    const { rule, alpha } = resolve('activation', attrs);
    for (let i = 0; i < x.length; i++) y[i] = rule.f(x[i], alpha);
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
    resolve('activationBackward', attrs);
    onlyF32('activationBackward', 'x', x);
    expectSame(x, dy, 'activationBackward', ['x', 'dy']);
    return [x];
  },
  cpu([x, dy], [dx], _infos, attrs) {
    const { rule, alpha } = resolve('activationBackward', attrs);
    for (let i = 0; i < x.length; i++) dx[i] = rule.df(x[i], alpha) * dy[i];
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
