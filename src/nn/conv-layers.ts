// Image layers on NHWC samples [h, w, c]: Conv2D and pooling, with Keras' names, arguments and defaults.
import { ValueError } from '../core/errors.js';
import type { OptionsOf } from '../core/options.js';
import { defineOptions, opt } from '../core/options.js';
import type { Graph, Value } from '../graph/graph.js';
import { biasAdd } from '../ops/bias.js';
import type { Conv2dAttrs } from '../ops/conv.js';
import { conv2d as conv2dOp, conv2dGeometry } from '../ops/conv.js';
import { colsShape, im2col } from '../ops/conv.js';
import { matmul } from '../ops/matmul.js';
import { avgPool2d, globalAvgPool2d, maxPool2d, poolGeometry } from '../ops/pool.js';
import { reshape } from '../ops/reshape.js';
import type { InitializerName } from './initializers.js';
import { checkInitializer, initialize, INITIALIZERS } from './initializers.js';
import type { Layer, LayerActivation, LayerDefinition, ParamSpec } from './layer-base.js';
import { activationOpt, applyActivation, autoName, checkRegularizers, finishLayer, initializerProblem, layerCommon, regularizerOptions, weightedFields } from './layer-base.js';
import type { Regularizer } from './regularizers.js';
import { addPenalties } from './regularizers.js';

type Pair = [number, number];

export interface Conv2dConfig {
  type: 'conv2d';
  name: string;
  filters: number;
  kernelSize: Pair;
  strides: Pair;
  padding: 'valid' | 'same';
  dilationRate: Pair;
  activation: LayerActivation;
  alpha?: number;
  useBias: boolean;
  kernelInitializer: InitializerName;
  biasInitializer: InitializerName;
  kernelRegularizer?: Regularizer;
  biasRegularizer?: Regularizer;
  inputShape?: number[];
}

export interface Pool2dConfig {
  type: 'maxPooling2d' | 'averagePooling2d';
  name: string;
  activation: 'linear';
  poolSize: Pair;
  strides: Pair;
  padding: 'valid' | 'same';
  inputShape?: number[];
}

export interface GlobalPoolConfig {
  type: 'globalAveragePooling2d';
  name: string;
  activation: 'linear';
  inputShape?: number[];
}

/** A size given as n or [h, w] (Keras accepts both), as a pair. */
function pair(what: string, v: unknown): Pair {
  const p = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2 || !p.every((d) => Number.isInteger(d) && d >= 1)) throw new ValueError(`${what} must be a positive whole number or a pair [h, w] of them, got ${JSON.stringify(v)}`);
  return [p[0], p[1]];
}

const pairOpt = (help: string) => opt.custom<number | Pair>('n|[h, w]', help, (v) => {
  try {
    pair('it', v);
    return null;
  } catch (e) {
    return (e as Error).message.replace(/^it /, '');
  }
});
const paddingOpt = opt.oneOf(['valid', 'same'] as const, "'valid' (the default: no padding) or 'same' (pad so the output is ⌈input/strides⌉)");

const CONV2D_OPTIONS = defineOptions('conv2d', {
  strides: pairOpt('the step between windows (default 1)'),
  padding: paddingOpt,
  dilationRate: pairOpt('the spacing between kernel taps (default 1)'),
  activation: activationOpt,
  useBias: opt.boolean('add a bias per filter (default true)'),
  kernelInitializer: opt.custom<string>('initializer', `the kernel's initializer (default glorotUniform): ${INITIALIZERS.join(', ')}`, initializerProblem),
  biasInitializer: opt.custom<string>('initializer', `the bias' initializer (default zeros): ${INITIALIZERS.join(', ')}`, initializerProblem),
  ...regularizerOptions,
  ...layerCommon,
}, { kernel_regularizer: 'kernelRegularizer', bias_regularizer: 'biasRegularizer', kernel_size: 'the second argument: conv2d(filters, kernelSize, options)', dilation_rate: 'dilationRate', dilation: 'dilationRate', stride: 'strides', use_bias: 'useBias', input_shape: 'inputShape' });

export type Conv2dOptions = OptionsOf<typeof CONV2D_OPTIONS.spec>;

const POOL_OPTIONS = defineOptions('pooling', {
  strides: pairOpt('the step between windows (default: the pool size)'),
  padding: paddingOpt,
  inputShape: layerCommon.inputShape,
  name: layerCommon.name,
}, { pool_size: 'the first argument: maxPooling2d(poolSize, options)', stride: 'strides', input_shape: 'inputShape' });

