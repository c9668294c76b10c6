import { ValueError } from '../core/errors.js';
import type { OptionsOf } from '../core/options.js';
import { defineOptions, didYouMean, opt } from '../core/options.js';
import type { Random } from '../core/random.js';
import type { Graph, Value } from '../graph/graph.js';
import type { ActivationKind } from '../ops/activation.js';
import { ACTIVATIONS, activation } from '../ops/activation.js';
import { biasAdd } from '../ops/bias.js';
import { matmul } from '../ops/matmul.js';
import { logSoftmax, softmax } from '../ops/softmax.js';
import type { InitializerName } from './initializers.js';
import { checkInitializer, initialize, INITIALIZERS } from './initializers.js';

/** Everything a layer may use as its activation: the elementwise kinds plus the row-wise softmax family. */
export const LAYER_ACTIVATIONS = [...ACTIVATIONS, 'softmax', 'logSoftmax'] as const;
export type LayerActivation = (typeof LAYER_ACTIVATIONS)[number];

export function checkActivation(name: string): LayerActivation {
  if (!(LAYER_ACTIVATIONS as readonly string[]).includes(name)) {
    throw new ValueError(`unknown activation '${name}'${didYouMean(name, LAYER_ACTIVATIONS)} (known: ${LAYER_ACTIVATIONS.join(', ')})`);
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

/** What is wrong with a shape option (a list of positive whole numbers), or null. */
export function shapeProblem(v: unknown): string | null {
  return Array.isArray(v) && v.length > 0 && v.every((d) => Number.isInteger(d) && d > 0) ? null : `must be a list of positive whole numbers, like [784], got ${JSON.stringify(v)}`;
}

const activationOpt = opt.custom<string>('activation', `the activation: ${LAYER_ACTIVATIONS.join(', ')}`, (v) =>
  typeof v === 'string' && (LAYER_ACTIVATIONS as readonly string[]).includes(v) ? null : `${JSON.stringify(v)} is unknown${didYouMean(v, LAYER_ACTIVATIONS)}; known: ${LAYER_ACTIVATIONS.join(', ')}`,
);
const layerCommon = {
  alpha: opt.number("leakyRelu's slope or elu's scale"),
  inputShape: opt.custom<number[]>('number[]', 'features per sample, on the first layer', shapeProblem),
  name: opt.string('the layer\'s name (default: type_N)'),
};

const DENSE_OPTIONS = defineOptions('dense', {
  activation: activationOpt,
  useBias: opt.boolean('add a bias (default true)'),
  kernelInitializer: opt.custom<string>('initializer', `the kernel's initializer (default glorotUniform): ${INITIALIZERS.join(', ')}`, initializerProblem),
  biasInitializer: opt.custom<string>('initializer', `the bias' initializer (default zeros): ${INITIALIZERS.join(', ')}`, initializerProblem),
  ...layerCommon,
}, { units: 'the first argument: dense(units, options)', use_bias: 'useBias', kernel_initializer: 'kernelInitializer', bias_initializer: 'biasInitializer', input_shape: 'inputShape' });

const ACTIVATION_LAYER_OPTIONS = defineOptions('activationLayer', layerCommon, { input_shape: 'inputShape' });

function initializerProblem(v: unknown): string | null {
  return typeof v === 'string' && (INITIALIZERS as readonly string[]).includes(v) ? null : `must be one of ${INITIALIZERS.join(', ')}, got ${JSON.stringify(v)}${didYouMean(v, INITIALIZERS)}`;
}

export type DenseOptions = OptionsOf<typeof DENSE_OPTIONS.spec>;

let counter = 0;
const autoName = (prefix: string) => `${prefix}_${++counter}`;

/** Fully connected: y = activation(x·W + b), W [in, units] Glorot-uniform, b zeros (Keras' defaults). */
export function dense(units: number, options: DenseOptions = {}): Layer {
  options = DENSE_OPTIONS.check(options);
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
export function activationLayer(kind: string, options: OptionsOf<typeof ACTIVATION_LAYER_OPTIONS.spec> = {}): Layer {
  options = ACTIVATION_LAYER_OPTIONS.check(options);
  return layerFromConfig({ type: 'activation', name: options.name ?? autoName(kind), activation: checkActivation(kind), alpha: options.alpha, inputShape: options.inputShape });
}

export function layerFromConfig(config: LayerConfig): Layer {
  // A config may come from a file: check it as the builders would.
  checkActivation(config.activation);
  if (config.inputShape !== undefined && shapeProblem(config.inputShape)) throw new ValueError(`${config.name}: inputShape ${shapeProblem(config.inputShape)}`);
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
  if (!Number.isInteger(units) || units < 1) throw new ValueError(`${config.name}: units must be a positive integer, got ${units}`);
  if (typeof useBias !== 'boolean') throw new ValueError(`${config.name}: useBias must be true or false, got ${JSON.stringify(useBias)}`);
  checkInitializer(kernelInitializer);
  checkInitializer(biasInitializer);
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
