import { ValueError } from '../core/errors.js';
import { gradients } from '../graph/autodiff.js';
import { fuse } from '../graph/fuse.js';
import { Graph } from '../graph/graph.js';
import type { Node, Value } from '../graph/graph.js';
import { pcg } from '../ops/dropout.js';
import { accumulate, add, multiply, scale } from '../ops/elementwise.js';
import { maskWeights } from '../ops/mask.js';
import { MAX_REDUCE_VALUES, reduceMean, reduceSum } from '../ops/reduce.js';
import { reshape } from '../ops/reshape.js';
import type { Optimizer } from '../optim/optimizers.js';
import { packOrder } from '../optim/optimizers.js';
import { sumSquares } from '../ops/optimizer.js';
import { packLayout, sizeOf } from '../core/shape.js';
import type { ForwardContext, Layer, ModelGraph, ParamSpec } from './layers.js';
import { applyActivation, callForward, checkCallArgs, isTrainable, maskRefusal, tensorLayer } from './layers.js';
import type { ResolvedLoss, ResolvedMetric } from './losses.js';

/** What the model knows when it records a step: its layers, weights, loss and metrics. */
export interface ModelSpec {
  /** The layers and their calls (a Sequential model's chain, or a functional model's graph). */
  readonly graph: ModelGraph;
  /** The sample shape of each input (graph.inputs of them). */
  readonly inputShapes: number[][];
  /** Each output (graph.outputs, in order) and what it is trained on. */
  readonly outputs: readonly SpecOutput[];
  readonly params: readonly ParamSpec[];
  /** How many of `params` each of graph.layers owns, in order. */
  readonly paramCounts: readonly number[];
  /** Fold bias and activation into the matmuls (graph/fuse.ts); false runs every op on its own. */
  readonly fuse: boolean;
  /** The model's seed, from which each layer's own (dropout masks) is derived; default 0. */
  readonly seed?: number;
}

/** One output of a model: its name (its layer's), sample shape, and loss and metrics, as compile gave them. */
export interface SpecOutput {
  readonly name: string;
  readonly shape: number[];
  readonly loss: ResolvedLoss;
  readonly metrics: readonly ResolvedMetric[];
  /** Targets per sample: [] for labels, [steps] for a label per step, [k] for dense targets. */
  readonly targetShape: number[];
  /** Its share of the total loss (Keras' loss_weights; 1 by default). */
  readonly weight: number;
}

/**
 * The names of the sums a model's steps accumulate, in StepGraph.sums' order,
 * which are the names of its logs: the (weighted, total) loss, then each
 * metric; with several outputs, then each output's own loss and metrics,
 * named after the output as Keras 3 names them (dense_2_loss,
 * dense_2_accuracy).
 */
export function sumNames(spec: Pick<ModelSpec, 'outputs'>): string[] {
  if (spec.outputs.length === 1) return ['loss', ...spec.outputs[0].metrics.map((m) => m.name)];
  return ['loss', ...spec.outputs.flatMap((o) => [`${o.name}_loss`, ...o.metrics.map((m) => `${o.name}_${m.name}`)])];
}

/** A recorded step and the values the model binds or reads. */
export interface StepGraph {
  readonly graph: Graph;
  /** The inputs' batches, in the order of ModelSpec.inputShapes. */
  readonly x: Value[];
  /** The targets of each output (none outside train and evaluate). */
  readonly y: Value[];
  /** Every weight, trainable or not, in the order of ModelSpec.params. */
  readonly weights: Value[];
  /** Optimizer slots, per trainable weight. */
  readonly slots: Value[][];
  /**
   * With one optimizer update for every trainable weight: those packed, then
   * each slot packed across weights (graph.pack), which the caller binds to
   * the buffers its weight and slot tensors view. Null otherwise.
   */
  readonly packed: { weights: Value; slots: Value[] } | null;
  /** The sums sumNames names (Σ per-sample loss, each metric's Σ), accumulated over the steps since they were zeroed. */
  readonly sums: Value[];
  /** What predict reads: each output (none in the other steps). */
  readonly outputs: Value[];
  /**
   * The inputs a training step reads each step besides its batch, which the
   * caller writes before it runs: the step number (i32[1]; null when no layer
   * draws per step) for dropout's masks and RandomTranslation's moves, and the
   * optimizer's values at that step (Optimizer.values: the scheduled rate,
   * Adam's bias corrections). Null outside training.
   */
  readonly step: Value | null;
  readonly stepValues: Value | null;
  /** State that starts at zero with each pass over the data (statisticsGraph's rows seen), bound by name. */
  readonly passState?: Value[];
}

