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
import type { ApplyArgs, SymbolicTensor } from './symbolic.js';
import { applyLayer } from './symbolic.js';
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
 * What a layer kind builds (KINDS in layers.ts): the layer without `apply`,
 * which layerFromConfig adds to every layer alike.
 */
export type LayerDefinition = Omit<Layer, 'apply'>;

/**
 * A layer that takes several inputs (the merge layers, attention): its shape
 * rule, weights and forward pass over the list. Such a layer has no
 * one-input form; a Sequential model refuses it by name.
 */
export interface MultiInput {
  /** How many inputs it takes, at least and at most. */
  readonly min: number;
  readonly max: number;
  /**
   * The arguments a call may give besides the tensors (Keras' call
   * arguments, MultiHeadAttention's use_causal_mask): checked, with their
   * defaults, or an error that names the unknown one. Absent: none.
   */
  checkArgs?(args: CallArgs): CallArgs;
  /** Only a layer that takes masks (masking 'query'): why a call whose inputs carry masks where `masked` says cannot be, or null. */
  maskProblem?(masked: readonly boolean[], args: CallArgs): string | null;
  outputShape(inputs: number[][], args: CallArgs): number[];
  params(inputs: number[][], args: CallArgs): ParamSpec[];
  forward(g: Graph, xs: Value[], weights: readonly Value[], ctx: ForwardContext): Value;
}

/** A call's arguments besides its tensors, as the model file keeps them: JSON values. */
export type CallArgs = Readonly<Record<string, boolean | number | string>>;

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
   * its input (computeMask); 'query' takes each input's (ForwardContext.masks)
   * and hands on its first input's, as attention's output steps are its
   * query's. Absent: the layer cannot take a mask, and a model that would
   * hand it one is refused as it is built (maskCarried).
   */
  readonly masking?: 'pass' | 'consume' | 'make' | 'query';
  /** Only a layer whose masking is 'make': the mask [batch, steps] f32 (1 real, 0 padding) of its input x. */
  computeMask?(g: Graph, x: Value): Value;
  /** Only a layer that takes several inputs: its form over the list (then outputShape, params and forward refuse). */
  readonly multi?: MultiInput;
  /**
   * Calls the layer on symbolic tensors (input(), or another layer's
   * output), as Keras' layer(x) and TensorFlow.js' layer.apply(x): a list for
   * a layer that takes several. The shapes are checked now; the model
   * (model({ inputs, outputs })) records the calls. A layer called twice
   * shares its weights.
   */
  apply(inputs: SymbolicTensor | readonly SymbolicTensor[], args?: ApplyArgs): SymbolicTensor;
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
  /** The mask each input carries, in the inputs' order (null: none): what a layer whose masking is 'query' reads. */
  readonly masks?: readonly (Value | null)[];
  /** A multi-input layer's call arguments (MultiInput.checkArgs' result). */
  readonly args?: CallArgs;
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
    else if (source && layer.masking !== 'pass' && layer.masking !== 'query') throw maskRefusal(layer, source);
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

/** One call of a layer in a model: the layer (an index into the model's layers) and the tensors it reads (ModelGraph's ids). */
export interface ModelNode {
  readonly layer: number;
  readonly inputs: readonly number[];
  /** The call's arguments besides its tensors (MultiInput.checkArgs), if any. */
  readonly args?: CallArgs;
}

/**
 * A model's layers and the calls that connect them: tensor ids 0 .. inputs−1
 * are the model's inputs, inputs + k the output of nodes[k]; nodes are in an
 * order where each reads only tensors made before it. A Sequential model is
 * the chain (node k calls layer k on tensor k).
 */
export interface ModelGraph {
  readonly layers: readonly Layer[];
  readonly nodes: readonly ModelNode[];
  readonly inputs: number;
  readonly outputs: readonly number[];
}

/** The graph of a Sequential model: each layer called once, on the one before it. */
export function chainGraph(layers: readonly Layer[]): ModelGraph {
  return { layers, nodes: layers.map((_, i) => ({ layer: i, inputs: [i] })), inputs: 1, outputs: [layers.length] };
}

