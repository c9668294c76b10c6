// One-hot encoding and feature scaling. Scalers are fitted on training data
// only and then applied to any other split, so no statistic of the test set
// leaks into training. Browser-safe.
import { ShapeError, ValueError } from '../core/errors.js';
import { fmt } from '../core/shape.js';
import type { Dataset } from './dataset.js';
import { describeFeature, featureSize } from './dataset.js';

/** Labels [n] → Float32Array [n, classes] with a single 1 per row. */
export function oneHot(labels: ArrayLike<number>, classes: number): Float32Array {
  if (!Number.isInteger(classes) || classes < 1) throw new ValueError(`oneHot: classes must be a positive integer, got ${classes}`);
  const out = new Float32Array(labels.length * classes);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (!Number.isInteger(c) || c < 0 || c >= classes) {
      throw new ValueError(`oneHot: label ${c} at index ${i} is outside [0, ${classes})`);
    }
    out[i * classes + c] = 1;
  }
  return out;
}

/** What a scaler needs of its input: a Dataset fits this shape. */
export interface Features {
  x: Float32Array;
  xShape: readonly number[];
}

export interface Scaler<P> {
  /** The fitted statistics, plain numbers per feature: safe to JSON.stringify and save with a model. */
  readonly params: P;
  /** Scales x (any number of samples with the fitted feature count) into a new Float32Array. */
  transform(x: Float32Array): Float32Array;
  /** The same dataset with x scaled; y and the rest are shared, not copied. */
  transformDataset<D extends Features>(ds: D): D;
}

export interface MinMaxParams {
  min: number[];
  max: number[];
  /** Target interval, [0, 1] unless asked otherwise. */
  range: [number, number];
}

export interface StandardParams {
  mean: number[];
  /** Population standard deviation; 1 for a constant feature so nothing divides by zero. */
  std: number[];
}

function checkInput(x: Float32Array, F: number, what: string, xShape?: readonly number[]): void {
  if (x.length === 0 || x.length % F !== 0) {
    throw new ShapeError(`${what}: x holds ${x.length} values, not a positive whole number of samples of ${F} features`);
  }
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) {
      const s = Math.floor(i / F);
      const feat = xShape ? describeFeature(xShape, i - s * F) : `feature ${i - s * F}`;
      throw new ValueError(`${what}: x of sample ${s}, ${feat} is ${x[i]} (values must be finite)`);
    }
  }
}

function checkFit(data: Features, what: string): number {
  const F = featureSize(data.xShape);
  if (data.xShape.length < 2 || F === 0 || data.xShape[0] * F !== data.x.length) {
    throw new ShapeError(`${what}: xShape ${fmt(data.xShape)} does not describe x of ${data.x.length} values as [n, ...features]`);
  }
  checkInput(data.x, F, what, data.xShape);
  return F;
}

/**
 * x' = (x - center[f]) / divisor[f] + shift, the common form of both scalers.
 * Subtract-then-divide (in float64) maps min to exactly lo and max to exactly hi.
 */
function affineScaler<P>(params: P, center: Float64Array, divisor: Float64Array, shift: number, what: string): Scaler<P> {
  const F = center.length;
  const transform = (x: Float32Array): Float32Array => {
    checkInput(x, F, `${what}.transform`);
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i += F) {
      for (let f = 0; f < F; f++) out[i + f] = (x[i + f] - center[f]) / divisor[f] + shift;
    }
    return out;
  };
  return {
    params,
    transform,
    transformDataset<D extends Features>(ds: D): D {
      const Fd = featureSize(ds.xShape);
      if (Fd !== F) throw new ShapeError(`${what}: fitted on ${F} features, got xShape ${fmt(ds.xShape)} with ${Fd}`);
      return { ...ds, x: transform(ds.x) };
    },
  };
}

/** Fits per-feature min and max on `train`; transform maps [min, max] onto `range` (default [0, 1]). */
export function minMaxScaler(train: Features, range: [number, number] = [0, 1]): Scaler<MinMaxParams> {
  const F = checkFit(train, 'minMaxScaler');
  const min = new Array<number>(F).fill(Infinity);
  const max = new Array<number>(F).fill(-Infinity);
  for (let i = 0; i < train.x.length; i += F) {
    for (let f = 0; f < F; f++) {
      const v = train.x[i + f];
      if (v < min[f]) min[f] = v;
      if (v > max[f]) max[f] = v;
    }
  }
  return minMaxScalerFrom({ min, max, range: [range[0], range[1]] });
}

/** Rebuilds a min-max scaler from saved params. */
export function minMaxScalerFrom(params: MinMaxParams): Scaler<MinMaxParams> {
  const { min, max, range } = params;
  const [lo, hi] = range;
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi)) throw new ValueError(`minMaxScaler: range must be [lo, hi] with lo < hi, got [${range}]`);
  if (min.length !== max.length || min.length === 0) throw new ShapeError(`minMaxScaler: ${min.length} minima and ${max.length} maxima`);
  const divisor = new Float64Array(min.length);
  for (let f = 0; f < min.length; f++) {
    if (!(min[f] <= max[f]) || !Number.isFinite(min[f]) || !Number.isFinite(max[f])) {
      throw new ValueError(`minMaxScaler: feature ${f} has min ${min[f]} and max ${max[f]}`);
    }
    // A constant feature divides by 1: it maps to lo rather than to NaN.
    divisor[f] = (max[f] - min[f] || 1) / (hi - lo);
  }
  return affineScaler(params, Float64Array.from(min), divisor, lo, 'minMaxScaler');
}

/** Fits per-feature mean and (population) std on `train`; transform gives (x - mean) / std. */
export function standardScaler(train: Features): Scaler<StandardParams> {
  const F = checkFit(train, 'standardScaler');
  const n = train.x.length / F;
  const sum = new Float64Array(F);
  for (let i = 0; i < train.x.length; i += F) for (let f = 0; f < F; f++) sum[f] += train.x[i + f];
  const mean = Array.from(sum, (s) => s / n);
  // Second pass over deviations: no catastrophic cancellation for large means.
  const sq = new Float64Array(F);
  for (let i = 0; i < train.x.length; i += F) {
    for (let f = 0; f < F; f++) {
      const d = train.x[i + f] - mean[f];
      sq[f] += d * d;
    }
  }
  const std = Array.from(sq, (s) => Math.sqrt(s / n));
  return standardScalerFrom({ mean, std: std.map((s) => (s > 0 ? s : 1)) });
}

/** Rebuilds a standard scaler from saved params. */
export function standardScalerFrom(params: StandardParams): Scaler<StandardParams> {
  const { mean, std } = params;
  if (mean.length !== std.length || mean.length === 0) throw new ShapeError(`standardScaler: ${mean.length} means and ${std.length} deviations`);
  for (let f = 0; f < mean.length; f++) {
    if (!Number.isFinite(mean[f]) || !(std[f] > 0) || !Number.isFinite(std[f])) {
      throw new ValueError(`standardScaler: feature ${f} has mean ${mean[f]} and std ${std[f]} (std must be positive and finite)`);
    }
  }
  return affineScaler(params, Float64Array.from(mean), Float64Array.from(std), 0, 'standardScaler');
}