/** What a training forward pass records besides its layers: the step number, once a layer asks for it. */
interface Training {
  step: Value | null;
}

/**
 * Records every call of the graph's layers in order, training (`training`
 * given) or not; with `fused[k]`, output k's last activation is left to its
 * loss. Each call's seed is a hash of the model's and the call's position.
 * The mask of padded steps travels beside each tensor (Layer.masking): made
 * by an Embedding with maskZero, handed to each layer through its context,
 * dropped by the one that consumes it; the outputs' are returned. `until`
 * stops before that node: the tensors made so far are returned
 * (statisticsGraph).
 */
function forward(g: Graph, spec: ModelSpec, xs: Value[], weights: Value[], fused: readonly boolean[], training: Training | null, losses: Value[] | null, until = spec.graph.nodes.length): { outs: Value[]; masks: (Value | null)[]; values: Value[] } {
  const { layers, nodes, outputs, inputs } = spec.graph;
  const values: Value[] = [...xs];
  const masks: { mask: Value; source: Layer }[] = [];
  const firstWeight = spec.paramCounts.map((_, i) => spec.paramCounts.slice(0, i).reduce((a, b) => a + b, 0));
  // An output's activation may go to its fused loss only when nothing else reads the output.
  const skips = (t: number) => outputs.some((o, k) => o === t && fused[k]) && !nodes.some((n) => n.inputs.includes(t));
  nodes.slice(0, until).forEach((node, i) => {
    const layer = layers[node.layer];
    const carried = node.inputs.map((t) => masks[t]).find((m) => m);
    if (carried && !layer.masking) throw maskRefusal(layer, carried.source);
    const ctx: ForwardContext = {
      skipActivation: skips(inputs + i),
      training: training !== null,
      seed: pcg(((spec.seed ?? 0) + Math.imul(i + 1, 0x9e3779b9)) >>> 0),
      step: () => {
        if (!training) throw new ValueError(`${layer.name}: the step number exists only while training`);
        return (training.step ??= g.input('step', [1], 'i32'));
      },
      addLoss: (v) => void losses?.push(v),
      mask: carried?.mask ?? null,
      masks: node.inputs.map((t) => masks[t]?.mask ?? null),
      args: checkCallArgs(layer, node.args),
    };
    const ins = node.inputs.map((t) => values[t]);
    const first = firstWeight[node.layer];
    values.push(callForward(layer, g, ins, weights.slice(first, first + spec.paramCounts[node.layer]), ctx));
    const made = inputs + i;
    if (layer.masking === 'make' && layer.computeMask) masks[made] = { mask: layer.computeMask(g, ins[0]), source: layer };
    else if (layer.masking === 'pass' && carried) masks[made] = carried;
    else if (layer.masking === 'query' && masks[node.inputs[0]]) masks[made] = masks[node.inputs[0]];
  });
  return { outs: outputs.map((t) => values[t]), masks: outputs.map((t) => masks[t]?.mask ?? null), values };
}

/** The inputs' batches as graph inputs: x, then x1, x2, ... */
function inputValues(g: Graph, spec: ModelSpec, batch: number): Value[] {
  return spec.inputShapes.map((s, i) => g.input(i === 0 ? 'x' : `x${i}`, [batch, ...s]));
}

function weightValues(g: Graph, spec: ModelSpec): Value[] {
  return spec.params.map((p) => g.param(p.name, p.shape));
}

/**
 * The part train and evaluate share: forward (each output's last activation
 * left to a fused loss), each output's per-sample loss, and the loss and
 * metric sums (sumNames) added into persistent accumulators. The loss is
 * Σ over outputs of weight · that output's mean loss, plus the penalties.
 */