export type Pool2dOptions = OptionsOf<typeof POOL_OPTIONS.spec>;

/** 2-D convolution (Keras' Conv2D): kernel [kh, kw, cin, filters] Glorot-uniform, bias zeros; NHWC images. */
export function conv2d(filters: number, kernelSize: number | Pair, options: Conv2dOptions = {}): Layer {
  const o = CONV2D_OPTIONS.check(options);
  if (!Number.isInteger(filters) || filters < 1) throw new ValueError(`conv2d: filters must be a positive integer, got ${filters}`);
  return finishLayer(convLayer({
    type: 'conv2d',
    name: o.name ?? autoName('conv2d'),
    filters,
    kernelSize: pair('conv2d: kernelSize', kernelSize),
    strides: pair('conv2d: strides', o.strides ?? 1),
    padding: o.padding ?? 'valid',
    dilationRate: pair('conv2d: dilationRate', o.dilationRate ?? 1),
    ...weightedFields(o, 'conv2d'),
  }));
}

function poolConfig(type: Pool2dConfig['type'], poolSize: number | Pair, options: Pool2dOptions): Pool2dConfig {
  const o = POOL_OPTIONS.check(options);
  const size = pair(`${type}: poolSize`, poolSize);
  return { type, name: o.name ?? autoName(type === 'maxPooling2d' ? 'max_pooling2d' : 'average_pooling2d'), activation: 'linear', poolSize: size, strides: pair(`${type}: strides`, o.strides ?? size), padding: o.padding ?? 'valid', inputShape: o.inputShape };
}

/** The largest value of each window, per channel (Keras' MaxPooling2D; default pool 2, strides = pool). */
export function maxPooling2d(poolSize: number | Pair = 2, options: Pool2dOptions = {}): Layer {
  return finishLayer(poolLayer(poolConfig('maxPooling2d', poolSize, options)));
}

/** The mean of each window, per channel, over the real (unpadded) elements (Keras' AveragePooling2D). */
export function averagePooling2d(poolSize: number | Pair = 2, options: Pool2dOptions = {}): Layer {
  return finishLayer(poolLayer(poolConfig('averagePooling2d', poolSize, options)));
}

/** The mean over all positions, per channel: [h, w, c] → [c] (Keras' GlobalAveragePooling2D). */
export function globalAveragePooling2d(options: OptionsOf<typeof GLOBAL_OPTIONS.spec> = {}): Layer {
  const o = GLOBAL_OPTIONS.check(options);
  return finishLayer(globalPoolLayer({ type: 'globalAveragePooling2d', name: o.name ?? autoName('global_average_pooling2d'), activation: 'linear', inputShape: o.inputShape }));
}

const GLOBAL_OPTIONS = defineOptions('globalAveragePooling2d', { inputShape: layerCommon.inputShape, name: layerCommon.name }, { input_shape: 'inputShape' });

function image(name: string, input: number[]): [number, number, number] {
  if (input.length !== 3) throw new ValueError(`${name}: expects images [height, width, channels], got [${input.join(', ')}]${input.length === 1 ? '; give inputShape: [h, w, c] or reshape([h, w, c]) first' : ''}`);
  return [input[0], input[1], input[2]];
}

/**
 * The largest im2col matrix a convolution is lowered to, in bytes: WebGPU's
 * default maxStorageBufferBindingSize (128 MiB), which every adapter allows.
 * A larger one (a big batch of big images) runs the direct kernels instead.
 */
export const MAX_COLS_BYTES = 128 * 2 ** 20;

/**
 * conv2d(x, k) as rows [n·oh·ow, cout], one per output position: the im2col
 * matrix times the kernel viewed as [kh·kw·cin, cout], so the tiled matmul does
 * the arithmetic and graph/fuse.ts folds the bias and activation into it (its
 * gradients are the matmul's and col2im). A 1×1 kernel at stride 1 reads x
 * itself as the matrix. Past `maxColsBytes` the direct conv2d kernel runs.
 */
