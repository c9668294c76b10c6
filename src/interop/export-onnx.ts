// Export to ONNX: a model's inference graph (opset 17, IR version 8) that
// onnxruntime runs, predicting what webgrad's predict does (after the last
// activation). Input 'x' [N, ...inputShape], output 'y' [N, ...outputShape],
// N symbolic; images NHWC, as webgrad takes and gives them. Dropout and
// RandomTranslation are identities in inference and leave no node.
// Browser-safe: it returns the file's bytes; the CLI writes them.
import { ValueError } from '../core/errors.js';
import type { OnnxNodes } from '../ops/activations.js';
import { featureRecord } from '../ops/features.js';
import { onnxActivation } from '../ops/activations.js';
import type { Functional } from '../nn/functional.js';
import type { Layer, LayerConfig } from '../nn/layers.js';
import { maskCarried } from '../nn/layers.js';
import type { Model } from '../nn/model.js';
import { Sequential } from '../nn/model.js';
import type { ExportedWeight } from './export-common.js';
import { channelsFirstKernel, exportedWeights, samePads } from './export-common.js';
import { graphNodes } from './export-onnx-graph.js';
import { bidirectionalNodes } from './export-onnx-bidirectional.js';
import { maskedBidirectionalNodes, maskedRecurrentNodes } from './export-onnx-masked.js';
import { recurrentNodes } from './export-onnx-recurrent.js';
import type { Attribute } from './onnx-proto.js';
import { initializer, model as modelProto, node, valueInfo } from './onnx-proto.js';

export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;

/** ONNX pads [top, left, bottom, right] of a window on an h×w image. */
function pads2d(padding: 'valid' | 'same', [h, w]: number[], [kh, kw]: number[], [sh, sw]: number[], [dh, dw]: number[]): number[] {
  if (padding === 'valid') return [0, 0, 0, 0];
  const [top, bottom] = samePads(h, kh, sh, dh);
  const [left, right] = samePads(w, kw, sw, dw);
  return [top, left, bottom, right];
}

/** The nodes and weights of the graph being written, and the name of the value that flows through it. */
export class OnnxGraph {
  readonly nodes: Uint8Array[] = [];
  readonly initializers: Uint8Array[] = [];
  private readonly used: Set<string>;
  private readonly scalars = new Map<number, string>();
  private readonly built = new Map<string, string>();
  /** The initializers written, by their data and name: a shared layer's second call reads its first call's weights. */
  private readonly written = new WeakMap<object, Map<string, string>>();
  /** The current value and whether it is channels-first (NCHW), as ONNX's Conv, pools and BatchNormalization take it. */
  x = 'x';
  channelsFirst = false;
  /** webgrad's sample shape (channels last) of the current value. */
  shape: number[];
  /** The int64 ids [N, T] an Embedding with maskZero read: the mask's source for the recurrent layers it reaches. */
  maskIds: string | null = null;

  /** `inputs`: the graph inputs' names, which no node may take ('x', or x0, x1, ... for a model with several). */
  constructor(inputShape: number[], inputs: readonly string[] = ['x']) {
    this.shape = [...inputShape];
    this.used = new Set(inputs);
  }

  private fresh(name: string): string {
    let out = name;
    for (let k = 2; this.used.has(out); k++) out = `${name}_${k}`;
    this.used.add(out);
    return out;
  }

  /** Adds a node; returns the name of its output. */
  op(opType: string, inputs: string[], name: string, attrs: Record<string, Attribute> = {}): string {
    const out = this.fresh(name);
    this.nodes.push(node(opType, inputs, [out], out, attrs));
    return out;
  }

  /** Adds a node with several outputs; returns their names. */
  outputs(opType: string, inputs: string[], names: string[], attrs: Record<string, Attribute> = {}): string[] {
    const outs = names.map((n) => this.fresh(n));
    this.nodes.push(node(opType, inputs, outs, outs[0], attrs));
    return outs;
  }

  /** Applies a one-input op to the current value. */
  apply(opType: string, name: string, attrs: Record<string, Attribute> = {}, weights: string[] = []): void {
    this.x = this.op(opType, [this.x, ...weights], name, attrs);
  }

  weight(name: string, dims: number[], data: Float32Array | BigInt64Array): string {
    const seen = this.written.get(data)?.get(name);
    if (seen) return seen;
    const out = this.fresh(name);
    this.initializers.push(initializer(out, dims, data));
    if (!this.written.has(data)) this.written.set(data, new Map());
    this.written.get(data)!.set(name, out);
    return out;
  }

