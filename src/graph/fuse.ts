import { activation, activationBackwardFromOutput, gradFromOutput } from '../ops/activation.js';
import type { ActivationAttrs } from '../ops/activation.js';
import { biasAdd } from '../ops/bias.js';
import { matmul } from '../ops/matmul.js';
import { matmulActivationGrad, matmulBiasActivation } from '../ops/matmul-epilogue.js';
import type { Graph, Node, Value } from './graph.js';

/**
 * Folds chains of launches into one, in place, where nothing else reads what
 * lies between them:
 *   matmul → biasAdd [→ activation]          ⇒ matmulBiasActivation
 *   matmul → activationBackwardFromOutput    ⇒ matmulActivationGrad
 * The first is a Dense layer's forward; the second, the gradient flowing back
 * into the layer below. Each saves one or two launches and a round trip of
 * the intermediate through memory. A chain fuses only where each intermediate
 * is a temp with a single reader and is not in `keep`, and where nothing
 * between the chain's first and last node updates an operand in place; the
 * fused node takes the last node's position and its output value, so the
 * rest of the graph does not change. Returns how many chains were fused.
 */
export function fuse(g: Graph, keep: readonly Value[] = []): number {
  const kept = new Set(keep);
  const readers = new Map<Value, Node[]>();
  for (const n of g.nodes) for (const v of new Set(n.inputs)) readers.set(v, [...(readers.get(v) ?? []), n]);
  const position = new Map(g.nodes.map((n, i) => [n, i]));
  const onlyReader = (v: Value): Node | null => {
    const r = readers.get(v);
    return v.role === 'temp' && !kept.has(v) && r?.length === 1 ? r[0] : null;
  };

  const replaced = new Map<Node, Node>();
  const removed = new Set<Node>();
  for (const m of g.nodes) {
    if (m.kernel !== matmul || removed.has(m)) continue;
    const chain = chainAfter(m, onlyReader);
    if (!chain) continue;
    const { nodes, fused } = chain;
    const from = position.get(m)!;
    const to = position.get(nodes[nodes.length - 1])!;
    if (g.nodes.slice(from + 1, to).some((n) => n.outputs.some((o) => fused.inputs.includes(o)))) continue;
    nodes.forEach((n) => removed.add(n));
    replaced.set(nodes[nodes.length - 1], fused);
  }
  const next = g.nodes.flatMap((n) => (replaced.has(n) ? [replaced.get(n)!] : removed.has(n) ? [] : [n]));
  g.nodes.splice(0, g.nodes.length, ...next);
  return replaced.size;
}

/** The chain a matmul starts, if any: its nodes (the matmul first) and the node that replaces them. */
function chainAfter(m: Node, onlyReader: (v: Value) => Node | null): { nodes: Node[]; fused: Node } | null {
  const z = m.outputs[0];
  const r = onlyReader(z);
  if (!r) return null;
  if (r.kernel === biasAdd && r.inputs[0] === z && r.inputs[1] !== z) {
    const zb = r.outputs[0];
    const a = onlyReader(zb);
    const act = a && a.kernel === activation && gradFromOutput(a.attrs as ActivationAttrs) ? a : null;
    const activationAttrs: ActivationAttrs = act ? act.attrs : { kind: 'linear' };
    const last = act ?? r;
    return {
      nodes: act ? [m, r, act] : [m, r],
      fused: { kernel: matmulBiasActivation, attrs: { ...m.attrs, activation: activationAttrs }, inputs: [...m.inputs, r.inputs[1]], outputs: last.outputs },
    };
  }
  if (r.kernel === activationBackwardFromOutput && r.inputs[1] === z && r.inputs[0] !== z) {
    return {
      nodes: [m, r],
      fused: { kernel: matmulActivationGrad, attrs: { ...m.attrs, activation: r.attrs }, inputs: [...m.inputs, r.inputs[0]], outputs: r.outputs },
    };
  }
  return null;
}
