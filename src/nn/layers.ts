import { ValueError } from '../core/errors.js';
import type { OptionsOf } from '../core/options.js';
import { defineOptions, didYouMean, opt } from '../core/options.js';
import { biasAdd } from '../ops/bias.js';
import { translate } from '../ops/augment.js';
import { dropout as dropoutOp, noiseFold, rateProblem, seedProblem } from '../ops/dropout.js';
import type { PointFeature } from '../ops/features.js';
import { featuresProblem, pointFeatures as pointFeaturesOp } from '../ops/features.js';
import { embedding as embeddingOp, idsProblem, MAX_VOCABULARY } from '../ops/embedding.js';
import { paddingMask } from '../ops/mask.js';
import type { Graph, Value } from '../graph/graph.js';
import { matmul } from '../ops/matmul.js';
import { reshape as reshapeOp, resolveShape } from '../ops/reshape.js';
import type { Conv2dConfig, GlobalPoolConfig, Pool2dConfig } from './conv-layers.js';
import { convLayer, globalPoolLayer, poolLayer } from './conv-layers.js';
import type { BatchNormConfig, LayerNormConfig } from './norm-layers.js';
import type { MergeConfig } from './merge-layers.js';
import type { MultiHeadAttentionConfig, MultiHeadAttentionOptions } from './attention-layer.js';
import { multiHeadAttentionConfig, multiHeadAttentionLayer } from './attention-layer.js';
import { mergeLayer } from './merge-layers.js';
import type { BidirectionalConfig, BidirectionalOptions } from './bidirectional-layer.js';
import { BIDIRECTIONAL_FIELDS, bidirectionalConfig, bidirectionalLayer } from './bidirectional-layer.js';
import type { PositionEmbeddingConfig, PositionEmbeddingOptions } from './position-layer.js';
import { positionEmbeddingConfig, positionLayer } from './position-layer.js';
import type { GruConfig, GruOptions, LstmConfig, LstmOptions, RecurrentConfig, SimpleRnnConfig, SimpleRnnOptions } from './recurrent-layers.js';
import { GRU_DEFAULTS, gruConfig, LSTM_DEFAULTS, lstmConfig, RECURRENT_DEFAULTS, recurrentLayer, simpleRnnConfig } from './recurrent-layers.js';
import { batchNormLayer, layerNormLayer } from './norm-layers.js';
import type { InitializerName } from './initializers.js';
import { checkInitializer, initialize, INITIALIZERS } from './initializers.js';
import type { Layer, LayerActivation, LayerDefinition, ParamSpec } from './layer-base.js';
import { activationOpt, applyActivation, autoName, checkActivation, checkAlpha, finishLayer, checkRegularizers, initializerProblem, layerCommon, regularizerOptions, shapeProblem, weightedFields } from './layer-base.js';
import type { Regularizer } from './regularizers.js';
import { addPenalties, regularizerOpt, resolveRegularizer } from './regularizers.js';

export * from './layer-base.js';
export { averagePooling2d, conv2d, globalAveragePooling2d, maxPooling2d } from './conv-layers.js';
export type { Conv2dOptions, Pool2dOptions } from './conv-layers.js';
export { batchNormalization, layerNormalization } from './norm-layers.js';
export { add, average, concatenate, multiply } from './merge-layers.js';
export type { MergeConfig } from './merge-layers.js';
export type { MultiHeadAttentionConfig, MultiHeadAttentionOptions } from './attention-layer.js';
export { l1, l1l2, l2 } from './regularizers.js';
export type { Regularizer } from './regularizers.js';
export type { BatchNormOptions, LayerNormOptions } from './norm-layers.js';
export type { GruOptions, LstmOptions, RecurrentConfig, SimpleRnnOptions } from './recurrent-layers.js';
export type { BidirectionalConfig, BidirectionalOptions, MergeMode } from './bidirectional-layer.js';
export type { PositionEmbeddingConfig, PositionEmbeddingOptions } from './position-layer.js';

/** The JSON a layer saves as, and is rebuilt from. */
export type LayerConfig =
  | { type: 'dense'; name: string; units: number; activation: LayerActivation; alpha?: number; useBias: boolean; kernelInitializer: InitializerName; biasInitializer: InitializerName; kernelRegularizer?: Regularizer; biasRegularizer?: Regularizer; inputShape?: number[] }
  | { type: 'activation'; name: string; activation: LayerActivation; alpha?: number; inputShape?: number[] }
  | { type: 'flatten'; name: string; activation: 'linear'; inputShape?: number[] }
  | { type: 'reshape'; name: string; activation: 'linear'; targetShape: number[]; inputShape?: number[] }
  | { type: 'dropout'; name: string; activation: 'linear'; rate: number; seed?: number; noiseShape?: (number | null)[]; inputShape?: number[] }
  | { type: 'embedding'; name: string; activation: 'linear'; inputDim: number; outputDim: number; embeddingsInitializer: InitializerName; embeddingsRegularizer?: Regularizer; maskZero: boolean; inputShape?: number[] }
  | { type: 'pointFeatures'; name: string; activation: 'linear'; features: PointFeature[]; inputShape?: number[] }
  | { type: 'randomTranslation'; name: string; activation: 'linear'; heightFactor: number; widthFactor: number; fillMode: 'constant'; interpolation: 'nearest'; seed?: number; inputShape?: number[] }
  | Conv2dConfig
  | Pool2dConfig
  | GlobalPoolConfig
  | BatchNormConfig
  | LayerNormConfig
  | RecurrentConfig
  | BidirectionalConfig
  | PositionEmbeddingConfig
  | MergeConfig
  | MultiHeadAttentionConfig;