  scalar(v: number): string {
    if (!this.scalars.has(v)) this.scalars.set(v, this.weight(`const_${v}`, [], Float32Array.of(v)));
    return this.scalars.get(v)!;
  }

  /** The value `key` names, built by `make` the first time only (values that several layers share). */
  once(key: string, make: () => string): string {
    if (!this.built.has(key)) this.built.set(key, make());
    return this.built.get(key)!;
  }

  /** Moves the channels from last to second (NHWC → NCHW), once, where the sample has more than one axis. */
  toChannelsFirst(layer: string): void {
    const r = this.shape.length + 1;
    if (this.channelsFirst || r < 3) return;
    this.apply('Transpose', `${layer}/to_nchw`, { perm: { ints: [0, r - 1, ...Array.from({ length: r - 2 }, (_, i) => i + 1)] } });
    this.channelsFirst = true;
  }

  /** Moves the channels back to last (NCHW → NHWC), webgrad's layout. */
  toChannelsLast(layer: string): void {
    const r = this.shape.length + 1;
    if (!this.channelsFirst) return;
    this.apply('Transpose', `${layer}/to_nhwc`, { perm: { ints: [0, ...Array.from({ length: r - 2 }, (_, i) => i + 2), 1] } });
    this.channelsFirst = false;
  }
}

/** The graph as the activation records see it (src/ops/activations.ts: each record writes its own nodes). */
function recordNodes(g: OnnxGraph): OnnxNodes {
  return {
    node: (type, inputs, name, attrs) => g.op(type, inputs, name, attrs),
    scalar: (v) => g.scalar(v),
    channelsLast(x, name) {
      g.x = x;
      g.toChannelsLast(name);
      return g.x;
    },
  };
}

/**
 * The ONNX file of a built or loaded model: weights as float32
 * initializers (Conv weights [out, in, kh, kw] from webgrad's [kh, kw, in, out]).
 * A model with one input and one output takes 'x' and gives 'y'; a
 * functional model with several takes x0, x1, ... and gives y0, y1, ..., in
 * the order of its inputs and outputs.
 */
export async function onnxExport(model: Model): Promise<Uint8Array> {
  const { inputShape, weight } = await exportedWeights(model, 'ONNX');
  const inputShapes = model instanceof Sequential ? [inputShape] : (model as Functional).inputs.map((i) => i.shape);
  const inputs = inputShapes.length === 1 ? ['x'] : inputShapes.map((_, k) => `x${k}`);
  const g = new OnnxGraph(inputShape, inputs);
  g.x = inputs[0];
  const scaler = model.scaler;
  if (scaler) {
    // webgrad's predict standardizes each feature first: (x − mean) / std.
    const dims = [1, ...inputShape];
    g.apply('Sub', 'input_scaler/sub', {}, [g.weight('input_mean', dims, Float32Array.from(scaler.mean))]);
    g.apply('Div', 'input_scaler/div', {}, [g.weight('input_std', dims, Float32Array.from(scaler.std))]);
  }
  let outputs: { value: string; shape: number[] }[];
  if (model instanceof Sequential) {
    for (const [i, layer] of model.layers.entries()) {
      // Only a recurrent layer's output depends on the mask of padded steps: one it reaches runs step by step, keeping the state at padded steps.
      layerNodes(g, layer, weight, maskCarried(model.layers.slice(0, i)) !== null);
      // The sample shape after the layer, as webgrad computes it.
      g.shape = layer.outputShape(g.shape);
    }
    g.toChannelsLast('output');
    outputs = [{ value: g.x, shape: g.shape }];
  } else {
    outputs = graphNodes(g, model as Functional, [g.x, ...inputs.slice(1)], inputShapes, (layer) => layerNodes(g, layer, weight, false), weight);
  }
  // The graph's outputs are 'y' (y0, y1, ...): an Identity names each (and is the whole graph of a model of identities).
  const named = outputs.map((o, k) => ({ ...o, name: g.op('Identity', [o.value], outputs.length === 1 ? 'y' : `y${k}`) }));
  const fields = [
    ...g.nodes,
    ...g.initializers,
    ...inputs.map((name, k) => valueInfo(11, name, ['N', ...inputShapes[k]])),
    ...named.map((o) => valueInfo(12, o.name, ['N', ...o.shape])),
  ];
  return modelProto(model.name, fields, { irVersion: ONNX_IR_VERSION, opset: ONNX_OPSET, producer: 'webgrad' });
}