function forwardAndLoss(spec: ModelSpec, batch: number, training: boolean) {
  const g = new Graph();
  const x = inputValues(g, spec, batch);
  const y = spec.outputs.map((o, k) => g.input(k === 0 ? 'y' : `y${k}`, [batch, ...o.targetShape], o.loss.targets === 'labels' ? 'i32' : 'f32'));
  const weights = weightValues(g, spec);
  const losses: Value[] = [];
  const recorded: Training | null = training ? { step: null } : null;
  const { outs, masks } = forward(g, spec, x, weights, spec.outputs.map((o) => o.loss.fused), recorded, losses);
  const several = spec.outputs.length > 1;
  const sums: Value[] = [];
  const lossSum = g.state('loss_sum', [1]);
  sums.push(lossSum);
  // The layers' penalties (regularizers), one scalar: part of the loss, as Keras reports it, in training and evaluation.
  const penalty = losses.length ? losses.reduce((a, b) => g.op(add, [a, b], {}, 'penalty')) : null;
  const means = spec.outputs.map((o, k) => {
    const named = (what: string) => (several ? `${o.name}/${what}` : what);
    const forwarded = outs[k];
    const mask = masks[k];
    // A class for every step ([batch, steps, classes] against labels [batch, steps], a language model's):
    // every step is a row of the loss and the metrics, each counted 1/steps, so that the sums over
    // samples are means over steps and the reported figures are per step (per character).
    const perStep = forwarded.shape.length === 3 && o.loss.targets === 'labels';
    if (mask && !perStep) throw new ValueError(`${several ? `output ${o.name}: ` : ''}the model's output [${forwarded.shape.slice(1).join(', ')}] still carries the mask of padded steps (maskZero) into a ${o.loss.name} loss; a masked loss takes a class per step (labels [samples, steps]): end with a recurrent layer without returnSequences, or use sparseCategoricalCrossentropy per step`);
    const steps = perStep ? forwarded.shape[1] : 1;
    const rows = steps > 1 || mask !== null;
    const out = rows ? g.op(reshape, [forwarded], { shape: [batch * steps, forwarded.shape[2]] }, named('output/steps')) : forwarded;
    const labels = rows ? g.op(reshape, [y[k]], { shape: [batch * steps] }, named('y/steps')) : y[k];
    // With a mask, each batch's loss and metrics are means over its real steps (Keras 3: a masked entry
    // weighs 0, a real one total/valid): the rows weighted by m / Σm, each batch's sum counted batch times.
    const rowWeights = mask ? g.op(maskWeights, [g.op(reshape, [mask], { shape: [batch * steps] }, named('mask/rows'))], {}, named('mask/weights')) : null;
    const total = (v: Value) => g.op(reduceSum, [rowWeights ? g.op(multiply, [v, rowWeights], {}, `${v.name}/masked`) : v], {});
    const layer = tensorLayer(spec.graph, spec.graph.outputs[k]);
    let activated: Value | null = null;
    // Only a metric on the activated output (not on logits) needs the activation applied after a fused loss.
    const act = () => (activated ??= o.loss.fused ? applyActivation(g, out, layer.activation, undefined, named('output')) : out);
    const perSample = g.op(o.loss.kernel, [out, labels], o.loss.attrs, named('loss'));
    const alpha = rowWeights ? batch : 1 / steps;
    const addSum = (v: Value, name: string) => {
      const acc = g.state(`${name}_sum`, [1]);
      g.update(accumulate, [total(v)], [acc], { alpha });
      sums.push(acc);
    };
    // The total loss gains this output's, weighted; with several outputs each also has its own.
    const summed = total(perSample);
    g.update(accumulate, [summed], [lossSum], { alpha: alpha * o.weight });
    if (several) {
      const own = g.state(`${o.name}_loss_sum`, [1]);
      g.update(accumulate, [summed], [own], { alpha });
      sums.push(own);
    }
    for (const m of o.metrics) addSum(g.op(m.kernel, [m.onLogits ? out : act(), labels], m.attrs, named(m.name)), named(m.name));
    // The training loss (recorded only by trainGraph): the mean over the batch's rows, or over its real steps.
    return () => {
      const mean = rowWeights ? summed : g.op(reduceMean, [perSample], {}, named('mean_loss'));
      return o.weight === 1 ? mean : g.op(scale, [mean], { alpha: o.weight }, named('weighted_loss'));
    };
  });
  // Per sample, the batch's penalty: the loss sum gains batch·penalty.
  if (penalty) g.update(accumulate, [penalty], [lossSum], { alpha: batch });
  const meanLoss = () => means.map((m) => m()).reduce((a, b) => g.op(add, [a, b], {}, 'total_loss'));
  return { g, x, y, weights, meanLoss, penalty, sums, step: recorded?.step ?? null };
}

/**
 * Forward, loss, backward and the optimizer update: one training step on a
 * batch of `batch` samples. With `packWeights` (the caller's weight and slot
 * tensors are views of one buffer each, laid out by packLayout) and fusion on,
 * one update launch serves every weight where the gradients allow it
 * (`packable`); otherwise each weight has its own.
 */
