import { ValueError } from '../core/errors.js';
import type { TensorInfo } from '../core/shape.js';
import { f32, fmt, sizeOf } from '../core/shape.js';
import code from '../../shaders/optimizer.wgsl?raw';
import type { GpuContext, GpuLaunch, Kernel } from './kernel.js';
import { defineKernel, grid1d } from './kernel.js';

/*
 * Optimizer updates as in-place kernels: input g (the gradient), outputs the
 * parameter and its state, which they read and rewrite. State starts at zero,
 * which gives PyTorch's first step (its buffers start as a copy of g for
 * momentum, which equals mu*0 + g). Scalars live in the uniform; anything
 * depending on the step count is computed here in float64.
 *
 * Weight decay: `weightDecay` is PyTorch's L2 form (wd*p added to g) except in
 * AdamW. Keras 3 always decays decoupled (p -= lr*wd*p before the step): the
 * same as L2 for plain SGD, the same as our AdamW for Adam, different for
 * momentum and RMSprop.
 */

const shader = { name: 'optimizer', code };
const WG = 256;
const MIN_NORMAL_F32 = 2 ** -126;

/** Scalars travel as float32: one past its range would reach the GPU as infinity (and inf·0 = NaN). */
function finite(op: string, name: string, v: number): void {
  if (typeof v !== 'number' || !Number.isFinite(Math.fround(v))) throw new ValueError(`${op}: ${name} must be a finite float32 number, got ${v}`);
}

function nonNegative(op: string, name: string, v: number): void {
  finite(op, name, v);
  if (v < 0) throw new ValueError(`${op}: ${name} must be >= 0, got ${v}`);
}

/** Decay rates: 1 would freeze the state (and zero Adam's bias correction). */
function decayRate(op: string, name: string, v: number): void {
  finite(op, name, v);
  if (v < 0 || v >= 1) throw new ValueError(`${op}: ${name} must be in [0, 1), got ${v}`);
}

/** The denominator's epsilon keeps 0/0 away (g = 0 with zero state): it must survive as a normal float32. */
function epsilonOk(op: string, name: string, v: number): void {
  finite(op, name, v);
  if (Math.fround(v) < MIN_NORMAL_F32) throw new ValueError(`${op}: ${name} must be a normal positive float32 (>= 2^-126), got ${v}`);
}

/** Outputs: the parameter and `count - 1` state tensors, all shaped like g. */
function sameAsGrad(op: string, g: TensorInfo, count: number): TensorInfo[] {
  if (g.dtype !== 'f32') throw new ValueError(`${op}: gradient must be f32, got ${fmt(g)}`);
  return Array.from({ length: count }, () => f32(g.shape));
}

/** Uniform: the element count, then f32 scalars in WGSL struct order (their names are for the reader). */
function launch(entry: string, g: TensorInfo, params: [string, number][], ctx: GpuContext, constants?: Record<string, number>): GpuLaunch {
  const n = sizeOf(g.shape);
  return { entry, constants, params: [['u32', n], ...params.map(([, v]) => ['f32', v] as const)], workgroups: grid1d(n, WG, ctx) };
}

// ---------------------------------------------------------------- SGD

export interface SgdAttrs {
  readonly lr: number;
  readonly weightDecay?: number;
}

function sgdChecked({ lr, weightDecay = 0 }: SgdAttrs) {
  nonNegative('sgd', 'lr', lr);
  nonNegative('sgd', 'weightDecay', weightDecay);
  return { lr, wd: weightDecay };
}

/** p ← p − lr·(g + wd·p). Outputs: (p). */
export const sgd = defineKernel<SgdAttrs>({
  name: 'sgd',
  shader,
  inout: true,
  outputs([g], attrs) {
    sgdChecked(attrs);
    return sameAsGrad('sgd', g, 1);
  },
  cpu([g], [p], _infos, attrs) {
    const { lr, wd } = sgdChecked(attrs);
    for (let i = 0; i < p.length; i++) p[i] -= lr * (g[i] + wd * p[i]);
  },
  gpu([g], attrs, ctx) {
    const { lr, wd } = sgdChecked(attrs);
    return launch('sgd', g, [['lr', lr], ['wd', wd]], ctx);
  },
});

