// The plain CPU version of the attention kernels (src/ops/attention.ts): the
// formulas written out row by row, in the precision of the arrays given
// (float64 in the tests), independent of shaders/attention.wgsl's tiling and
// online softmax.
import type { HostArray } from './kernel.js';
import { dropoutKeeps, dropoutThreshold } from './dropout.js';

/** The sizes and options of one attention launch, checked (attention.ts: attentionDims). */
export interface AttentionDims {
  readonly B: number;
  readonly H: number;
  /** Query steps. */
  readonly T: number;
  /** Key and value steps. */
  readonly S: number;
  /** Query and key width (the head dim). */
  readonly D: number;
  /** Value width. */
  readonly Dv: number;
  readonly causal: boolean;
  readonly scale: number;
  readonly masked: boolean;
  /** With masked: the mask is [B, S], one row of keys for every query of a sample (a mask of padded key steps). */
  readonly keyMask: boolean;
  /** The dropout rate on the probabilities; 0: none, and no step input. */
  readonly rate: number;
  readonly seed: number;
  /** 'bhtd': q [B, H, T, D] (heads outermost); 'bthd': q [B, T, H, D], the projections' rows as they come. */
  readonly layout: AttentionLayout;
}

/** Where the heads sit: 'bhtd' q [B, H, T, D] (PyTorch's), 'bthd' q [B, T, H, D] (a projection's [B·T, H·D] rows reshaped). */
export type AttentionLayout = 'bhtd' | 'bthd';

/**
 * The row of step t of head bh = b·H + h in a tensor of `steps` steps (T for
 * q, out, dout, lse and stats; S for k, v and dk‖dv) in the layout:
 * (b·H + h)·steps + t for 'bhtd', (b·steps + t)·H + h for 'bthd'.
 */
export function rowOf(d: Pick<AttentionDims, 'H' | 'layout'>, bh: number, t: number, steps: number): number {
  if (d.layout === 'bhtd') return bh * steps + t;
  const b = Math.floor(bh / d.H);
  return (b * steps + t) * d.H + (bh - b * d.H);
}

/** The index of (b, t, s) in the mask: [B, T, S], or [B, S] with keyMask (every query reads its sample's one row). */
export function maskIndex(d: Pick<AttentionDims, 'T' | 'S' | 'keyMask'>, b: number, t: number, s: number): number {
  return d.keyMask ? b * d.S + s : (b * d.T + t) * d.S + s;
}

/**
 * Whether query t of sample b attends key s: causal keeps s ≤ t, the mask
 * [B, T, S] (or [B, S] with keyMask) keeps its nonzero entries.
 */
export function attends(d: AttentionDims, mask: HostArray | undefined, b: number, t: number, s: number): boolean {
  if (d.causal && s > t) return false;
  return !d.masked || mask![maskIndex(d, b, t, s)] !== 0;
}

/**
 * The dropout factor of probability (b·H + h, t, s): 0 or 1/(1 − rate), drawn
 * as the dropout op draws element ((b·H + h)·T + t)·S + s of a [B, H, T, S]
 * tensor, so attention's masks are the dropout op's on the probabilities,
 * and the same in either layout.
 */
export function dropFactor(d: AttentionDims, step: number, bh: number, t: number, s: number): number {
  if (d.rate === 0) return 1;
  return dropoutKeeps(d.seed, step, (bh * d.T + t) * d.S + s, dropoutThreshold(d.rate)) ? 1 / (1 - d.rate) : 0;
}

/** The inputs after q, k, v (forward) or q, k, v, dO, stats (backward): the mask and the step, where attrs say so. */
export function optionalInputs(d: AttentionDims, rest: readonly HostArray[]): { mask?: HostArray; step: number } {
  const mask = d.masked ? rest[0] : undefined;
  const step = d.rate > 0 ? rest[d.masked ? 1 : 0][0] : 0;
  return { mask, step };
}

/** Row (bh, t)'s scaled scores and whether each key is attended. */
function scores(d: AttentionDims, q: HostArray, k: HostArray, mask: HostArray | undefined, bh: number, t: number): { x: Float64Array; ok: boolean[] } {
  const { T, S, D, H } = d;
  const x = new Float64Array(S);
  const ok: boolean[] = [];
  for (let s = 0; s < S; s++) {
    ok.push(attends(d, mask, Math.floor(bh / H), t, s));
    if (!ok[s]) continue;
    let dot = 0;
    for (let i = 0; i < D; i++) dot += q[rowOf(d, bh, t, T) * D + i] * k[rowOf(d, bh, s, S) * D + i];
    x[s] = d.scale * dot;
  }
  return { x, ok };
}

