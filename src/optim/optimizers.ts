import { ValueError } from '../core/errors.js';
import type { Graph, Value } from '../graph/graph.js';
import type { Kernel } from '../ops/kernel.js';
import { adam, adamw, momentum, rmsprop, sgd } from '../ops/optimizer.js';

export const OPTIMIZERS = ['sgd', 'momentum', 'rmsprop', 'adam', 'adamw'] as const;
export type OptimizerType = (typeof OPTIMIZERS)[number];

export interface OptimizerConfig {
  type: OptimizerType;
  learningRate?: number;
  momentum?: number;
  nesterov?: boolean;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  rho?: number;
  weightDecay?: number;
}

export type OptimizerSpec = OptimizerType | OptimizerConfig;

/** Keras' defaults; 'momentum' is Keras' SGD(momentum=0.9). */
const DEFAULTS: Record<OptimizerType, Required<Pick<OptimizerConfig, 'learningRate'>> & OptimizerConfig> = {
  sgd: { type: 'sgd', learningRate: 0.01 },
  momentum: { type: 'momentum', learningRate: 0.01, momentum: 0.9, nesterov: false },
  rmsprop: { type: 'rmsprop', learningRate: 0.001, rho: 0.9, epsilon: 1e-7 },
  adam: { type: 'adam', learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
  adamw: { type: 'adamw', learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weightDecay: 0.004 },
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
  if (!(config.learningRate > 0) || !Number.isFinite(config.learningRate)) throw new ValueError(`optimizer ${type}: learningRate must be a positive number, got ${config.learningRate}`);
  const lr = config.learningRate;
  const wd = config.weightDecay;
  let kernel: Kernel<any>;
  let slots: number;
  let attrs: (step: number) => object;
  switch (type) {
    case 'sgd':
      [kernel, slots, attrs] = [sgd, 0, () => ({ lr, weightDecay: wd })];
      break;
    case 'momentum':
      [kernel, slots, attrs] = [momentum, 1, () => ({ lr, momentum: config.momentum, nesterov: config.nesterov, weightDecay: wd })];
      break;
    case 'rmsprop':
      // Keras' form: ε inside the square root.
      [kernel, slots, attrs] = [rmsprop, 1, () => ({ lr, rho: config.rho, epsilon: config.epsilon, epsilonInsideSqrt: true, weightDecay: wd })];
      break;
    case 'adam':
    case 'adamw':
      // Keras' placement of ε (added to √v, the paper's ε̂).
      [kernel, slots, attrs] = [type === 'adam' ? adam : adamw, 2, (step) => ({ lr, step, beta1: config.beta1, beta2: config.beta2, epsilon: config.epsilon, epsilonHat: true, weightDecay: wd })];
      break;
  }
  kernel.outputs([{ shape: [1], dtype: 'f32' }], attrs(1)); // validates the hyperparameters now, not at the first step
  return {
    config,
    slots,
    stepDependent: type === 'adam' || type === 'adamw',
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