export type LayerType = LayerConfig['type'];
type ConfigOf<T extends LayerType> = Extract<LayerConfig, { type: T }>;

const DENSE_OPTIONS = defineOptions('dense', {
  activation: activationOpt,
  useBias: opt.boolean('add a bias (default true)'),
  kernelInitializer: opt.custom<string>('initializer', `the kernel's initializer (default glorotUniform): ${INITIALIZERS.join(', ')}`, initializerProblem),
  biasInitializer: opt.custom<string>('initializer', `the bias' initializer (default zeros): ${INITIALIZERS.join(', ')}`, initializerProblem),
  ...regularizerOptions,
  ...layerCommon,
}, { units: 'the first argument: dense(units, options)', use_bias: 'useBias', kernel_initializer: 'kernelInitializer', bias_initializer: 'biasInitializer', kernel_regularizer: 'kernelRegularizer', bias_regularizer: 'biasRegularizer', input_shape: 'inputShape' });

const ACTIVATION_LAYER_OPTIONS = defineOptions('activationLayer', layerCommon, { input_shape: 'inputShape' });

export type DenseOptions = OptionsOf<typeof DENSE_OPTIONS.spec>;

/** Fully connected: y = activation(x·W + b), W [in, units] Glorot-uniform, b zeros (Keras' defaults). */
export function dense(units: number, options: DenseOptions = {}): Layer {
  options = DENSE_OPTIONS.check(options);
  if (!Number.isInteger(units) || units < 1) throw new ValueError(`dense: units must be a positive integer, got ${units}`);
  const config: LayerConfig = {
    type: 'dense',
    name: options.name ?? autoName('dense'),
    units,
    ...weightedFields(options, 'dense'),
  };
  return layerFromConfig(config);
}

/** A layer that only applies an activation (Keras' Activation / ReLU / Softmax layers). */
export function activationLayer(kind: string, options: OptionsOf<typeof ACTIVATION_LAYER_OPTIONS.spec> = {}): Layer {
  options = ACTIVATION_LAYER_OPTIONS.check(options);
  return layerFromConfig({ type: 'activation', name: options.name ?? autoName(kind), activation: checkActivation(kind), alpha: options.alpha, inputShape: options.inputShape });
}

/** Flattens each sample to one axis: [n, h, w, c] → [n, h·w·c], a free view (Keras' Flatten). */
export function flatten(options: OptionsOf<typeof SHAPE_LAYER_OPTIONS.spec> = {}): Layer {
  const o = SHAPE_LAYER_OPTIONS.check(options);
  return layerFromConfig({ type: 'flatten', name: o.name ?? autoName('flatten'), activation: 'linear', inputShape: o.inputShape });
}

/** Gives each sample a new shape holding the same values, row-major; one entry may be -1 (Keras' Reshape). A free view. */
export function reshape(targetShape: number[], options: OptionsOf<typeof SHAPE_LAYER_OPTIONS.spec> = {}): Layer {
  const o = SHAPE_LAYER_OPTIONS.check(options);
  if (!Array.isArray(targetShape)) throw new ValueError(`reshape: targetShape must be a list like [28, 28, 1], got ${JSON.stringify(targetShape)}`);
  return layerFromConfig({ type: 'reshape', name: o.name ?? autoName('reshape'), activation: 'linear', targetShape: [...targetShape], inputShape: o.inputShape });
}

const SHAPE_LAYER_OPTIONS = defineOptions('layer', { inputShape: layerCommon.inputShape, name: layerCommon.name }, { input_shape: 'inputShape' });

const DROPOUT_OPTIONS = defineOptions('dropout', {
  seed: opt.custom<number>('integer', 'the masks\' seed, an integer in [0, 2^32) (default: from the model\'s seed and the layer\'s position)', seedProblem),
  noiseShape: opt.custom<(number | null)[]>(
    '(number | null)[]',
    "Keras' noise_shape: the mask's shape, batch axis first, 1 on the axes that share a mask bit, null for the input's size; e.g. [null, 1, 64] on sequences [steps, 64]: one mask per sample for every step (default: a bit per element)",
    noiseShapeProblem,
  ),
  inputShape: layerCommon.inputShape,
  name: layerCommon.name,
}, { rate: 'the first argument: dropout(rate, options)', noise_shape: 'noiseShape', input_shape: 'inputShape' });

