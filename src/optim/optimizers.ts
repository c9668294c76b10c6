import { ValueError } from '../core/errors.js';
import type { ForeignNames, OptionSet, OptionSpec, OptionsOf } from '../core/options.js';
import { defineOptions, didYouMean, opt } from '../core/options.js';
import type { Graph, Value } from '../graph/graph.js';
import type { Kernel } from '../ops/kernel.js';
import type { GradientAttrs } from '../ops/optimizer.js';
import { adam, adamValues, adamw, momentum, rateValues, rmsprop, sgd } from '../ops/optimizer.js';
import type { LearningRate } from './schedules.js';
import { learningRateAt, learningRateProblem } from './schedules.js';

export const OPTIMIZERS = ['sgd', 'momentum', 'rmsprop', 'adam', 'adamw'] as const;
export type OptimizerType = (typeof OPTIMIZERS)[number];

export type { LearningRate, LearningRateSchedule } from './schedules.js';
export { learningRateAt } from './schedules.js';

const learningRate = opt.custom<LearningRate>('number|schedule', 'the step size: a number, or a cosineDecay / exponentialDecay schedule', learningRateProblem);
const weightDecay = opt.number('L2 penalty added to the gradient (AdamW: decoupled decay)', { min: 0 });
/** Keras' optimizer arguments every optimizer takes: gradient clipping (one of the three) and weights left out of weight decay. */
const commonOptions = {
  clipnorm: opt.number("each weight's gradient scaled to at most this norm (Keras' clipnorm)", { min: 0, minExclusive: true }),
  globalClipnorm: opt.number("all gradients scaled together so that their joint norm is at most this (Keras' global_clipnorm, clip_by_global_norm)", { min: 0, minExclusive: true }),
  clipvalue: opt.number("each gradient element clamped to [−clipvalue, clipvalue] (Keras' clipvalue)", { min: 0, minExclusive: true }),
  excludeFromWeightDecay: opt.custom<string[]>(
    'string[]',
    "weights whose name contains any of these strings take no weight decay (Keras' exclude_from_weight_decay(var_names)), e.g. ['bias', 'layer_normalization', 'embedding']",
    (v) => (Array.isArray(v) && v.every((x) => typeof x === 'string' && x.length > 0) ? null : `must be a list of non-empty strings (parts of weight names such as 'bias'), got ${JSON.stringify(v)}`),
  ),
};
const momentumOpt = opt.number('heavy-ball momentum, 0 for none', { min: 0, max: 1, maxExclusive: true });
const epsilon = opt.number('added to the denominator', { min: 0, minExclusive: true });
const adamOptions = {
  learningRate,
  beta1: opt.number('decay of the mean gradient', { min: 0, max: 1, maxExclusive: true }),
  beta2: opt.number('decay of the mean square gradient', { min: 0, max: 1, maxExclusive: true }),
  epsilon,
  epsilonHat: opt.boolean("true (Keras'): ε added to √v, the paper's ε̂; false: to √v̂, as PyTorch"),
  amsgrad: opt.boolean('AMSGrad: not implemented by these kernels, so only false is accepted'),
  weightDecay,
  ...commonOptions,
};

/** Each optimizer's options, Keras' names: one declaration gives the type, the check and the help. */
export const OPTIMIZER_OPTIONS = {
  sgd: { learningRate, momentum: momentumOpt, nesterov: opt.boolean('Nesterov momentum (needs momentum > 0)'), weightDecay, ...commonOptions },
  momentum: { learningRate, momentum: momentumOpt, nesterov: opt.boolean('Nesterov momentum'), weightDecay, ...commonOptions },
  rmsprop: {
    learningRate,
    rho: opt.number('decay of the mean square gradient', { min: 0, max: 1, maxExclusive: true }),
    momentum: momentumOpt,
    epsilon,
    centered: opt.boolean('divide by the variance of the gradient rather than its mean square'),
    weightDecay,
    ...commonOptions,
  },
  adam: adamOptions,
  adamw: adamOptions,
} satisfies Record<OptimizerType, OptionSpec>;

/** PyTorch's and Keras-Python's spellings, refused with ours named. */
const FOREIGN: ForeignNames = {
  lr: 'learningRate',
  learning_rate: 'learningRate',
  weight_decay: 'weightDecay',
  eps: 'epsilon',
  betas: 'beta1 and beta2',
  beta_1: 'beta1',
  beta_2: 'beta2',
  alpha: "rho (PyTorch's RMSprop alpha)",
  dampening: 'nothing: dampening is not supported',
  epsilon_hat: 'epsilonHat',
  global_clipnorm: 'globalClipnorm',
  clipNorm: 'clipnorm',
  clipValue: 'clipvalue',
  globalClipNorm: 'globalClipnorm',
  exclude_from_weight_decay: 'excludeFromWeightDecay',
  max_norm: 'globalClipnorm (torch.nn.utils.clip_grad_norm_) or clipnorm (per weight)',
};

