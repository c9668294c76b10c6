import { ValueError } from '../core/errors.js';
import type { TensorInfo } from '../core/shape.js';
import { sizeOf } from '../core/shape.js';
import type { GpuContext, GpuLaunch, Kernel } from './kernel.js';
import { defineKernel, grid1d } from './kernel.js';
import type { GradientAttrs } from './optimizer-common.js';
import { decayRate, epsilonOk, finite, gradientChecked, gradientLaunch, MIN_NORMAL_F32, nonNegative, shader, shapes } from './optimizer-common.js';

export type { GradientAttrs } from './optimizer-common.js';
export { sumSquares } from './optimizer-common.js';

/*
 * Optimizer updates as in-place kernels: input g (the gradient), outputs the
 * parameter and its state, which they read and rewrite. State starts at zero,
 * which gives PyTorch's first step (its buffers start as a copy of g for
 * momentum, which equals mu*0 + g).
 *
 * Inputs: the gradient, then the step's values, a small f32 tensor the
 * training step writes before each step like its batch (the learning rate of
 * this step, and Adam's bias corrections 1 − β^t, computed in float64 on the
 * host by `rateValues` / `adamValues`). The hyperparameters that never change
 * are attributes, in the uniform. So one compiled step serves every step: no
 * launch is re-encoded when the rate or the step count moves.
 *
 * Weight decay: `weightDecay` is PyTorch's L2 form (wd*p added to g) except in
 * AdamW. Keras 3 always decays decoupled (p -= lr*wd*p before the step): the
 * same as L2 for plain SGD, the same as our AdamW for Adam, different for
 * momentum and RMSprop.
 *
 * Every update may first clip its gradient (Keras' clipnorm / global_clipnorm
 * by `clipNorm`, reading the sum of squares of the gradients clipped together
 * as input 2, which `sumSquares` computes on the device; clipvalue by
 * `clipValue`) and stop weight decay at an element (`decayEnd`: the weights
 * excluded from weight decay are packed last). See GradientAttrs.
 */

const WG = 256;

/** The values an SGD, momentum or RMSprop update reads at a step: [lr], checked here because the kernel cannot. */
export function rateValues(op: string, lr: number): number[] {
  nonNegative(op, 'lr', lr);
  return [lr];
}

/** The values an Adam update reads at step `step` (the first is 1): [lr, 1 − β1^step, 1 − β2^step], in float64. */
export function adamValues(op: string, lr: number, step: number, beta1 = 0.9, beta2 = 0.999): number[] {
  nonNegative(op, 'lr', lr);
  if (!Number.isInteger(step) || step < 1) throw new ValueError(`${op}: step must be an integer >= 1 (the first step is 1), got ${step}`);
  return [lr, 1 - beta1 ** step, 1 - beta2 ** step];
}

/** Uniform: the element count, then f32 scalars in WGSL struct order (their names are for the reader). */
function launch(entry: string, g: TensorInfo, params: [string, number][], ctx: GpuContext, attrs: GradientAttrs, constants?: Record<string, number>): GpuLaunch {
  const n = sizeOf(g.shape);
  const clip = gradientLaunch(attrs);
  const all = { ...constants, ...clip.constants };
  return {
    entry,
    constants: Object.keys(all).length ? all : undefined,
    params: [['u32', n], ...params.map(([, v]) => ['f32', v] as const)],
    workgroups: grid1d(n, WG, ctx),
    leading: 2,
    extra: clip.extra,
  };
}

// ---------------------------------------------------------------- SGD

export interface SgdAttrs extends GradientAttrs {
  readonly weightDecay?: number;
}

function sgdChecked({ weightDecay = 0 }: SgdAttrs) {
  nonNegative('sgd', 'weightDecay', weightDecay);
  return { wd: weightDecay };
}

