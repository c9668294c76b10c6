// Scaled dot-product attention over batched heads, fused as FlashAttention
// (Dao et al. 2022; Dao 2023, "FlashAttention-2"): the op under Keras'
// MultiHeadAttention. Scores, mask, softmax, dropout and the weighted sum run
// in one launch, the backward in three (row statistics, dk and dv together,
// dq) and a split of dk‖dv, and no [T, S] score matrix is ever written to global memory: keys and
// values (queries in dk/dv's launch) pass through workgroup memory a tile at
// a time, the softmax kept online. The gradient rule (src/graph/rules.ts) records
//   stats = attentionStats(lse, out, dout)
//   dkv = attentionBackwardKV(q, k, v, dout, stats (, mask) (, step)); dk, dv = splitLast(dkv)
//   dq = attentionBackwardQ(q, k, v, dout, stats (, mask) (, step))
// Three launches rather than one, and dk, dv packed into one output, keep
// every launch within 8 storage buffers, WebGPU's default per shader stage.
import { ShapeError, ValueError } from '../core/errors.js';
import type { TensorInfo } from '../core/shape.js';
import { f32, fmt } from '../core/shape.js';
import hash from '../../shaders/hash.wgsl?raw';
import code from '../../shaders/attention.wgsl?raw';
import type { AttentionDims, AttentionLayout } from './attention-reference.js';
import { attentionBackwardFast, attentionForwardFast } from './attention-fast.js';
import { attentionForward, attentionGradients, attentionStats as statsReference } from './attention-reference.js';
import { checkStepInput, dropoutThreshold, rateProblem, seedProblem } from './dropout.js';
import type { GpuContext, GpuLaunch, Param } from './kernel.js';
import { defineKernel, grid1d } from './kernel.js';

export type { AttentionDims, AttentionLayout } from './attention-reference.js';

const shader = { name: 'attention', code: `${hash}\n${code}` };

export interface AttentionAttrs {
  /** Query t attends keys s ≤ t only (a decoder's mask); needs as many queries as keys. Default false. */
  readonly causal?: boolean;
  /** Multiplies q·k before the softmax. Default 1/√D (Keras' MultiHeadAttention). */
  readonly scale?: number;
  /** The fraction of attention probabilities dropped while training, in [0, 1) (Keras' dropout). Default 0. */
  readonly dropout?: number;
  /** Which dropout masks, an integer in [0, 2³²), as the dropout op's. Default 0. */
  readonly seed?: number;
  /** A mask f32 [B, T, S] follows v: nonzero where query t may attend key s, 0 where not (Keras' attention_mask). */
  readonly masked?: boolean;
  /**
   * With masked: the mask is f32 [B, S] instead, nonzero where every query of sample b may attend key s: the
   * mask of padded value steps (an Embedding's maskZero), read as [B, T, S] with one row for all T. Default false.
   */
  readonly keyMask?: boolean;
  /**
   * Where the heads sit. 'bhtd' (default): q [B, H, T, D], k [B, H, S, D], v [B, H, S, Dv], out [B, H, T, Dv].
   * 'bthd': q [B, T, H, D], k [B, S, H, D], v [B, S, H, Dv], out [B, T, H, Dv]: a projection's rows
   * [B·T, H·D] reshaped, with no transpose of the heads. lse and stats follow q's rows ([B, T, H] for 'bthd').
   */
  readonly layout?: AttentionLayout;
}

/** The widest head (D and Dv) the kernels take: each invocation keeps a row of q, k, v and its gradients in registers of this size. */
export const ATTENTION_HEAD_CAP = 128;
/** Invocations per workgroup, each owning a query row (forward, dq) or a key row (dk, dv). */
export const ATTENTION_WG = 64;
/** Workgroup memory the tiles may take: 16 KiB, what every WebGPU device offers. */
const TILE_BYTES = 16384;
/** The most keys (or queries) a tile holds: the forward's score buffer per invocation (attention.wgsl's TILE_CAP). */
const TILE_CAP = 64;

