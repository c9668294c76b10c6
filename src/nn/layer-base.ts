// What every layer kind shares: the Layer interface, activations, weights' specs, option helpers.
import { ValueError } from '../core/errors.js';
import { didYouMean, opt } from '../core/options.js';
import type { Random } from '../core/random.js';
import type { Graph, Value } from '../graph/graph.js';
import type { ActivationKind, LayerActivation } from '../ops/activations.js';
import { activationNamed, LAYER_ACTIVATIONS, layerActivationRecord, noAlpha, resolveActivation } from '../ops/activations.js';
import { reshape } from '../ops/reshape.js';
import { activation } from '../ops/activation.js';
import { checkInitializer, INITIALIZERS } from './initializers.js';
import type { LayerConfig } from './layers.js';
import type { Regularizer } from './regularizers.js';
import { regularizerOpt, regularizerProblem, resolveRegularizer } from './regularizers.js';

/** Everything a layer may use as its activation (src/ops/activations.ts' records): the elementwise kinds plus the row-wise softmax family. */
export { LAYER_ACTIVATIONS };
export type { LayerActivation };

/** Refuses an alpha given to an activation that takes none (it would be ignored), or a bad one, naming the layer. */
export function checkAlpha(layer: string, kind: LayerActivation, alpha: number | undefined): void {
  if (alpha === undefined) return;
  if (layerActivationRecord(kind).rowwise) throw noAlpha(layer, kind, alpha);
  resolveActivation(layer, { kind: kind as ActivationKind, alpha });
}

/** The activation a name means: webgrad's (TensorFlow.js') name, or Keras' (leaky_relu); unknown ones are refused with the nearest. */
export function checkActivation(name: string): LayerActivation {
  const kind = typeof name === 'string' ? activationNamed(name) : null;
  if (kind === null) throw new ValueError(`unknown activation '${name}'${didYouMean(String(name), LAYER_ACTIVATIONS)} (known: ${LAYER_ACTIVATIONS.join(', ')})`);
  return kind;
}

/** A weight a layer owns: its shape and how to initialise it. */
export interface ParamSpec {
  readonly name: string;
  readonly shape: number[];
  init(rng: Random): Float32Array;
  /**
   * false for state the layer updates itself rather than the optimizer
   * (batch normalization's moving mean and variance: Keras' non-trainable
   * weights). Default true.
   */
  readonly trainable?: boolean;
}

/** Whether the optimizer trains a weight. */
export const isTrainable = (p: ParamSpec) => p.trainable !== false;

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
  /** Records the layer, as the context asks (training or inference, the last activation left to a fused loss). */
  forward(g: Graph, x: Value, weights: readonly Value[], ctx: ForwardContext): Value;
  /**
   * Only a layer with moving statistics (BatchNormalization): records, for one
   * batch `x` of its inputs, the update that makes those statistics exact
   * over every batch of a pass (fit's recomputeBatchNormStatistics). State it
   * creates with g.state starts at zero with each pass.
   */
  recordStatistics?(g: Graph, x: Value, weights: readonly Value[]): void;
  /**
   * Only a layer whose inputs must be of a kind the graph cannot check (an
   * Embedding's token ids): refuses, by name, data that is not. The model
   * calls it on every input of its first layer, before anything runs.
   */
  checkInput?(x: Float32Array, what: string): void;
  /**
   * How the layer treats the mask of padded steps that an Embedding with
   * maskZero makes (Keras' supports_masking and compute_mask): 'pass' takes
   * it (ForwardContext.mask) and hands it on; 'consume' takes it and hands on
   * none (a recurrent layer giving only its last step); 'make' makes one from
   * its input (computeMask). Absent: the layer cannot take a mask, and a
   * model that would hand it one is refused as it is built (maskCarried).
   */
  readonly masking?: 'pass' | 'consume' | 'make';
  /** Only a layer whose masking is 'make': the mask [batch, steps] f32 (1 real, 0 padding) of its input x. */
  computeMask?(g: Graph, x: Value): Value;
}