export function trainGraph(spec: ModelSpec, batch: number, optimizer: Optimizer, packWeights = false): StepGraph {
  const { g, x, y, weights, meanLoss, penalty, sums, step } = forwardAndLoss(spec, batch, true);
  const mean = meanLoss();
  const loss = penalty ? g.op(add, [mean, penalty], {}, 'loss_with_penalty') : mean;
  // The optimizer trains the trainable weights; layers update their other state (moving statistics) themselves.
  const trainable = weights.filter((_, i) => isTrainable(spec.params[i]));
  const found = gradients(g, loss, trainable);
  const grads = trainable.map((w) => found.get(w)!);
  const stepValues = g.input('step_values', [optimizer.valueCount]);
  const slots = trainable.map((w) => Array.from({ length: optimizer.slots }, (_, k) => g.state(`${w.name}/slot${k}`, w.shape)));
  let packed: StepGraph['packed'] = null;
  // Clipping each weight by its own norm needs a norm per weight, which one packed launch cannot tell apart.
  const stored = packWeights && spec.fuse && optimizer.clip !== 'perWeight' ? storedGradients(g, grads) : null;
  if (stored && packable(stored.nodes, stored.grads)) {
    // The views that only re-shaped a gradient for its weight are not needed: the update reads the packed storage.
    g.nodes.splice(0, g.nodes.length, ...stored.nodes);
    packed = recordPacked(g, optimizer, trainable, stored.grads, slots, stepValues);
  } else {
    recordEach(g, optimizer, trainable, grads, slots, stepValues);
  }
  if (spec.fuse) fuse(g);
  return { graph: g, x, y, weights, slots, packed, sums, outputs: [], step, stepValues };
}

/**
 * One update launch for every weight, in packOrder (the weights that take
 * weight decay, then those excluded from it, from decayEnd on), after one
 * sumSquares of the packed gradients when clipping by the global norm.
 */
function recordPacked(g: Graph, optimizer: Optimizer, trainable: Value[], grads: Value[], slots: Value[][], stepValues: Value): NonNullable<StepGraph['packed']> {
  const order = packOrder(optimizer, trainable.map((w) => w.name));
  const inOrder = <T>(xs: readonly T[]) => order.map((i) => xs[i]);
  const decaying = order.filter((i) => optimizer.decays(trainable[i].name)).length;
  const decayEnd = decaying < order.length ? packLayout(inOrder(trainable).map((w) => w.shape)).offsets[decaying] : undefined;
  const packed = { weights: g.pack('weights', inOrder(trainable)), slots: Array.from({ length: optimizer.slots }, (_, k) => g.pack(`slot${k}`, inOrder(slots).map((s) => s[k]))) };
  const gradient = g.pack('gradients', inOrder(grads));
  const sumSq = optimizer.clip === 'global' ? globalSumSquares(g, gradient, inOrder(grads)) : undefined;
  optimizer.record(g, packed.weights, gradient, stepValues, packed.slots, { sumSq, decayEnd });
  return packed;
}

/**
 * Σ g² over every gradient: one sumSquares of the packed gradients, or, past
 * what one workgroup sums (MAX_REDUCE_VALUES), one per weight, added.
 */
function globalSumSquares(g: Graph, packed: Value, grads: Value[]): Value {
  if (sizeOf(packed.shape) <= MAX_REDUCE_VALUES) return g.op(sumSquares, [packed], {}, 'gradients/sum_squares');
  return grads.map((d) => g.op(sumSquares, [d], {}, `${d.name}/sum_squares`)).reduce((a, b) => g.op(add, [a, b], {}, 'gradients/sum_squares'));
}

/** An update launch per weight, each after the sum of squares its clip by norm reads (its own, or all of them added). */
function recordEach(g: Graph, optimizer: Optimizer, trainable: Value[], grads: Value[], slots: Value[][], stepValues: Value): void {
  const squares = optimizer.clip === 'perWeight' || optimizer.clip === 'global' ? grads.map((d) => g.op(sumSquares, [d], {}, `${d.name}/sum_squares`)) : null;
  const total = optimizer.clip === 'global' && squares ? squares.reduce((a, b) => g.op(add, [a, b], {}, 'gradients/sum_squares')) : undefined;
  trainable.forEach((w, i) => {
    const sumSq = total ?? squares?.[i];
    optimizer.record(g, w, grads[i], stepValues, slots[i], { sumSq, decayEnd: optimizer.decays(w.name) ? undefined : 0 });
  });
}

