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
  /** A step mask [B, T] follows the cell's other inputs (attrs.masked). */
  readonly masked: boolean;
  /** A recurrent dropout mask [B, U] follows, after the step mask if any (attrs.recurrentDropout). */
  readonly dropout: boolean;
}

/** The optional inputs after the `first` fixed ones: the step mask and the recurrent dropout mask, in that order. */
export function masksOf({ masked, dropout }: Pick<Dims, 'masked' | 'dropout'>, inputs: readonly HostArray[], first: number): { mask?: HostArray; rmask?: HostArray } {
  return { mask: masked ? inputs[first] : undefined, rmask: dropout ? inputs[first + (masked ? 1 : 0)] : undefined };
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

/** Per unit: the recurrent dropout mask of sample b, or 1s. */
const dropOf = (rmask: HostArray | undefined, b: number, U: number) => Array.from({ length: U }, (_, k) => (rmask ? rmask[b * U + k] : 1));

/**
 * Forward over every sample and step: inputs xp, whh (, bhh) (, mask) (, rmask);
 * outputs hs, hprev (, cache). A masked step (mask 0) keeps h and c: hs there
 * is the carried state, LSTM's cached c the carried c. The dropout mask m
 * multiplies h_prev where it enters the recurrent matmul only, as Keras 3's
 * cells do; hprev holds h_prev ⊙ m, the rows dwhh pairs with.
 */
export function recurrentForward(dims: Dims, inputs: readonly HostArray[], [hs, hprev, cache]: readonly HostArray[]): void {
  const { cell, B, T, U, G, resetAfter } = dims;
  const [xp, whh] = inputs;
  const bhh = cell === 'gru' && resetAfter ? inputs[2] : undefined;
  const { mask, rmask } = masksOf(dims, inputs, bhh ? 3 : 2);
  const GU = G * U;
  const CW = cacheWidth(dims);
  for (let b = 0; b < B; b++) {
    const drop = dropOf(rmask, b, U);
    let h = new Array<number>(U).fill(0);
    let c = new Array<number>(U).fill(0);
    for (let s = 0; s < T; s++) {
      const row = b * T + timeOf(s, dims);
      const real = !mask || mask[row] !== 0;
      const x = (g: number, j: number) => xp[row * GU + g * U + j];
      const put = (q: number, v: number[]) => v.forEach((e, j) => (cache[row * CW + q * U + j] = e));
      const hm = h.map((v, k) => v * drop[k]);
      for (let j = 0; j < U; j++) hprev[row * U + j] = hm[j];
      let next: number[];
      if (cell === 'simpleRnn') {
        const a = vecMat(hm, whh, U, U, GU, 0);
        next = a.map((v, j) => Math.tanh(x(0, j) + v));
      } else if (cell === 'lstm') {
        const a = vecMat(hm, whh, U, GU, GU, 0);
        const pre = (g: number) => a.slice(g * U, (g + 1) * U).map((v, j) => x(g, j) + v);
        const [i, f, gg, o] = [pre(0).map(sigmoid), pre(1).map(sigmoid), pre(2).map(Math.tanh), pre(3).map(sigmoid)];
        const cNew = c.map((cp, j) => f[j] * cp + i[j] * gg[j]);
        next = o.map((oj, j) => oj * Math.tanh(cNew[j]));
        if (real) c = cNew;
        [i, f, gg, o, c].forEach((v, q) => put(q, v));
      } else {
        // Keras' GRUCell: [rz, rr, rh] = hm·whh (+ bhh); z = σ(xz + rz), r = σ(xr + rr).
        const rec = vecMat(hm, whh, U, resetAfter ? GU : 2 * U, GU, 0).map((v, m) => v + (resetAfter ? (bhh as HostArray)[m] : 0));
        const z = h.map((_, j) => sigmoid(x(0, j) + rec[j]));
        const r = h.map((_, j) => sigmoid(x(1, j) + rec[U + j]));
        let hh: number[];
        if (resetAfter) {
          const rh = rec.slice(2 * U);
          hh = h.map((_, j) => Math.tanh(x(2, j) + r[j] * rh[j]));
          put(3, rh);
        } else {
          const gated = hm.map((hk, k) => r[k] * hk);
          for (let j = 0; j < U; j++) hprev[B * T * U + row * U + j] = gated[j];
          const rh = vecMat(gated, whh, U, U, GU, 2 * U);
          hh = h.map((_, j) => Math.tanh(x(2, j) + rh[j]));
        }
        [z, r, hh].forEach((v, q) => put(q, v));
        // The carry z ⊙ h_prev takes the state itself, not the dropped one.
        next = h.map((hp, j) => z[j] * hp + (1 - z[j]) * hh[j]);
      }
      if (!real) next = h;
      for (let j = 0; j < U; j++) hs[(b * T + s) * U + j] = next[j];
      h = next;
    }
  }
}

/**
 * Backward through time over every sample: inputs dhs, hs, cache (none for
 * SimpleRNN), whh (, mask) (, rmask); outputs dxp and, for the GRU, drec (see
 * recurrent.ts). h_prev is hs at the step processed before (0 at the first):
 * hs holds the carried state at masked steps. A masked step's gate gradients
 * are 0 and dh (dc) pass to the step before unchanged.
 */
export function recurrentBackward(dims: Dims, inputs: readonly HostArray[], [dxp, drec]: readonly HostArray[]): void {
  const { cell, B, T, U, G, resetAfter } = dims;
  const [dhs, hs] = inputs;
  const cache = cell === 'simpleRnn' ? undefined : inputs[2];
  const wi = cell === 'simpleRnn' ? 2 : 3;
  const whh = inputs[wi];
  const { mask, rmask } = masksOf(dims, inputs, wi + 1);
  const GU = G * U;
  const CW = cacheWidth(dims);
  const half = B * T * GU;
  const zeros = () => new Array<number>(U).fill(0);
  for (let b = 0; b < B; b++) {
    const drop = dropOf(rmask, b, U);
    let dhNext = zeros();
    let dcNext = zeros();
    for (let s = T - 1; s >= 0; s--) {
      const row = b * T + timeOf(s, dims);
      const get = (q: number, r = row) => Array.from({ length: U }, (_, j) => (cache as HostArray)[r * CW + q * U + j]);
      const dh = dhNext.map((v, j) => v + dhs[(b * T + s) * U + j]);
      if (mask && mask[row] === 0) {
        for (let m = 0; m < GU; m++) {
          dxp[row * GU + m] = 0;
          if (drec) drec[row * GU + m] = 0;
          if (drec && !resetAfter) drec[half + row * GU + m] = 0;
        }
        dhNext = dh;
        continue;
      }
      const hp = s > 0 ? Array.from({ length: U }, (_, j) => hs[(b * T + s - 1) * U + j]) : zeros();
      // The gradients of the pre-activations from xp (dx) and of the recurrent ones hm·whh (+ bhh) (dr);
      // direct: dh_prev's part that skips the matmul (GRU's z ⊙ h_prev), recurrent: the part through hm.
      let dx: number[];
      let dr: number[];
      let direct = zeros();
      let recurrent = zeros();
      if (cell === 'simpleRnn') {
        dx = dh.map((d, j) => d * (1 - hs[(b * T + s) * U + j] ** 2));
        dr = dx;
      } else if (cell === 'lstm') {
        const [i, f, g, o, c] = [0, 1, 2, 3, 4].map((q) => get(q));
        const cPrev = s > 0 ? get(4, b * T + timeOf(s - 1, dims)) : zeros();
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
          // h̃ = tanh(xh + (r ⊙ hm)·whh_h): the gated state's gradient reaches r and hm.
          const dGated = matVec(whh, dph, U, U, GU, 2 * U);
          const dR = dGated.map((d, k) => d * hp[k] * drop[k] * r[k] * (1 - r[k]));
          recurrent = dGated.map((d, k) => d * r[k]);
          dx = [...dz, ...dR, ...dph];
          dr = [...dz, ...dR, ...zeros()];
          for (let m = 0; m < GU; m++) drec[half + row * GU + m] = m < 2 * U ? 0 : dph[m - 2 * U];
        }
      }
      for (let m = 0; m < GU; m++) {
        dxp[row * GU + m] = dx[m];
        if (drec) drec[row * GU + m] = dr[m];
      }
      const width = cell === 'gru' && !resetAfter ? 2 * U : GU;
      const back = matVec(whh, dr, U, width, GU, 0);
      dhNext = back.map((v, k) => direct[k] + drop[k] * (v + recurrent[k]));
    }
  }
}
