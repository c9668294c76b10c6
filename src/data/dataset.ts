// The in-memory dataset every loader returns and every trainer accepts.
// Browser-safe: no node: imports here.
import { ShapeError, ValueError } from '../core/errors.js';
import { Random } from '../core/random.js';
import { fmt, sizeOf } from '../core/shape.js';

export interface Dataset {
  /** Samples, row-major: sample i occupies x[i*F .. (i+1)*F) with F = product of xShape[1..]. */
  x: Float32Array;
  /** [n, ...features]. */
  xShape: number[];
  /** Class labels (Int32Array, yShape [n]) or regression / one-hot targets (Float32Array, yShape [n] or [n, k]). */
  y: Int32Array | Float32Array;
  yShape: number[];
  /** Number of classes for a classification set: labels lie in [0, classes). */
  classes?: number;
  /** Human-readable name of each class index. */
  classNames?: string[];
  /** Name of each feature column (CSV sets these). */
  featureNames?: string[];
}

/** Number of samples. */
export function sampleCount(ds: Pick<Dataset, 'xShape'>): number {
  return ds.xShape[0];
}

/** Values per sample in x (product of the feature dimensions). */
export function featureSize(xShape: readonly number[]): number {
  return sizeOf(xShape.slice(1));
}

/** What one sample is, for messages: '784 features', '28×28×1 images' or 'samples of shape [a, b]'. */
export function describeSamples(xShape: readonly number[]): string {
  const s = xShape.slice(1);
  if (s.length === 1) return `${s[0]} feature${s[0] === 1 ? '' : 's'}`;
  if (s.length === 3) return `${s.join('×')} images`;
  return `samples of shape ${fmt(s)}`;
}

/** Whether two sets' samples have the same shape (their first axes may differ). */
export function sameSampleShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => i === 0 || d === b[i]);
}

/** Values per sample in y: 1 for labels, k for [n, k] targets. */
export function targetSize(yShape: readonly number[]): number {
  return sizeOf(yShape.slice(1));
}

/** "feature 17" for flat features, "feature 17 (at [0, 17])" when a sample has several dimensions. */
export function describeFeature(xShape: readonly number[], f: number): string {
  const dims = xShape.slice(1);
  if (dims.length <= 1) return `feature ${f}`;
  const at: number[] = [];
  let rest = f;
  for (let d = dims.length - 1; d >= 0; d--) {
    at[d] = rest % dims[d];
    rest = Math.floor(rest / dims[d]);
  }
  return `feature ${f} (at [${at.join(', ')}])`;
}

function checkDims(shape: readonly number[], what: string): void {
  if (!Array.isArray(shape) || shape.length === 0) throw new ShapeError(`${what} must be a non-empty array of dimensions, got ${String(shape)}`);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`${what} ${fmt(shape)} has a bad dimension ${d} (dimensions are non-negative integers)`);
  }
}

/**
 * Throws unless `ds` is well formed: sizes agree with shapes, at least one
 * sample, every x (and float y) finite, labels in [0, classes). `name` goes
 * in front of every message, e.g. 'train' or the file a set came from.
 */
export function validateDataset(ds: Dataset, name = 'dataset'): void {
  checkDims(ds.xShape, `${name}: xShape`);
  checkDims(ds.yShape, `${name}: yShape`);
  const n = ds.xShape[0];
  if (n === 0) throw new ValueError(`${name}: empty set (xShape ${fmt(ds.xShape)} has no samples)`);
  const F = featureSize(ds.xShape);
  if (F === 0) throw new ShapeError(`${name}: xShape ${fmt(ds.xShape)} has no features per sample`);
  if (!(ds.x instanceof Float32Array)) throw new ShapeError(`${name}: x must be a Float32Array`);
  if (ds.x.length !== n * F) {
    throw new ShapeError(`${name}: x holds ${ds.x.length} values but xShape ${fmt(ds.xShape)} needs ${n * F}`);
  }
  if (ds.yShape[0] !== n) {
    throw new ShapeError(`${name}: x has ${n} samples but y has ${ds.yShape[0]} (xShape ${fmt(ds.xShape)}, yShape ${fmt(ds.yShape)})`);
  }
  if (ds.y.length !== sizeOf(ds.yShape)) {
    throw new ShapeError(`${name}: y holds ${ds.y.length} values but yShape ${fmt(ds.yShape)} needs ${sizeOf(ds.yShape)}`);
  }
  checkClassInfo(ds, name);
  for (let i = 0; i < ds.x.length; i++) {
    if (!Number.isFinite(ds.x[i])) {
      const s = Math.floor(i / F);
      throw new ValueError(`${name}: x of sample ${s}, ${describeFeature(ds.xShape, i - s * F)} is ${ds.x[i]} (values must be finite)`);
    }
  }
  if (ds.y instanceof Int32Array) checkLabels(ds.y, ds.classes, name);
  else checkTargets(ds.y, ds.yShape, name);
}

