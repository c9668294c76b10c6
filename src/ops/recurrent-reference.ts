// The plain CPU forms of the recurrent kernels (src/ops/recurrent.ts), written
// from Keras 2's SimpleRNNCell, LSTMCell and GRUCell (keras/layers/recurrent.py)
// step by step, whole gate vectors at a time: a form apart from the WGSL's
// per-unit loops, so that it can catch a mistake there. In the precision of
// the arrays given (float64 in the tests).
import type { HostArray } from './kernel.js';

export type RecurrentCell = 'simpleRnn' | 'lstm' | 'gru';

/** The sizes and options one launch sees. */
export interface Dims {
  readonly cell: RecurrentCell;
  readonly B: number;
  readonly T: number;
  readonly U: number;
  /** Gates: 1, 4 (i, f, c, o), 3 (z, r, h). */
  readonly G: number;
  readonly backwards: boolean;
  readonly resetAfter: boolean;
}

/** Floats per step in the cache: LSTM i, f, g, o, c; GRU z, r, h̃ (and rh with resetAfter); none for SimpleRNN. */
export function cacheWidth({ cell, U, resetAfter }: Pick<Dims, 'cell' | 'U' | 'resetAfter'>): number {
  return cell === 'lstm' ? 5 * U : cell === 'gru' ? (resetAfter ? 4 : 3) * U : 0;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** The input's time index of the s-th step processed. */
export const timeOf = (s: number, { T, backwards }: Pick<Dims, 'T' | 'backwards'>) => (backwards ? T - 1 - s : s);

/** v·W for v [K] and W [K, N] with row stride `stride` starting at column `col`. */
function vecMat(v: ArrayLike<number>, w: HostArray, K: number, N: number, stride: number, col: number): number[] {
  const out = new Array<number>(N).fill(0);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) out[n] += v[k] * w[k * stride + col + n];
  return out;
}

/** W·d for W [K, N] (stride, first column col) and d [N]: the gradient of v in v·W. */
function matVec(w: HostArray, d: ArrayLike<number>, K: number, N: number, stride: number, col: number): number[] {
  const out = new Array<number>(K).fill(0);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) out[k] += w[k * stride + col + n] * d[n];
  return out;
}

/** Forward over every sample and step: inputs xp, whh (, bhh); outputs hs, hprev (, cache). */
export function recurrentForward(dims: Dims, [xp, whh, bhh]: readonly HostArray[], [hs, hprev, cache]: readonly HostArray[]): void {
  const { cell, B, T, U, G, resetAfter } = dims;
  const GU = G * U;
  const CW = cacheWidth(dims);
  for (let b = 0; b < B; b++) {
    let h = new Array<number>(U).fill(0);
    let c = new Array<number>(U).fill(0);
    for (let s = 0; s < T; s++) {
      const row = b * T + timeOf(s, dims);
      const x = (g: number, j: number) => xp[row * GU + g * U + j];
      const put = (q: number, v: number[]) => v.forEach((e, j) => (cache[row * CW + q * U + j] = e));
      for (let j = 0; j < U; j++) hprev[row * U + j] = h[j];
      let next: number[];
      if (cell === 'simpleRnn') {
        const a = vecMat(h, whh, U, U, GU, 0);
        next = a.map((v, j) => Math.tanh(x(0, j) + v));
      } else if (cell === 'lstm') {
        const a = vecMat(h, whh, U, GU, GU, 0);
        const pre = (g: number) => a.slice(g * U, (g + 1) * U).map((v, j) => x(g, j) + v);
        const [i, f, gg, o] = [pre(0).map(sigmoid), pre(1).map(sigmoid), pre(2).map(Math.tanh), pre(3).map(sigmoid)];
        c = c.map((cp, j) => f[j] * cp + i[j] * gg[j]);
        next = o.map((oj, j) => oj * Math.tanh(c[j]));
        [i, f, gg, o, c].forEach((v, q) => put(q, v));
      } else {
        // Keras' GRUCell: [rz, rr, rh] = h·whh (+ bhh); z = σ(xz + rz), r = σ(xr + rr).
        const rec = vecMat(h, whh, U, resetAfter ? GU : 2 * U, GU, 0).map((v, m) => v + (resetAfter ? bhh[m] : 0));
        const z = h.map((_, j) => sigmoid(x(0, j) + rec[j]));
        const r = h.map((_, j) => sigmoid(x(1, j) + rec[U + j]));
        let hh: number[];
        if (resetAfter) {
          const rh = rec.slice(2 * U);
          hh = h.map((_, j) => Math.tanh(x(2, j) + r[j] * rh[j]));
          put(3, rh);
        } else {
          const gated = h.map((hk, k) => r[k] * hk);
          for (let j = 0; j < U; j++) hprev[B * T * U + row * U + j] = gated[j];
          const rh = vecMat(gated, whh, U, U, GU, 2 * U);
          hh = h.map((_, j) => Math.tanh(x(2, j) + rh[j]));
        }
        [z, r, hh].forEach((v, q) => put(q, v));
        next = h.map((hp, j) => z[j] * hp + (1 - z[j]) * hh[j]);
      }
      for (let j = 0; j < U; j++) hs[(b * T + s) * U + j] = next[j];
      h = next;
    }
  }
}

