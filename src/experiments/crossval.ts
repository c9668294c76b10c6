// k-fold cross-validation of one setting: train and score every fold. Browser-safe.
import type { ModelSettings } from './settings.js';
import { DEFAULT_SETTINGS } from './settings.js';
import type { SettingSummary } from './summary.js';
import type { SweepOptions, SweepResult } from './sweep.js';
import { sweep } from './sweep.js';

export interface CrossValidateOptions<S extends ModelSettings = ModelSettings>
  extends Omit<SweepOptions<S>, 'grid' | 'fixed' | 'candidates' | 'validationSplit' | 'folds' | 'limit'> {
  /** The setting to validate (defaults fill the rest). */
  settings?: Partial<S>;
  /** k, at least 2. Default 5. */
  folds?: number;
}

export interface CrossValidateResult<S extends ModelSettings = ModelSettings> extends SweepResult<S> {
  /** Mean and spread over the folds (null only when stopped before the first fold finished). */
  scores: SettingSummary<S> | null;
}

/**
 * Trains `settings` on k − 1 folds and scores the k-th, k times (folds
 * stratified for classification; standardisation, if asked, fitted on each
 * fold's training part). With `test`, the setting is then refitted on all of
 * `train` and scored on `test`. The same as a sweep of one setting.
 */
export async function crossValidate<S extends ModelSettings = ModelSettings>(o: CrossValidateOptions<S>): Promise<CrossValidateResult<S>> {
  const { settings, folds, ...rest } = o;
  const full = { ...DEFAULT_SETTINGS, ...settings } as S;
  const result = await sweep<S>({ ...rest, folds: folds ?? 5, candidates: [{ name: 'model', params: {}, settings: full }] });
  return { ...result, scores: result.summary[0] ?? null };
}
