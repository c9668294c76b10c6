// The first rows of a table repeated over a batch, and its gradient: the op
// under a learned position embedding (keras-nlp's PositionEmbedding, torch's
// table[:T].expand(B, T, F)). The output depends on the input `like` only
// through its shape.
import { ShapeError, ValueError } from '../core/errors.js';
import type { TensorInfo } from '../core/shape.js';
import { fmt } from '../core/shape.js';
import code from '../../shaders/broadcast.wgsl?raw';
import { defineKernel, grid1d } from './kernel.js';

const shader = { name: 'broadcast', code };
const WG = 256;

export interface BroadcastRowsGradAttrs {
  /** The table's rows, S: the gradient's rows past the T the output used are zero. */
  readonly rows: number;
}

/** [B, T, F] of an f32 tensor of rank 3, checked. */
function dims(op: string, v: TensorInfo | undefined, arg: string): [number, number, number] {
  if (!v || v.dtype !== 'f32' || v.shape.length !== 3) throw new ShapeError(`${op}: ${arg} must be f32 [batch, steps, features], got ${v ? fmt(v) : 'nothing'}`);
  return v.shape as [number, number, number];
}

/** out[b, t, f] = table[t, f]: table [S, F] and like [B, T, F] (T ≤ S; only its shape is read) → [B, T, F]. */
export const broadcastRows = defineKernel<Readonly<Record<string, never>>>({
  name: 'broadcastRows',
  shader,
  outputs([table, like, ...rest]) {
    if (!table || table.dtype !== 'f32' || table.shape.length !== 2) throw new ShapeError(`broadcastRows: table must be f32 [rows, features], got ${table ? fmt(table) : 'nothing'}`);
    const [, T, F] = dims('broadcastRows', like, 'like');
    if (rest.length) throw new ShapeError(`broadcastRows: takes 2 inputs, table and like, got ${2 + rest.length}`);
    const [S, G] = table.shape;
    if (G !== F) throw new ShapeError(`broadcastRows: table ${fmt(table)} has ${G} features, like ${fmt(like)} has ${F}`);
    if (T > S) throw new ShapeError(`broadcastRows: like ${fmt(like)} has ${T} steps, more than the table's ${S} rows`);
    return [like];
  },
  cpu([table], [out], [, like]) {
    const [B, T, F] = like.shape;
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let f = 0; f < F; f++) out[(b * T + t) * F + f] = table[t * F + f];
  },
  gpu([, like], _attrs, ctx) {
    const [B, T, F] = like.shape;
    const total = B * T * F;
    // `like` is not bound: the kernel reads its shape only (leading: 1 binds the table alone).
    return { entry: 'broadcast_rows', leading: 1, params: [['u32', total], ['u32', T * F], ['u32', B], ['u32', 0]], workgroups: grid1d(total, WG, ctx) };
  },
});

/** broadcastRows' gradient with respect to the table: dy [B, T, F] → [rows, F], rows t < T summed over the batch, the rest zero. */
export const broadcastRowsGrad = defineKernel<BroadcastRowsGradAttrs>({
  name: 'broadcastRowsGrad',
  shader,
  outputs([dy, ...rest], { rows }) {
    const [, T, F] = dims('broadcastRowsGrad', dy, 'dy');
    if (rest.length) throw new ShapeError(`broadcastRowsGrad: takes 1 input, dy, got ${1 + rest.length}`);
    if (!Number.isInteger(rows) || rows < T) throw new ValueError(`broadcastRowsGrad: rows must be a whole number ≥ dy's ${T} steps, got ${JSON.stringify(rows)}`);
    return [{ shape: [rows, F], dtype: 'f32' }];
  },
  cpu([dy], [dt], [info]) {
    const [B, T, F] = info.shape;
    dt.fill(0);
    for (let t = 0; t < T; t++) {
      for (let f = 0; f < F; f++) {
        let s = 0;
        for (let b = 0; b < B; b++) s += dy[(b * T + t) * F + f];
        dt[t * F + f] = s;
      }
    }
  },
  gpu([dy], { rows }, ctx) {
    const [B, T, F] = dy.shape;
    const total = rows * F;
    return { entry: 'broadcast_rows_grad', params: [['u32', total], ['u32', T * F], ['u32', B], ['u32', 0]], workgroups: grid1d(total, WG, ctx) };
  },
});