/** What a layer's forward pass may depend on besides its input. */
export interface ForwardContext {
  /** Leave the last activation to a fused loss. */
  readonly skipActivation: boolean;
  /** Training (dropout drops) or inference (it passes x through): Keras' `training` argument. */
  readonly training: boolean;
  /** A seed for this layer's randomness, from the model's seed and the layer's position. */
  readonly seed: number;
  /**
   * The step number, i32[1]: data the training step writes before each step,
   * which ops that draw anew every step (dropout's masks, RandomTranslation's
   * moves) mix into their seed. Only in training.
   */
  step(): Value;
  /** Adds a scalar [1] to the loss (Keras' add_loss): a weight's penalty. Predict ignores it. */
  addLoss(v: Value): void;
  /** The mask of padded steps reaching the layer, [batch, steps] f32 (1 real, 0 padding), if any (Layer.masking). */
  readonly mask?: Value | null;
}

/**
 * The layer whose mask is still carried after `layers` (null: none), refusing
 * by name a layer that would get a mask it cannot take (Layer.masking).
 */
export function maskCarried(layers: readonly Layer[]): Layer | null {
  let source: Layer | null = null;
  for (const layer of layers) {
    if (layer.masking === 'make') source = layer;
    else if (source && layer.masking === 'consume') source = null;
    else if (source && layer.masking !== 'pass') throw maskRefusal(layer, source);
  }
  return source;
}

/** The refusal of a layer that would get `source`'s mask and cannot take one. */
export function maskRefusal(layer: Layer, source: Layer): ValueError {
  return new ValueError(
    `${layer.name}: cannot take the mask of ${source.name} (maskZero); a ${layer.config.type} layer would mix padded steps with real ones. ` +
      'Put a recurrent layer without returnSequences (which consumes the mask) before it, or build the embedding without maskZero',
  );
}

/** The sample shape after `layers`, given the sample shape that goes in. */
export function outputShapeOf(layers: readonly Layer[], input: number[]): number[] {
  return layers.reduce((s, l) => l.outputShape(s), input);
}

/** Records one activation of x (any of LAYER_ACTIVATIONS). */
export function applyActivation(g: Graph, x: Value, kind: LayerActivation, alpha: number | undefined, name: string): Value {
  if (kind === 'linear') return x;
  const a = layerActivationRecord(kind);
  if (a.rowwise) {
    // Over the last axis of any rank, as Keras: the kernel takes rows [n, c], so view the rest as rows.
    if (x.shape.length === 2) return g.op(a.record.kernel, [x], {}, name);
    const c = x.shape[x.shape.length - 1];
    const rows = g.op(reshape, [x], { shape: [x.shape.reduce((p, d) => p * d, 1) / c, c] }, `${name}/rows`);
    return g.op(reshape, [g.op(a.record.kernel, [rows], {}, name)], { shape: [...x.shape] }, `${name}/shape`);
  }
  return g.op(activation, [x], { kind: kind as ActivationKind, alpha }, name);
}

/** What is wrong with a shape option (a list of positive whole numbers), or null. */
export function shapeProblem(v: unknown): string | null {
  return Array.isArray(v) && v.length > 0 && v.every((d) => Number.isInteger(d) && d > 0) ? null : `must be a list of positive whole numbers, like [784], got ${JSON.stringify(v)}`;
}

export const activationOpt = opt.custom<string>('activation', `the activation: ${LAYER_ACTIVATIONS.join(', ')} (or its Keras name, e.g. leaky_relu)`, (v) =>
  typeof v === 'string' && activationNamed(v) !== null ? null : `${JSON.stringify(v)} is unknown${didYouMean(v, LAYER_ACTIVATIONS)}; known: ${LAYER_ACTIVATIONS.join(', ')}`,
);
export const layerCommon = {
  alpha: opt.number("leakyRelu's slope or elu's scale"),
  inputShape: opt.custom<number[]>('number[]', 'features per sample, on the first layer', shapeProblem),
  name: opt.string('the layer\'s name (default: type_N)'),
};

