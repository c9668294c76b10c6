// Train/test splits and Keras' validationSplit (k-fold is in kfold.ts).
// Every random choice goes through a seeded Random, so a split is the same
// on every run and machine. Browser-safe.
import { ValueError } from '../core/errors.js';
import { Random } from '../core/random.js';
import type { Dataset } from './dataset.js';
import { sampleCount, take } from './dataset.js';

export interface SplitOptions {
  /** Seed of the shuffle; the same seed gives the same split. Default 42. */
  seed?: number;
  /** Keep each class's share the same in every part (needs class labels). */
  stratify?: boolean;
}

export interface IndexSplit {
  train: Int32Array;
  test: Int32Array;
}

export const DEFAULT_SPLIT_SEED = 42;

function checkFraction(fraction: number, what: string): void {
  if (!(fraction > 0 && fraction < 1)) throw new ValueError(`${what}: fraction must lie strictly between 0 and 1, got ${fraction}`);
}

/** Sample indices of each class, in order (a sparse array: absent classes are holes); refuses labels that are not non-negative integers. */
export function indicesByClass(labels: ArrayLike<number>, what: string): number[][] {
  const byClass: number[][] = [];
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (!Number.isInteger(c) || c < 0) throw new ValueError(`${what}: label ${c} at index ${i} is not a class index (a non-negative integer)`);
    (byClass[c] ??= []).push(i);
  }
  return byClass;
}

/**
 * Splits `total` items among groups in proportion to `sizes` (largest remainder):
 * every group gets the floor or the ceiling of its exact share.
 */
function apportion(sizes: number[], total: number): number[] {
  const n = sizes.reduce((a, b) => a + b, 0);
  const exact = sizes.map((s) => (s * total) / n);
  const out = exact.map(Math.floor);
  let left = total - out.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((e, c) => c).sort((a, b) => exact[b] - out[b] - (exact[a] - out[a]) || a - b);
  for (const c of byRemainder) {
    if (left === 0) break;
    if (sizes[c] > 0) {
      out[c]++;
      left--;
    }
  }
  return out;
}

/**
 * Shuffled train/test index sets. `nOrLabels` is a sample count, or the
 * class labels (needed for `stratify`). The test part has round(n * testFraction) samples.
 */
export function trainTestSplitIndices(nOrLabels: number | ArrayLike<number>, testFraction: number, options: SplitOptions = {}): IndexSplit {
  checkFraction(testFraction, 'trainTestSplit');
  const n = typeof nOrLabels === 'number' ? nOrLabels : nOrLabels.length;
  if (!Number.isInteger(n) || n < 1) throw new ValueError(`trainTestSplit: need a positive number of samples, got ${n}`);
  const nTest = Math.round(n * testFraction);
  if (nTest < 1 || nTest > n - 1) {
    throw new ValueError(`trainTestSplit: testFraction ${testFraction} of ${n} samples gives ${nTest} test and ${n - nTest} train samples; both parts need at least one`);
  }
  const rng = new Random(options.seed ?? DEFAULT_SPLIT_SEED);
  if (!options.stratify) {
    const p = rng.permutation(n);
    return { test: p.slice(0, nTest), train: p.slice(nTest) };
  }
  if (typeof nOrLabels === 'number') throw new ValueError('trainTestSplit: stratify needs the class labels, not a sample count');
  const byClass = indicesByClass(nOrLabels, 'trainTestSplit');
  const quota = apportion(Array.from(byClass, (ix) => ix?.length ?? 0), nTest);
  const train: number[] = [];
  const test: number[] = [];
  byClass.forEach((ix, c) => {
    if (!ix) return;
    rng.shuffle(ix);
    test.push(...ix.slice(0, quota[c]));
    train.push(...ix.slice(quota[c]));
  });
  // Mix the classes, so the parts are not sorted by label.
  return { train: rng.shuffle(Int32Array.from(train)), test: rng.shuffle(Int32Array.from(test)) };
}

/** A shuffled (optionally stratified) split of `ds` into train and test sets. */
export function trainTestSplit(ds: Dataset, testFraction: number, options: SplitOptions = {}): { train: Dataset; test: Dataset } {
  const n = sampleCount(ds);
  if (options.stratify && !(ds.y instanceof Int32Array)) {
    throw new ValueError('trainTestSplit: stratify needs Int32Array class labels in y');
  }
  const split = trainTestSplitIndices(options.stratify ? ds.y : n, testFraction, options);
  return { train: take(ds, split.train), test: take(ds, split.test) };
}

/** Where Keras cuts for validation_split: samples [at, n) are the validation set. */
export function validationSplitAt(n: number, fraction: number): number {
  checkFraction(fraction, 'validationSplit');
  const at = Math.floor(n * (1 - fraction));
  if (at < 1 || at > n - 1) {
    throw new ValueError(`validationSplit: fraction ${fraction} of ${n} samples leaves ${at} for training and ${n - at} for validation; both need at least one`);
  }
  return at;
}

/** Keras' validation_split: the last `fraction` of the samples, taken before any shuffling. */
export function validationSplit(ds: Dataset, fraction: number): { train: Dataset; validation: Dataset } {
  const n = sampleCount(ds);
  const at = validationSplitAt(n, fraction);
  const range = (a: number, b: number) => Int32Array.from({ length: b - a }, (_, i) => a + i);
  return { train: take(ds, range(0, at)), validation: take(ds, range(at, n)) };
}