const shown = (v: unknown) => (typeof v === 'number' ? String(v) : JSON.stringify(v));

function rank4(op: string, v: TensorInfo | undefined, arg: string, what: string): readonly number[] {
  if (!v || v.dtype !== 'f32' || v.shape.length !== 4) throw new ShapeError(`${op}: ${arg} must be f32 ${what}, got ${v ? fmt(v) : 'nothing'}`);
  return v.shape;
}

/** [B, H, steps, width] in the layout's axis order. */
function inLayout<X extends number | string>(layout: AttentionLayout, B: X, H: X, steps: X, width: X): X[] {
  return layout === 'bhtd' ? [B, H, steps, width] : [B, steps, H, width];
}
/** The axis names of a layout, for error messages. */
const axes = (layout: AttentionLayout, B: number | string, H: number | string, steps: number | string, width: number | string) =>
  `[${inLayout<number | string>(layout, B, H, steps, width).join(', ')}]`;

/** Checks q, k, v and the options; returns the sizes. Throws naming the argument, the shape expected and the one received. */
export function attentionDims(op: string, [q, k, v]: readonly (TensorInfo | undefined)[], attrs: AttentionAttrs): AttentionDims {
  const { layout = 'bhtd' } = attrs;
  if (layout !== 'bhtd' && layout !== 'bthd') throw new ValueError(`${op}: layout must be 'bhtd' (q [batch, heads, queries, headDim]) or 'bthd' (q [batch, queries, heads, headDim]), got ${shown(layout)}`);
  const qShape = rank4(op, q, 'q', axes(layout, 'batch', 'heads', 'queries', 'headDim'));
  // Swapping axes 1 and 2 back and forth: the layout's order read as [B, H, T, D].
  const [B, H, T, D] = inLayout(layout, qShape[0], qShape[1], qShape[2], qShape[3]);
  const kShape = rank4(op, k, 'k', `${axes(layout, B, H, 'keys', D)} (q's batch, heads and headDim)`);
  const S = layout === 'bhtd' ? kShape[2] : kShape[1];
  const vShape = rank4(op, v, 'v', `${axes(layout, B, H, S, 'valueDim')} (k's batch, heads and steps)`);
  const Dv = vShape[3];
  if (fmt(kShape) !== fmt(inLayout(layout, B, H, S, D))) throw new ShapeError(`${op}: k must be f32 ${axes(layout, B, H, 'keys', D)} (q's batch, heads and headDim), got ${fmt(k!)}`);
  if (fmt(vShape) !== fmt(inLayout(layout, B, H, S, Dv))) throw new ShapeError(`${op}: v must be f32 ${axes(layout, B, H, S, 'valueDim')} (k's batch, heads and steps), got ${fmt(v!)}`);
  if (D > ATTENTION_HEAD_CAP || Dv > ATTENTION_HEAD_CAP) {
    throw new ValueError(`${op}: the head dim (${D}) and value dim (${Dv}) may be at most ${ATTENTION_HEAD_CAP} (each invocation keeps a row of them in registers); use more heads of fewer dims`);
  }
  const { causal = false, scale = 1 / Math.sqrt(D), dropout = 0, seed = 0, masked = false, keyMask = false } = attrs;
  for (const [key, val] of [['causal', causal], ['masked', masked], ['keyMask', keyMask]] as const) {
    if (typeof val !== 'boolean') throw new ValueError(`${op}: ${key} must be true or false, got ${shown(val)}`);
  }
  if (keyMask && !masked) throw new ValueError(`${op}: keyMask says how the mask is shaped ([batch, keys]); it needs masked: true and the mask after v`);
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale <= 0) throw new ValueError(`${op}: scale must be a finite number > 0, got ${shown(scale)}`);
  if (rateProblem(dropout)) throw new ValueError(`${op}: dropout ${rateProblem(dropout)}`);
  if (seedProblem(seed)) throw new ValueError(`${op}: seed ${seedProblem(seed)}`);
  if (causal && T !== S) throw new ValueError(`${op}: a causal mask needs as many queries as keys, got ${T} queries and ${S} keys (Keras refuses it too); pass a mask [batch, ${T}, ${S}] instead`);
  return { B, H, T, S, D, Dv, causal, scale, masked, keyMask, rate: dropout, seed, layout };
}