// ---------------------------------------------------------------- Momentum

export interface MomentumAttrs {
  readonly lr: number;
  readonly momentum: number;
  readonly nesterov?: boolean;
  readonly weightDecay?: number;
}

function momentumChecked({ lr, momentum: mu, nesterov = false, weightDecay = 0 }: MomentumAttrs) {
  nonNegative('momentum', 'lr', lr);
  decayRate('momentum', 'momentum', mu);
  nonNegative('momentum', 'weightDecay', weightDecay);
  if (nesterov && mu === 0) throw new ValueError('momentum: nesterov needs momentum > 0, got 0');
  return { lr, mu, nesterov, wd: weightDecay };
}

/**
 * SGD with momentum in PyTorch's form, outputs (p, velocity):
 *   g' = g + wd·p;  v ← μ·v + g';  p ← p − lr·v   (Nesterov: p ← p − lr·(g' + μ·v)).
 * Keras writes v ← μ·v − lr·g; p ← p + v (Nesterov: p ← p + μ·v − lr·g). For a
 * constant lr the two give the same parameters: by induction v_keras = −lr·v_torch,
 * since μ·(−lr·v) − lr·g = −lr·(μ·v + g). They part when lr changes between
 * steps (PyTorch rescales the whole velocity by the new lr, Keras only the new g).
 */
export const momentum = defineKernel<MomentumAttrs>({
  name: 'momentum',
  shader,
  inout: true,
  outputs([g], attrs) {
    momentumChecked(attrs);
    return sameAsGrad('momentum', g, 2);
  },
  cpu([g], [p, v], _infos, attrs) {
    const { lr, mu, nesterov, wd } = momentumChecked(attrs);
    for (let i = 0; i < p.length; i++) {
      const gi = g[i] + wd * p[i];
      v[i] = mu * v[i] + gi;
      p[i] -= lr * (nesterov ? gi + mu * v[i] : v[i]);
    }
  },
  gpu([g], attrs, ctx) {
    const { lr, mu, nesterov, wd } = momentumChecked(attrs);
    return launch('momentum', g, [['lr', lr], ['mu', mu], ['wd', wd]], ctx, { NESTEROV: nesterov ? 1 : 0 });
  },
});

// ---------------------------------------------------------------- RMSprop

export interface RmspropAttrs {
  readonly lr: number;
  /** Decay of the mean square (Keras' rho, PyTorch's alpha). Default 0.9 (Keras; PyTorch uses 0.99). */
  readonly rho?: number;
  /** Default 1e-8, PyTorch's, which goes with its placement sqrt(s) + ε. Keras' default is 1e-7. */
  readonly epsilon?: number;
  /** Keras 3 and tf.js divide by sqrt(s + ε) instead of PyTorch's sqrt(s) + ε. */
  readonly epsilonInsideSqrt?: boolean;
  /** Heavy-ball momentum on the scaled gradient; > 0 adds a momentum-buffer output. */
  readonly momentum?: number;
  /** Normalise by the variance s − mg², mg the mean gradient; adds a mean-gradient output (last). */
  readonly centered?: boolean;
  readonly weightDecay?: number;
}

function rmspropChecked(a: RmspropAttrs) {
  const { lr, rho = 0.9, epsilon = 1e-8, epsilonInsideSqrt = false, momentum: mu = 0, centered = false, weightDecay = 0 } = a;
  nonNegative('rmsprop', 'lr', lr);
  decayRate('rmsprop', 'rho', rho);
  epsilonOk('rmsprop', 'epsilon', epsilon);
  decayRate('rmsprop', 'momentum', mu);
  nonNegative('rmsprop', 'weightDecay', weightDecay);
  return { lr, rho, eps: epsilon, epsInside: epsilonInsideSqrt, mu, centered, wd: weightDecay };
}

