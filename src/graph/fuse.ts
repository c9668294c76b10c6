import { activation, activationBackward, activationBackwardFromOutput, gradFromOutput } from '../ops/activation.js';
import type { ActivationAttrs } from '../ops/activation.js';
import { biasAdd } from '../ops/bias.js';
import { accumulate, add, fill } from '../ops/elementwise.js';
import { softmaxCrossEntropy, softmaxCrossEntropyBackward, softmaxCrossEntropyWithGrad } from '../ops/loss.js';
import { layerNormBackward } from '../ops/norm.js';
import { layerNormBackwardAdd } from '../ops/norm-fused.js';
import { matmul } from '../ops/matmul.js';
import type { MatmulActivationAttrs } from '../ops/matmul-epilogue.js';
import { matmulActivationGrad, matmulActivationGradOfInput, matmulAdd, matmulBiasActivation, matmulBiasActivationAdd } from '../ops/matmul-epilogue.js';
import type { Kernel } from '../ops/kernel.js';
import type { BroadcastScalarAttrs } from '../ops/reduce.js';
import { broadcastScalar, reduceSum, reduceSumInto } from '../ops/reduce.js';
import { reshape } from '../ops/reshape.js';
import type { Graph, Node, Value } from './graph.js';

/** What fuse did: launches removed as dead, and chains folded into one launch. */
export interface FuseStats {
  readonly pruned: number;
  readonly fused: number;
}

/**
 * Makes a recorded graph take fewer launches, in place, computing the same
 * values. First it drops launches whose results nothing reads (the mean loss
 * that only seeds the gradient). Then it folds chains into one launch where
 * nothing else reads what lies between them:
 *   matmul → biasAdd [→ activation]        ⇒ matmulBiasActivation (a Dense forward)
 *   matmul → activationBackwardFromOutput  ⇒ matmulActivationGrad (the gradient into the layer below)
 *   matmul → activationBackward            ⇒ matmulActivationGradOfInput (the same, for gelu and others)
 *   matmul → biasAdd [→ activation] → add  ⇒ matmulBiasActivationAdd (a branch into its residual)
 *   matmul → add                           ⇒ matmulAdd            (a gradient into the sum of a tensor's gradients)
 *   layerNormBackward → add                ⇒ layerNormBackwardAdd (the same, for a norm's input)
 *   reduceSum → accumulate                 ⇒ reduceSumInto        (a loss or metric into its total)
 *   fill → broadcastScalar                 ⇒ fill                 (the loss gradient's constant seed)
 * A chain folds only where each intermediate is a temp with a single reader
 * and not in `keep`, and where nothing between its first and last launch
 * updates an operand in place; the fused launch takes the last one's position
 * and output value, so the rest of the graph is unchanged. Before an add
 * the chain may pass one reshape (a view: [B·T, F] rows back to [B, T, F]);
 * the fused launch then works on rows, between reshapes of its residual and
 * its sum that launch nothing. Last, a softmax
 * cross-entropy and its backward become one launch (fuseLossWithGrad).
 * `keep` names the temps the caller reads.
 */
export function fuse(g: Graph, keep: readonly Value[] = []): FuseStats {
  const kept = new Set(keep);
  const pruned = g.prune(kept);
  const readers = new Map<Value, Node[]>();
  for (const n of g.nodes) for (const v of g.expand(n.inputs)) readers.set(v, [...(readers.get(v) ?? []), n]);
  const position = new Map(g.nodes.map((n, i) => [n, i]));
  const onlyReader = (v: Value): Node | null => {
    const r = readers.get(v);
    return v.role === 'temp' && !kept.has(v) && r?.length === 1 ? r[0] : null;
  };

  const replaced = new Map<Node, Node[]>();
  const removed = new Set<Node>();
  for (const first of g.nodes) {
    if (removed.has(first)) continue;
    const chain = chainFrom(g, first, onlyReader);
    if (!chain || chain.nodes.some((n) => removed.has(n))) continue;
    const { nodes, fused, residual } = chain;
    const from = position.get(first)!;
    const to = position.get(nodes[nodes.length - 1])!;
    // The first launch read its operands at `from`: none may change before `to`. The residual is
    // read only at `to`, so it may be computed in between (a gradient summed after this one's matmul).
    const operands = new Set(fused.flatMap((n) => n.inputs));
    if (g.nodes.slice(from + 1, to).some((n) => g.expand(n.outputs).some((o) => operands.has(o) && (n.kernel.inout || o !== residual)))) continue;
    nodes.forEach((n) => removed.add(n));
    replaced.set(nodes[nodes.length - 1], fused);
  }
  const next = g.nodes.flatMap((n) => replaced.get(n) ?? (removed.has(n) ? [] : [n]));
  g.nodes.splice(0, g.nodes.length, ...next);
  return { pruned, fused: replaced.size + fuseLossWithGrad(g) };
}