const OPTIMIZER_SETS = Object.fromEntries(
  OPTIMIZERS.map((t) => [t, defineOptions(`optimizer '${t}'`, { type: opt.oneOf(OPTIMIZERS, 'the optimizer'), ...OPTIMIZER_OPTIONS[t] } as OptionSpec, FOREIGN)]),
) as Record<OptimizerType, OptionSet<OptionSpec>>;

/** An optimizer and its options, e.g. { type: 'sgd', learningRate: 0.1, momentum: 0.9, nesterov: true }. */
export type OptimizerConfig = {
  [T in OptimizerType]: { type: T } & OptionsOf<(typeof OPTIMIZER_OPTIONS)[T]>;
}[OptimizerType];

/** Every key any optimizer takes, for code that reads a resolved config. */
type ResolvedConfig = { type: OptimizerType; learningRate: LearningRate } & Partial<Record<string, unknown>> & {
  momentum?: number;
  nesterov?: boolean;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  epsilonHat?: boolean;
  rho?: number;
  centered?: boolean;
  weightDecay?: number;
  clipnorm?: number;
  globalClipnorm?: number;
  clipvalue?: number;
  excludeFromWeightDecay?: string[];
};

/** Checks a config: unknown keys (with the nearest valid one), keys of another optimizer, bad values. */
export function checkOptimizer(spec: unknown): ResolvedConfig {
  const given = (typeof spec === 'string' ? { type: spec } : spec) as { type?: unknown } | null;
  if (typeof given !== 'object' || given === null) throw new ValueError(`optimizer must be a name (${OPTIMIZERS.join(', ')}) or a config { type, ... }, got ${JSON.stringify(spec)}`);
  const type = given.type;
  if (!(OPTIMIZERS as readonly unknown[]).includes(type)) {
    throw new ValueError(`unknown optimizer ${typeof type === 'string' ? `'${type}'` : JSON.stringify(type)}${didYouMean(type, OPTIMIZERS)} (known: ${OPTIMIZERS.join(', ')})`);
  }
  const t = type as OptimizerType;
  for (const k of Object.keys(given)) {
    if (k === 'type' || k in OPTIMIZER_OPTIONS[t] || (given as Record<string, unknown>)[k] === undefined) continue;
    const owners = OPTIMIZERS.filter((o) => k in OPTIMIZER_OPTIONS[o]);
    if (owners.length) throw new ValueError(`optimizer '${t}': ${k} does not apply to ${t} (it is an option of ${owners.join(', ')}; ${t} takes ${Object.keys(OPTIMIZER_OPTIONS[t]).join(', ')})`);
  }
  const checked = OPTIMIZER_SETS[t].check(given) as ResolvedConfig;
  if (checked.amsgrad === true) throw new ValueError(`optimizer '${t}': amsgrad is not implemented by webgrad's Adam kernels; leave it out or set it false`);
  const clips = (['clipnorm', 'globalClipnorm', 'clipvalue'] as const).filter((k) => checked[k] !== undefined);
  if (clips.length > 1) {
    throw new ValueError(`optimizer '${t}': only one of clipnorm, globalClipnorm and clipvalue can be set (as Keras), got ${clips.map((k) => `${k} ${checked[k]}`).join(' and ')}; keep one`);
  }
  return { ...DEFAULTS[t], ...checked } as ResolvedConfig;
}

export type OptimizerSpec = OptimizerType | OptimizerConfig;

/** Keras' defaults; 'momentum' is Keras' SGD(momentum=0.9). */
const DEFAULTS: Record<OptimizerType, ResolvedConfig> = {
  sgd: { type: 'sgd', learningRate: 0.01, momentum: 0, nesterov: false },
  momentum: { type: 'momentum', learningRate: 0.01, momentum: 0.9, nesterov: false },
  rmsprop: { type: 'rmsprop', learningRate: 0.001, rho: 0.9, momentum: 0, epsilon: 1e-7, centered: false },
  adam: { type: 'adam', learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, epsilonHat: true },
  adamw: { type: 'adamw', learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, epsilonHat: true, weightDecay: 0.004 },
};

/**
 * An optimizer as the graph sees it: how many state slots each weight
 * needs, the in-place update kernel recorded once per weight (or once for
 * all of them, packed) with its fixed attributes, and the values it reads
 * each step (the scheduled learning rate, Adam's bias corrections), which the
 * training step writes as data before it runs.
 */
