// Keras' weight regularizers: l1(f), l2(f), l1l2({ l1, l2 }), and the strings
// 'l1', 'l2', 'l1l2' (factor 0.01 each, as Keras). Browser-safe.
import { ValueError } from '../core/errors.js';
import type { OptionsOf } from '../core/options.js';
import { defineOptions, didYouMean, opt } from '../core/options.js';
import type { Graph, Value } from '../graph/graph.js';
import { factorProblem, penalty } from '../ops/regularizer.js';
import type { ForwardContext } from './layer-base.js';

/** A penalty l1·Σ|w| + l2·Σw² added to the loss for a weight (Keras' L1L2, which L1 and L2 are cases of). */
export interface Regularizer {
  readonly l1: number;
  readonly l2: number;
}

function factor(what: string, f: unknown): number {
  const problem = factorProblem(f);
  if (problem) throw new ValueError(`${what}: the factor ${problem}`);
  return f as number;
}

/** f·Σ|w| (Keras' regularizers.l1, default 0.01). */
export const l1 = (f = 0.01): Regularizer => ({ l1: factor('l1', f), l2: 0 });

/** f·Σw² (Keras' regularizers.l2, default 0.01): its gradient is 2f·w. */
export const l2 = (f = 0.01): Regularizer => ({ l1: 0, l2: factor('l2', f) });

const L1L2_OPTIONS = defineOptions('l1l2', {
  l1: opt.custom<number>('number', 'the factor of Σ|w| (default 0.01)', factorProblem),
  l2: opt.custom<number>('number', 'the factor of Σw² (default 0.01)', factorProblem),
});

/** l1·Σ|w| + l2·Σw² (Keras' regularizers.l1_l2, defaults 0.01 each). */
export function l1l2(options: OptionsOf<typeof L1L2_OPTIONS.spec> = {}): Regularizer {
  const o = L1L2_OPTIONS.check(options);
  return { l1: o.l1 ?? 0.01, l2: o.l2 ?? 0.01 };
}

const NAMED: Record<string, () => Regularizer> = { l1: () => l1(), l2: () => l2(), l1l2: () => l1l2(), l1_l2: () => l1l2() };

/** What is wrong with a regularizer given to a layer, or null. */
export function regularizerProblem(v: unknown): string | null {
  if (typeof v === 'string') return NAMED[v] ? null : `${JSON.stringify(v)} is unknown${didYouMean(v, Object.keys(NAMED))}; use 'l1', 'l2', 'l1l2', or l1(f), l2(f), l1l2({ l1, l2 })`;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return `must be l1(f), l2(f), l1l2({ l1, l2 }) or one of 'l1', 'l2', 'l1l2', got ${JSON.stringify(v)}`;
  const extra = Object.keys(v).find((k) => k !== 'l1' && k !== 'l2');
  if (extra !== undefined) return `has an unknown field '${extra}' (a regularizer is { l1, l2 })`;
  const { l1: a, l2: b } = v as Partial<Regularizer>;
  return factorProblem(a) ? `l1 ${factorProblem(a)}` : factorProblem(b) ? `l2 ${factorProblem(b)}` : null;
}

export const regularizerOpt = (what: string) =>
  opt.custom<Regularizer | string>('regularizer', `a penalty on the ${what} added to the loss: l1(f), l2(f), l1l2({ l1, l2 }) or 'l1', 'l2', 'l1l2'`, regularizerProblem);

/** The regularizer as the layer's config keeps it ({ l1, l2 }), or undefined for none or a zero one. */
export function resolveRegularizer(v: Regularizer | string | undefined, where: string): Regularizer | undefined {
  if (v === undefined) return undefined;
  const problem = regularizerProblem(v);
  if (problem) throw new ValueError(`${where} ${problem}`);
  const r = typeof v === 'string' ? NAMED[v]() : { l1: v.l1, l2: v.l2 };
  return r.l1 === 0 && r.l2 === 0 ? undefined : r;
}

/** Adds each regularized weight's penalty to the loss, through the context. */
export function addPenalties(g: Graph, ctx: ForwardContext, name: string, pairs: readonly (readonly [Value | undefined, Regularizer | undefined, string])[]): void {
  for (const [w, r, part] of pairs) if (w && r) ctx.addLoss(g.op(penalty, [w], r, `${name}/${part}_penalty`));
}
