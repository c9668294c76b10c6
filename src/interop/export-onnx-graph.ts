// The ONNX export of a functional model (model({ inputs, outputs })): the
// graph's calls in order, each tensor a value in webgrad's layout (channels
// last) between calls. A one-input layer's call reuses the chain's nodes
// (layerNodes); the merge layers are Add, Mul and Concat; multiHeadAttention
// is MatMul, Reshape, Transpose and Softmax, with Where for its masks. A
// layer called twice reads one set of initializers.
import { ValueError } from '../core/errors.js';
import type { MultiHeadAttentionConfig } from '../nn/attention-layer.js';
import type { Functional } from '../nn/functional.js';
import type { Layer, LayerConfig } from '../nn/layers.js';
import { checkCallArgs, graphShapes } from '../nn/layers.js';
import type { ExportedWeight } from './export-common.js';
import type { OnnxGraph } from './export-onnx.js';

type Weight = (layer: string, part: string) => ExportedWeight;

/**
 * The nodes of every call of the model's graph, starting from `inputs` (the
 * values of its inputs); returns each output's value and sample shape.
 * `layerNodes` writes a one-input layer's nodes on g.x (g.shape its shape).
 */
export function graphNodes(g: OnnxGraph, model: Functional, inputs: readonly string[], inputShapes: number[][], layerNodes: (layer: Layer) => void, weight: Weight): { value: string; shape: number[] }[] {
  const graph = model.graph();
  const { shapes } = graphShapes(graph, inputShapes);
  const maker = graph.layers.find((l) => l.masking === 'make');
  if (maker) throw new ValueError(`export to ONNX: ${maker.name} makes a mask of padded steps (maskZero), which the export of functional models does not carry yet; build the embedding without maskZero, or the model as a Sequential one`);
  const values = [...inputs];
  graph.nodes.forEach((node, k) => {
    const layer = graph.layers[node.layer];
    const ins = node.inputs.map((t) => values[t]);
    const out = shapes[graph.inputs + k];
    if (layer.multi) {
      values.push(multiNodes(g, layer, ins, node.inputs.map((t) => shapes[t]), checkCallArgs(layer, node.args), weight));
      return;
    }
    g.x = ins[0];
    g.shape = [...shapes[node.inputs[0]]];
    g.channelsFirst = false;
    layerNodes(layer);
    g.shape = [...out];
    g.toChannelsLast(layer.name);
    values.push(g.x);
  });
  return graph.outputs.map((t) => ({ value: values[t], shape: shapes[t] }));
}

/** The value a call of a layer that takes several inputs makes. */
function multiNodes(g: OnnxGraph, layer: Layer, ins: string[], shapes: number[][], args: Record<string, unknown>, weight: Weight): string {
  const c = layer.config as LayerConfig;
  const chain = (op: string) => ins.slice(1).reduce((a, x, i) => g.op(op, [a, x], `${c.name}/${i + 1}`), ins[0]);
  switch (c.type) {
    case 'add':
      return chain('Add');
    case 'multiply':
      return chain('Mul');
    case 'average':
      return g.op('Mul', [chain('Add'), g.scalar(1 / ins.length)], `${c.name}/mean`);
    case 'concatenate':
      // Keras counts the batch axis, as ONNX does; every value is channels last here, as webgrad's.
      return g.op('Concat', ins, `${c.name}/concat`, { axis: { int: c.axis } });
    case 'multiHeadAttention':
      return attentionNodes(g, c, ins, shapes, args, weight);
    default:
      throw new ValueError(`export to ONNX: ${c.name} (${c.type}) takes several inputs, which this export does not map yet`);
  }
}

const int64s = (g: OnnxGraph, name: string, v: readonly number[]) => g.weight(name, [v.length], BigInt64Array.from(v.map(BigInt)));

/**
 * Keras' MultiHeadAttention: query, key and value [N, T|S, F] projected to
 * heads [N, H, T|S, d] (the kernel [F, H, d] read as [F, H·d]), the scores
 * q·kᵀ/√keyDim [N, H, T, S], the causal mask and the attentionMask
 * (1: attend) as Where, Softmax over the keys, the heads' values merged and
 * projected by the output kernel [H·dv, out]. A query with no key to attend
 * gives 0 from the heads, as webgrad's kernel: its row of probabilities is
 * multiplied by 0 (its scores are all the fill, a finite −1e30, so the
 * Softmax stays finite where −∞ would give NaN).
 */
