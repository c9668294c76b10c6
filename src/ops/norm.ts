// Batch and layer normalization over the last axis (Keras' axis=-1): the ops
// under BatchNormalization and LayerNormalization, and their gradients.
import { ShapeError, ValueError } from '../core/errors.js';
import type { TensorInfo } from '../core/shape.js';
import { f32, fmt, sizeOf } from '../core/shape.js';
import code from '../../shaders/norm.wgsl?raw';
import type { GpuContext, GpuLaunch, Param } from './kernel.js';
import { defineKernel, grid1d } from './kernel.js';

const shader = { name: 'norm', code };
const WG = 256;

export interface NormAttrs {
  /** Added to the variance before the square root (Keras' default 1e-3). */
  readonly epsilon: number;
}

export interface MovingAverageAttrs {
  /** The old average's weight: Keras' momentum (default 0.99), PyTorch's 1 − momentum. */
  readonly momentum: number;
}

/** What is wrong with an epsilon, or null: the kernels and the layers' options say it alike. */
export function epsilonProblem(v: unknown): string | null {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? null : `must be a positive number, got ${typeof v === 'number' ? v : JSON.stringify(v)}`;
}

/** What is wrong with a moving average's momentum, or null. */
export function momentumProblem(v: unknown): string | null {
  return typeof v === 'number' && v >= 0 && v < 1 ? null : `must be a number in [0, 1), got ${typeof v === 'number' ? v : JSON.stringify(v)}`;
}

function checkEpsilon(op: string, { epsilon }: NormAttrs): void {
  const problem = epsilonProblem(epsilon);
  if (problem) throw new ValueError(`${op}: epsilon ${problem}`);
}

/** x [..., C] as [rows, C]: rank 2 or more, f32. */
function asRows(op: string, x: TensorInfo | undefined, arg = 'x'): [number, number] {
  if (!x || x.dtype !== 'f32' || x.shape.length < 2) throw new ShapeError(`${op}: ${arg} must be f32 of rank 2 or more, [..., channels], got ${x ? fmt(x) : 'nothing'}`);
  const C = x.shape[x.shape.length - 1];
  return [sizeOf(x.shape) / C, C];
}

/** Each of `vs` must be f32[n]. */
function expectVectors(op: string, n: number, vs: readonly (TensorInfo | undefined)[], names: readonly string[], of: string): void {
  vs.forEach((v, i) => {
    if (!v || v.dtype !== 'f32' || v.shape.length !== 1 || v.shape[0] !== n) throw new ShapeError(`${op}: ${names[i]} must be f32[${n}] (${of}), got ${v ? fmt(v) : 'nothing'}`);
  });
}

function expectLike(op: string, x: TensorInfo, d: TensorInfo | undefined, arg: string): void {
  if (!d || d.dtype !== 'f32' || fmt(d) !== fmt(x)) throw new ShapeError(`${op}: ${arg} must be ${fmt(x)} like x, got ${d ? fmt(d) : 'nothing'}`);
}

/**
 * The column tile of the reductions over rows (shaders/norm.wgsl): COLS
 * adjacent columns × ROWS lanes, 256 invocations. At most 32 columns, and
 * fewer when C is small, so that at least 8 workgroups share the work.
 */
export function normTile(cols: number): { cols: number; rows: number } {
  let c = 1;
  while (c < 32 && c * 2 * 8 <= cols) c *= 2;
  return { cols: c, rows: WG / c };
}

function columnLaunch(entry: string, rows: number, cols: number, params: readonly Param[], ctx: GpuContext): GpuLaunch {
  const tile = normTile(cols);
  return { entry, constants: { COLS: tile.cols, ROWS: tile.rows }, params, workgroups: grid1d(cols, tile.cols, ctx) };
}

const normParams = (rows: number, cols: number, eps: number, momentum = 0): Param[] => [['u32', rows], ['u32', cols], ['f32', eps], ['f32', momentum]];

/** Each column's mean and biased variance over the rows, in the arrays' precision, two passes. */
function columnMoments(x: ArrayLike<number>, R: number, C: number, mean: { [i: number]: number }, variance: { [i: number]: number }): void {
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let r = 0; r < R; r++) s += x[r * C + c];
    const m = s / R;
    let q = 0;
    for (let r = 0; r < R; r++) q += (x[r * C + c] - m) ** 2;
    mean[c] = m;
    variance[c] = q / R;
  }
}

