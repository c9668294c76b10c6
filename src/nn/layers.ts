import { ValueError } from '../core/errors.js';
import type { Random } from '../core/random.js';
import type { Graph, Value } from '../graph/graph.js';
import type { ActivationKind } from '../ops/activation.js';
import { ACTIVATIONS, activation } from '../ops/activation.js';
import { biasAdd } from '../ops/bias.js';
import { matmul } from '../ops/matmul.js';
import { logSoftmax, softmax } from '../ops/softmax.js';
import type { InitializerName } from './initializers.js';
import { checkInitializer, initialize } from './initializers.js';

/** Everything a layer may use as its activation: the elementwise kinds plus the row-wise softmax family. */
export const LAYER_ACTIVATIONS = [...ACTIVATIONS, 'softmax', 'logSoftmax'] as const;
export type LayerActivation = (typeof LAYER_ACTIVATIONS)[number];

export function checkActivation(name: string): LayerActivation {
  if (!(LAYER_ACTIVATIONS as readonly string[]).includes(name)) {
    throw new ValueError(`unknown activation '${name}' (known: ${LAYER_ACTIVATIONS.join(', ')})`);
  }
  return name as LayerActivation;
}

/** A weight a layer owns: its shape and how to initialise it. */
export interface ParamSpec {
  readonly name: string;
  readonly shape: number[];
  init(rng: Random): Float32Array;
}

/** The JSON a layer saves as, and is rebuilt from. */
export type LayerConfig =
  | { type: 'dense'; name: string; units: number; activation: LayerActivation; alpha?: number; useBias: boolean; kernelInitializer: InitializerName; biasInitializer: InitializerName; inputShape?: number[] }
  | { type: 'activation'; name: string; activation: LayerActivation; alpha?: number; inputShape?: number[] };

/**
 * A layer records its forward pass into a graph. It never sees a backend:
 * weights are values the model binds to tensors.
 */
export interface Layer {
  readonly name: string;
  readonly config: LayerConfig;
  /** The activation applied last, which a fused loss may take over. */
  readonly activation: LayerActivation;
  outputShape(input: number[]): number[];
  params(input: number[]): ParamSpec[];
  /** Records the layer. `skipActivation` leaves the last activation to a fused loss. */
  forward(g: Graph, x: Value, weights: readonly Value[], skipActivation?: boolean): Value;
}

/** Records one activation of x (any of LAYER_ACTIVATIONS). */
export function applyActivation(g: Graph, x: Value, kind: LayerActivation, alpha: number | undefined, name: string): Value {
  if (kind === 'linear') return x;
  if (kind === 'softmax') return g.op(softmax, [x], {}, name);
  if (kind === 'logSoftmax') return g.op(logSoftmax, [x], {}, name);
  return g.op(activation, [x], { kind: kind as ActivationKind, alpha }, name);
}

export interface DenseOptions {
  activation?: string;
  /** leakyRelu's slope or elu's scale. */
  alpha?: number;
  useBias?: boolean;
  kernelInitializer?: string;
  biasInitializer?: string;
  inputShape?: number[];
  name?: string;
}

let counter = 0;
const autoName = (prefix: string) => `${prefix}_${++counter}`;

/** Fully connected: y = activation(x·W + b), W [in, units] Glorot-uniform, b zeros (Keras' defaults). */
export function dense(units: number, options: DenseOptions = {}): Layer {
  if (!Number.isInteger(units) || units < 1) throw new ValueError(`dense: units must be a positive integer, got ${units}`);
  const config: LayerConfig = {
    type: 'dense',
    name: options.name ?? autoName('dense'),
    units,
    activation: checkActivation(options.activation ?? 'linear'),
    alpha: options.alpha,
    useBias: options.useBias ?? true,
    kernelInitializer: checkInitializer(options.kernelInitializer ?? 'glorotUniform'),
    biasInitializer: checkInitializer(options.biasInitializer ?? 'zeros'),
    inputShape: options.inputShape,
  };
  return layerFromConfig(config);
}

/** A layer that only applies an activation (Keras' Activation / ReLU / Softmax layers). */
export function activationLayer(kind: string, options: { alpha?: number; inputShape?: number[]; name?: string } = {}): Layer {
  return layerFromConfig({ type: 'activation', name: options.name ?? autoName(kind), activation: checkActivation(kind), alpha: options.alpha, inputShape: options.inputShape });
}

export function layerFromConfig(config: LayerConfig): Layer {
  if (config.type === 'activation') {
    return {
      name: config.name,
      config,
      activation: config.activation,
      outputShape: (input) => input,
      params: () => [],
      forward: (g, x, _w, skip) => (skip ? x : applyActivation(g, x, config.activation, config.alpha, config.name)),
    };
  }
  if (config.type !== 'dense') throw new ValueError(`unknown layer type '${(config as { type: string }).type}'`);
  const { units, useBias, kernelInitializer, biasInitializer } = config;
  return {
    name: config.name,
    config,
    activation: config.activation,
    outputShape: (input) => [...input.slice(0, -1), units],
    params(input) {
      if (input.length !== 1) throw new ValueError(`${config.name}: dense expects flat inputs [features], got [${input.join(', ')}]`);
      const fanIn = input[0];
      const specs: ParamSpec[] = [{ name: `${config.name}/kernel`, shape: [fanIn, units], init: (r) => initialize(kernelInitializer, fanIn * units, fanIn, units, r) }];
      if (useBias) specs.push({ name: `${config.name}/bias`, shape: [units], init: (r) => initialize(biasInitializer, units, fanIn, units, r) });
      return specs;
    },
    forward(g, x, [w, b], skip) {
      let y = g.op(matmul, [x, w], {}, `${config.name}/matmul`);
      if (b) y = g.op(biasAdd, [y, b], {}, `${config.name}/bias_add`);
      return skip ? y : applyActivation(g, y, config.activation, config.alpha, `${config.name}/${config.activation}`);
    },
  };
}
