// Normalization layers with Keras' names, arguments and defaults:
// BatchNormalization (training and inference forms, moving statistics as
// non-trainable weights) and LayerNormalization.
import { ValueError } from '../core/errors.js';
import type { OptionsOf } from '../core/options.js';
import { defineOptions, opt } from '../core/options.js';
import type { Graph, Value } from '../graph/graph.js';
import { fill } from '../ops/elementwise.js';
import { accumulateMoments, batchNorm, batchNormInference, epsilonProblem, layerNorm, momentumProblem, movingAverage } from '../ops/norm.js';
import type { Layer, LayerDefinition, ParamSpec } from './layer-base.js';
import { autoName, layerCommon, finishLayer } from './layer-base.js';

export interface BatchNormConfig {
  type: 'batchNormalization';
  name: string;
  activation: 'linear';
  axis: -1;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  inputShape?: number[];
}

export interface LayerNormConfig {
  type: 'layerNormalization';
  name: string;
  activation: 'linear';
  axis: -1;
  epsilon: number;
  center: boolean;
  scale: boolean;
  inputShape?: number[];
}

const axisOpt = opt.custom<number>('-1', 'the normalized axis: -1, the channels (the only one supported)', (v) =>
  v === -1 ? null : `must be -1 (the last axis: a dense layer's units, an image's channels), got ${JSON.stringify(v)}; other axes are not supported`,
);
const epsilonOpt = opt.custom<number>('number', 'added to the variance (default 1e-3, as Keras; PyTorch uses 1e-5)', epsilonProblem);
const centerOpt = opt.boolean('learn an offset β (default true)');
const scaleOpt = opt.boolean('learn a scale γ (default true)');

const BATCH_NORM_OPTIONS = defineOptions('batchNormalization', {
  axis: axisOpt,
  momentum: opt.custom<number>('number', "the moving statistics' decay: moving = momentum·moving + (1 − momentum)·batch (default 0.99; PyTorch's momentum 0.1 is 0.9 here)", momentumProblem),
  epsilon: epsilonOpt,
  center: centerOpt,
  scale: scaleOpt,
  inputShape: layerCommon.inputShape,
  name: layerCommon.name,
}, { eps: 'epsilon', input_shape: 'inputShape', track_running_stats: 'not supported: the moving statistics are always kept', affine: 'center and scale' });

const LAYER_NORM_OPTIONS = defineOptions('layerNormalization', {
  axis: axisOpt,
  epsilon: epsilonOpt,
  center: centerOpt,
  scale: scaleOpt,
  inputShape: layerCommon.inputShape,
  name: layerCommon.name,
}, { eps: 'epsilon', input_shape: 'inputShape', elementwise_affine: 'center and scale', normalized_shape: 'axis' });

export type BatchNormOptions = OptionsOf<typeof BATCH_NORM_OPTIONS.spec>;
export type LayerNormOptions = OptionsOf<typeof LAYER_NORM_OPTIONS.spec>;

/**
 * Keras' BatchNormalization: while training, each channel (the last axis) is
 * normalized with the batch's mean and variance over every other axis, then
 * scaled by γ and shifted by β, and the moving mean and variance move toward
 * the batch's; evaluate and predict normalize with the moving ones.
 */
export function batchNormalization(options: BatchNormOptions = {}): Layer {
  const o = BATCH_NORM_OPTIONS.check(options);
  return finishLayer(batchNormLayer({
    type: 'batchNormalization',
    name: o.name ?? autoName('batch_normalization'),
    activation: 'linear',
    axis: -1,
    momentum: o.momentum ?? 0.99,
    epsilon: o.epsilon ?? 1e-3,
    center: o.center ?? true,
    scale: o.scale ?? true,
    inputShape: o.inputShape,
  }));
}

/** Keras' LayerNormalization: each sample's last axis normalized over itself, then γ and β; the same in training and inference. */
export function layerNormalization(options: LayerNormOptions = {}): Layer {
  const o = LAYER_NORM_OPTIONS.check(options);
  return finishLayer(layerNormLayer({
    type: 'layerNormalization',
    name: o.name ?? autoName('layer_normalization'),
    activation: 'linear',
    axis: -1,
    epsilon: o.epsilon ?? 1e-3,
    center: o.center ?? true,
    scale: o.scale ?? true,
    inputShape: o.inputShape,
  }));
}