/**
 * RMSprop, outputs (p, meanSquare[, momentumBuffer if momentum > 0][, meanGrad if centered]):
 *   g' = g + wd·p;  s ← ρ·s + (1−ρ)·g'²;  d = g'/(√s + ε);  p ← p − lr·d.
 * Centered: mg ← ρ·mg + (1−ρ)·g' and s becomes max(s − mg², 0) in d (the clamp
 * only removes rounding below 0: s ≥ mg² in exact arithmetic, by Cauchy–Schwarz).
 * Momentum (PyTorch's): b ← μ·b + d; p ← p − lr·b. Keras accumulates lr·d
 * instead; for a constant lr that is the same trajectory (see `momentum`).
 * ε: PyTorch adds it to √s; Keras 3 and tf.js add it under the root, √(s + ε)
 * (`epsilonInsideSqrt`). tf.js' centered form computes √(s − (mg² + ε)), which
 * subtracts ε; we keep √(max(s − mg², 0) + ε) there.
 */
export const rmsprop = defineKernel<RmspropAttrs>({
  name: 'rmsprop',
  shader,
  inout: true,
  outputs([g], attrs) {
    const { mu, centered } = rmspropChecked(attrs);
    return sameAsGrad('rmsprop', g, 2 + (mu > 0 ? 1 : 0) + (centered ? 1 : 0));
  },
  cpu([g], [p, s, ...rest], _infos, attrs) {
    const { lr, rho, eps, epsInside, mu, centered, wd } = rmspropChecked(attrs);
    const buf = mu > 0 ? rest[0] : null;
    const mg = centered ? rest[rest.length - 1] : null;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i] + wd * p[i];
      s[i] = rho * s[i] + (1 - rho) * gi * gi;
      let meanSquare = s[i];
      if (mg) {
        mg[i] = rho * mg[i] + (1 - rho) * gi;
        meanSquare = Math.max(s[i] - mg[i] * mg[i], 0);
      }
      const d = gi / (epsInside ? Math.sqrt(meanSquare + eps) : Math.sqrt(meanSquare) + eps);
      if (buf) {
        buf[i] = mu * buf[i] + d;
        p[i] -= lr * buf[i];
      } else {
        p[i] -= lr * d;
      }
    }
  },
  gpu([g], attrs, ctx) {
    const { lr, rho, eps, epsInside, mu, centered, wd } = rmspropChecked(attrs);
    const entry = `rmsprop${centered ? '_centered' : ''}${mu > 0 ? '_momentum' : ''}`;
    const params: [string, number][] = [['lr', lr], ['rho', rho], ['1-rho', 1 - rho], ['eps', eps], ['wd', wd], ['mu', mu]];
    return launch(entry, g, params, ctx, { EPS_IN_SQRT: epsInside ? 1 : 0 });
  },
});

// ---------------------------------------------------------------- Adam / AdamW

export interface AdamAttrs {
  readonly lr: number;
  /** The step being taken, counting from 1: the bias corrections are 1 − β^step. */
  readonly step: number;
  readonly beta1?: number;
  readonly beta2?: number;
  /**
   * Default 1e-8 (the paper's and PyTorch's), added to √v̂ as PyTorch and tf.js
   * do (tf.js defaults to 1e-7). Keras' 1e-7 is the paper's ε̂, added to √v:
   * set `epsilonHat` for that form.
   */
  readonly epsilon?: number;
  /** Keras' and TensorFlow's placement: p ← p − lr·√(1−β2^t)/(1−β1^t)·m/(√v + ε). */
  readonly epsilonHat?: boolean;
  readonly weightDecay?: number;
  /** AdamW: p ← p − lr·wd·p before the Adam step (PyTorch's AdamW), instead of wd·p added to g. */
  readonly decoupled?: boolean;
}