/**
 * Each gradient's storage: a gradient that is a view (a convolution kernel's,
 * the matmul result [kh·kw·cin, cout] seen as [kh, kw, cin, cout]) stands for
 * the temp it views when that view is the temp's only reader; the graph's
 * nodes without those views. The packed update reads the storage, which holds
 * the same values in the same order.
 */
function storedGradients(g: Graph, grads: readonly Value[]): { grads: Value[]; nodes: Node[] } {
  const readers = new Map<Value, number>();
  for (const n of g.nodes) for (const v of g.expand(n.inputs)) readers.set(v, (readers.get(v) ?? 0) + 1);
  const dropped = new Set<Node>();
  const stored = grads.map((v) => {
    for (;;) {
      const n = g.nodes.find((m) => m.kernel.view && m.outputs[0] === v);
      if (!n || readers.get(v) || n.inputs[0].role !== 'temp' || readers.get(n.inputs[0]) !== 1) return v;
      dropped.add(n);
      v = n.inputs[0];
    }
  });
  return { grads: stored, nodes: g.nodes.filter((n) => !dropped.has(n)) };
}

/**
 * Gradients can share one buffer when each is a temp of its own, written by
 * a launch that reads no other gradient (WebGPU forbids binding a buffer
 * writable and read-only in one dispatch) and read by nothing yet. One
 * launch may write several (batchNormBackward's dγ and dβ): WebGPU allows a
 * buffer bound writable more than once, and the ranges do not overlap.
 */
function packable(nodes: readonly Node[], grads: readonly Value[]): boolean {
  const set = new Set(grads);
  if (grads.length === 0 || set.size !== grads.length || grads.some((v) => !v || v.role !== 'temp')) return false;
  // A gradient that is still a view (reshape) of another value has no storage of its own to pack.
  if (nodes.some((n) => n.kernel.view && set.has(n.outputs[0]))) return false;
  return nodes.every((n) => !n.inputs.some((v) => set.has(v)));
}

/** Forward and loss without updates: evaluate(). */
export function evalGraph(spec: ModelSpec, batch: number): StepGraph {
  const { g, x, y, weights, sums } = forwardAndLoss(spec, batch, false);
  if (spec.fuse) fuse(g);
  return { graph: g, x, y, weights, slots: [], packed: null, sums, outputs: [], step: null, stepValues: null };
}

/** Forward through every layer, final activation included: predict(). */
export function predictGraph(spec: ModelSpec, batch: number): StepGraph {
  const g = new Graph();
  const x = inputValues(g, spec, batch);
  const weights = weightValues(g, spec);
  const { outs } = forward(g, spec, x, weights, [], null, null);
  if (spec.fuse) fuse(g, outs);
  return { graph: g, x, y: [], weights, slots: [], packed: null, sums: [], outputs: outs, step: null, stepValues: null };
}

/** The layers that keep moving statistics a pass can recompute (BatchNormalization), by index. */
export function statisticsLayers(spec: ModelSpec): number[] {
  return spec.graph.layers.flatMap((l, i) => (l.recordStatistics ? [i] : []));
}

/**
 * One batch of the pass that recomputes layer `index`'s moving statistics:
 * the layers before it in inference mode (dropout off, batch normalization
 * with its moving statistics, which earlier passes have recomputed), so the
 * statistics are those of what the layer sees in predict; then the layer's
 * recordStatistics. Nothing after the layer runs.
 */
export function statisticsGraph(spec: ModelSpec, batch: number, index: number): StepGraph {
  const layer = spec.graph.layers[index];
  if (!layer?.recordStatistics) throw new ValueError(`statisticsGraph: layer ${index} (${layer?.name ?? 'none'}) keeps no moving statistics`);
  const calls = spec.graph.nodes.flatMap((n, k) => (n.layer === index ? [k] : []));
  if (calls.length !== 1) throw new ValueError(`${layer.name}: its moving statistics can be recomputed only for a layer called once, it is called ${calls.length} times`);
  const g = new Graph();
  const x = inputValues(g, spec, batch);
  const weights = weightValues(g, spec);
  const { values } = forward(g, spec, x, weights, [], null, null, calls[0]);
  const h = values[spec.graph.nodes[calls[0]].inputs[0]];
  const first = spec.paramCounts.slice(0, index).reduce((a, b) => a + b, 0);
  layer.recordStatistics(g, h, weights.slice(first, first + spec.paramCounts[index]));
  if (spec.fuse) fuse(g);
  const passState = g.values.filter((v) => v.role === 'state');
  return { graph: g, x, y: [], weights, slots: [], packed: null, sums: [], outputs: [], step: null, stepValues: null, passState };
}
