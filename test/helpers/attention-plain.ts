import type { Backend } from '../../src/backend/backend.js';
import type { AttentionAttrs } from '../../src/ops/attention.js';
import { dropout } from '../../src/ops/dropout.js';
import { add, scale } from '../../src/ops/elementwise.js';
import type { Kernel } from '../../src/ops/kernel.js';
import { matmul } from '../../src/ops/matmul.js';
import { softmax } from '../../src/ops/softmax.js';
import type { HostTensor } from './check.js';
import { randn, reference, rng, runOn } from './check.js';

/*
 * Attention as the plain composition of existing ops, head by head, as a
 * Keras user would write it: scores = matmul(q, kᵀ), scale, add the mask as
 * Keras does (−1e9 where a key is not attended), softmax, dropout on the
 * [B, H, T, S] probabilities, matmul with v. Runs on the float64 reference or
 * on a backend, one launch per op and head.
 */

export type Runner = <A>(kernel: Kernel<A>, inputs: HostTensor[], attrs: A) => Promise<Float64Array[]>;
export const onReference: Runner = async (kernel, inputs, attrs) => reference(kernel, inputs, attrs);
export const onBackend = (be: Backend): Runner => (kernel, inputs, attrs) => runOn(be, kernel, inputs, attrs);

export interface Case {
  readonly B: number;
  readonly H: number;
  readonly T: number;
  readonly S: number;
  readonly D: number;
  readonly Dv: number;
  readonly attrs: AttentionAttrs;
}

export const label = ({ B, H, T, S, D, Dv, attrs }: Case) =>
  `B${B} H${H} T${T} S${S} D${D} Dv${Dv}${attrs.causal ? ' causal' : ''}${attrs.masked ? ' masked' : ''}${attrs.dropout ? ` dropout ${attrs.dropout}` : ''}`;

/** The step number the dropout cases draw at. */
export const STEP = 7;

/**
 * q, k, v in ±1.5 (peaked and flat softmax rows both occur), then the mask
 * (about 30% zeros, and fully masked rows: query 1 of sample 0 and the last
 * query of the last sample) and the step, where the attrs call for them.
 */
export function attentionInputs({ B, H, T, S, D, Dv, attrs }: Case, seed: number): HostTensor[] {
  const ins = [randn(rng(seed), [B, H, T, D], -1.5, 1.5), randn(rng(seed + 1), [B, H, S, D], -1.5, 1.5), randn(rng(seed + 2), [B, H, S, Dv], -1.5, 1.5)];
  if (attrs.masked) {
    const m = randn(rng(seed + 3), [B, T, S], 0, 1);
    m.data.forEach((u, i) => (m.data[i] = u < 0.3 ? 0 : 1));
    if (T > 1) for (let s = 0; s < S; s++) m.data[(0 * T + 1) * S + s] = 0;
    for (let s = 0; s < S; s++) m.data[((B - 1) * T + T - 1) * S + s] = 0;
    ins.push(m);
  }
  if (attrs.dropout) ins.push({ info: { shape: [1], dtype: 'i32' }, data: Int32Array.of(STEP) });
  return ins;
}

/** Whether query t of sample b attends key s, by the case's causal flag and mask. */
export function attendsIn(c: Case, ins: HostTensor[], b: number, t: number, s: number): boolean {
  if (c.attrs.causal && s > t) return false;
  return !c.attrs.masked || ins[3].data[(b * c.T + t) * c.S + s] !== 0;
}

const slice = (t: HostTensor, bh: number, rows: number, cols: number): HostTensor => ({
  info: { shape: [rows, cols], dtype: 'f32' },
  data: Float64Array.from(t.data.subarray(bh * rows * cols, (bh + 1) * rows * cols)),
});
const exact = (shape: number[], data: ArrayLike<number>): HostTensor => ({ info: { shape, dtype: 'f32' }, data: Float64Array.from(data) });

/** out [B, H, T, Dv] by the composition; fully masked rows come out as Keras' (the mean of v), not as the fused op's 0. */
export async function plainAttention(run: Runner, c: Case, ins: HostTensor[]): Promise<Float64Array> {
  const { B, H, T, S, D, Dv, attrs } = c;
  const alpha = attrs.scale ?? 1 / Math.sqrt(D);
  const probs = new Float64Array(B * H * T * S);
  for (let bh = 0; bh < B * H; bh++) {
    const b = Math.floor(bh / H);
    const additive = new Float64Array(T * S);
    for (let t = 0; t < T; t++) for (let s = 0; s < S; s++) additive[t * S + s] = attendsIn(c, ins, b, t, s) ? 0 : -1e9;
    const [scores] = await run(matmul, [slice(ins[0], bh, T, D), slice(ins[1], bh, S, D)], { transB: true });
    const [scaled] = await run(scale, [exact([T, S], scores)], { alpha });
    const [masked] = await run(add, [exact([T, S], scaled), exact([T, S], additive)], {});
    const [p] = await run(softmax, [exact([T, S], masked)], {});
    probs.set(p, bh * T * S);
  }
  const rate = attrs.dropout ?? 0;
  const dropped = rate > 0 ? (await run(dropout, [exact([B, H, T, S], probs), ins[ins.length - 1]], { rate, seed: attrs.seed ?? 0 }))[0] : probs;
  const out = new Float64Array(B * H * T * Dv);
  for (let bh = 0; bh < B * H; bh++) {
    const [o] = await run(matmul, [exact([T, S], dropped.subarray(bh * T * S, (bh + 1) * T * S)), slice(ins[2], bh, S, Dv)], {});
    out.set(o, bh * T * Dv);
  }
  return out;
}

/** The rows (b·H + h, t) whose query attends no key. */
export function fullyMaskedRows(c: Case, ins: HostTensor[]): number[] {
  const rows: number[] = [];
  for (let bh = 0; bh < c.B * c.H; bh++) {
    for (let t = 0; t < c.T; t++) {
      let any = false;
      for (let s = 0; s < c.S; s++) any ||= attendsIn(c, ins, Math.floor(bh / c.H), t, s);
      if (!any) rows.push(bh * c.T + t);
    }
  }
  return rows;
}
