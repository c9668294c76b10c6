import { ShapeError, ValueError } from '../core/errors.js';
import { sizeOf } from '../core/shape.js';
import { featureSize } from '../data/dataset.js';
import type { ResolvedLoss } from './losses.js';

/** Data as the model API takes it: a flat typed array with its shape, or nested arrays. */
export interface TensorData {
  readonly data: Float32Array | Int32Array | Float64Array | readonly number[];
  readonly shape: readonly number[];
}
export type Input = TensorData | readonly (readonly number[])[] | readonly number[];

export interface Features {
  readonly data: Float32Array;
  /** [samples, ...sampleShape]: [n, features] for tables, [n, h, w, c] for images. */
  readonly shape: number[];
}

export interface Targets {
  readonly data: Float32Array | Int32Array;
  /** [n] labels or [n, k] targets. */
  readonly shape: number[];
}

function flatten(x: Input, what: string): { data: ArrayLike<number>; shape: number[] } {
  if ('shape' in x && 'data' in x) {
    const n = x.shape.reduce((a, b) => a * b, 1);
    if (n !== x.data.length) throw new ShapeError(`${what}: shape [${x.shape.join(', ')}] holds ${n} values, but the data has ${x.data.length}`);
    return { data: x.data, shape: [...x.shape] };
  }
  const rows = x as readonly (number | readonly number[])[];
  if (rows.length === 0) throw new ValueError(`${what}: the data set is empty`);
  if (typeof rows[0] === 'number') return { data: rows as readonly number[], shape: [rows.length] };
  const width = (rows[0] as readonly number[]).length;
  const data = new Float64Array(rows.length * width);
  rows.forEach((r, i) => {
    if (!Array.isArray(r) || r.length !== width) throw new ShapeError(`${what}: row ${i} has ${Array.isArray(r) ? r.length : 'no'} values, row 0 has ${width} (ragged rows)`);
    data.set(r, i * width);
  });
  return { data, shape: [rows.length, width] };
}

function checkFinite(data: ArrayLike<number>, width: number, what: string): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new ValueError(`${what}: ${data[i]} at sample ${Math.floor(i / width)}, feature ${i % width} (NaN and Infinity are refused)`);
  }
}

/** Features [n, ...sampleShape] (at least 2-D): finite numbers, one sample per index of the first axis. */
export function toFeatures(x: Input, inputShape: number[] | null, what = 'x'): Features {
  const { data, shape } = flatten(x, what);
  if (shape.length < 2) throw new ShapeError(`${what}: expected [samples, features] (or [samples, ...sampleShape]), got shape [${shape.join(', ')}]`);
  if (shape[0] === 0) throw new ValueError(`${what}: the data set is empty`);
  if (inputShape && (shape.length - 1 !== inputShape.length || inputShape.some((d, i) => d !== shape[i + 1]))) {
    const takes = inputShape.length === 1 ? `${inputShape[0]} features per sample` : `samples of shape [${inputShape.join(', ')}]`;
    const sameSize = featureSize(shape) === sizeOf(inputShape);
    const hint = !sameSize ? '' : inputShape.length === 1
      ? `; for images, start the model with flatten({ inputShape: [${shape.slice(1).join(', ')}] }) instead of inputShape [${inputShape[0]}]`
      : `; give the data as [n, ${inputShape.join(', ')}] (the same values, another shape)`;
    throw new ShapeError(`${what}: the model takes ${takes}, got [${shape.join(', ')}]${hint}`);
  }
  checkFinite(data, featureSize(shape), what);
  return { data: data instanceof Float32Array ? data : Float32Array.from(data), shape };
}

/** Targets shaped for the loss: integer class labels [n], or [n, units] values. */
/**
 * Targets checked against the model's output: class labels [n] (or [n, steps]
 * where the output gives a class for every step, `steps`), or targets [n, units].
 */
export function toTargets(y: Input, n: number, loss: ResolvedLoss, units: number, what = 'y', steps?: number): Targets {
  const { data, shape } = flatten(y, what);
  if (shape[0] !== n) throw new ShapeError(`${what}: ${shape[0]} targets for ${n} samples`);
  if (loss.targets === 'labels') {
    const want = steps === undefined ? [n] : [n, steps];
    if (shape.length !== want.length || shape[1] !== want[1]) {
      const perStep = steps !== undefined && shape.length === 1
        ? `; the model gives a class for each of ${steps} steps ([${steps}, ${units}] per sample): for one class per sequence, the last recurrent layer must not return sequences (returnSequences false, no :seq)`
        : steps === undefined && shape.length === 2 && shape[1] !== units ? '; labels per step need a model that gives a class for every step (returnSequences on its last recurrent layer)' : '';
      throw new ShapeError(`${what}: ${loss.name} takes integer class labels of shape [${want.join(', ')}], got [${shape.join(', ')}]${shape[1] === units && steps === undefined ? ' (one-hot targets go with categoricalCrossentropy)' : perStep}`);
    }
    const labels = new Int32Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (!Number.isInteger(v) || v < 0 || v >= units) throw new ValueError(`${what}: label ${v} at sample ${Math.floor(i / (steps ?? 1))}${steps === undefined ? '' : `, step ${i % steps}`} is not a class index in [0, ${units})`);
      labels[i] = v;
    }
    return { data: labels, shape: want };
  }
  const width = shape.length === 1 ? 1 : shape[1];
  if (shape.length > 2 || width !== units) {
    throw new ShapeError(`${what}: ${loss.name} takes targets of shape [${n}, ${units}] (the model's outputs), got [${shape.join(', ')}]`);
  }
  checkFinite(data, width, what);
  if (loss.name === 'hinge') return { data: hingeTargets(data, what), shape: [n, units] };
  return { data: data instanceof Float32Array ? data : Float32Array.from(data), shape: [n, units] };
}

/**
 * Hinge targets are −1 or 1. Like Keras, 0/1 targets are taken as binary labels
 * and mapped to −1/1 (the whole set decides, not each batch); a mix of 0 and −1,
 * or any other value, is refused rather than scored as something else.
 */
function hingeTargets(data: ArrayLike<number>, what: string): Float32Array {
  let zero = -1;
  let minusOne = -1;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v !== -1 && v !== 0 && v !== 1) throw new ValueError(`${what}: hinge takes targets -1 or 1 (or 0/1 labels, mapped to -1/1 as Keras does); got ${v} at index ${i}`);
    if (v === 0 && zero < 0) zero = i;
    if (v === -1 && minusOne < 0) minusOne = i;
  }
  if (zero >= 0 && minusOne >= 0) throw new ValueError(`${what}: hinge targets mix 0 (index ${zero}) and -1 (index ${minusOne}); use -1/1 or 0/1`);
  const out = Float32Array.from(data);
  if (zero >= 0) for (let i = 0; i < out.length; i++) out[i] = 2 * out[i] - 1;
  return out;
}

/** Rows `idx` of a [n, w] array, packed into `out`. */
export function gather(src: Float32Array | Int32Array, width: number, idx: ArrayLike<number>, out: Float32Array | Int32Array): void {
  for (let r = 0; r < idx.length; r++) {
    const from = idx[r] * width;
    out.set(src.subarray(from, from + width), r * width);
  }
}
