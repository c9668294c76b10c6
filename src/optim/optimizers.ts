import { ValueError } from '../core/errors.js';
import type { ForeignNames, OptionSet, OptionSpec, OptionsOf } from '../core/options.js';
import { defineOptions, didYouMean, opt } from '../core/options.js';
import type { Graph, Value } from '../graph/graph.js';
import type { Kernel } from '../ops/kernel.js';
import { adam, adamValues, adamw, momentum, rateValues, rmsprop, sgd } from '../ops/optimizer.js';

export const OPTIMIZERS = ['sgd', 'momentum', 'rmsprop', 'adam', 'adamw'] as const;
export type OptimizerType = (typeof OPTIMIZERS)[number];

/**
 * Keras' learning-rate schedules, by step (one step per batch): cosineDecay
 * falls from the initial rate to alpha·initial over decaySteps along half a
 * cosine; exponentialDecay multiplies by decayRate every decaySteps.
 */
export type LearningRateSchedule =
  | { type: 'cosineDecay'; initialLearningRate: number; decaySteps: number; alpha?: number }
  | { type: 'exponentialDecay'; initialLearningRate: number; decaySteps: number; decayRate: number; staircase?: boolean };

export type LearningRate = number | LearningRateSchedule;

/** The learning rate for the update numbered `step` (the first is 1), as Keras evaluates a schedule at iteration step − 1. */
export function learningRateAt(lr: LearningRate, step: number): number {
  if (typeof lr === 'number') return lr;
  const t = step - 1;
  if (lr.type === 'cosineDecay') {
    const alpha = lr.alpha ?? 0;
    const cosine = 0.5 * (1 + Math.cos((Math.PI * Math.min(t, lr.decaySteps)) / lr.decaySteps));
    return lr.initialLearningRate * ((1 - alpha) * cosine + alpha);
  }
  const p = t / lr.decaySteps;
  return lr.initialLearningRate * lr.decayRate ** (lr.staircase ? Math.floor(p) : p);
}

const SCHEDULE_OPTIONS = {
  cosineDecay: defineOptions('cosineDecay', {
    type: opt.oneOf(['cosineDecay'] as const, 'the schedule'),
    initialLearningRate: opt.number('the rate at step 1', { min: 0, minExclusive: true }),
    decaySteps: opt.integer('steps from the initial rate to alpha·initial', { min: 1 }),
    alpha: opt.number('the final rate as a fraction of the initial one (default 0)', { min: 0, max: 1 }),
  }),
  exponentialDecay: defineOptions('exponentialDecay', {
    type: opt.oneOf(['exponentialDecay'] as const, 'the schedule'),
    initialLearningRate: opt.number('the rate at step 1', { min: 0, minExclusive: true }),
    decaySteps: opt.integer('steps per factor of decayRate', { min: 1 }),
    decayRate: opt.number('the factor per decaySteps', { min: 0, minExclusive: true }),
    staircase: opt.boolean('decay in whole steps of decaySteps (default false)'),
  }),
};

function learningRateProblem(lr: unknown): string | null {
  if (typeof lr === 'number') return Number.isFinite(lr) && lr > 0 ? null : `must be a positive number, got ${lr}`;
  const type = (lr as { type?: unknown } | null)?.type;
  if (typeof lr !== 'object' || lr === null || (type !== 'cosineDecay' && type !== 'exponentialDecay')) {
    return `must be a number or a schedule { type: 'cosineDecay' | 'exponentialDecay', ... }, got ${JSON.stringify(lr)}`;
  }
  const set = SCHEDULE_OPTIONS[type];
  set.check(lr);
  const missing = set.keys.filter((k) => k !== 'alpha' && k !== 'staircase' && (lr as Record<string, unknown>)[k] === undefined);
  if (missing.length) return `${type} needs ${missing.join(', ')}`;
  return null;
}

const learningRate = opt.custom<LearningRate>('number|schedule', 'the step size: a number, or a cosineDecay / exponentialDecay schedule', learningRateProblem);
const weightDecay = opt.number('L2 penalty added to the gradient (AdamW: decoupled decay)', { min: 0 });
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
};

/** Each optimizer's options, Keras' names: one declaration gives the type, the check and the help. */
export const OPTIMIZER_OPTIONS = {
  sgd: { learningRate, momentum: momentumOpt, nesterov: opt.boolean('Nesterov momentum (needs momentum > 0)'), weightDecay },
  momentum: { learningRate, momentum: momentumOpt, nesterov: opt.boolean('Nesterov momentum'), weightDecay },
  rmsprop: {
    learningRate,
    rho: opt.number('decay of the mean square gradient', { min: 0, max: 1, maxExclusive: true }),
    momentum: momentumOpt,
    epsilon,
    centered: opt.boolean('divide by the variance of the gradient rather than its mean square'),
    weightDecay,
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
  /** Records the update of `param`, reading the step's values from `values`; returns the node's index in the graph. */
  record(g: Graph, param: Value, grad: Value, values: Value, slots: readonly Value[]): number;
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
  // Validates the hyperparameters now, not at the first step.
  kernel.outputs([{ shape: [1], dtype: 'f32' }, { shape: [valueCount], dtype: 'f32' }], attrs);
  return {
    config,
    slots,
    kernel,
    attrs,
    valueCount,
    values,
    record(g, param, grad, stepValues, state) {
      g.update(kernel, [grad, stepValues], [param, ...state], attrs);
      return g.nodes.length - 1;
    },
  };
}