/**
 * Backward through time over every sample: inputs dhs, hs, hprev, cache (none
 * for SimpleRNN), whh; outputs dxp and, for the GRU, drec (see recurrent.ts).
 */
export function recurrentBackward(dims: Dims, inputs: readonly HostArray[], [dxp, drec]: readonly HostArray[]): void {
  const { cell, B, T, U, G, resetAfter } = dims;
  const [dhs, hs, hprev] = inputs;
  const cache = cell === 'simpleRnn' ? undefined : inputs[3];
  const whh = inputs[cell === 'simpleRnn' ? 3 : 4];
  const GU = G * U;
  const CW = cacheWidth(dims);
  const half = B * T * GU;
  for (let b = 0; b < B; b++) {
    let dhNext = new Array<number>(U).fill(0);
    let dcNext = new Array<number>(U).fill(0);
    for (let s = T - 1; s >= 0; s--) {
      const row = b * T + timeOf(s, dims);
      const get = (q: number, r = row) => Array.from({ length: U }, (_, j) => (cache as HostArray)[r * CW + q * U + j]);
      const dh = dhNext.map((v, j) => v + dhs[(b * T + s) * U + j]);
      const hp = Array.from({ length: U }, (_, j) => hprev[row * U + j]);
      // The gradients of the pre-activations from xp (dx) and of the recurrent ones h_prev·whh (+ bhh) (dr).
      let dx: number[];
      let dr: number[];
      let direct = new Array<number>(U).fill(0);
      if (cell === 'simpleRnn') {
        dx = dh.map((d, j) => d * (1 - hs[(b * T + s) * U + j] ** 2));
        dr = dx;
      } else if (cell === 'lstm') {
        const [i, f, g, o, c] = [0, 1, 2, 3, 4].map((q) => get(q));
        const cPrev = s > 0 ? get(4, b * T + timeOf(s - 1, dims)) : new Array<number>(U).fill(0);
        const tc = c.map(Math.tanh);
        const dc = dcNext.map((v, j) => v + dh[j] * o[j] * (1 - tc[j] ** 2));
        dx = [
          ...dc.map((d, j) => d * g[j] * i[j] * (1 - i[j])),
          ...dc.map((d, j) => d * cPrev[j] * f[j] * (1 - f[j])),
          ...dc.map((d, j) => d * i[j] * (1 - g[j] ** 2)),
          ...dh.map((d, j) => d * tc[j] * o[j] * (1 - o[j])),
        ];
        dr = dx;
        dcNext = dc.map((d, j) => d * f[j]);
      } else {
        const [z, r, hh] = [0, 1, 2].map((q) => get(q));
        const dz = dh.map((d, j) => d * (hp[j] - hh[j]) * z[j] * (1 - z[j]));
        const dph = dh.map((d, j) => d * (1 - z[j]) * (1 - hh[j] ** 2));
        direct = dh.map((d, j) => d * z[j]);
        if (resetAfter) {
          const rh = get(3);
          const dR = dph.map((d, j) => d * rh[j] * r[j] * (1 - r[j]));
          dx = [...dz, ...dR, ...dph];
          dr = [...dz, ...dR, ...dph.map((d, j) => d * r[j])];
        } else {
          // h̃ = tanh(xh + (r ⊙ h_prev)·whh_h): the gated state's gradient reaches r and h_prev.
          const dGated = matVec(whh, dph, U, U, GU, 2 * U);
          const dR = dGated.map((d, k) => d * hp[k] * r[k] * (1 - r[k]));
          direct = direct.map((v, k) => v + dGated[k] * r[k]);
          dx = [...dz, ...dR, ...dph];
          dr = [...dz, ...dR, ...new Array<number>(U).fill(0)];
          for (let m = 0; m < GU; m++) drec[half + row * GU + m] = m < 2 * U ? 0 : dph[m - 2 * U];
        }
      }
      for (let m = 0; m < GU; m++) {
        dxp[row * GU + m] = dx[m];
        if (drec) drec[row * GU + m] = dr[m];
      }
      const width = cell === 'gru' && !resetAfter ? 2 * U : GU;
      const back = matVec(whh, dr, U, width, GU, 0);
      dhNext = back.map((v, k) => v + direct[k]);
    }
  }
}