/** What is wrong with a Dropout noise shape on its own, or null: its fit to the input is checked when the layer is built. */
function noiseShapeProblem(v: unknown): string | null {
  const ok = Array.isArray(v) && v.length > 1 && (v[0] === null || v[0] === 1) && v.slice(1).every((d) => d === null || (Number.isInteger(d) && d > 0));
  return ok ? null : `must be a list like [null, 1, 64]: the batch axis first (null, or 1 for one mask across the batch), then per sample axis its size, null, or 1 where the mask is shared; got ${JSON.stringify(v)}`;
}

/** A noise shape for input `x` (batch first) in the op's form, x's sizes where it says null: the layer's check and its forward. */
function resolvedNoise(noiseShape: readonly (number | null)[], x: readonly number[]): number[] {
  return noiseShape.map((d, k) => (d === null ? x[k] : d));
}

/**
 * Keras' Dropout: while training, each element is zeroed with probability
 * `rate` and the rest scaled by 1/(1 − rate), a fresh mask every step; at
 * evaluate and predict time it passes its input through. With noiseShape
 * (Keras' noise_shape) elements share a mask bit along the axes it gives 1:
 * [null, 1, 64] on sequences [steps, 64] drops the same features at every step.
 */
export function dropout(rate: number, options: OptionsOf<typeof DROPOUT_OPTIONS.spec> = {}): Layer {
  const o = DROPOUT_OPTIONS.check(options);
  return layerFromConfig({ type: 'dropout', name: o.name ?? autoName('dropout'), activation: 'linear', rate, ...(o.seed === undefined ? {} : { seed: o.seed }), ...(o.noiseShape === undefined ? {} : { noiseShape: [...o.noiseShape] }), inputShape: o.inputShape });
}

function dropoutLayer(config: ConfigOf<'dropout'>): LayerDefinition {
  const { rate } = config;
  // Checked here too: a config may come from a file.
  if (rateProblem(rate)) throw new ValueError(`${config.name}: rate ${rateProblem(rate)}`);
  if (config.seed !== undefined && seedProblem(config.seed)) throw new ValueError(`${config.name}: seed ${seedProblem(config.seed)}`);
  const { noiseShape } = config;
  if (noiseShape !== undefined && noiseShapeProblem(noiseShape)) throw new ValueError(`${config.name}: noiseShape ${noiseShapeProblem(noiseShape)}`);
  return {
    name: config.name,
    config,
    activation: 'linear',
    outputShape(input) {
      if (noiseShape === undefined) return input;
      const sizes = noiseShape.slice(1);
      if (sizes.length !== input.length || sizes.some((d, k) => d !== null && d !== 1 && d !== input[k])) {
        throw new ValueError(`${config.name}: noiseShape ${JSON.stringify(noiseShape)} does not fit samples [${input.join(', ')}]: give the batch axis (null), then per sample axis its size (or null), or 1 to share the mask along it, e.g. [null, ${input.map((d, k) => (k === 0 && input.length > 1 ? 1 : d)).join(', ')}]`);
      }
      // The shared axes must be adjacent, as the op draws them (a batch of 2 stands for any).
      try {
        noiseFold([2, ...input], resolvedNoise(noiseShape, [2, ...input]));
      } catch (e) {
        throw new ValueError(`${config.name}: ${(e as Error).message.replace(/^dropout: /, '')}`);
      }
      return input;
    },
    params: () => [],
    masking: 'pass',
    forward(g, x, _w, ctx) {
      if (!ctx.training || rate === 0) return x;
      // A fresh mask every step (the op reads the step number); the gradient's dropout draws the same.
      const noise = noiseShape === undefined ? {} : { noiseShape: resolvedNoise(noiseShape, x.shape) };
      return g.op(dropoutOp, [x, ctx.step()], { rate, seed: config.seed ?? ctx.seed, ...noise }, config.name);
    },
  };
}

const TRANSLATION_OPTIONS = defineOptions('randomTranslation', {
  fillMode: opt.oneOf(['constant'] as const, "what fills the pixels moved in: 'constant' (0), the only one supported (Keras' default is 'reflect')"),
  interpolation: opt.oneOf(['nearest'] as const, "'nearest': whole-pixel moves, the only one supported (Keras' default is 'bilinear')"),
  seed: opt.custom<number>('integer', 'the moves\' seed, an integer in [0, 2^32) (default: from the model\'s seed and the layer\'s position)', seedProblem),
  inputShape: layerCommon.inputShape,
  name: layerCommon.name,
}, { fill_mode: 'fillMode', fill_value: 'not supported: the fill is 0', height_factor: 'the first argument', width_factor: 'the second argument', input_shape: 'inputShape' });

/**
 * Keras' RandomTranslation with whole-pixel moves: while training, each image
 * [h, w, c] moves by its own offset, uniform in ±⌊heightFactor·h⌋ rows and
 * ±⌊widthFactor·w⌋ columns, fresh every step, filled with 0 (Keras' defaults
 * are fill_mode 'reflect' and bilinear interpolation, which this layer refuses
 * rather than imitates); evaluate and predict pass images through.
 */