/**
 * Batch normalization in training: each channel c (the last axis) is
 * normalized with its mean and biased variance over every other axis (the
 * batch, and the pixels of an image),
 *   y = (x − mean[c]) / √(var[c] + ε) · γ[c] + β[c],
 * and those statistics are outputs too, for the moving averages.
 * Inputs x [..., C], γ [C], β [C]; outputs y, mean [C], var [C].
 */
export const batchNorm = defineKernel<NormAttrs>({
  name: 'batchNorm',
  shader,
  outputs([x, gamma, beta], attrs) {
    const [, C] = asRows('batchNorm', x);
    expectVectors('batchNorm', C, [gamma, beta], ['gamma', 'beta'], "x's last axis");
    checkEpsilon('batchNorm', attrs);
    return [x, f32([C]), f32([C])];
  },
  cpu([x, gamma, beta], [y, mean, variance], [info], { epsilon }) {
    const [R, C] = asRows('batchNorm', info);
    columnMoments(x, R, C, mean, variance);
    for (let c = 0; c < C; c++) {
      const rstd = 1 / Math.sqrt(variance[c] + epsilon);
      for (let r = 0; r < R; r++) y[r * C + c] = (x[r * C + c] - mean[c]) * rstd * gamma[c] + beta[c];
    }
  },
  gpu([x], { epsilon }, ctx) {
    const [R, C] = asRows('batchNorm', x);
    return columnLaunch('batch_norm', R, C, normParams(R, C, epsilon), ctx);
  },
});

/**
 * batchNorm's gradient through y, with x̂ = (x − mean)·rstd and M rows:
 *   dβ = Σ dy,  dγ = Σ dy·x̂,  dx = γ·rstd/M · (M·dy − dβ − x̂·dγ)
 * (the mean and variance depend on x, hence the two correction terms).
 * Inputs x, γ, mean, var (batchNorm's), dy; outputs dx, dγ, dβ.
 */
export const batchNormBackward = defineKernel<NormAttrs>({
  name: 'batchNormBackward',
  shader,
  outputs([x, gamma, mean, variance, dy], attrs) {
    const [, C] = asRows('batchNormBackward', x);
    expectVectors('batchNormBackward', C, [gamma, mean, variance], ['gamma', 'mean', 'var'], "x's last axis");
    expectLike('batchNormBackward', x, dy, 'dy');
    checkEpsilon('batchNormBackward', attrs);
    return [x, f32([C]), f32([C])];
  },
  cpu([x, gamma, mean, variance, dy], [dx, dgamma, dbeta], [info], { epsilon }) {
    const [R, C] = asRows('batchNormBackward', info);
    for (let c = 0; c < C; c++) {
      const rstd = 1 / Math.sqrt(variance[c] + epsilon);
      let db = 0;
      let dg = 0;
      for (let r = 0; r < R; r++) {
        db += dy[r * C + c];
        dg += dy[r * C + c] * (x[r * C + c] - mean[c]) * rstd;
      }
      for (let r = 0; r < R; r++) {
        const i = r * C + c;
        dx[i] = ((gamma[c] * rstd) / R) * (R * dy[i] - db - (x[i] - mean[c]) * rstd * dg);
      }
      dgamma[c] = dg;
      dbeta[c] = db;
    }
  },
  gpu([x], { epsilon }, ctx) {
    const [R, C] = asRows('batchNormBackward', x);
    return columnLaunch('batch_norm_backward', R, C, normParams(R, C, epsilon), ctx);
  },
});

/**
 * Batch normalization in inference: the same map with given statistics (the
 * moving mean and variance), y = (x − mean[c]) / √(var[c] + ε) · γ[c] + β[c].
 * Inputs x [..., C], γ, β, mean, var [C].
 */