/** The mask and the step after the fixed inputs, where attrs say so; throws naming what is missing or extra. */
function expectOptional(op: string, d: AttentionDims, rest: readonly TensorInfo[], fixed: string): void {
  const want = (d.masked ? 1 : 0) + (d.rate > 0 ? 1 : 0);
  if (rest.length !== want) {
    const names = [fixed, ...(d.masked ? ['mask'] : []), ...(d.rate > 0 ? ['step'] : [])].join(', ');
    throw new ShapeError(`${op}: with masked ${d.masked} and dropout ${d.rate} it takes the inputs ${names}, got ${rest.length > want ? 'more' : 'fewer'} (set masked: true for a mask; the step i32[1] comes with dropout > 0)`);
  }
  if (d.masked) {
    const m = rest[0];
    const want = d.keyMask ? [d.B, d.S] : [d.B, d.T, d.S];
    if (m.dtype !== 'f32' || fmt(m.shape) !== fmt(want)) throw new ShapeError(`${op}: mask must be f32 ${fmt(want)} (${d.keyMask ? '[batch, keys]' : '[batch, queries, keys]'}; 1 attend, 0 not), got ${fmt(m)}`);
  }
  if (d.rate > 0) checkStepInput(op, rest[d.masked ? 1 : 0]);
}

/** A row of n floats as the shader keeps it: ⌈n/4⌉ vec4s. */
const padded = (n: number) => 4 * Math.ceil(n / 4);

/** Keys (forward, dq) or queries (dk, dv) per workgroup-memory tile: as many as `floats` per row allow in 16 KiB, at most TILE_CAP. */
export function attentionTile(floatsPerRow: number, ctx: Pick<GpuContext, 'maxWorkgroupStorageSize'>): number {
  return Math.max(1, Math.min(TILE_CAP, Math.floor(Math.min(TILE_BYTES, ctx.maxWorkgroupStorageSize) / (4 * floatsPerRow))));
}

/** The uniform block every entry reads (attention.wgsl's Params). */
function params(d: AttentionDims, blocks: number): Param[] {
  return [
    ['u32', d.B * d.H], ['u32', d.H], ['u32', d.T], ['u32', d.S], ['f32', d.scale], ['u32', d.seed],
    ['u32', dropoutThreshold(d.rate)], ['f32', d.rate > 0 ? 1 / (1 - d.rate) : 1], ['u32', d.causal ? 1 : 0],
    // masked: 0 none, 1 a mask [B, T, S], 2 a mask of keys [B, S] (attention.wgsl's maskAt).
    ['u32', d.masked ? (d.keyMask ? 2 : 1) : 0], ['u32', d.rate > 0 ? 1 : 0], ['u32', blocks],
  ];
}

/** One launch: a workgroup per (batch·head, block of ATTENTION_WG rows); the mask and step bind after the uniform block, input 0 standing in for an absent one (unread). */
function launch(entry: string, d: AttentionDims, rows: number, tile: number, fixed: number, ctx: GpuContext): GpuLaunch {
  const blocks = Math.ceil(rows / ATTENTION_WG);
  return {
    entry,
    constants: { D: d.D, DV: d.Dv, TILE: tile, WG: ATTENTION_WG, BTHD: d.layout === 'bthd' ? 1 : 0 },
    params: params(d, blocks),
    workgroups: grid1d(d.B * d.H * blocks, 1, ctx),
    leading: fixed,
    extra: [d.masked ? fixed : 0, d.rate > 0 ? fixed + (d.masked ? 1 : 0) : 0],
  };
}