/** p ← p − lr·(g + wd·p). Inputs: (g, [lr]); outputs: (p). */
export const sgd = defineKernel<SgdAttrs>({
  name: 'sgd',
  shader,
  inout: true,
  outputs(inputs, attrs) {
    sgdChecked(attrs);
    return shapes('sgd', inputs, 1, 1, attrs);
  },
  cpu([g, [lr], sumSq], [p], _infos, attrs) {
    const { wd } = sgdChecked(attrs);
    const { clip, decays } = gradientChecked('sgd', attrs);
    for (let i = 0; i < p.length; i++) p[i] -= lr * (clip(g[i], sumSq?.[0]) + (decays(i) ? wd : 0) * p[i]);
  },
  gpu([g], attrs, ctx) {
    const { wd } = sgdChecked(attrs);
    return launch('sgd', g, [['wd', wd]], ctx, attrs);
  },
});

// ---------------------------------------------------------------- Momentum

export interface MomentumAttrs extends GradientAttrs {
  readonly momentum: number;
  readonly nesterov?: boolean;
  readonly weightDecay?: number;
}

function momentumChecked({ momentum: mu, nesterov = false, weightDecay = 0 }: MomentumAttrs) {
  decayRate('momentum', 'momentum', mu);
  nonNegative('momentum', 'weightDecay', weightDecay);
  if (nesterov && mu === 0) throw new ValueError('momentum: nesterov needs momentum > 0, got 0');
  return { mu, nesterov, wd: weightDecay };
}

/**
 * SGD with momentum in PyTorch's form, inputs (g, [lr]), outputs (p, velocity):
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
  outputs(inputs, attrs) {
    momentumChecked(attrs);
    return shapes('momentum', inputs, 1, 2, attrs);
  },
  cpu([g, [lr], sumSq], [p, v], _infos, attrs) {
    const { mu, nesterov, wd } = momentumChecked(attrs);
    const { clip, decays } = gradientChecked('momentum', attrs);
    for (let i = 0; i < p.length; i++) {
      const gi = clip(g[i], sumSq?.[0]) + (decays(i) ? wd : 0) * p[i];
      v[i] = mu * v[i] + gi;
      p[i] -= lr * (nesterov ? gi + mu * v[i] : v[i]);
    }
  },
  gpu([g], attrs, ctx) {
    const { mu, nesterov, wd } = momentumChecked(attrs);
    return launch('momentum', g, [['mu', mu], ['wd', wd]], ctx, attrs, { NESTEROV: nesterov ? 1 : 0 });
  },
});

// ---------------------------------------------------------------- RMSprop

export interface RmspropAttrs extends GradientAttrs {
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
  const { rho = 0.9, epsilon = 1e-8, epsilonInsideSqrt = false, momentum: mu = 0, centered = false, weightDecay = 0 } = a;
  decayRate('rmsprop', 'rho', rho);
  epsilonOk('rmsprop', 'epsilon', epsilon);
  decayRate('rmsprop', 'momentum', mu);
  nonNegative('rmsprop', 'weightDecay', weightDecay);
  return { rho, eps: epsilon, epsInside: epsilonInsideSqrt, mu, centered, wd: weightDecay };
}

/**
 * RMSprop, inputs (g, [lr]), outputs (p, meanSquare[, momentumBuffer if momentum > 0][, meanGrad if centered]):
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
  outputs(inputs, attrs) {
    const { mu, centered } = rmspropChecked(attrs);
    return shapes('rmsprop', inputs, 1, 2 + (mu > 0 ? 1 : 0) + (centered ? 1 : 0), attrs);
  },
  cpu([g, [lr], sumSq], [p, s, ...rest], _infos, attrs) {
    const { rho, eps, epsInside, mu, centered, wd } = rmspropChecked(attrs);
    const { clip, decays } = gradientChecked('rmsprop', attrs);
    const buf = mu > 0 ? rest[0] : null;
    const mg = centered ? rest[rest.length - 1] : null;
    for (let i = 0; i < p.length; i++) {
      const gi = clip(g[i], sumSq?.[0]) + (decays(i) ? wd : 0) * p[i];
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
    const { rho, eps, epsInside, mu, centered, wd } = rmspropChecked(attrs);
    const entry = `rmsprop${centered ? '_centered' : ''}${mu > 0 ? '_momentum' : ''}`;
    const params: [string, number][] = [['rho', rho], ['1-rho', 1 - rho], ['eps', eps], ['wd', wd], ['mu', mu]];
    return launch(entry, g, params, ctx, attrs, { EPS_IN_SQRT: epsInside ? 1 : 0 });
  },
});

// ---------------------------------------------------------------- Adam / AdamW

export interface AdamAttrs extends GradientAttrs {
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
  const { beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, epsilonHat = false, weightDecay = 0, decoupled = false } = a;
  decayRate(op, 'beta1', beta1);
  decayRate(op, 'beta2', beta2);
  nonNegative(op, 'weightDecay', weightDecay);
  epsilonOk(op, 'epsilon', epsilon);
  // PyTorch's placement scales ε by √(1−β2^t), smallest at the first step.
  const smallest = epsilonHat ? epsilon : epsilon * Math.sqrt(1 - beta2);
  if (Math.fround(smallest) < MIN_NORMAL_F32) {
    throw new ValueError(`${op}: epsilon·√(1−beta2) = ${smallest} (its size at step 1) is below float32's normal range; use a larger epsilon`);
  }
  return { beta1, beta2, eps: epsilon, epsilonHat, wd: weightDecay, decoupled };
}

/**
 * Adam, inputs (g, [lr, 1−β1^t, 1−β2^t]) (adamValues), outputs (p, m, v):
 *   g' = g + wd·p (or, decoupled, p ← p − lr·wd·p first);
 *   m ← β1·m + (1−β1)·g';  v ← β2·v + (1−β2)·g'²;  m̂ = m/(1−β1^t);  v̂ = v/(1−β2^t);
 *   p ← p − lr·m̂/(√v̂ + ε).
 */