export const batchNormInference = defineKernel<NormAttrs>({
  name: 'batchNormInference',
  shader,
  outputs([x, gamma, beta, mean, variance], attrs) {
    const [, C] = asRows('batchNormInference', x);
    expectVectors('batchNormInference', C, [gamma, beta, mean, variance], ['gamma', 'beta', 'mean', 'var'], "x's last axis");
    checkEpsilon('batchNormInference', attrs);
    return [x];
  },
  cpu([x, gamma, beta, mean, variance], [y], [info], { epsilon }) {
    const [R, C] = asRows('batchNormInference', info);
    for (let r = 0; r < R; r++) {
      for (let c = 0; c < C; c++) y[r * C + c] = ((x[r * C + c] - mean[c]) / Math.sqrt(variance[c] + epsilon)) * gamma[c] + beta[c];
    }
  },
  gpu([x], { epsilon }, ctx) {
    const [R, C] = asRows('batchNormInference', x);
    return { entry: 'batch_norm_inference', params: normParams(R, C, epsilon), workgroups: grid1d(R * C, WG, ctx) };
  },
});

/** In place: avg = momentum·avg + (1 − momentum)·v, for batch normalization's moving statistics. Inputs v [n]; output avg [n]. */
export const movingAverage = defineKernel<MovingAverageAttrs>({
  name: 'movingAverage',
  shader,
  inout: true,
  outputs([v], { momentum }) {
    if (!v || v.dtype !== 'f32' || v.shape.length !== 1) throw new ShapeError(`movingAverage: v must be an f32 vector, got ${v ? fmt(v) : 'nothing'}`);
    if (v.shape[0] > 65535 * WG) throw new ShapeError(`movingAverage: at most ${65535 * WG} values, got ${v.shape[0]}`);
    const problem = momentumProblem(momentum);
    if (problem) throw new ValueError(`movingAverage: momentum ${problem}`);
    return [v];
  },
  cpu([v], [avg], _infos, { momentum }) {
    for (let i = 0; i < v.length; i++) avg[i] = momentum * avg[i] + (1 - momentum) * v[i];
  },
  gpu([v], { momentum }) {
    const n = v.shape[0];
    return { entry: 'moving_average', params: normParams(1, n, 0, momentum), workgroups: [Math.max(1, Math.ceil(n / WG)), 1, 1] };
  },
});

/**
 * In place, the exact mean and biased variance of every row seen so far:
 * x's per-channel mean and biased variance (two passes, as batchNorm's) are
 * merged into the running ones by Chan et al.'s parallel formula, with n rows
 * seen before (count[c]) and m = x's rows, N = n + m, δ = mean_x − mean:
 *   mean += δ·m/N,  var = var·n/N + var_x·m/N + δ²·(n/N)·(m/N),  count = N.
 * Batch by batch, this gives the statistics of the whole set (not the mean of
 * the batches' variances, which leaves out how the batches' means differ).
 * With count 0 the old mean and variance are ignored. Input x [..., C];
 * outputs mean, var, count [C] (count in f32: exact to 2^24 rows, past that
 * off by a relative 6e-8).
 */
export const accumulateMoments = defineKernel<Readonly<Record<string, never>>>({
  name: 'accumulateMoments',
  shader,
  inout: true,
  outputs([x]) {
    const [, C] = asRows('accumulateMoments', x);
    return [f32([C]), f32([C]), f32([C])];
  },
  cpu([x], [mean, variance, count], [info]) {
    const [R, C] = asRows('accumulateMoments', info);
    const bm: number[] = [];
    const bv: number[] = [];
    columnMoments(x, R, C, bm, bv);
    for (let c = 0; c < C; c++) {
      const n = count[c];
      if (n === 0) {
        mean[c] = bm[c];
        variance[c] = bv[c];
      } else {
        const N = n + R;
        const d = bm[c] - mean[c];
        mean[c] = mean[c] + (d * R) / N;
        variance[c] = variance[c] * (n / N) + bv[c] * (R / N) + d * d * (n / N) * (R / N);
      }
      count[c] = n + R;
    }
  },
  gpu([x], _attrs, ctx) {
    const [R, C] = asRows('accumulateMoments', x);
    return columnLaunch('accumulate_moments', R, C, normParams(R, C, 0), ctx);
  },
});

/**
 * Layer normalization: each row (every index but the last axis) normalized
 * over its C values, y = (x − mean) / √(var + ε) · γ + β, γ and β [C] (Keras'
 * LayerNormalization, axis −1). Outputs y, and each row's mean and
 * rstd = 1/√(var + ε) [rows], which the gradient reuses.
 */