function attentionNodes(g: OnnxGraph, c: MultiHeadAttentionConfig, ins: string[], shapes: number[][], args: Record<string, unknown>, weight: Weight): string {
  const name = c.name;
  const masked = args.attentionMask === true;
  const tensors = masked ? ins.slice(0, -1) : ins;
  const [query, value, key] = [tensors[0], tensors[1], tensors[2] ?? tensors[1]];
  const [T, S] = [shapes[0][0], shapes[1][0]];
  const H = c.numHeads;
  const heads = (x: string, part: string, d: number, perm: number[]) => {
    const k = weight(name, `${part}/kernel`);
    let y = g.op('MatMul', [x, g.weight(`${name}/${part}/kernel`, [k.shape[0], H * d], k.data)], `${name}/${part}`);
    if (c.useBias) y = g.op('Add', [y, g.weight(`${name}/${part}/bias`, [H * d], weight(name, `${part}/bias`).data)], `${name}/${part}/bias_add`);
    const split = g.op('Reshape', [y, int64s(g, `${name}/${part}/split_shape`, [0, 0, H, d])], `${name}/${part}/split`);
    return g.op('Transpose', [split], `${name}/${part}/heads`, { perm: { ints: perm } });
  };
  const q = heads(query, 'query', c.keyDim, [0, 2, 1, 3]);
  const kT = heads(key, 'key', c.keyDim, [0, 2, 3, 1]);
  const v = heads(value, 'value', c.valueDim, [0, 2, 1, 3]);
  let scores = g.op('Mul', [g.op('MatMul', [q, kT], `${name}/scores`), g.scalar(1 / Math.sqrt(c.keyDim))], `${name}/scaled`);
  // Whether each query attends each key: the causal triangle [T, S] and the given mask [N, 1, T, S] (the same for every head).
  const allowed: string[] = [];
  if (args.useCausalMask === true) {
    const tril = Float32Array.from({ length: T * S }, (_, i) => (i % S <= Math.floor(i / S) ? 1 : 0));
    allowed.push(g.op('Cast', [g.weight(`${name}/causal_mask`, [T, S], tril)], `${name}/causal`, { to: { int: 9 } }));
  }
  if (masked) {
    const m = g.op('Unsqueeze', [ins[ins.length - 1], int64s(g, `${name}/head_axis`, [1])], `${name}/mask_heads`);
    allowed.push(g.op('Not', [g.op('Equal', [m, g.scalar(0)], `${name}/mask_zero`)], `${name}/mask`));
  }
  let p: string;
  if (allowed.length === 0) p = g.op('Softmax', [scores], `${name}/probabilities`, { axis: { int: -1 } });
  else {
    const ok = allowed.length === 1 ? allowed[0] : g.op('And', allowed, `${name}/allowed`);
    scores = g.op('Where', [ok, scores, g.scalar(-1e30)], `${name}/masked_scores`);
    // 1 where the query attends at least one key, 0 where none: such a row's probabilities are zeroed.
    const any = g.op('ReduceMax', [g.op('Cast', [ok], `${name}/allowed_float`, { to: { int: 1 } })], `${name}/any_key`, { axes: { ints: [-1] }, keepdims: { int: 1 } });
    p = g.op('Mul', [g.op('Softmax', [scores], `${name}/probabilities`, { axis: { int: -1 } }), any], `${name}/probabilities_masked`);
  }
  // [N, H, T, dv] → [N, T, H, dv] → [N, T, H·dv], then the output projection over the heads together.
  const merged = g.op('Reshape', [g.op('Transpose', [g.op('MatMul', [p, v], `${name}/attended`)], `${name}/heads_back`, { perm: { ints: [0, 2, 1, 3] } }), int64s(g, `${name}/merged_shape`, [0, 0, H * c.valueDim])], `${name}/merged`);
  const wo = weight(name, 'attention_output/kernel');
  const out = wo.shape[2];
  let y = g.op('MatMul', [merged, g.weight(`${name}/attention_output/kernel`, [H * c.valueDim, out], wo.data)], `${name}/attention_output`);
  if (c.useBias) y = g.op('Add', [y, g.weight(`${name}/attention_output/bias`, [out], weight(name, 'attention_output/bias').data)], `${name}/attention_output/bias_add`);
  return y;
}