function adamKernel(name: 'adam' | 'adamw', resolve: (a: AdamAttrs) => AdamAttrs): Kernel<AdamAttrs> {
  return defineKernel<AdamAttrs>({
    name,
    shader,
    inout: true,
    outputs(inputs, attrs) {
      adamChecked(name, resolve(attrs));
      return shapes(name, inputs, 3, 3, attrs);
    },
    cpu([g, [lr, bc1, bc2], sumSq], [p, m, v], _infos, attrs) {
      const { beta1, beta2, eps, epsilonHat, wd, decoupled } = adamChecked(name, resolve(attrs));
      const { clip, decays } = gradientChecked(name, attrs);
      for (let i = 0; i < p.length; i++) {
        const wdi = decays(i) ? wd : 0;
        if (decoupled) p[i] -= lr * wdi * p[i];
        const gc = clip(g[i], sumSq?.[0]);
        const gi = decoupled ? gc : gc + wdi * p[i];
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
      const { beta1, beta2, eps, epsilonHat, wd, decoupled } = adamChecked(name, resolve(attrs));
      const params: [string, number][] = [
        ['beta1', beta1],
        ['1-beta1', 1 - beta1],
        ['beta2', beta2],
        ['1-beta2', 1 - beta2],
        ['eps', eps],
        ['l2', decoupled ? 0 : wd],
        ['decoupled_wd', decoupled ? wd : 0],
      ];
      return launch('adam', g, params, ctx, attrs, { EPS_HAT: epsilonHat ? 1 : 0 });
    },
  });
}

/** Adam; `decoupled: true` makes it AdamW. */
export const adam = adamKernel('adam', (a) => a);

/** AdamW (PyTorch's): Adam with decoupled weight decay, default weightDecay 0.01 (PyTorch's; Keras' is 0.004). */
export const adamw: Kernel<AdamWAttrs> = adamKernel('adamw', (a) => ({ ...a, weightDecay: a.weightDecay ?? 0.01, decoupled: true }));