/**
 * out = softmax(scale·q·kᵀ where attended) · drop · v, per batch and head.
 * Inputs: q f32 [B, H, T, D], k [B, H, S, D], v [B, H, S, Dv] (with layout
 * 'bthd' q [B, T, H, D], k [B, S, H, D], v [B, S, H, Dv]), then with
 * `masked` mask f32 [B, T, S] (nonzero: query t attends key s; shared by the
 * heads), then with dropout > 0 the step i32[1] the training step writes.
 * Outputs: out [B, H, T, Dv] and lse [B, H, T] ('bthd': [B, T, H, Dv] and
 * [B, T, H]), each row's log Σ exp(scale·q·k)
 * over the keys it attends, which the backward reads.
 * Dropout zeroes probability (t, s) of head (b, h) where the dropout op would
 * zero element ((b·H + h)·T + t)·S + s of a [B, H, T, S] tensor with the same
 * seed and step (in either layout), and scales the rest by 1/(1 − rate); it is drawn again from
 * the hash in the backward, never stored.
 * A query that attends no key (every key masked) outputs 0 and passes no
 * gradient (its lse is 0, unread). PyTorch's scaled_dot_product_attention
 * gives NaN there; Keras' MultiHeadAttention, which adds −1e9 to masked
 * scores, gives a near-uniform row in float32 (x − 1e9 rounds to multiples
 * of 64: the mean of the values) and the unmasked row in exact arithmetic.
 * D and Dv at most ATTENTION_HEAD_CAP (128); causal needs T = S.
 */
export const attention = defineKernel<AttentionAttrs>({
  name: 'attention',
  shader,
  outputs(inputs, attrs) {
    const d = attentionDims('attention', inputs, attrs);
    expectOptional('attention', d, inputs.slice(3), 'q, k, v');
    return [f32(inLayout(d.layout, d.B, d.H, d.T, d.Dv)), f32(inLayout(d.layout, d.B, d.H, d.T, d.Dv).slice(0, 3))];
  },
  cpu(inputs, outputs, infos, attrs) {
    attentionForward(attentionDims('attention', infos, attrs), inputs, outputs);
  },
  cpuFast(inputs, outputs, infos, attrs) {
    attentionForwardFast(attentionDims('attention', infos, attrs), inputs, outputs);
  },
  gpu(inputs, attrs, ctx) {
    const d = attentionDims('attention', inputs, attrs);
    return launch('attention_forward', d, d.T, attentionTile(padded(d.D) + padded(d.Dv), ctx), 3, ctx);
  },
});

function expectRows(op: string, v: TensorInfo | undefined, shape: readonly number[], arg: string, why: string): void {
  if (!v || v.dtype !== 'f32' || fmt(v.shape) !== fmt(shape)) throw new ShapeError(`${op}: ${arg} must be f32 ${fmt(shape)} (${why}), got ${v ? fmt(v) : 'nothing'}`);
}

/**
 * stats [B, H, T, 2] = (lse, Σ_j dout·out) per query row: FlashAttention-2's Dᵢ beside the saved logsumexp. Inputs lse, out, dout.
 * Row by row, so it needs no layout: with 'bthd' lse [B, T, H] and out [B, T, H, Dv] give stats [B, T, H, 2].
 */
export const attentionStats = defineKernel<Readonly<Record<string, never>>>({
  name: 'attentionStats',
  shader,
  outputs([lse, out, dout]) {
    const op = 'attentionStats';
    if (!lse || lse.dtype !== 'f32' || lse.shape.length !== 3) throw new ShapeError(`${op}: lse must be f32 [batch, heads, queries], attention's second output, got ${lse ? fmt(lse) : 'nothing'}`);
    const Dv = out?.shape[3] ?? 0;
    expectRows(op, out, [...lse.shape, Dv], 'out', "attention's output [batch, heads, queries, valueDim]");
    expectRows(op, dout, out!.shape, 'dout', "the gradient of attention's output");
    return [f32([...lse.shape, 2])];
  },
  cpu(inputs, outputs, [, out]) {
    statsReference(inputs, outputs, out.shape[3]);
  },
  gpu([lse, out], _attrs, ctx) {
    const rows = lse.shape[0] * lse.shape[1] * lse.shape[2];
    return { entry: 'attention_stats', constants: { DV: out.shape[3] }, params: [['u32', rows]], workgroups: grid1d(rows, ATTENTION_WG, ctx) };
  },
});