export type AdamWAttrs = Omit<AdamAttrs, 'decoupled'>;

function adamChecked(op: string, a: AdamAttrs) {
  const { lr, step, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, epsilonHat = false, weightDecay = 0, decoupled = false } = a;
  nonNegative(op, 'lr', lr);
  if (!Number.isInteger(step) || step < 1) throw new ValueError(`${op}: step must be an integer >= 1 (the first step is 1), got ${step}`);
  decayRate(op, 'beta1', beta1);
  decayRate(op, 'beta2', beta2);
  nonNegative(op, 'weightDecay', weightDecay);
  const bc1 = 1 - beta1 ** step;
  const bc2 = 1 - beta2 ** step;
  epsilonOk(op, 'epsilon', epsilon);
  const epsHat = epsilonHat ? epsilon : epsilon * Math.sqrt(bc2);
  if (Math.fround(epsHat) < MIN_NORMAL_F32) {
    throw new ValueError(`${op}: epsilon·√(1−beta2^step) = ${epsHat} is below float32's normal range; use a larger epsilon`);
  }
  return { lr, step, beta1, beta2, eps: epsilon, epsilonHat, wd: weightDecay, decoupled, bc1, bc2, epsHat };
}

/**
 * Adam, outputs (p, m, v):
 *   g' = g + wd·p (or, decoupled, p ← p − lr·wd·p first);
 *   m ← β1·m + (1−β1)·g';  v ← β2·v + (1−β2)·g'²;  m̂ = m/(1−β1^t);  v̂ = v/(1−β2^t);
 *   p ← p − lr·m̂/(√v̂ + ε).
 */
function adamKernel(name: 'adam' | 'adamw', resolve: (a: AdamAttrs) => AdamAttrs): Kernel<AdamAttrs> {
  return defineKernel<AdamAttrs>({
    name,
    shader,
    inout: true,
    outputs([g], attrs) {
      adamChecked(name, resolve(attrs));
      return sameAsGrad(name, g, 3);
    },
    cpu([g], [p, m, v], _infos, attrs) {
      const { lr, beta1, beta2, eps, epsilonHat, wd, decoupled, bc1, bc2 } = adamChecked(name, resolve(attrs));
      for (let i = 0; i < p.length; i++) {
        if (decoupled) p[i] -= lr * wd * p[i];
        const gi = decoupled ? g[i] : g[i] + wd * p[i];
        m[i] = beta1 * m[i] + (1 - beta1) * gi;
        v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
        if (epsilonHat) {
          p[i] -= ((lr * Math.sqrt(bc2)) / bc1) * (m[i] / (Math.sqrt(v[i]) + eps));
        } else {
          const mHat = m[i] / bc1;
          const vHat = v[i] / bc2;
          p[i] -= (lr * mHat) / (Math.sqrt(vHat) + eps);
        }
      }
    },
    gpu([g], attrs, ctx) {
      const { lr, beta1, beta2, wd, decoupled, bc1, bc2, epsHat } = adamChecked(name, resolve(attrs));
      const params: [string, number][] = [
        ['step_size', (lr * Math.sqrt(bc2)) / bc1],
        ['beta1', beta1],
        ['1-beta1', 1 - beta1],
        ['beta2', beta2],
        ['1-beta2', 1 - beta2],
        ['eps_hat', epsHat],
        ['l2', decoupled ? 0 : wd],
        ['decay', decoupled ? 1 - lr * wd : 1],
      ];
      return launch('adam', g, params, ctx);
    },
  });
}

/** Adam; `decoupled: true` makes it AdamW. */
export const adam = adamKernel('adam', (a) => a);

/** AdamW (PyTorch's): Adam with decoupled weight decay, default weightDecay 0.01 (PyTorch's; Keras' is 0.004). */
export const adamw: Kernel<AdamWAttrs> = adamKernel('adamw', (a) => ({ ...a, weightDecay: a.weightDecay ?? 0.01, decoupled: true }));
