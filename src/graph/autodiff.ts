import { ValueError } from '../core/errors.js';
import { sizeOf } from '../core/shape.js';
import { add, fill } from '../ops/elementwise.js';
import type { Kernel } from '../ops/kernel.js';
import type { Graph, Node, Value } from './graph.js';
import { KERNELS } from '../ops/table.js';
import { GRADIENTS, NOT_DIFFERENTIABLE } from './rules.js';

/**
 * A gradient rule: given the node and the gradient of each of its outputs
 * (null where nothing downstream needs it), records the backward ops in `g`
 * and returns the gradient of each input (null where it has none).
 */
export type GradRule<A> = (g: Graph, node: Node & { attrs: A }, dOutputs: readonly (Value | null)[]) => (Value | null)[];

/** The rule table's lookup from kernel object to rule. */
const ruleOf = new Map<Kernel<any>, GradRule<any>>(Object.entries(GRADIENTS).map(([name, r]) => [KERNELS[name as keyof typeof GRADIENTS], r]));
const whyNot: Readonly<Record<string, string>> = NOT_DIFFERENTIABLE;

/**
 * Reverse-mode autodiff: appends to `g` the ops computing d(loss)/d(w) for
 * every w in `wrt`, and returns those gradient values. `loss` must be a
 * one-element value; its gradient is seeded with 1.
 */
export function gradients(g: Graph, loss: Value, wrt: readonly Value[]): Map<Value, Value> {
  if (sizeOf(loss.shape) !== 1) throw new ValueError(`gradients: the loss must have one element, got shape [${loss.shape.join(', ')}]`);
  const needed = reachesLoss(g, loss, wrt);
  const start = g.nodes.length;
  const grads = new Map<Value, Value>();
  grads.set(loss, g.op(fill, [], { shape: loss.shape, value: 1 }, `d(${loss.name})`));
  const forward = g.nodes.slice();
  // Gradients a rule made as a fill of 0 (an input its output reads the shape of only): a sum gains nothing from them.
  const zeros = new Set<Value>();
  for (let i = forward.length - 1; i >= 0; i--) {
    const node = forward[i];
    if (!node.outputs.some((o) => grads.has(o)) || !node.inputs.some((v) => needed.has(v))) continue;
    const rule = ruleOf.get(node.kernel);
    if (!rule) {
      const why = whyNot[node.kernel.name] ? ` (it is ${whyNot[node.kernel.name]})` : '';
      throw new ValueError(`gradients: kernel ${node.kernel.name} has no gradient rule${why}, but the loss depends on it through ${node.inputs.map((v) => v.name).join(', ')}`);
    }
    const recorded = g.nodes.length;
    const dIns = rule(g, node, node.outputs.map((o) => grads.get(o) ?? null));
    for (const n of g.nodes.slice(recorded)) if (n.kernel === fill && n.attrs.value === 0) zeros.add(n.outputs[0]);
    node.inputs.forEach((v, k) => {
      const d = dIns[k];
      if (!d || !needed.has(v)) return;
      const prev = grads.get(v);
      grads.set(v, !prev || zeros.has(prev) ? d : zeros.has(d) ? prev : g.op(add, [prev, d], {}, `d(${v.name})`));
    });
  }
  const out = new Map<Value, Value>();
  for (const w of wrt) {
    const d = grads.get(w);
    if (!d) throw new ValueError(`gradients: the loss does not depend on '${w.name}'`);
    out.set(w, d);
  }
  // A rule records every input's gradient: without this the first layer's matmul would also
  // compute d(input) = dY·Wᵀ, as many FLOPs as its weight gradient, for nothing.
  g.prune(out.values(), start);
  return out;
}

/** Values on some path from a wrt value to the loss: only their gradients are computed. */
function reachesLoss(g: Graph, loss: Value, wrt: readonly Value[]): Set<Value> {
  const fromWrt = new Set<Value>(wrt);
  for (const n of g.nodes) if (n.inputs.some((v) => fromWrt.has(v))) n.outputs.forEach((o) => fromWrt.add(o));
  const toLoss = new Set<Value>([loss]);
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    if (n.outputs.some((o) => toLoss.has(o))) n.inputs.forEach((v) => toLoss.add(v));
  }
  return new Set([...fromWrt].filter((v) => toLoss.has(v)));
}
