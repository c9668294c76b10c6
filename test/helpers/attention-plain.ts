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
  `B${B} H${H} T${T} S${S} D${D} Dv${Dv}${attrs.causal ? ' causal' : ''}${attrs.masked ? (attrs.keyMask ? ' key mask' : ' masked') : ''}${attrs.dropout ? ` dropout ${attrs.dropout}` : ''}${attrs.layout ? ` ${attrs.layout}` : ''}`;

/** The case with the heads inside the steps: q [B, T, H, D] and so on. */
export const bthd = (c: Case): Case => ({ ...c, attrs: { ...c.attrs, layout: 'bthd' } });

/**
 * Axes 1 and 2 of a [n0, n1, n2, ...rest] array swapped: [B, H, T, D] ↔ [B, T, H, D],
 * [B, H, T] ↔ [B, T, H]. Its own inverse with n1 and n2 exchanged.
 */
export function swapHeads(a: ArrayLike<number>, [n0, n1, n2, ...rest]: readonly number[]): Float64Array {
  const w = rest.reduce((x, y) => x * y, 1);
  const out = new Float64Array(n0 * n1 * n2 * w);
  for (let i = 0; i < n0; i++) {
    for (let j = 0; j < n1; j++) {
      for (let k = 0; k < n2; k++) for (let c = 0; c < w; c++) out[((i * n2 + k) * n1 + j) * w + c] = a[((i * n1 + j) * n2 + k) * w + c];
    }
  }
  return out;
}

/** q, k, v of bhtd inputs moved to 'bthd' (the same value at each (b, h, t)); the mask and the step as they are. */
export function toBthd(ins: HostTensor[]): HostTensor[] {
  return ins.map((t, i) => {
    if (i > 2) return t;
    const [B, H, T, D] = t.info.shape;
    return { info: { shape: [B, T, H, D], dtype: 'f32' }, data: swapHeads(t.data, t.info.shape) };
  });
}

/** The step number the dropout cases draw at. */
export const STEP = 7;

/**
 * q, k, v in ±1.5 (peaked and flat softmax rows both occur), then the mask
 * (about 30% zeros, and fully masked rows: query 1 of sample 0 and the last
 * query of the last sample) and the step, where the attrs call for them.
 * With layout 'bthd', q, k and v hold the values the default layout holds at
 * each (b, h, t), heads moved inside the steps.
 */
export function attentionInputs(c: Case, seed: number): HostTensor[] {
  const ins = headsFirstInputs(c, seed);
  return c.attrs.layout === 'bthd' ? toBthd(ins) : ins;
}

function headsFirstInputs({ B, H, T, S, D, Dv, attrs }: Case, seed: number): HostTensor[] {
  const ins = [randn(rng(seed), [B, H, T, D], -1.5, 1.5), randn(rng(seed + 1), [B, H, S, D], -1.5, 1.5), randn(rng(seed + 2), [B, H, S, Dv], -1.5, 1.5)];
  if (attrs.masked && attrs.keyMask) {
    // Padded key steps: sample 0's first and last keys, the last sample's every key (all its queries attend nothing).
    const m = randn(rng(seed + 3), [B, S], 0, 1);
    m.data.forEach((u, i) => (m.data[i] = u < 0.3 ? 0 : 1));
    m.data[0] = 0;
    m.data[S - 1] = 0;
    if (B > 1) m.data.fill(0, (B - 1) * S, B * S);
    ins.push(m);
  } else if (attrs.masked) {
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
  // A key mask [B, S] is written independently of the op's own indexing: the same row for every query.
  if (c.attrs.keyMask) return ins[3].data[b * c.S + s] !== 0;
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

/** The rows of the queries that attend no key: (b·H + h)·T + t, or (b·T + t)·H + h with layout 'bthd'. */
export function fullyMaskedRows(c: Case, ins: HostTensor[]): number[] {
  const rows: number[] = [];
  for (let bh = 0; bh < c.B * c.H; bh++) {
    for (let t = 0; t < c.T; t++) {
      let any = false;
      for (let s = 0; s < c.S; s++) any ||= attendsIn(c, ins, Math.floor(bh / c.H), t, s);
      if (any) continue;
      const b = Math.floor(bh / c.H);
      rows.push(c.attrs.layout === 'bthd' ? (b * c.T + t) * c.H + (bh - b * c.H) : bh * c.T + t);
    }
  }
  return rows;
}