/**
 * softmaxCrossEntropy and its backward on the same logits and labels become
 * one launch where the forward stands, the backward's dLoss (a fill: it has
 * no inputs, so it may move) computed just before it, and nothing between
 * them updating the logits or labels in place.
 */
function fuseLossWithGrad(g: Graph): number {
  let fused = 0;
  for (const f of [...g.nodes]) {
    if (f.kernel !== softmaxCrossEntropy) continue;
    const b = g.nodes.find((n) => n.kernel === softmaxCrossEntropyBackward && n.inputs[0] === f.inputs[0] && n.inputs[1] === f.inputs[1]);
    const seed = b && g.nodes.find((n) => n.outputs.includes(b.inputs[2]));
    if (!b || !seed || seed.kernel !== fill) continue;
    const [fi, bi] = [g.nodes.indexOf(f), g.nodes.indexOf(b)];
    if (g.nodes.slice(fi + 1, bi).some((n) => g.expand(n.outputs).some((o) => f.inputs.includes(o)))) continue;
    const both: Node = { kernel: softmaxCrossEntropyWithGrad, attrs: {}, inputs: b.inputs, outputs: [f.outputs[0], b.outputs[0]] };
    const moved = g.nodes.indexOf(seed) > fi;
    const next = g.nodes.flatMap((n) => (n === f ? (moved ? [seed, both] : [both]) : n === b || (moved && n === seed) ? [] : [n]));
    g.nodes.splice(0, g.nodes.length, ...next);
    fused++;
  }
  return fused;
}

/** A chain's launches, what replaces them (in order), and the residual its add reads, if any. */
type Chain = { nodes: Node[]; fused: Node[]; residual?: Value };
type OnlyReader = (v: Value) => Node | null;

/** The chain a launch starts, if any: its launches (`first` first) and the one that replaces them. */
function chainFrom(g: Graph, first: Node, onlyReader: OnlyReader): Chain | null {
  const out = first.outputs[0];
  const r = out && onlyReader(out);
  if (!r) return null;
  if (first.kernel === matmul) return matmulChain(g, first, r, onlyReader);
  if (first.kernel === layerNormBackward) {
    const other = addend(r, out);
    return other ? { nodes: [first, r], fused: [{ kernel: layerNormBackwardAdd, attrs: {}, inputs: [...first.inputs, other], outputs: r.outputs }], residual: other } : null;
  }
  if (first.kernel === reduceSum && r.kernel === accumulate) {
    return { nodes: [first, r], fused: [{ kernel: reduceSumInto, attrs: r.attrs, inputs: first.inputs, outputs: r.outputs }] };
  }
  if (first.kernel === fill && r.kernel === broadcastScalar) {
    // broadcastScalar multiplies in f32: scale · value, both f32, rounded once.
    const { shape, scale } = r.attrs as BroadcastScalarAttrs;
    const value = Math.fround(Math.fround(scale) * Math.fround(first.attrs.value));
    return { nodes: [first, r], fused: [{ kernel: fill, attrs: { shape, value }, inputs: [], outputs: r.outputs }] };
  }
  return null;
}