function checkClassInfo(ds: Dataset, name: string): void {
  const { classes, classNames, y, yShape } = ds;
  if (classes !== undefined && (!Number.isInteger(classes) || classes < 1)) {
    throw new ValueError(`${name}: classes must be a positive integer, got ${classes}`);
  }
  if (classNames !== undefined && classes !== undefined && classNames.length !== classes) {
    throw new ValueError(`${name}: ${classNames.length} class names for ${classes} classes`);
  }
  if (y instanceof Int32Array) {
    if (yShape.length !== 1) throw new ShapeError(`${name}: Int32Array class labels need yShape [n], got ${fmt(yShape)}`);
  } else if (!(y instanceof Float32Array)) {
    throw new ShapeError(`${name}: y must be an Int32Array of labels or a Float32Array of targets`);
  } else if (yShape.length > 2) {
    throw new ShapeError(`${name}: Float32Array targets need yShape [n] or [n, k], got ${fmt(yShape)}`);
  } else if (classes !== undefined && (yShape.length !== 2 || yShape[1] !== classes)) {
    // Float targets with a class count only make sense one-hot.
    throw new ShapeError(`${name}: classes is ${classes} but y is Float32Array ${fmt(yShape)}; use Int32Array labels [n] or one-hot targets [n, ${classes}]`);
  }
}

function checkLabels(y: Int32Array, classes: number | undefined, name: string): void {
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (v < 0 || (classes !== undefined && v >= classes)) {
      const range = classes === undefined ? 'labels must be >= 0' : `labels must lie in [0, ${classes})`;
      throw new ValueError(`${name}: label of sample ${i} is ${v} (${range})`);
    }
  }
}

function checkTargets(y: Float32Array, yShape: readonly number[], name: string): void {
  const k = targetSize(yShape);
  for (let i = 0; i < y.length; i++) {
    if (!Number.isFinite(y[i])) {
      const s = Math.floor(i / k);
      const where = yShape.length === 2 ? `, target ${i - s * k}` : '';
      throw new ValueError(`${name}: y of sample ${s}${where} is ${y[i]} (values must be finite)`);
    }
  }
}

/** Copies rows `indices` of a row-major array with `rowSize` values per row. */
export function gatherRows<T extends Float32Array | Int32Array>(
  src: T,
  rowSize: number,
  indices: ArrayLike<number>,
  out?: T,
): T {
  const dst = out ?? (new (src.constructor as new (n: number) => T)(indices.length * rowSize));
  if (dst.length < indices.length * rowSize) {
    throw new ShapeError(`gatherRows: out holds ${dst.length} values, ${indices.length} rows of ${rowSize} need ${indices.length * rowSize}`);
  }
  if (rowSize === 1) {
    for (let r = 0; r < indices.length; r++) dst[r] = src[indices[r]];
    return dst;
  }
  for (let r = 0; r < indices.length; r++) {
    const s = indices[r] * rowSize;
    dst.set(src.subarray(s, s + rowSize), r * rowSize);
  }
  return dst;
}

/** Checks that `indices` are integers in [0, n); `what` names the caller. */
export function checkIndices(indices: ArrayLike<number>, n: number, what: string): void {
  for (let i = 0; i < indices.length; i++) {
    const v = indices[i];
    if (!Number.isInteger(v) || v < 0 || v >= n) {
      throw new ValueError(`${what}: index ${v} at position ${i} is outside [0, ${n})`);
    }
  }
}

/** The samples at `indices`, in that order (repeats allowed), as a new dataset. */
export function take(ds: Dataset, indices: ArrayLike<number>): Dataset {
  const n = sampleCount(ds);
  if (indices.length === 0) throw new ValueError('take: no indices given (a dataset needs at least one sample)');
  checkIndices(indices, n, 'take');
  const F = featureSize(ds.xShape);
  const K = targetSize(ds.yShape);
  const out: Dataset = {
    x: gatherRows(ds.x, F, indices),
    xShape: [indices.length, ...ds.xShape.slice(1)],
    y: gatherRows(ds.y, K, indices),
    yShape: [indices.length, ...ds.yShape.slice(1)],
  };
  if (ds.classes !== undefined) out.classes = ds.classes;
  if (ds.classNames !== undefined) out.classNames = ds.classNames.slice();
  if (ds.featureNames !== undefined) out.featureNames = ds.featureNames.slice();
  return out;
}

/** A seeded random permutation of the samples (same seed, same order). */
export function shuffleDataset(ds: Dataset, rng: Random | number): Dataset {
  const r = typeof rng === 'number' ? new Random(rng) : rng;
  return take(ds, r.permutation(sampleCount(ds)));
}