export function convRows(g: Graph, x: Value, k: Value, attrs: Conv2dAttrs, name: string, maxColsBytes = MAX_COLS_BYTES): Value {
  const [kh, kw, cin, cout] = k.shape;
  const geo = conv2dGeometry(x.shape, k.shape, attrs);
  const rows = geo.n * geo.oh * geo.ow;
  if (kh === 1 && kw === 1 && geo.sh === 1 && geo.sw === 1) {
    const flat = g.op(reshape, [x], { shape: [rows, cin] }, `${name}/pixels`);
    return g.op(matmul, [flat, g.op(reshape, [k], { shape: [cin, cout] }, `${name}/kernel_matrix`)], {}, `${name}/conv2d`);
  }
  const shape = colsShape(geo);
  if (shape[0] * shape[1] * 4 > maxColsBytes) {
    const y = g.op(conv2dOp, [x, k], attrs, `${name}/conv2d`);
    return g.op(reshape, [y], { shape: [rows, cout] }, `${name}/rows`);
  }
  const cols = g.op(im2col, [x], { ...attrs, kernelSize: [kh, kw] }, `${name}/im2col`);
  return g.op(matmul, [cols, g.op(reshape, [k], { shape: [shape[1], cout] }, `${name}/kernel_matrix`)], {}, `${name}/conv2d`);
}

export function convLayer(config: Conv2dConfig): LayerDefinition {
  const { filters, useBias, kernelInitializer, biasInitializer } = config;
  if (!Number.isInteger(filters) || filters < 1) throw new ValueError(`${config.name}: filters must be a positive integer, got ${filters}`);
  const [kh, kw] = pair(`${config.name}: kernelSize`, config.kernelSize);
  const attrs = { strides: pair(`${config.name}: strides`, config.strides), padding: config.padding, dilation: pair(`${config.name}: dilationRate`, config.dilationRate) };
  if (typeof useBias !== 'boolean') throw new ValueError(`${config.name}: useBias must be true or false, got ${JSON.stringify(useBias)}`);
  checkInitializer(kernelInitializer);
  checkInitializer(biasInitializer);
  checkRegularizers(config);
  const geometry = (input: number[]) => {
    const [h, w, c] = image(config.name, input);
    try {
      return conv2dGeometry([1, h, w, c], [kh, kw, c, filters], attrs);
    } catch (e) {
      throw new ValueError(`${config.name}: ${(e as Error).message}`);
    }
  };
  return {
    name: config.name,
    config,
    activation: config.activation,
    outputShape(input) {
      const g = geometry(input);
      return [g.oh, g.ow, filters];
    },
    params(input) {
      const cin = geometry(input).cin;
      // Keras' fans for a convolution: the receptive field times the channels in, and out.
      const fanIn = kh * kw * cin;
      const fanOut = kh * kw * filters;
      const specs: ParamSpec[] = [{ name: `${config.name}/kernel`, shape: [kh, kw, cin, filters], init: (r) => initialize(kernelInitializer, fanIn * filters, fanIn, fanOut, r) }];
      if (useBias) specs.push({ name: `${config.name}/bias`, shape: [filters], init: (r) => initialize(biasInitializer, filters, fanIn, fanOut, r) });
      return specs;
    },
    forward(g, x, [k, b], ctx) {
      addPenalties(g, ctx, config.name, [[k, config.kernelRegularizer, 'kernel'], [b, config.biasRegularizer, 'bias']]);
      // Bias and activation act per channel, the last axis: on the rows, one per output position.
      let rows = convRows(g, x, k, attrs, config.name);
      if (b) rows = g.op(biasAdd, [rows, b], {}, `${config.name}/bias_add`);
      if (!ctx.skipActivation) rows = applyActivation(g, rows, config.activation, config.alpha, `${config.name}/${config.activation}`);
      const { oh, ow } = geometry(x.shape.slice(1));
      return g.op(reshape, [rows], { shape: [x.shape[0], oh, ow, filters] }, `${config.name}/out`);
    },
  };
}

export function poolLayer(config: Pool2dConfig): LayerDefinition {
  const attrs = { poolSize: pair(`${config.name}: poolSize`, config.poolSize), strides: pair(`${config.name}: strides`, config.strides), padding: config.padding };
  const kernel = config.type === 'maxPooling2d' ? maxPool2d : avgPool2d;
  return {
    name: config.name,
    config,
    activation: 'linear',
    outputShape(input) {
      const [h, w, c] = image(config.name, input);
      try {
        const g = poolGeometry(config.name, { shape: [1, h, w, c], dtype: 'f32' }, attrs);
        return [g.oh, g.ow, c];
      } catch (e) {
        throw new ValueError((e as Error).message);
      }
    },
    params: () => [],
    forward: (g, x) => g.op(kernel, [x], attrs, config.name),
  };
}

export function globalPoolLayer(config: GlobalPoolConfig): LayerDefinition {
  return {
    name: config.name,
    config,
    activation: 'linear',
    outputShape: (input) => [image(config.name, input)[2]],
    params: () => [],
    forward: (g, x) => g.op(globalAvgPool2d, [x], {}, config.name),
  };
}
