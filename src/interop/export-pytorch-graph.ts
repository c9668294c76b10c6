// The PyTorch export of a functional model (model({ inputs, outputs })):
// model.py's forward holds one variable per tensor of the graph (t0, t1, ...
// by webgrad's tensor ids), each in webgrad's layout (NHWC) between calls.
// A one-input layer's call reuses the chain's per-layer code on `x`; the
// merge layers are sums, products, means and torch.cat; multiHeadAttention is
// model.py's MultiHeadAttention module, its weights in Keras' shapes. A layer
// called twice is one module, called twice.
import { ValueError } from '../core/errors.js';
import type { Functional } from '../nn/functional.js';
import type { Layer, LayerConfig } from '../nn/layers.js';
import { checkCallArgs, graphShapes } from '../nn/layers.js';
import type { MultiHeadAttentionConfig } from '../nn/attention-layer.js';
import type { Builder } from './export-pytorch.js';
import { lossCode, penaltyTerms } from './export-pytorch-train.js';
import { pyBool, pyNum, pyNums } from './python-source.js';

/** The chain's code for one layer on `x` (export-pytorch.ts' layerCode). */
export type LayerCode = (b: Builder, layer: Layer, a: string, shape: number[], masked: boolean) => void;

/** The tensor `t`'s variable in the generated forward. */
const v = (t: number) => `t${t}`;

/**
 * The forward of a functional model into b.body: the inputs unpacked from
 * `x` (a list or tuple, for a model with several), each call in graph order,
 * and `x` set to the output (a tuple, for several). An output after a softmax
 * or sigmoid also keeps its logits (`t5_logits`), which forward(x, logits=True)
 * returns, as the chain's does.
 */