/**
 * One layer's nodes on the current value g.x, whose sample shape is g.shape.
 * `masked`: the mask of padded steps of an Embedding with maskZero reaches it.
 */
export function layerNodes(g: OnnxGraph, layer: Layer, weight: (layer: string, part: string) => ExportedWeight, masked: boolean): void {
  const c = layer.config as LayerConfig;
  const activate = () => {
    g.x = onnxActivation(recordNodes(g), g.x, c.activation, (c as { alpha?: number }).alpha, c.name);
  };
  switch (c.type) {
    case 'dense': {
      if (g.shape.length !== 1 && g.shape.length !== 2) throw new ValueError(`export to ONNX: ${c.name} takes [${g.shape.join(', ')}]; webgrad's dense takes flat inputs or sequences`);
      const k = weight(c.name, 'kernel');
      const W = g.weight(`${c.name}/kernel`, k.shape, k.data);
      const bias = () => g.weight(`${c.name}/bias`, [c.units], weight(c.name, 'bias').data);
      // Gemm takes matrices; on sequences [N, T, F] MatMul broadcasts over the steps and Add the bias.
      if (c.useBias && g.shape.length === 1) g.apply('Gemm', `${c.name}/gemm`, {}, [W, bias()]);
      else g.apply('MatMul', `${c.name}/matmul`, {}, [W]);
      if (c.useBias && g.shape.length === 2) g.apply('Add', `${c.name}/bias_add`, {}, [bias()]);
      activate();
      break;
    }
    case 'conv2d':
      conv2d(g, c, weight(c.name, 'kernel'), c.useBias ? weight(c.name, 'bias').data : null);
      activate();
      break;
    case 'maxPooling2d':
    case 'averagePooling2d': {
      const pads = pads2d(c.padding, g.shape, c.poolSize, c.strides, [1, 1]);
      g.toChannelsFirst(c.name);
      const attrs: Record<string, Attribute> = { kernel_shape: { ints: c.poolSize }, strides: { ints: c.strides }, pads: { ints: pads } };
      // webgrad's 'same' average pools the real elements only, as TensorFlow.
      if (c.type === 'averagePooling2d') g.apply('AveragePool', `${c.name}/average_pool`, { ...attrs, count_include_pad: { int: 0 } });
      else g.apply('MaxPool', `${c.name}/max_pool`, attrs);
      break;
    }
    case 'globalAveragePooling2d':
      g.apply('ReduceMean', `${c.name}/mean`, { axes: { ints: g.channelsFirst ? [2, 3] : [1, 2] }, keepdims: { int: 0 } });
      g.channelsFirst = false;
      break;
    case 'flatten':
      // webgrad flattens (h, w, c) in NHWC order.
      g.toChannelsLast(c.name);
      g.apply('Flatten', `${c.name}/flatten`, { axis: { int: 1 } });
      break;
    case 'reshape': {
      g.toChannelsLast(c.name);
      // 0 keeps the batch dimension as it is.
      const target = BigInt64Array.from([0, ...layer.outputShape(g.shape)].map(BigInt));
      g.apply('Reshape', `${c.name}/reshape`, {}, [g.weight(`${c.name}/shape`, [target.length], target)]);
      break;
    }
    case 'activation':
      activate();
      break;
    case 'dropout':
    case 'randomTranslation':
      break;
    case 'embedding': {
      // The ids as int64 (ONNX's Cast to 7), then a Gather of the table's rows.
      const table = g.weight(`${c.name}/embeddings`, [c.inputDim, c.outputDim], weight(c.name, 'embeddings').data);
      const ids = g.op('Cast', [g.x], `${c.name}/ids`, { to: { int: 7 } });
      g.x = g.op('Gather', [table, ids], `${c.name}/gather`, { axis: { int: 0 } });
      if (c.maskZero) g.maskIds = ids;
      break;
    }
    case 'positionEmbedding': {
      // The table's first steps rows (Slice), broadcast to x's shape [N, steps, features] (Expand): the positions, not x plus them.
      const [S, F] = [c.sequenceLength, g.shape[1]];
      const table = g.weight(`${c.name}/embeddings`, [S, F], weight(c.name, 'embeddings').data);
      const at = (what: string, v: number) => g.weight(`${c.name}/${what}`, [1], BigInt64Array.of(BigInt(v)));
      const rows = g.op('Slice', [table, at('start', 0), at('end', g.shape[0]), at('axis', 0)], `${c.name}/rows`);
      g.x = g.op('Expand', [rows, g.op('Shape', [g.x], `${c.name}/shape`)], `${c.name}/expand`);
      break;
    }
    case 'simpleRNN':
    case 'lstm':
    case 'gru':
      (masked ? maskedRecurrentNodes : recurrentNodes)(g, c, (part) => weight(c.name, part));
      break;
    case 'bidirectional':
      (masked ? maskedBidirectionalNodes : bidirectionalNodes)(g, c, (half, part) => weight(c.name, `${half}/${part}`));
      break;
    case 'pointFeatures': {
      // The columns x and y ([N, 1] each), each feature's nodes from its record, then the features side by side.
      const column = (i: number, name: string) => {
        const at = (what: string, v: number) => g.weight(`${c.name}/${name}_${what}`, [1], BigInt64Array.of(BigInt(v)));
        return g.op('Slice', [g.x, at('start', i), at('end', i + 1), at('axis', 1)], `${c.name}/${name}`);
      };
      const [x, y] = [column(0, 'x'), column(1, 'y')];
      const nodes = { node: (type: string, inputs: string[], name: string) => g.op(type, inputs, name) };
      const outs = c.features.map((f) => featureRecord(f).onnx(nodes, x, y, `${c.name}/${f}`));
      g.x = g.op('Concat', outs, `${c.name}/concat`, { axis: { int: 1 } });
      break;
    }
    case 'batchNormalization': {
      const C = g.shape[g.shape.length - 1];
      const [gamma, beta] = affine(g, c.name, C, c.scale ? weight(c.name, 'gamma').data : null, c.center ? weight(c.name, 'beta').data : null);
      const mean = g.weight(`${c.name}/moving_mean`, [C], weight(c.name, 'moving_mean').data);
      const variance = g.weight(`${c.name}/moving_variance`, [C], weight(c.name, 'moving_variance').data);
      g.toChannelsFirst(c.name);
      g.apply('BatchNormalization', `${c.name}/batch_norm`, { epsilon: { float: c.epsilon } }, [gamma, beta, mean, variance]);
      break;
    }
    case 'layerNormalization': {
      const C = g.shape[g.shape.length - 1];
      const [gamma, beta] = affine(g, c.name, C, c.scale ? weight(c.name, 'gamma').data : null, c.center ? weight(c.name, 'beta').data : null);
      g.toChannelsLast(c.name);
      g.apply('LayerNormalization', `${c.name}/layer_norm`, { axis: { int: -1 }, epsilon: { float: c.epsilon } }, [gamma, beta]);
      break;
    }
    case 'add':
    case 'multiply':
    case 'average':
    case 'concatenate':
    case 'multiHeadAttention':
      // A chain has no branches to merge (Sequential.add refuses these layers); a functional model's calls of them are graphNodes'.
      throw new ValueError(`export to ONNX: ${c.name} (${c.type}) takes several inputs, which only a functional model's call gives it`);
    default: {
      // Exhaustive: a layer kind without an ONNX mapping does not compile (its config is not `never` here).
      const unmapped: never = c;
      throw new ValueError(`export to ONNX: layer type '${(unmapped as LayerConfig).type}' is not exported yet`);
    }
  }
}