function matmulChain(g: Graph, m: Node, r: Node, onlyReader: OnlyReader): Chain | null {
  const z = m.outputs[0];
  if (r.kernel === biasAdd && r.inputs[0] === z && r.inputs[1] !== z) {
    const a = onlyReader(r.outputs[0]);
    const act = a && a.kernel === activation && gradFromOutput(a.attrs as ActivationAttrs) ? a : null;
    const activationAttrs: ActivationAttrs = act ? act.attrs : { kind: 'linear' };
    const nodes = act ? [m, r, act] : [m, r];
    const dense: Node = { kernel: matmulBiasActivation, attrs: { ...m.attrs, activation: activationAttrs }, inputs: [...m.inputs, r.inputs[1]], outputs: (act ?? r).outputs };
    return intoSum(g, nodes, dense, matmulBiasActivationAdd, onlyReader) ?? { nodes, fused: [dense] };
  }
  const { chain, mine, next } = through([m], onlyReader);
  if (next && (next.kernel === activationBackwardFromOutput || next.kernel === activationBackward) && next.inputs[1] === mine && next.inputs[0] !== mine) {
    const kernel = next.kernel === activationBackward ? matmulActivationGradOfInput : matmulActivationGrad;
    return onRows(g, [...chain, next], kernel, { ...m.attrs, activation: next.attrs }, m.inputs, next.inputs[0], next.outputs[0]);
  }
  const linear: MatmulActivationAttrs = { ...m.attrs, activation: { kind: 'linear' } };
  return intoSum(g, [m], { ...m, attrs: linear }, matmulAdd, onlyReader);
}

/** What reads the output of `nodes`' last launch, through at most one reshape: the chain so far, the value it reads, and the reader. */
function through(nodes: Node[], onlyReader: OnlyReader): { chain: Node[]; mine: Value; next: Node | null } {
  const c = nodes[nodes.length - 1].outputs[0];
  const next = onlyReader(c);
  if (next?.kernel !== reshape) return { chain: nodes, mine: c, next };
  const mine = next.outputs[0];
  return { chain: [...nodes, next], mine, next: onlyReader(mine) };
}

/**
 * `nodes` (ending in `done`'s launch, whose output is C [M, N]) followed,
 * through at most one reshape, by add(C, r) or add(r, C): one launch of
 * `kernel`, `done`'s inputs and r, writing the sum. add's alpha must be 1.
 */
function intoSum(g: Graph, nodes: Node[], done: Node, kernel: typeof matmulAdd, onlyReader: OnlyReader): Chain | null {
  const { chain, mine, next } = through(nodes, onlyReader);
  const residual = next && addend(next, mine);
  if (!next || !residual) return null;
  return onRows(g, [...chain, next], kernel, done.attrs, done.inputs, residual, next.outputs[0], residual);
}

/**
 * One launch of `kernel` in place of `nodes`: `inputs` and then `operand`,
 * writing `out`, on C's rows [M, N] (the first node's output). Where the
 * chain passed a reshape, operand and out have another shape: they are
 * viewed as rows (reshapes: no launch; a kept out keeps its rows' storage,
 * as the executor keeps a view's). An out that a pack places is left unfused.
 */
function onRows(g: Graph, nodes: Node[], kernel: Kernel<any>, attrs: unknown, inputs: readonly Value[], operand: Value, out: Value, residual?: Value): Chain | null {
  const rows = [...nodes[0].outputs[0].shape];
  const isRows = (v: Value) => v.shape.length === rows.length && v.shape.every((d, i) => d === rows[i]);
  if (!isRows(out) && g.expand([out]).length > 1) return null;
  const r = isRows(operand) ? operand : g.temp(`${operand.name}/rows`, rows);
  const o = isRows(out) ? out : g.temp(`${out.name}/rows`, rows);
  const fused: Node[] = [
    ...(r === operand ? [] : [{ kernel: reshape, attrs: { shape: rows }, inputs: [operand], outputs: [r] }]),
    { kernel, attrs, inputs: [...inputs, r], outputs: [o] },
    ...(o === out ? [] : [{ kernel: reshape, attrs: { shape: [...out.shape] }, inputs: [o], outputs: [out] }]),
  ];
  return { nodes, fused, ...(residual ? { residual } : {}) };
}

/** The other operand of `n` if it is add(v, r) or add(r, v) with alpha 1 and r ≠ v: what a fused launch can add as it stores v. */
function addend(n: Node, v: Value): Value | null {
  if (n.kernel !== add || (n.attrs.alpha ?? 1) !== 1 || n.inputs[0] === n.inputs[1]) return null;
  return n.inputs[0] === v ? n.inputs[1] : n.inputs[1] === v ? n.inputs[0] : null;
}