export interface Optimizer {
  readonly config: ResolvedConfig;
  readonly slots: number;
  readonly kernel: Kernel<any>;
  readonly attrs: object;
  /** How many values `values` gives. */
  readonly valueCount: number;
  /** The values the update reads at the step numbered `step` (the first is 1), in float64. */
  values(step: number): number[];
  /**
   * How gradients are clipped before the update: each weight's by its own
   * norm (clipnorm), all together by their joint norm (globalClipnorm), each
   * element (clipvalue), or not at all. The two by norm read a sum of squares
   * (sumSquares) that the training step records on the device.
   */
  readonly clip: 'perWeight' | 'global' | 'value' | null;
  /** Whether the weight named `name` takes weight decay: not when a string of excludeFromWeightDecay is part of its name. */
  decays(name: string): boolean;
  /**
   * Records the update of `param`, reading the step's values from `values`;
   * returns the node's index in the graph. `sumSq`: the sum of squares a clip
   * by norm reads; `decayEnd`: the elements from there on take no weight decay.
   */
  record(g: Graph, param: Value, grad: Value, values: Value, slots: readonly Value[], extra?: { sumSq?: Value; decayEnd?: number }): number;
}

export function makeOptimizer(spec: OptimizerSpec): Optimizer {
  const config = checkOptimizer(spec);
  const type = config.type;
  const rate = (step: number) => learningRateAt(config.learningRate, step);
  const wd = config.weightDecay;
  const mu = config.momentum ?? 0;
  let kernel: Kernel<any>;
  let slots: number;
  let attrs: object;
  let values = (step: number) => rateValues(type, rate(step));
  switch (type) {
    case 'sgd':
    case 'momentum':
      // Keras' SGD: momentum > 0 makes it SGD with momentum.
      if (mu > 0) [kernel, slots, attrs] = [momentum, 1, { momentum: mu, nesterov: config.nesterov, weightDecay: wd }];
      else if (config.nesterov) throw new ValueError(`optimizer '${type}': nesterov needs momentum > 0, got ${mu}`);
      else [kernel, slots, attrs] = [sgd, 0, { weightDecay: wd }];
      break;
    case 'rmsprop':
      // Keras' form: ε inside the square root; momentum and centered add a state slot each.
      [kernel, slots, attrs] = [
        rmsprop,
        1 + (mu > 0 ? 1 : 0) + (config.centered ? 1 : 0),
        { rho: config.rho, epsilon: config.epsilon, epsilonInsideSqrt: true, momentum: mu, centered: config.centered, weightDecay: wd },
      ];
      break;
    case 'adam':
    case 'adamw':
      // Keras' placement of ε by default (added to √v, the paper's ε̂); epsilonHat: false adds it to √v̂.
      [kernel, slots, attrs] = [type === 'adam' ? adam : adamw, 2, { beta1: config.beta1, beta2: config.beta2, epsilon: config.epsilon, epsilonHat: config.epsilonHat, weightDecay: wd }];
      values = (step) => adamValues(type, rate(step), step, config.beta1, config.beta2);
      break;
  }
  const valueCount = values(1).length;
  const clip = config.clipnorm !== undefined ? 'perWeight' : config.globalClipnorm !== undefined ? 'global' : config.clipvalue !== undefined ? 'value' : null;
  const clipAttrs: GradientAttrs = { clipNorm: config.clipnorm ?? config.globalClipnorm, clipValue: config.clipvalue };
  attrs = { ...attrs, ...clipAttrs };
  // Validates the hyperparameters now, not at the first step.
  const scalar = { shape: [1], dtype: 'f32' } as const;
  kernel.outputs([scalar, { shape: [valueCount], dtype: 'f32' }, ...(clipAttrs.clipNorm !== undefined ? [scalar] : [])], attrs);
  const excluded = config.excludeFromWeightDecay ?? [];
  if (excluded.length && !(wd && wd > 0)) {
    throw new ValueError(`optimizer '${type}': excludeFromWeightDecay ${JSON.stringify(excluded)} has nothing to exclude without weight decay; set weightDecay > 0 or leave it out`);
  }
  return {
    config,
    slots,
    kernel,
    attrs,
    valueCount,
    values,
    clip,
    decays: (name) => !excluded.some((part) => name.includes(part)),
    record(g, param, grad, stepValues, state, extra = {}) {
      const inputs = extra.sumSq ? [grad, stepValues, extra.sumSq] : [grad, stepValues];
      g.update(kernel, inputs, [param, ...state], extra.decayEnd === undefined ? attrs : { ...attrs, decayEnd: extra.decayEnd });
      return g.nodes.length - 1;
    },
  };
}

/**
 * The order of the trainable weights (by index) in the packed buffers that
 * one update launch reads: those that take weight decay, then those
 * excluded from it, so that one element index (decayEnd) divides them. The
 * model's buffers and the training step's packs are laid out by it.
 */
export function packOrder(optimizer: Optimizer | null, names: readonly string[]): number[] {
  const all = names.map((_, i) => i);
  if (!optimizer) return all;
  return [...all.filter((i) => optimizer.decays(names[i])), ...all.filter((i) => !optimizer.decays(names[i]))];
}