/** ONNX Conv on NCHW: explicit pads for TensorFlow's 'same' (odd pixel after), weights [out, in, kh, kw]. */
function conv2d(g: OnnxGraph, c: Extract<LayerConfig, { type: 'conv2d' }>, k: { shape: number[]; data: Float32Array }, bias: Float32Array | null): void {
  const [kh, kw, cin, cout] = k.shape;
  const t = channelsFirstKernel(k.shape, k.data);
  const pads = pads2d(c.padding, g.shape, [kh, kw], c.strides, c.dilationRate);
  const inputs = [g.weight(`${c.name}/kernel`, [cout, cin, kh, kw], t)];
  if (bias) inputs.push(g.weight(`${c.name}/bias`, [cout], bias));
  g.toChannelsFirst(c.name);
  g.apply('Conv', `${c.name}/conv`, { kernel_shape: { ints: [kh, kw] }, strides: { ints: c.strides }, dilations: { ints: c.dilationRate }, pads: { ints: pads } }, inputs);
}

/** γ and β as initializers: the layer's where it has them (scale, center), ones and zeros where it does not. */
function affine(g: OnnxGraph, layer: string, C: number, gamma: Float32Array | null, beta: Float32Array | null): [string, string] {
  return [g.weight(`${layer}/gamma`, [C], gamma ?? new Float32Array(C).fill(1)), g.weight(`${layer}/beta`, [C], beta ?? new Float32Array(C))];
}
