import { ValueError } from '../core/errors.js';
import type { Graph, Value } from '../graph/graph.js';
import type { Kernel } from '../ops/kernel.js';
import { adam, adamw, momentum, rmsprop, sgd } from '../ops/optimizer.js';

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

function checkLearningRate(type: string, lr: LearningRate): void {
  const positive = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;
  if (typeof lr === 'number') {
    if (!positive(lr)) throw new ValueError(`optimizer ${type}: learningRate must be a positive number, got ${lr}`);
    return;
  }
  if (!lr || (lr.type !== 'cosineDecay' && lr.type !== 'exponentialDecay')) {
    throw new ValueError(`optimizer ${type}: learningRate must be a number or a schedule { type: 'cosineDecay' | 'exponentialDecay', ... }`);
  }
  if (!positive(lr.initialLearningRate)) throw new ValueError(`${lr.type}: initialLearningRate must be a positive number, got ${lr.initialLearningRate}`);
  if (!Number.isInteger(lr.decaySteps) || lr.decaySteps < 1) throw new ValueError(`${lr.type}: decaySteps must be a whole number >= 1, got ${lr.decaySteps}`);
  if (lr.type === 'cosineDecay' && !((lr.alpha ?? 0) >= 0 && (lr.alpha ?? 0) <= 1)) throw new ValueError(`cosineDecay: alpha must be in [0, 1], got ${lr.alpha}`);
  if (lr.type === 'exponentialDecay' && !positive(lr.decayRate)) throw new ValueError(`exponentialDecay: decayRate must be a positive number, got ${lr.decayRate}`);
}

export interface OptimizerConfig {
  type: OptimizerType;
  learningRate?: LearningRate;
  momentum?: number;
  nesterov?: boolean;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /**
   * Adam/AdamW: where ε goes. true (the default, Keras'): ε is added to √v
   * before the bias correction, the Adam paper's ε̂; false: to the corrected
   * √v̂, as PyTorch and TensorFlow.js do. They differ where |gradient| is
   * near ε/√(1−β2^step) (about 3e-6 at the first step with Keras' ε 1e-7).
   */
  epsilonHat?: boolean;
  rho?: number;
  weightDecay?: number;
}

export type OptimizerSpec = OptimizerType | OptimizerConfig;

/** Keras' defaults; 'momentum' is Keras' SGD(momentum=0.9). */
const DEFAULTS: Record<OptimizerType, Required<Pick<OptimizerConfig, 'learningRate'>> & OptimizerConfig> = {
  sgd: { type: 'sgd', learningRate: 0.01 },
  momentum: { type: 'momentum', learningRate: 0.01, momentum: 0.9, nesterov: false },
  rmsprop: { type: 'rmsprop', learningRate: 0.001, rho: 0.9, epsilon: 1e-7 },
  adam: { type: 'adam', learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, epsilonHat: true },
  adamw: { type: 'adamw', learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, epsilonHat: true, weightDecay: 0.004 },
};

/**
 * An optimizer as the graph sees it: how many state slots each weight
 * needs, and the in-place update kernel recorded once per weight. Adam's
 * attributes change every step (its bias correction), so the model updates
 * those launches' uniforms before each step.
 */
export interface Optimizer {
  readonly config: Required<Pick<OptimizerConfig, 'type' | 'learningRate'>> & OptimizerConfig;
  readonly slots: number;
  readonly stepDependent: boolean;
  readonly kernel: Kernel<any>;
  attrs(step: number): object;
  /** Records the update of `param`; returns the node's index in the graph. */
  record(g: Graph, param: Value, grad: Value, slots: readonly Value[], step: number): number;
}

export function makeOptimizer(spec: OptimizerSpec): Optimizer {
  const given = typeof spec === 'string' ? { type: spec } : spec;
  const type = given.type;
  if (!(OPTIMIZERS as readonly string[]).includes(type)) throw new ValueError(`unknown optimizer '${type}' (known: ${OPTIMIZERS.join(', ')})`);
  const config = { ...DEFAULTS[type], ...stripUndefined(given) };
  checkLearningRate(type, config.learningRate);
  if (config.epsilonHat !== undefined && typeof config.epsilonHat !== 'boolean') throw new ValueError(`${type}: epsilonHat must be true or false, got ${JSON.stringify(config.epsilonHat)}`);
  const rate = (step: number) => learningRateAt(config.learningRate, step);
  const wd = config.weightDecay;
  let kernel: Kernel<any>;
  let slots: number;
  let attrs: (step: number) => object;
  switch (type) {
    case 'sgd':
      [kernel, slots, attrs] = [sgd, 0, (step) => ({ lr: rate(step), weightDecay: wd })];
      break;
    case 'momentum':
      [kernel, slots, attrs] = [momentum, 1, (step) => ({ lr: rate(step), momentum: config.momentum, nesterov: config.nesterov, weightDecay: wd })];
      break;
    case 'rmsprop':
      // Keras' form: ε inside the square root.
      [kernel, slots, attrs] = [rmsprop, 1, (step) => ({ lr: rate(step), rho: config.rho, epsilon: config.epsilon, epsilonInsideSqrt: true, weightDecay: wd })];
      break;
    case 'adam':
    case 'adamw':
      // Keras' placement of ε by default (added to √v, the paper's ε̂); epsilonHat: false adds it to √v̂.
      [kernel, slots, attrs] = [type === 'adam' ? adam : adamw, 2, (step) => ({ lr: rate(step), step, beta1: config.beta1, beta2: config.beta2, epsilon: config.epsilon, epsilonHat: config.epsilonHat, weightDecay: wd })];
      break;
  }
  kernel.outputs([{ shape: [1], dtype: 'f32' }], attrs(1)); // validates the hyperparameters now, not at the first step
  return {
    config,
    slots,
    // Adam's bias correction, or a schedule, changes the update's attributes every step.
    stepDependent: type === 'adam' || type === 'adamw' || typeof config.learningRate !== 'number',
    kernel,
    attrs,
    record(g, param, grad, state, step) {
      g.update(kernel, [grad], [param, ...state], attrs(step));
      return g.nodes.length - 1;
    },
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