export function randomTranslation(heightFactor: number, widthFactor: number, options: OptionsOf<typeof TRANSLATION_OPTIONS.spec> = {}): Layer {
  const o = TRANSLATION_OPTIONS.check(options);
  return layerFromConfig({
    type: 'randomTranslation',
    name: o.name ?? autoName('random_translation'),
    activation: 'linear',
    heightFactor,
    widthFactor,
    fillMode: 'constant',
    interpolation: 'nearest',
    ...(o.seed === undefined ? {} : { seed: o.seed }),
    inputShape: o.inputShape,
  });
}

function translationLayer(config: ConfigOf<'randomTranslation'>): LayerDefinition {
  const { heightFactor, widthFactor } = config;
  for (const [k, v] of [['heightFactor', heightFactor], ['widthFactor', widthFactor]] as const) {
    if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw new ValueError(`${config.name}: ${k} must be a fraction in [0, 1) of the image's size, got ${JSON.stringify(v)}`);
  }
  if (config.fillMode !== 'constant' || config.interpolation !== 'nearest') throw new ValueError(`${config.name}: only fillMode 'constant' and interpolation 'nearest' are supported`);
  if (config.seed !== undefined && seedProblem(config.seed)) throw new ValueError(`${config.name}: seed ${seedProblem(config.seed)}`);
  return {
    name: config.name,
    config,
    activation: 'linear',
    outputShape(input) {
      if (input.length !== 3) throw new ValueError(`${config.name}: randomTranslation takes images [h, w, c], got [${input.join(', ')}]`);
      return input;
    },
    params: () => [],
    forward(g, x, _w, ctx) {
      const maxDy = Math.floor(heightFactor * x.shape[1]);
      const maxDx = Math.floor(widthFactor * x.shape[2]);
      if (!ctx.training || (maxDy === 0 && maxDx === 0)) return x;
      return g.op(translate, [x, ctx.step()], { maxDy, maxDx, seed: config.seed ?? ctx.seed }, config.name);
    },
  };
}

const EMBEDDING_OPTIONS = defineOptions('embedding', {
  embeddingsInitializer: opt.custom<string>('initializer', `the table's initializer (default randomUniform, ±0.05 as Keras): ${INITIALIZERS.join(', ')}`, initializerProblem),
  embeddingsRegularizer: regularizerOpt('embeddings'),
  maskZero: opt.boolean('id 0 is padding (default false): padded steps neither update a recurrent state nor count in the loss and metrics; inputDim counts id 0'),
  inputShape: layerCommon.inputShape,
  name: layerCommon.name,
}, {
  input_dim: 'the first argument: embedding(inputDim, outputDim, options)', output_dim: 'the second argument', embeddings_initializer: 'embeddingsInitializer',
  embeddings_regularizer: 'embeddingsRegularizer', mask_zero: 'maskZero', input_length: 'inputShape ([steps])', input_shape: 'inputShape',
});

/**
 * Keras' Embedding: token ids (whole numbers in [0, inputDim), given as
 * numbers) → vectors of outputDim, a row of a trained table each. Samples
 * [steps] of ids become [steps, outputDim]. Ids outside the table are refused
 * by name before anything runs.
 */
export function embedding(inputDim: number, outputDim: number, options: OptionsOf<typeof EMBEDDING_OPTIONS.spec> = {}): Layer {
  const o = EMBEDDING_OPTIONS.check(options);
  const embeddingsRegularizer = resolveRegularizer(o.embeddingsRegularizer, 'embedding: embeddingsRegularizer');
  return layerFromConfig({
    type: 'embedding',
    name: o.name ?? autoName('embedding'),
    activation: 'linear',
    inputDim,
    outputDim,
    embeddingsInitializer: checkInitializer(o.embeddingsInitializer ?? 'randomUniform'),
    ...(embeddingsRegularizer ? { embeddingsRegularizer } : {}),
    maskZero: o.maskZero ?? false,
    inputShape: o.inputShape,
  });
}