export const layerNorm = defineKernel<NormAttrs>({
  name: 'layerNorm',
  shader,
  outputs([x, gamma, beta], attrs) {
    const [R, C] = asRows('layerNorm', x);
    expectVectors('layerNorm', C, [gamma, beta], ['gamma', 'beta'], "x's last axis");
    checkEpsilon('layerNorm', attrs);
    return [x, f32([R]), f32([R])];
  },
  cpu([x, gamma, beta], [y, mean, rstd], [info], { epsilon }) {
    const [R, C] = asRows('layerNorm', info);
    for (let r = 0; r < R; r++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += x[r * C + c];
      const m = s / C;
      let q = 0;
      for (let c = 0; c < C; c++) q += (x[r * C + c] - m) ** 2;
      const k = 1 / Math.sqrt(q / C + epsilon);
      for (let c = 0; c < C; c++) y[r * C + c] = (x[r * C + c] - m) * k * gamma[c] + beta[c];
      mean[r] = m;
      rstd[r] = k;
    }
  },
  gpu([x], { epsilon }, ctx) {
    const [R, C] = asRows('layerNorm', x);
    return { entry: 'layer_norm', params: normParams(R, C, epsilon), workgroups: grid1d(R, WG, ctx) };
  },
});

/**
 * layerNorm's gradient for x, per row, with g = dy·γ and x̂ = (x − mean)·rstd:
 *   dx = rstd · (g − mean(g) − x̂·mean(g·x̂)).
 * Inputs x, γ, mean, rstd (layerNorm's), dy; output dx.
 */
export const layerNormBackward = defineKernel<Readonly<Record<string, never>>>({
  name: 'layerNormBackward',
  shader,
  outputs([x, gamma, mean, rstd, dy]) {
    const [R, C] = asRows('layerNormBackward', x);
    expectVectors('layerNormBackward', C, [gamma], ['gamma'], "x's last axis");
    expectVectors('layerNormBackward', R, [mean, rstd], ['mean', 'rstd'], "one per row of x");
    expectLike('layerNormBackward', x, dy, 'dy');
    return [x];
  },
  cpu([x, gamma, mean, rstd, dy], [dx], [info]) {
    const [R, C] = asRows('layerNormBackward', info);
    for (let r = 0; r < R; r++) {
      let sg = 0;
      let sgx = 0;
      for (let c = 0; c < C; c++) {
        const g = dy[r * C + c] * gamma[c];
        sg += g;
        sgx += g * (x[r * C + c] - mean[r]) * rstd[r];
      }
      for (let c = 0; c < C; c++) {
        const i = r * C + c;
        dx[i] = rstd[r] * (dy[i] * gamma[c] - sg / C - (x[i] - mean[r]) * rstd[r] * (sgx / C));
      }
    }
  },
  gpu([x], _attrs, ctx) {
    const [R, C] = asRows('layerNormBackward', x);
    return { entry: 'layer_norm_backward', params: normParams(R, C, 0), workgroups: grid1d(R, WG, ctx) };
  },
});

/** layerNorm's gradient for γ and β: dγ[c] = Σ_rows dy·x̂, dβ[c] = Σ_rows dy. Inputs x, mean, rstd, dy; outputs dγ, dβ. */
export const layerNormParamGrad = defineKernel<Readonly<Record<string, never>>>({
  name: 'layerNormParamGrad',
  shader,
  outputs([x, mean, rstd, dy]) {
    const [R, C] = asRows('layerNormParamGrad', x);
    expectVectors('layerNormParamGrad', R, [mean, rstd], ['mean', 'rstd'], 'one per row of x');
    expectLike('layerNormParamGrad', x, dy, 'dy');
    return [f32([C]), f32([C])];
  },
  cpu([x, mean, rstd, dy], [dgamma, dbeta], [info]) {
    const [R, C] = asRows('layerNormParamGrad', info);
    for (let c = 0; c < C; c++) {
      let dg = 0;
      let db = 0;
      for (let r = 0; r < R; r++) {
        dg += dy[r * C + c] * (x[r * C + c] - mean[r]) * rstd[r];
        db += dy[r * C + c];
      }
      dgamma[c] = dg;
      dbeta[c] = db;
    }
  },
  gpu([x], _attrs, ctx) {
    const [R, C] = asRows('layerNormParamGrad', x);
    return columnLaunch('layer_norm_param_grad', R, C, normParams(R, C, 0), ctx);
  },
});