export function graphForward(b: Builder, model: Functional, moduleNames: Map<string, string>, layerCode: LayerCode): void {
  const graph = model.graph();
  const { shapes } = graphShapes(graph, model.inputs.map((i) => i.shape));
  const maker = graph.layers.find((l) => l.masking === 'make');
  if (maker) throw new ValueError(`export to PyTorch: ${maker.name} makes a mask of padded steps (maskZero), which the export of functional models does not carry yet; build the embedding without maskZero, or the model as a Sequential one`);
  b.body.push(graph.inputs === 1 ? `${v(0)} = x` : `${graph.inputs === 2 ? `${v(0)}, ${v(1)}` : Array.from({ length: graph.inputs }, (_, i) => v(i)).join(', ')} = x  # the model's ${graph.inputs} inputs, in order`);
  const called = new Set<number>();
  const logits = new Set<number>();
  graph.nodes.forEach((node, k) => {
    const t = graph.inputs + k;
    const layer = graph.layers[node.layer];
    const a = moduleNames.get(layer.name)!;
    // A shared layer's module, weights and init exist from its first call; a later call adds only its forward (and its penalty, which webgrad adds per call).
    const nb: Builder = called.has(node.layer) ? { ...b, init: [], put: () => {}, zeros: () => {} } : b;
    called.add(node.layer);
    const ins = node.inputs.map(v);
    if (layer.multi) {
      nb.body.push(`${v(t)} = ${multiCall(nb, layer, a, node.inputs.map((i) => shapes[i]), ins, checkCallArgs(layer, node.args))}`);
      return;
    }
    const shape = shapes[node.inputs[0]];
    nb.body.push(`x = ${ins[0]}`);
    nb.layout = shape.length === 3 ? 'nhwc' : 'flat';
    layerCode(nb, layer, a, shape, false);
    nb.toNhwc();
    const last = b.body[b.body.length - 1] ?? '';
    if (graph.outputs.includes(t) && (layer.activation === 'softmax' || layer.activation === 'sigmoid') && /^x = (torch\.softmax|torch\.sigmoid)\(x/.test(last)) {
      // The loss takes the output before its last activation (webgrad fuses the two): kept as t_logits.
      b.body.splice(b.body.length - 1, 0, `${v(t)}_logits = x`);
      logits.add(t);
    }
    b.body.push(`${v(t)} = x`);
  });
  const outs = graph.outputs.map((t) => (logits.has(t) ? `${v(t)}_logits if logits else ${v(t)}` : v(t)));
  b.body.push(outs.length === 1 ? `x = ${outs[0]}` : `x = (${outs.join(', ')})  # the model's ${outs.length} outputs, in order`);
}

/** The expression of a call of a layer that takes several inputs (`ins`: their variables). */
function multiCall(b: Builder, layer: Layer, a: string, shapes: number[][], ins: string[], args: Record<string, unknown>): string {
  const c = layer.config as LayerConfig;
  switch (c.type) {
    case 'add':
      return ins.join(' + ');
    case 'multiply':
      return ins.join(' * ');
    case 'average':
      return `(${ins.join(' + ')}) / ${pyNum(ins.length)}`;
    case 'concatenate':
      // Keras counts the batch axis as torch does; every tensor is in webgrad's layout here, so the axis is the same.
      return `torch.cat([${ins.join(', ')}], dim=${pyNum(c.axis)})`;
    case 'multiHeadAttention':
      return attentionCall(b, c, a, shapes, ins, args);
    default:
      throw new ValueError(`export to PyTorch: ${c.name} (${c.type}) takes several inputs, which this export does not map yet`);
  }
}

/**
 * multiHeadAttention as model.py's MultiHeadAttention: the query, key and
 * value kernels [F, H, d] and biases [H, d], the output kernel [H, dv, out]
 * and bias [out], as webgrad (Keras) holds them, in the order the module
 * registers them (torch's parameter order, which the optimizer's state follows).
 */
function attentionCall(b: Builder, c: MultiHeadAttentionConfig, a: string, shapes: number[][], ins: string[], args: Record<string, unknown>): string {
  const masked = args.attentionMask === true;
  const tensors = masked ? ins.slice(0, -1) : ins;
  const [q, vShape, kShape] = [shapes[0], shapes[1], shapes[tensors.length === 3 ? 2 : 1]];
  const out = c.outputShape ?? q[1];
  const parts = ['query', 'key', 'value', 'attention_output'] as const;
  for (const part of parts) {
    b.put(`${a}.${part === 'attention_output' ? 'output' : part}_kernel`, c.name, `${part}/kernel`);
    if (c.useBias) b.put(`${a}.${part === 'attention_output' ? 'output' : part}_bias`, c.name, `${part}/bias`);
  }
  b.init.push(`self.${a} = MultiHeadAttention(${pyNums([q[1], kShape[1], vShape[1], c.numHeads, c.keyDim, c.valueDim, out])}, bias=${pyBool(c.useBias)}, dropout=${pyNum(c.dropout)})`);
  const names = ['query', 'key', 'value', 'output'];
  b.penalties.push(...penaltyTerms(a, [...names.map((n) => [c.kernelRegularizer, `${n}_kernel`] as const), ...names.map((n) => [c.useBias ? c.biasRegularizer : undefined, `${n}_bias`] as const)]));
  const key = tensors.length === 3 ? tensors[2] : 'None';
  return `self.${a}(${tensors[0]}, ${tensors[1]}, ${key}, causal=${pyBool(args.useCausalMask === true)}, mask=${masked ? ins[ins.length - 1] : 'None'})`;
}

/**
 * loss_fn's body for a model with several outputs: each output's compiled
 * loss (a function per output, lossCode's lines) weighted by compile's
 * lossWeights and summed, as webgrad's training loss is.
 */
export function graphLossCode(loss: string | string[], weights: readonly number[] | undefined, outputs: number): string[] {
  const losses = Array.isArray(loss) ? loss : Array.from({ length: outputs }, () => loss);
  const lines: string[] = [];
  losses.forEach((l, k) => lines.push(`def loss_${k}(output, target):`, ...lossCode(l).map((line) => `    ${line}`)));
  const terms = losses.map((_, k) => `${pyNum(weights?.[k] ?? 1)} * loss_${k}(output[${k}], target[${k}])`);
  return [...lines, `return ${terms.join(' + ')}  # compile's lossWeights: each output's loss weighted, summed`];
}
