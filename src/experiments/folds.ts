// The validation scheme of a sweep: k folds or one held-out part. Browser-safe.
import { ValueError } from '../core/errors.js';
import type { Dataset } from '../data/dataset.js';
import { take } from '../data/dataset.js';
import type { Fold } from '../data/kfold.js';
import { kFold } from '../data/kfold.js';
import { validationSplitAt } from '../data/split.js';
import type { StandardParams } from '../data/transform.js';
import { standardScaler } from '../data/transform.js';
import type { Task } from './settings.js';

export interface Validation {
  /** k ≥ 2 for k-fold cross-validation; absent for a single held-out part. */
  folds?: number;
  /** The held-out fraction when there are no folds: the last part of the data, as Keras' validationSplit. Default 0.2. */
  validationSplit?: number;
  seed: number;
}

/** The sentence tables print: `3-fold cross-validation (stratified)` or `validation on the last 20% (1600 samples)`. */
export function describeValidation(splits: readonly Fold[], v: Validation, task: Task): string {
  if (v.folds) return `${v.folds}-fold cross-validation${task === 'classification' ? ' (stratified)' : ''}, seed ${v.seed}`;
  const held = splits[0].validation.length;
  return `validation on the last ${Math.round((v.validationSplit ?? 0.2) * 100)}% of the training data (${held} samples)`;
}

/**
 * The train / validation index sets of every fold, checked before anything
 * trains. Classification folds are stratified (each fold's class shares within
 * one sample of the whole set's), so every class must have at least k samples.
 */
export function makeSplits(train: Dataset, task: Task, v: Validation): Fold[] {
  const n = train.xShape[0];
  if (v.folds !== undefined) {
    if (!Number.isInteger(v.folds) || v.folds < 2) throw new ValueError(`folds must be a whole number >= 2 (k-fold cross-validation); got ${v.folds}`);
    if (v.folds > n) throw new ValueError(`folds = ${v.folds} but the training data has only ${n} samples`);
    if (task === 'classification') {
      checkClassCounts(train.y, v.folds);
      return kFold(train.y, v.folds, { seed: v.seed });
    }
    return kFold(n, v.folds, { seed: v.seed });
  }
  const fraction = v.validationSplit ?? 0.2;
  if (!(fraction > 0 && fraction < 1)) throw new ValueError(`validationSplit must lie strictly between 0 and 1 (a sweep ranks settings on validation data); got ${fraction}`);
  const at = validationSplitAt(n, fraction);
  const range = (a: number, b: number) => Int32Array.from({ length: b - a }, (_, i) => a + i);
  return [{ train: range(0, at), validation: range(at, n) }];
}

function checkClassCounts(y: ArrayLike<number>, k: number): void {
  const counts = new Map<number, number>();
  for (let i = 0; i < y.length; i++) counts.set(y[i], (counts.get(y[i]) ?? 0) + 1);
  for (const [c, m] of [...counts].sort((a, b) => a[0] - b[0])) {
    if (m < k) throw new ValueError(`folds = ${k} but class ${c} has only ${m} sample${m === 1 ? '' : 's'} in the training data; stratified folds need every class in every fold, so use at most ${m} folds`);
  }
}

export interface FoldData {
  train: Dataset;
  validation: Dataset;
  /** The standardisation fitted on this fold's training part, or null without standardize. */
  scaler: StandardParams | null;
}

/** One fold's data; with `standardize`, the statistics come from the fold's training part alone, so nothing of the validation part leaks in. */
export function foldData(ds: Dataset, fold: Fold, standardize: boolean): FoldData {
  const train = take(ds, fold.train);
  const validation = take(ds, fold.validation);
  if (!standardize) return { train, validation, scaler: null };
  const scaler = standardScaler(train);
  return { train: scaler.transformDataset(train), validation: scaler.transformDataset(validation), scaler: scaler.params };
}