/** A call's arguments checked by the layer (MultiInput.checkArgs); a layer that takes none refuses any, by name. */
export function checkCallArgs(layer: Layer, args: CallArgs | undefined): CallArgs {
  if (layer.multi?.checkArgs) return layer.multi.checkArgs(args ?? {});
  const given = Object.keys(args ?? {});
  if (given.length) throw new ValueError(`${layer.name}: a ${layer.config.type} layer takes no call arguments, got ${given.join(', ')}`);
  return {};
}

/** How many inputs a call gives `layer` against what it takes, refused by name. */
function checkArity(layer: Layer, count: number): void {
  const m = layer.multi;
  if (!m && count !== 1) throw new ValueError(`${layer.name}: a ${layer.config.type} layer takes one input, got a list of ${count}`);
  if (m && (count < m.min || count > m.max)) throw new ValueError(`${layer.name}: a ${layer.config.type} layer takes ${m.min === m.max ? m.min : `${m.min} to ${m.max === Infinity ? 'any number of' : m.max}`} inputs, got ${count}`);
}

/** The sample shape of a call of `layer` on inputs of these sample shapes. */
export function callOutputShape(layer: Layer, inputs: number[][], args: CallArgs = {}): number[] {
  checkArity(layer, inputs.length);
  return layer.multi ? layer.multi.outputShape(inputs, args) : layer.outputShape(inputs[0]);
}

/** The weights a call of `layer` on inputs of these sample shapes needs. */
export function callParams(layer: Layer, inputs: number[][], args: CallArgs = {}): ParamSpec[] {
  return layer.multi ? layer.multi.params(inputs, args) : layer.params(inputs[0]);
}

/** Records one call of `layer` on `xs`. */
export function callForward(layer: Layer, g: Graph, xs: Value[], weights: readonly Value[], ctx: ForwardContext): Value {
  checkArity(layer, xs.length);
  return layer.multi ? layer.multi.forward(g, xs, weights, ctx) : layer.forward(g, xs[0], weights, ctx);
}

/**
 * Refuses by name a call of a layer already called whose inputs need weights
 * of other shapes than its first call's (`first`): a shared layer takes
 * inputs of one shape. At apply time and when a file's calls are read.
 */
export function checkSharedCall(layer: Layer, inputs: readonly number[][], first: readonly ParamSpec[], now: readonly ParamSpec[]): void {
  if (now.length === first.length && now.every((q, k) => q.shape.join() === first[k].shape.join())) return;
  throw new ValueError(`${layer.name}: called again on inputs [${inputs.map((s) => s.join(', ')).join('], [')}] that need weights of other shapes than its first call's (${first.map((q) => `${q.name} [${q.shape.join(', ')}]`).join(', ')}); a shared layer takes inputs of one shape`);
}

/** The layer whose call makes tensor t of the graph (t past the inputs). */
export function tensorLayer(graph: ModelGraph, t: number): Layer {
  return graph.layers[graph.nodes[t - graph.inputs].layer];
}

/**
 * Each tensor's sample shape (ModelGraph's ids), given the inputs', and the
 * weights of each layer from its first call. A layer called again must need
 * the same weights (a shared Dense sees the same features each time), or it
 * is refused by name.
 */
export function graphShapes(graph: ModelGraph, inputShapes: readonly number[][]): { shapes: number[][]; params: ParamSpec[][] } {
  const shapes = inputShapes.map((s) => [...s]);
  const params: ParamSpec[][] = graph.layers.map(() => []);
  const called = new Set<number>();
  for (const node of graph.nodes) {
    const layer = graph.layers[node.layer];
    const ins = node.inputs.map((t) => shapes[t]);
    const args = checkCallArgs(layer, node.args);
    const p = callParams(layer, ins, args);
    if (!called.has(node.layer)) params[node.layer] = p;
    else checkSharedCall(layer, ins, params[node.layer], p);
    called.add(node.layer);
    shapes.push(callOutputShape(layer, ins, args));
  }
  return { shapes, params };
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

/**
 * The layer a kind's definition makes: with `apply` (the functional API's
 * call), marked as named by autoName when it carries the name autoName just
 * gave. Every layer is finished here, whichever builder made it.
 */
export function finishLayer(definition: LayerDefinition): Layer {
  const layer: Layer = Object.assign(definition, { apply: (inputs: SymbolicTensor | readonly SymbolicTensor[], args?: ApplyArgs) => applyLayer(layer, inputs, args) });
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