/**
 * out[t] = Σ_s softmax(scale·q_t·k_s over attended s) · drop(t, s) · v_s and
 * lse[t] = log Σ_s exp(scale·q_t·k_s); a row that attends no key gets out 0
 * and lse 0 (unread: its backward recomputes no probability).
 */
export function attentionForward(d: AttentionDims, [q, k, v, ...rest]: readonly HostArray[], [out, lse]: readonly HostArray[]): void {
  const { B, H, T, S, Dv } = d;
  const { mask, step } = optionalInputs(d, rest);
  for (let bh = 0; bh < B * H; bh++) {
    for (let t = 0; t < T; t++) {
      const { x, ok } = scores(d, q, k, mask, bh, t);
      let max = -Infinity;
      for (let s = 0; s < S; s++) if (ok[s]) max = Math.max(max, x[s]);
      const r = rowOf(d, bh, t, T);
      const o = r * Dv;
      for (let j = 0; j < Dv; j++) out[o + j] = 0;
      if (max === -Infinity) {
        lse[r] = 0;
        continue;
      }
      let sum = 0;
      for (let s = 0; s < S; s++) if (ok[s]) sum += Math.exp(x[s] - max);
      for (let s = 0; s < S; s++) {
        if (!ok[s]) continue;
        const p = (Math.exp(x[s] - max) / sum) * dropFactor(d, step, bh, t, s);
        for (let j = 0; j < Dv; j++) out[o + j] += p * v[rowOf(d, bh, s, S) * Dv + j];
      }
      lse[r] = max + Math.log(sum);
    }
  }
}

/**
 * The backward's row statistics, FlashAttention-2's, row by row in whatever
 * layout lse, out and dout share: stats[r] = (lse[r],
 * Σ_j dO[r, j]·out[r, j]), the latter equal to Σ_s P·dP of the row (P the
 * probabilities, dP their gradient after dropout's factor).
 */
export function attentionStats([lse, out, dout]: readonly HostArray[], [stats]: readonly HostArray[], Dv: number): void {
  for (let r = 0; r < lse.length; r++) {
    let dot = 0;
    for (let j = 0; j < Dv; j++) dot += dout[r * Dv + j] * out[r * Dv + j];
    stats[2 * r] = lse[r];
    stats[2 * r + 1] = dot;
  }
}

/**
 * dq, dk, dv from (q, k, v, dO, stats (, mask) (, step)), as FlashAttention-2
 * computes them: P = exp(scale·q·k − lse), dP = (dO·v)·drop, dS = P·(dP − Dᵢ),
 * dq = scale·Σ_s dS·k, dk = scale·Σ_t dS·q, dv = Σ_t P·drop·dO. A key a query
 * does not attend gives that pair nothing.
 */
export function attentionGradients(d: AttentionDims, [q, k, v, dout, stats, ...rest]: readonly HostArray[]): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const { B, H, T, S, D, Dv } = d;
  const { mask, step } = optionalInputs(d, rest);
  const dq = new Float64Array(B * H * T * D);
  const dk = new Float64Array(B * H * S * D);
  const dv = new Float64Array(B * H * S * Dv);
  for (let bh = 0; bh < B * H; bh++) {
    for (let t = 0; t < T; t++) {
      const r = rowOf(d, bh, t, T);
      const { x, ok } = scores(d, q, k, mask, bh, t);
      for (let s = 0; s < S; s++) {
        if (!ok[s]) continue;
        const ks = rowOf(d, bh, s, S);
        const p = Math.exp(x[s] - stats[2 * r]);
        const drop = dropFactor(d, step, bh, t, s);
        let dp = 0;
        for (let j = 0; j < Dv; j++) dp += dout[r * Dv + j] * v[ks * Dv + j];
        const ds = p * (dp * drop - stats[2 * r + 1]);
        for (let j = 0; j < Dv; j++) dv[ks * Dv + j] += p * drop * dout[r * Dv + j];
        for (let i = 0; i < D; i++) {
          dq[r * D + i] += d.scale * ds * k[ks * D + i];
          dk[ks * D + i] += d.scale * ds * q[r * D + i];
        }
      }
    }
  }
  return { dq, dk, dv };
}