function embeddingLayer(config: ConfigOf<'embedding'>): LayerDefinition {
  const { inputDim, outputDim } = config;
  for (const [k, v] of [['inputDim', inputDim], ['outputDim', outputDim]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ValueError(`${config.name}: ${k} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  if (inputDim > MAX_VOCABULARY) throw new ValueError(`${config.name}: inputDim ${inputDim} is above ${MAX_VOCABULARY}: ids above it are not exact in the f32 inputs`);
  if (typeof config.maskZero !== 'boolean') throw new ValueError(`${config.name}: maskZero must be true or false, got ${JSON.stringify(config.maskZero)}`);
  checkInitializer(config.embeddingsInitializer);
  checkRegularizers(config, ['embeddingsRegularizer']);
  return {
    name: config.name,
    config,
    activation: 'linear',
    outputShape: (input) => [...input, outputDim],
    params: () => [{ name: `${config.name}/embeddings`, shape: [inputDim, outputDim], init: (r) => initialize(config.embeddingsInitializer, inputDim * outputDim, inputDim, outputDim, r) }],
    forward(g, x, [table], ctx) {
      addPenalties(g, ctx, config.name, [[table, config.embeddingsRegularizer, 'embeddings']]);
      return g.op(embeddingOp, [x, table], {}, config.name);
    },
    // Keras' mask_zero: id 0 is padding, and the mask (ids ≠ 0) travels with the vectors.
    ...(config.maskZero ? { masking: 'make' as const, computeMask: (g: Graph, ids: Value) => g.op(paddingMask, [ids], {}, `${config.name}/mask`) } : {}),
    checkInput(ids, what) {
      const problem = idsProblem(ids, inputDim);
      if (problem) throw new ValueError(`${what}: ${config.name}: ${problem}`);
    },
  };
}

const FEATURES_OPTIONS = defineOptions('pointFeatures', { inputShape: layerCommon.inputShape, name: layerCommon.name }, { features: 'the first argument: pointFeatures(features, options)', input_shape: 'inputShape' });

/**
 * TensorFlow Playground's input features: takes points [2] (x, y) and gives
 * the features named, in that order, from x, y, xSquared, ySquared,
 * xTimesY, sinX, sinY (the Playground's names). A model that starts with it
 * predicts from x and y alone; its file, and its PyTorch and ONNX exports,
 * compute the features themselves.
 *
 *   sequential([pointFeatures(['x', 'y', 'xTimesY']), dense(1, { activation: 'tanh' })], { inputShape: [2] })
 */
export function pointFeatures(features: readonly PointFeature[], options: OptionsOf<typeof FEATURES_OPTIONS.spec> = {}): Layer {
  const o = FEATURES_OPTIONS.check(options);
  return layerFromConfig({ type: 'pointFeatures', name: o.name ?? autoName('point_features'), activation: 'linear', features: Array.isArray(features) ? [...features] : (features as PointFeature[]), inputShape: o.inputShape });
}

function featuresLayer(config: ConfigOf<'pointFeatures'>): LayerDefinition {
  const problem = featuresProblem(config.features);
  if (problem) throw new ValueError(`${config.name}: features ${problem}`);
  const { features } = config;
  return {
    name: config.name,
    config,
    activation: 'linear',
    outputShape(input) {
      if (input.length !== 1 || input[0] !== 2) throw new ValueError(`${config.name}: pointFeatures takes points [2] (x, y), got [${input.join(', ')}]`);
      return [features.length];
    },
    params: () => [],
    forward: (g, x) => g.op(pointFeaturesOp, [x], { features }, config.name),
  };
}

/**
 * Keras' SimpleRNN: h = tanh(x·W + h_prev·U + b) over the steps of samples
 * [steps, features]; the last state [units], or every state [steps, units]
 * with returnSequences.
 */
export function simpleRNN(units: number, options: SimpleRnnOptions = {}): Layer {
  return layerFromConfig(simpleRnnConfig(units, options));
}

/** Keras' LSTM (gates i, f, c, o; sigmoid gates, tanh cell; unitForgetBias), over samples [steps, features]. */
export function lstm(units: number, options: LstmOptions = {}): Layer {
  return layerFromConfig(lstmConfig(units, options));
}

/** Keras' GRU (gates z, r, h; resetAfter true by default, as Keras 2, with a recurrent bias), over samples [steps, features]. */
export function gru(units: number, options: GruOptions = {}): Layer {
  return layerFromConfig(gruConfig(units, options));
}

/**
 * Keras' Bidirectional: `layer` (simpleRNN, lstm or gru) over the steps
 * forward and a copy of it (or `backwardLayer`) backward, the two outputs
 * merged by mergeMode: 'concat' (default), 'sum', 'mul' or 'ave'. With
 * returnSequences the backward states are put back in the input's step order first.
 */
export function bidirectional(layer: Layer, options: BidirectionalOptions = {}): Layer {
  return layerFromConfig(bidirectionalConfig(layer, options));
}

/**
 * Keras' MultiHeadAttention({ numHeads, keyDim, valueDim, dropout, useBias,
 * outputShape }): called in a functional model as Keras calls it,
 * layer.apply([query, value, key?], { useCausalMask, attentionMask }), the
 * same tensor twice for self-attention (src/nn/attention-layer.ts).
 */
export function multiHeadAttention(options: MultiHeadAttentionOptions): Layer {
  return layerFromConfig(multiHeadAttentionConfig(options));
}

/**
 * keras-nlp's PositionEmbedding: a learned table [sequenceLength, features]
 * (glorotUniform); on sequences [steps, features] (steps ≤ sequenceLength) it
 * gives the table's first `steps` rows for every sample: the positions, which
 * an add merge layer adds to the tokens' embeddings (keras-nlp's use).
 */
export function positionEmbedding(options: PositionEmbeddingOptions): Layer {
  return layerFromConfig(positionEmbeddingConfig(options));
}

const WEIGHTED_DEFAULTS = { activation: 'linear', useBias: true, kernelInitializer: 'glorotUniform', biasInitializer: 'zeros' } as const;
const NORM_DEFAULTS = { activation: 'linear', axis: -1, epsilon: 1e-3, center: true, scale: true } as const;

/** The config of kind T: the member of LayerConfig whose type names T (a pool's config serves two kinds). */
type ConfigFor<T extends LayerType> = LayerConfig extends infer C ? (C extends { type: infer U } ? (T extends U ? C : never) : never) : never;

/**
 * What webgrad itself knows of a layer kind: its Keras class name for
 * summary(), how it is built from its config, the fields of its config (every
 * one, so that a file's unknown field is refused by name), and Keras' defaults
 * of the fields a file may leave out (a pool's strides default to its size).
 * The spec token (spec.ts), the PyTorch and ONNX exports and the PyTorch import
 * (src/interop/) hold their parts in tables and switches over the same kinds;
 * each fails to compile without an entry for a new kind.
 */
interface KindDefinition<T extends LayerType> {
  readonly title: string;
  build(config: ConfigFor<T>): LayerDefinition;
  readonly fields: { readonly [K in keyof ConfigFor<T>]-?: true };
  readonly fileDefaults: Readonly<Partial<Record<keyof ConfigFor<T>, unknown>>>;
  /** Defaults that follow from what the file gives (a pool's strides are its size). */
  defaultsFrom?(given: Partial<ConfigFor<T>>): Readonly<Partial<Record<keyof ConfigFor<T>, unknown>>>;
}

const POOL_STRIDES = (given: Partial<Pool2dConfig>) => (given.poolSize ? { strides: given.poolSize } : {});

const COMMON = { type: true, name: true, activation: true, inputShape: true } as const;
const WEIGHTED_FIELDS = { ...COMMON, alpha: true, useBias: true, kernelInitializer: true, biasInitializer: true, kernelRegularizer: true, biasRegularizer: true } as const;
const RECURRENT_FIELDS = {
  ...COMMON, units: true, useBias: true, returnSequences: true, goBackwards: true, kernelInitializer: true, recurrentInitializer: true, biasInitializer: true,
  dropout: true, recurrentDropout: true, seed: true, kernelRegularizer: true, recurrentRegularizer: true, biasRegularizer: true,
} as const;
const NORM_FIELDS = { ...COMMON, axis: true, epsilon: true, center: true, scale: true } as const;

/** Every layer kind. A kind in LayerConfig without an entry here does not compile. */
const KINDS: { readonly [T in LayerType]: KindDefinition<T> } = {
  dense: { title: 'Dense', build: denseLayer, fields: { ...WEIGHTED_FIELDS, units: true }, fileDefaults: WEIGHTED_DEFAULTS },
  activation: {
    title: 'Activation',
    build: (config) => ({
      name: config.name,
      config,
      activation: config.activation,
      outputShape: (input) => input,
      params: () => [],
      masking: 'pass',
      forward: (g, x, _w, ctx) => (ctx.skipActivation ? x : applyActivation(g, x, config.activation, config.alpha, config.name)),
    }),
    fields: { ...COMMON, alpha: true },
    fileDefaults: {},
  },
  flatten: {
    title: 'Flatten',
    build: (config) => viewLayer(config, (input) => [input.reduce((a, b) => a * b, 1)]),
    fields: COMMON,
    fileDefaults: { activation: 'linear' },
  },
  dropout: { title: 'Dropout', build: dropoutLayer, fields: { ...COMMON, rate: true, seed: true, noiseShape: true }, fileDefaults: { activation: 'linear' } },
  embedding: { title: 'Embedding', build: embeddingLayer, fields: { ...COMMON, inputDim: true, outputDim: true, embeddingsInitializer: true, embeddingsRegularizer: true, maskZero: true }, fileDefaults: { activation: 'linear', embeddingsInitializer: 'randomUniform', maskZero: false } },
  pointFeatures: { title: 'PointFeatures', build: featuresLayer, fields: { ...COMMON, features: true }, fileDefaults: { activation: 'linear' } },
  randomTranslation: {
    title: 'RandomTranslation',
    build: translationLayer,
    fields: { ...COMMON, heightFactor: true, widthFactor: true, fillMode: true, interpolation: true, seed: true },
    fileDefaults: { activation: 'linear', fillMode: 'constant', interpolation: 'nearest' },
  },
  conv2d: {
    title: 'Conv2D',
    build: convLayer,
    fields: { ...WEIGHTED_FIELDS, filters: true, kernelSize: true, strides: true, padding: true, dilationRate: true },
    fileDefaults: { ...WEIGHTED_DEFAULTS, strides: [1, 1], padding: 'valid', dilationRate: [1, 1] },
  },
  maxPooling2d: { title: 'MaxPooling2D', build: poolLayer, fields: { ...COMMON, poolSize: true, strides: true, padding: true }, fileDefaults: { activation: 'linear', padding: 'valid' }, defaultsFrom: POOL_STRIDES },
  averagePooling2d: { title: 'AveragePooling2D', build: poolLayer, fields: { ...COMMON, poolSize: true, strides: true, padding: true }, fileDefaults: { activation: 'linear', padding: 'valid' }, defaultsFrom: POOL_STRIDES },
  globalAveragePooling2d: { title: 'GlobalAveragePooling2D', build: globalPoolLayer, fields: COMMON, fileDefaults: { activation: 'linear' } },
  batchNormalization: { title: 'BatchNormalization', build: batchNormLayer, fields: { ...NORM_FIELDS, momentum: true }, fileDefaults: { ...NORM_DEFAULTS, momentum: 0.99 } },
  layerNormalization: { title: 'LayerNormalization', build: layerNormLayer, fields: NORM_FIELDS, fileDefaults: NORM_DEFAULTS },
  simpleRNN: { title: 'SimpleRNN', build: recurrentLayer, fields: { ...RECURRENT_FIELDS }, fileDefaults: RECURRENT_DEFAULTS },
  lstm: { title: 'LSTM', build: recurrentLayer, fields: { ...RECURRENT_FIELDS, recurrentActivation: true, unitForgetBias: true }, fileDefaults: LSTM_DEFAULTS },
  gru: { title: 'GRU', build: recurrentLayer, fields: { ...RECURRENT_FIELDS, recurrentActivation: true, resetAfter: true }, fileDefaults: GRU_DEFAULTS },
  bidirectional: {
    title: 'Bidirectional',
    // The halves' configs get their own kinds' file defaults, and are then checked as any layer's.
    build: (c) => bidirectionalLayer({ ...c, layer: withFileDefaults(c.layer) as RecurrentConfig, backwardLayer: withFileDefaults(c.backwardLayer) as RecurrentConfig }, (inner) => layerFromConfig(inner)),
    fields: BIDIRECTIONAL_FIELDS,
    fileDefaults: { activation: 'linear', mergeMode: 'concat' },
    // Keras' from_config: without a backward layer, the forward one's config with goBackwards flipped.
    defaultsFrom: (given) => (given.layer && typeof given.layer === 'object' ? { backwardLayer: { ...given.layer, goBackwards: !(given.layer.goBackwards ?? false), name: `backward_${String(given.layer.name).replace(/^forward_/, '')}` } } : {}),
  },
  add: { title: 'Add', build: mergeLayer, fields: COMMON, fileDefaults: { activation: 'linear' } },
  multiply: { title: 'Multiply', build: mergeLayer, fields: COMMON, fileDefaults: { activation: 'linear' } },
  average: { title: 'Average', build: mergeLayer, fields: COMMON, fileDefaults: { activation: 'linear' } },
  concatenate: { title: 'Concatenate', build: mergeLayer, fields: { ...COMMON, axis: true }, fileDefaults: { activation: 'linear', axis: -1 } },
  multiHeadAttention: {
    title: 'MultiHeadAttention',
    build: multiHeadAttentionLayer,
    fields: { ...COMMON, numHeads: true, keyDim: true, valueDim: true, dropout: true, useBias: true, outputShape: true, kernelInitializer: true, biasInitializer: true, kernelRegularizer: true, biasRegularizer: true, seed: true },
    fileDefaults: { activation: 'linear', dropout: 0, useBias: true, outputShape: null, kernelInitializer: 'glorotUniform', biasInitializer: 'zeros' },
    defaultsFrom: (given) => (given.keyDim !== undefined ? { valueDim: given.keyDim } : {}),
  },
  reshape: {
    title: 'Reshape',
    build: (config) => {
      if (shapeProblem(config.targetShape.map((d) => (d === -1 ? 1 : d)))) throw new ValueError(`${config.name}: targetShape must be positive whole numbers (one may be -1), got ${JSON.stringify(config.targetShape)}`);
      return viewLayer(config, (input) => resolveShape(config.targetShape, input.reduce((a, b) => a * b, 1), `${config.name}: reshape of [${input.join(', ')}]`));
    },
    fields: { ...COMMON, targetShape: true },
    fileDefaults: { activation: 'linear' },
  },
  positionEmbedding: {
    title: 'PositionEmbedding',
    build: positionLayer,
    fields: { ...COMMON, sequenceLength: true, initializer: true },
    fileDefaults: { activation: 'linear', initializer: 'glorotUniform' },
  },
};

/** Every layer kind, in the order KINDS declares them: what generated tests (the export conformance matrix) walk. */
export const LAYER_TYPES = Object.keys(KINDS) as readonly LayerType[];

/**
 * A layer config from a file with the fields it leaves out set to Keras'
 * defaults (a missing name: an automatic one, which the model then numbers).
 * What it does give is checked as usual by layerFromConfig.
 */
export function withFileDefaults(config: Partial<LayerConfig> & { type: string }): LayerConfig {
  const type = config?.type as LayerType;
  if (!Object.hasOwn(KINDS, type)) return config as LayerConfig;
  const kind = KINDS[type] as KindDefinition<LayerType>;
  const derived = kind.defaultsFrom?.(config as never) ?? {};
  const prefix = type.replace(/[A-Z]+/g, (c) => `_${c.toLowerCase()}`).replace(/_(\d)/, '$1');
  return { ...kind.fileDefaults, ...derived, ...config, name: config.name ?? autoName(prefix) } as LayerConfig;
}

/** The Keras class name of a layer, for summary(). */
export const layerTitle = (layer: Layer) => KINDS[layer.config.type].title;

/** A layer that only views each sample with another shape: no weights, no launch. */
function viewLayer(config: ConfigOf<'flatten' | 'reshape'>, shape: (input: number[]) => number[]): LayerDefinition {
  return {
    name: config.name,
    config,
    activation: 'linear',
    outputShape: shape,
    params: () => [],
    forward: (g, x) => g.op(reshapeOp, [x], { shape: [x.shape[0], ...shape(x.shape.slice(1))] }, config.name),
  };
}

export function layerFromConfig(config: LayerConfig): Layer {
  // A config may come from a file: check it as the builders would.
  // hasOwn: a file's type may be 'constructor' or '__proto__', which every object has.
  const kind = Object.hasOwn(KINDS, String(config?.type)) ? KINDS[config.type] : undefined;
  if (!kind) throw new ValueError(`unknown layer type '${(config as { type?: string })?.type}' (known: ${Object.keys(KINDS).join(', ')})`);
  // A field nobody reads is an error, not a silent no-op: a file's typo (useBais) or a field of another kind.
  const fields = Object.keys(kind.fields);
  for (const key of Object.keys(config)) {
    if (!fields.includes(key)) throw new ValueError(`${config.name}: unknown field '${key}' in a ${config.type} layer's config${didYouMean(key, fields)} (its fields: ${fields.join(', ')})`);
  }
  // A file may name the activation as Keras does (leaky_relu): keep webgrad's name.
  config = { ...config, activation: checkActivation(config.activation) } as LayerConfig;
  checkAlpha(config.name, config.activation, (config as { alpha?: number }).alpha);
  if (config.inputShape !== undefined && shapeProblem(config.inputShape)) throw new ValueError(`${config.name}: inputShape ${shapeProblem(config.inputShape)}`);
  return finishLayer((kind.build as (c: LayerConfig) => LayerDefinition)(config));
}

function denseLayer(config: ConfigOf<'dense'>): LayerDefinition {
  const { units, useBias, kernelInitializer, biasInitializer } = config;
  if (!Number.isInteger(units) || units < 1) throw new ValueError(`${config.name}: units must be a positive integer, got ${units}`);
  if (typeof useBias !== 'boolean') throw new ValueError(`${config.name}: useBias must be true or false, got ${JSON.stringify(useBias)}`);
  checkInitializer(kernelInitializer);
  checkInitializer(biasInitializer);
  checkRegularizers(config);
  return {
    name: config.name,
    config,
    activation: config.activation,
    // Each step on its own: a mask of padded steps passes through.
    masking: 'pass',
    outputShape: (input) => [...input.slice(0, -1), units],
    params(input) {
      // Flat samples, or sequences [steps, features], where it acts on every step (the last axis), as Keras' Dense.
      if (input.length !== 1 && input.length !== 2) throw new ValueError(`${config.name}: dense expects flat inputs [features] or sequences [steps, features], got [${input.join(', ')}]; put a flatten() layer before it`);
      const fanIn = input[input.length - 1];
      const specs: ParamSpec[] = [{ name: `${config.name}/kernel`, shape: [fanIn, units], init: (r) => initialize(kernelInitializer, fanIn * units, fanIn, units, r) }];
      if (useBias) specs.push({ name: `${config.name}/bias`, shape: [units], init: (r) => initialize(biasInitializer, units, fanIn, units, r) });
      return specs;
    },
    forward(g, x, [w, b], ctx) {
      addPenalties(g, ctx, config.name, [[w, config.kernelRegularizer, 'kernel'], [b, config.biasRegularizer, 'bias']]);
      // Sequences [n, steps, features]: every step as a row of one matmul, then the steps again (free views).
      const seq = x.shape.length === 3 ? x.shape : null;
      const rows = seq ? g.op(reshapeOp, [x], { shape: [seq[0] * seq[1], seq[2]] }, `${config.name}/rows`) : x;
      let y = g.op(matmul, [rows, w], {}, `${config.name}/matmul`);
      if (b) y = g.op(biasAdd, [y, b], {}, `${config.name}/bias_add`);
      if (seq) y = g.op(reshapeOp, [y], { shape: [seq[0], seq[1], units] }, `${config.name}/steps`);
      return ctx.skipActivation ? y : applyActivation(g, y, config.activation, config.alpha, `${config.name}/${config.activation}`);
    },
  };
}
