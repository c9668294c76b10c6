import { add, scale } from '../ops/elementwise.js';
import type { Kernel } from '../ops/kernel.js';
import type { MatmulAttrs } from '../ops/matmul.js';
import { matmul } from '../ops/matmul.js';
import type { GradRule } from './autodiff.js';

type Entry<A> = readonly [Kernel<A>, GradRule<A>];
const rule = <A>(kernel: Kernel<A>, r: GradRule<A>): Entry<A> => [kernel, r];

/**
 * Every differentiable kernel's gradient, in one table. `Differentiable`
 * lists the kernels a model may put on the path to its loss; a name there
 * without an entry here is a compile error.
 */
type Differentiable = 'matmul' | 'add' | 'scale';

export const GRADIENTS: { readonly [K in Differentiable]: Entry<any> } = {
  // C = op(A)·op(B). Each case is the matmul whose result has A's (or B's) stored layout.
  matmul: rule<MatmulAttrs>(matmul, (g, { inputs: [a, b], attrs }, [dc]) => {
    if (!dc) return [null, null];
    const { transA = false, transB = false, variant } = attrs;
    const mm = (x: typeof a, y: typeof a, tA: boolean, tB: boolean, name: string) => g.op(matmul, [x, y], { transA: tA, transB: tB, variant }, name);
    const da = transA ? mm(b, dc, transB, true, `d(${a.name})`) : mm(dc, b, false, !transB, `d(${a.name})`);
    const db = transB ? mm(dc, a, true, transA, `d(${b.name})`) : mm(a, dc, !transA, false, `d(${b.name})`);
    return [da, db];
  }),
  // out = x + αy
  add: rule<{ alpha?: number }>(add, (g, { attrs: { alpha = 1 } }, [d]) => [d, d && (alpha === 1 ? d : g.op(scale, [d], { alpha }))]),
  scale: rule<{ alpha: number }>(scale, (g, { attrs: { alpha } }, [d]) => [d && g.op(scale, [d], { alpha })]),
};