export function initializerProblem(v: unknown): string | null {
  return typeof v === 'string' && (INITIALIZERS as readonly string[]).includes(v) ? null : `must be one of ${INITIALIZERS.join(', ')}, got ${JSON.stringify(v)}${didYouMean(v, INITIALIZERS)}`;
}


/** What a layer with a kernel and a bias (dense, conv2d) keeps of its checked options, with Keras' defaults. */
export function weightedFields(
  o: { activation?: string; alpha?: number; useBias?: boolean; kernelInitializer?: string; biasInitializer?: string; kernelRegularizer?: Regularizer | string; biasRegularizer?: Regularizer | string; inputShape?: number[] },
  owner: string,
) {
  const kernelRegularizer = resolveRegularizer(o.kernelRegularizer, `${owner}: kernelRegularizer`);
  const biasRegularizer = resolveRegularizer(o.biasRegularizer, `${owner}: biasRegularizer`);
  return {
    activation: checkActivation(o.activation ?? 'linear'),
    alpha: o.alpha,
    useBias: o.useBias ?? true,
    kernelInitializer: checkInitializer(o.kernelInitializer ?? 'glorotUniform'),
    biasInitializer: checkInitializer(o.biasInitializer ?? 'zeros'),
    // Only when given, so that configs without them read as before.
    ...(kernelRegularizer ? { kernelRegularizer } : {}),
    ...(biasRegularizer ? { biasRegularizer } : {}),
    inputShape: o.inputShape,
  };
}

/** The options dense and conv2d share for their penalties. */
export const regularizerOptions = { kernelRegularizer: regularizerOpt('kernel'), biasRegularizer: regularizerOpt('bias') };

/** A regularizer read from a file is checked as an option is. */
/** The config fields that may hold a regularizer, in Keras' names. */
export type RegularizerKey = 'kernelRegularizer' | 'recurrentRegularizer' | 'biasRegularizer' | 'embeddingsRegularizer';

/** A config's regularizers (`keys`, by default a kernel's and a bias') checked as the builders check them: a file may hold anything. */
export function checkRegularizers(config: { name: string } & { [K in RegularizerKey]?: Regularizer }, keys: readonly RegularizerKey[] = ['kernelRegularizer', 'biasRegularizer']): void {
  for (const k of keys) {
    const problem = config[k] === undefined ? null : regularizerProblem(config[k]);
    if (problem) throw new ValueError(`${config.name}: ${k} ${problem}`);
  }
}

let counter = 0;
/** The name autoName gave last, until the layer built with it claims it (noteAutoName). */
let lastAuto: string | null = null;
const autoNamed = new WeakSet<Layer>();

/**
 * A provisional layer name for a layer built without one: dense_7, unique in
 * the process. A model renames such layers by their place in it
 * (Sequential.add: dense_1, dense_2, ...), so a model's names never depend
 * on how many layers the process built before it.
 */
export function autoName(prefix: string): string {
  lastAuto = `${prefix}_${++counter}`;
  return lastAuto;
}

/** Marks `layer` as named by autoName when it carries the name autoName just gave; returns it. */
export function noteAutoName(layer: Layer): Layer {
  if (layer.name === lastAuto) {
    autoNamed.add(layer);
    lastAuto = null;
  }
  return layer;
}

/** Whether the layer's name is autoName's (the user gave none). */
export const isAutoNamed = (layer: Layer) => autoNamed.has(layer);

/** The name a model gives an auto-named layer: its prefix and the first index no layer in the model has. */
export function nameInModel(layer: Layer, taken: ReadonlySet<string>): string {
  const prefix = layer.name.replace(/_\d+$/, '');
  let k = 1;
  while (taken.has(`${prefix}_${k}`)) k++;
  return `${prefix}_${k}`;
}
