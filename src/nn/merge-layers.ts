// Keras' merge layers: Add, Multiply, Average and Concatenate, which take a
// list of tensors in a functional model (add().apply([a, b])) and give one.
// A residual connection is an Add; its gradient flows to both inputs.
import { ValueError } from '../core/errors.js';
import type { OptionsOf } from '../core/options.js';
import { defineOptions, opt } from '../core/options.js';
import type { Graph, Value } from '../graph/graph.js';
import { concatLast } from '../ops/concat.js';
import { add as addOp, multiply as multiplyOp, scale } from '../ops/elementwise.js';
import { reshape } from '../ops/reshape.js';
import type { LayerDefinition, MultiInput } from './layer-base.js';
import { autoName, finishLayer, layerCommon } from './layer-base.js';

/** The elementwise merges: every input of one shape, the output of it too. */
export type ElementwiseMergeConfig = { type: 'add' | 'multiply' | 'average'; name: string; activation: 'linear'; inputShape?: number[] };
/** Concatenate joins its inputs along `axis` of the samples (−1: the last; the batch axis cannot be joined). */
export type ConcatenateConfig = { type: 'concatenate'; name: string; activation: 'linear'; axis: number; inputShape?: number[] };
export type MergeConfig = ElementwiseMergeConfig | ConcatenateConfig;

const MERGE_OPTIONS = defineOptions('merge layer', { name: layerCommon.name }, { input_shape: 'nothing: a merge layer takes the shapes of its inputs' });
const CONCATENATE_OPTIONS = defineOptions('concatenate', {
  axis: opt.integer('the axis to join along, of the whole tensor as Keras counts it: -1 (default) the last, 1 the first after the batch', {}),
  name: layerCommon.name,
});

/** Keras' Add: the sum of its inputs, which must be of one shape (a residual: add().apply([x, f(x)])). */
export function add(options: OptionsOf<typeof MERGE_OPTIONS.spec> = {}) {
  return elementwise('add', options);
}

/** Keras' Multiply: the elementwise product of its inputs, of one shape. */
export function multiply(options: OptionsOf<typeof MERGE_OPTIONS.spec> = {}) {
  return elementwise('multiply', options);
}

/** Keras' Average: the elementwise mean of its inputs, of one shape. */
export function average(options: OptionsOf<typeof MERGE_OPTIONS.spec> = {}) {
  return elementwise('average', options);
}

function elementwise(type: ElementwiseMergeConfig['type'], options: OptionsOf<typeof MERGE_OPTIONS.spec>) {
  const o = MERGE_OPTIONS.check(options);
  return finishLayer(mergeLayer({ type, name: o.name ?? autoName(type), activation: 'linear' }));
}

/** Keras' Concatenate: its inputs joined along `axis` (default −1, the last); every other axis must agree. */
export function concatenate(options: OptionsOf<typeof CONCATENATE_OPTIONS.spec> = {}) {
  const o = CONCATENATE_OPTIONS.check(options);
  return finishLayer(mergeLayer({ type: 'concatenate', name: o.name ?? autoName('concatenate'), activation: 'linear', axis: o.axis ?? -1 }));
}

const fmt = (shapes: number[][]) => shapes.map((s) => `[${s.join(', ')}]`).join(', ');

/** A merge layer from its config (a file's too: every field checked). */
export function mergeLayer(config: MergeConfig): LayerDefinition {
  if (config.type === 'concatenate' && !Number.isInteger(config.axis)) throw new ValueError(`${config.name}: axis must be a whole number, got ${JSON.stringify(config.axis)}`);
  const sampleAxis = (shapes: number[][]) => {
    // Keras counts the batch axis: −1 is the last, 1 the first of a sample; 0 would join samples.
    const rank = shapes[0].length + 1;
    const { axis } = config as ConcatenateConfig;
    const k = axis < 0 ? rank + axis : axis;
    if (k < 1 || k >= rank) throw new ValueError(`${config.name}: axis ${axis} is not an axis of samples of rank ${rank - 1} (batch axis included, from 1 to ${rank - 1}, or −1 to −${rank - 1}); the batch axis cannot be joined`);
    return k - 1;
  };
  const multi: MultiInput = {
    min: 2,
    max: Infinity,
    outputShape(shapes) {
      if (config.type !== 'concatenate') {
        if (shapes.some((s) => s.join() !== shapes[0].join())) throw new ValueError(`${config.name}: a ${config.type} layer takes inputs of one shape, got ${fmt(shapes)}`);
        return [...shapes[0]];
      }
      const k = sampleAxis(shapes);
      const other = (s: number[]) => s.filter((_, i) => i !== k).join();
      if (shapes.some((s) => s.length !== shapes[0].length || other(s) !== other(shapes[0]))) throw new ValueError(`${config.name}: inputs ${fmt(shapes)} must agree on every axis but the one joined (axis ${config.axis})`);
      return shapes[0].map((d, i) => (i === k ? shapes.reduce((a, s) => a + s[k], 0) : d));
    },
    params: () => [],
    forward(g: Graph, xs: Value[]) {
      if (config.type === 'concatenate') return concatenateAlong(g, xs, sampleAxis(xs.map((x) => x.shape.slice(1))), config.name);
      const op = config.type === 'multiply' ? multiplyOp : addOp;
      const joined = xs.slice(1).reduce((a, x, i) => g.op(op, [a, x], {}, `${config.name}/${i + 1}`), xs[0]);
      return config.type === 'average' ? g.op(scale, [joined], { alpha: 1 / xs.length }, `${config.name}/mean`) : joined;
    },
  };
  const single = (): never => {
    throw new ValueError(`${config.name}: a ${config.type} layer takes a list of 2 or more inputs; call it in a functional model: ${config.name}.apply([a, b])`);
  };
  return { name: config.name, config, activation: 'linear', masking: 'pass', multi, outputShape: single, params: single, forward: single };
}

/**
 * xs joined along sample axis k: each viewed as rows of everything before the
 * axis by everything from it on (free views, row-major), joined along that
 * last axis two at a time, and viewed back.
 */
function concatenateAlong(g: Graph, xs: Value[], k: number, name: string): Value {
  const batch = xs[0].shape[0];
  const sample = xs[0].shape.slice(1);
  const rows = batch * sample.slice(0, k).reduce((a, b) => a * b, 1);
  const flat = xs.map((x, i) => (x.shape.length === 2 && k === 0 ? x : g.op(reshape, [x], { shape: [rows, x.shape.slice(k + 1).reduce((a, b) => a * b, 1)] }, `${name}/rows${i}`)));
  const joined = flat.slice(1).reduce((a, x, i) => g.op(concatLast, [a, x], {}, `${name}/${i + 1}`), flat[0]);
  const out = [...sample];
  out[k] = xs.reduce((a, x) => a + x.shape[k + 1], 0);
  return k === sample.length - 1 && sample.length === 1 ? joined : g.op(reshape, [joined], { shape: [batch, ...out] }, `${name}/shape`);
}