/** A config from a file is checked as the builders check options. */
function checkNormConfig(config: BatchNormConfig | LayerNormConfig): void {
  const where = config.name;
  if (config.axis !== -1) throw new ValueError(`${where}: axis must be -1, got ${JSON.stringify(config.axis)}`);
  const e = epsilonProblem(config.epsilon);
  if (e) throw new ValueError(`${where}: epsilon ${e}`);
  for (const k of ['center', 'scale'] as const) if (typeof config[k] !== 'boolean') throw new ValueError(`${where}: ${k} must be true or false, got ${JSON.stringify(config[k])}`);
}

const constant = (n: number, value: number) => (): Float32Array => new Float32Array(n).fill(value);

/** γ and β, those the config asks for, in Keras' order. */
function affineParams(config: BatchNormConfig | LayerNormConfig, C: number): ParamSpec[] {
  const specs: ParamSpec[] = [];
  if (config.scale) specs.push({ name: `${config.name}/gamma`, shape: [C], init: constant(C, 1) });
  if (config.center) specs.push({ name: `${config.name}/beta`, shape: [C], init: constant(C, 0) });
  return specs;
}

/** γ and β as values: the weights where the layer has them, constants 1 and 0 where it does not. */
function affineValues(g: Graph, config: BatchNormConfig | LayerNormConfig, weights: readonly Value[], C: number): { gamma: Value; beta: Value; rest: readonly Value[] } {
  let i = 0;
  const gamma = config.scale ? weights[i++] : g.op(fill, [], { shape: [C], value: 1 }, `${config.name}/gamma`);
  const beta = config.center ? weights[i++] : g.op(fill, [], { shape: [C], value: 0 }, `${config.name}/beta`);
  return { gamma, beta, rest: weights.slice(i) };
}

const channels = (input: number[], name: string) => {
  if (input.length === 0) throw new ValueError(`${name}: needs samples with at least one axis`);
  return input[input.length - 1];
};

export function batchNormLayer(config: BatchNormConfig): LayerDefinition {
  checkNormConfig(config);
  const m = momentumProblem(config.momentum);
  if (m) throw new ValueError(`${config.name}: momentum ${m}`);
  const { epsilon, momentum } = config;
  return {
    name: config.name,
    config,
    activation: 'linear',
    outputShape: (input) => input,
    params(input) {
      const C = channels(input, config.name);
      // The moving statistics start at mean 0 and variance 1, as Keras'.
      return [
        ...affineParams(config, C),
        { name: `${config.name}/moving_mean`, shape: [C], init: constant(C, 0), trainable: false },
        { name: `${config.name}/moving_variance`, shape: [C], init: constant(C, 1), trainable: false },
      ];
    },
    forward(g, x, weights, ctx) {
      const C = x.shape[x.shape.length - 1];
      const { gamma, beta, rest: [movingMean, movingVariance] } = affineValues(g, config, weights, C);
      if (!ctx.training) return g.op(batchNormInference, [x, gamma, beta, movingMean, movingVariance], { epsilon }, config.name);
      const [y, mean, variance] = g.apply(batchNorm, [x, gamma, beta], { epsilon }, config.name);
      g.update(movingAverage, [mean], [movingMean], { momentum });
      g.update(movingAverage, [variance], [movingVariance], { momentum });
      return y;
    },
    // The moving statistics become the exact mean and biased variance of every
    // input the pass shows the layer: biased, as training normalizes by the
    // batch's biased variance and the moving variance averages those.
    recordStatistics(g, x, weights) {
      const C = x.shape[x.shape.length - 1];
      const [movingMean, movingVariance] = weights.slice(weights.length - 2);
      g.update(accumulateMoments, [x], [movingMean, movingVariance, g.state(`${config.name}/rows_seen`, [C])], {});
    },
  };
}

export function layerNormLayer(config: LayerNormConfig): LayerDefinition {
  checkNormConfig(config);
  const { epsilon } = config;
  return {
    name: config.name,
    config,
    activation: 'linear',
    // Each step normalized on its own (the last axis): a mask of padded steps passes through, as in Keras.
    masking: 'pass',
    outputShape: (input) => input,
    params: (input) => affineParams(config, channels(input, config.name)),
    forward(g, x, weights) {
      const { gamma, beta } = affineValues(g, config, weights, x.shape[x.shape.length - 1]);
      return g.apply(layerNorm, [x, gamma, beta], { epsilon }, config.name)[0];
    },
  };
}