/** The backward kernels' inputs q, k, v, dout, stats (, mask) (, step), checked. */
function backwardDims(op: string, inputs: readonly TensorInfo[], attrs: AttentionAttrs): AttentionDims {
  const d = attentionDims(op, inputs, attrs);
  expectRows(op, inputs[3], inLayout(d.layout, d.B, d.H, d.T, d.Dv), 'dout', "the gradient of attention's output");
  expectRows(op, inputs[4], inLayout(d.layout, d.B, d.H, d.T, 2), 'stats', "attentionStats' (lse, Σ dout·out) per query");
  expectOptional(op, d, inputs.slice(5), 'q, k, v, dout, stats');
  return d;
}

/**
 * dk and dv, packed as dkv [B, H, S, D + Dv] ('bthd': [B, S, H, D + Dv]) (each key's dk then its dv; the
 * rule splits them), from (q, k, v, dout, stats (, mask) (, step)). Each
 * invocation owns a key; the queries pass through workgroup memory in tiles.
 */
export const attentionBackwardKV = defineKernel<AttentionAttrs>({
  name: 'attentionBackwardKV',
  shader,
  outputs(inputs, attrs) {
    const d = backwardDims('attentionBackwardKV', inputs, attrs);
    return [f32(inLayout(d.layout, d.B, d.H, d.S, d.D + d.Dv))];
  },
  cpu(inputs, [dkv], infos, attrs) {
    const d = attentionDims('attentionBackwardKV', infos, attrs);
    const { dk, dv } = attentionGradients(d, inputs);
    for (let r = 0; r < d.B * d.H * d.S; r++) {
      for (let i = 0; i < d.D; i++) dkv[r * (d.D + d.Dv) + i] = dk[r * d.D + i];
      for (let j = 0; j < d.Dv; j++) dkv[r * (d.D + d.Dv) + d.D + j] = dv[r * d.Dv + j];
    }
  },
  cpuFast(inputs, [dkv], infos, attrs) {
    attentionBackwardFast(attentionDims('attentionBackwardKV', infos, attrs), inputs, dkv, 'kv');
  },
  gpu(inputs, attrs, ctx) {
    const d = attentionDims('attentionBackwardKV', inputs, attrs);
    return launch('attention_backward_kv', d, d.S, attentionTile(padded(d.D) + padded(d.Dv) + 2, ctx), 5, ctx);
  },
});

/** dq, q's shape, from (q, k, v, dout, stats (, mask) (, step)). Each invocation owns a query; keys and values pass through workgroup memory in tiles. */
export const attentionBackwardQ = defineKernel<AttentionAttrs>({
  name: 'attentionBackwardQ',
  shader,
  outputs(inputs, attrs) {
    const d = backwardDims('attentionBackwardQ', inputs, attrs);
    return [f32(inLayout(d.layout, d.B, d.H, d.T, d.D))];
  },
  cpu(inputs, [dq], infos, attrs) {
    dq.set(attentionGradients(attentionDims('attentionBackwardQ', infos, attrs), inputs).dq);
  },
  cpuFast(inputs, [dq], infos, attrs) {
    attentionBackwardFast(attentionDims('attentionBackwardQ', infos, attrs), inputs, dq, 'q');
  },
  gpu(inputs, attrs, ctx) {
    const d = attentionDims('attentionBackwardQ', inputs, attrs);
    return launch('attention_backward_q', d, d.T, attentionTile(padded(d.D) + padded(d.Dv), ctx), 5, ctx);
  },
});
