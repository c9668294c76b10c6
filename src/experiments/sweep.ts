// sweep(): train every setting on every fold, rank, refit the best. Browser-safe.
import type { Backend, DeviceDescription } from '../backend/backend.js';
import { ValueError } from '../core/errors.js';
import type { Dataset } from '../data/dataset.js';
import { validateDataset } from '../data/dataset.js';
import type { Fold } from '../data/kfold.js';
import type { Model } from '../nn/model.js';
import type { BackendChoice } from '../nn/runtime.js';
import { openBackend } from '../nn/runtime.js';
import { describeValidation, foldData, makeSplits } from './folds.js';
import { formatValue, grid, settingName } from './grid.js';
import type { RefitResult, RefitScores, RunResult } from './run.js';
import { refit, trainRun, yieldToEventLoop } from './run.js';
import type { ModelBuilder, ModelSettings, ModelShape, SettingsGrid, SweepKey, Task } from './settings.js';
import { checkSettings, DEFAULT_SETTINGS, metricFor, mlp, SWEEP_KEYS } from './settings.js';
import type { SettingSummary } from './summary.js';
import { summarize } from './summary.js';

/** One setting to try: its full settings, the values that vary (for tables) and its name. */
export interface Candidate<S extends ModelSettings = ModelSettings> {
  name: string;
  params: Record<string, string>;
  settings: S;
}

export interface SweepOptions<S extends ModelSettings = ModelSettings> {
  /** The training data: folds (or the validation part) are cut from it. */
  train: Dataset;
  /** Scores the best settings once they are refitted on all of `train`. */
  test?: Dataset;
  /** Lists of values to try, e.g. { lr: [0.1, 0.01], layers: [[64], [30, 128]] }; every combination is trained. */
  grid?: SettingsGrid;
  /** Settings that stay the same in every run (the rest default to DEFAULT_SETTINGS). */
  fixed?: Partial<ModelSettings>;
  /** Instead of grid: the settings to try, listed. */
  candidates?: Candidate<S>[];
  /** Builds each model; default mlp() with the sweep's seed. */
  model?: ModelBuilder<S>;
  /** k-fold cross-validation (stratified for classification); otherwise one validation split. */
  folds?: number;
  /** Without folds: the last fraction of `train` is the validation data (Keras' rule). Default 0.2. */
  validationSplit?: number;
  /** Standardise features with each fold's training statistics. */
  standardize?: boolean;
  /** Patience of early stopping on val_loss, best weights restored. */
  earlyStopping?: number;
  /** Seeds the folds and the initial weights (the same for every setting). Default 42. */
  seed?: number;
  /** Default 'auto': WebGPU where an adapter exists. A Backend passed in stays open. */
  backend?: Backend | BackendChoice;
  /** Refit the best settings on all of `train` and score `test`. Default: when `test` is given. */
  refit?: boolean;
  /** Called after every run, with how many have finished and how many were planned. */
  onRun?: (run: RunResult<S>, done: number, planned: number) => void;
  /** Sees the refitted model before it is freed (to save it, say). */
  onRefit?: (model: Model, refit: RefitResult<S>) => void | Promise<void>;
  /** Abort to stop after the current run: the result then holds the runs that finished, and no refit. */
  signal?: AbortSignal;
  /** Train at most this many runs (to time one before a long sweep). */
  limit?: number;
}

export interface SweepResult<S extends ModelSettings = ModelSettings> {
  task: Task;
  /** What ranks classification (accuracy) or what is tabulated beside the loss for regression (mae). */
  metric: 'accuracy' | 'mae';
  /** The validation scheme, in words. */
  validation: string;
  folds: Fold[];
  device: DeviceDescription;
  candidates: Candidate<S>[];
  /** Runs planned: settings × folds. */
  planned: number;
  runs: RunResult<S>[];
  /** One row per setting, best first. */
  summary: SettingSummary<S>[];
  refit: RefitResult<S> | null;
  /** Why the sweep ended early, or null when every run finished. */
  stopped: 'signal' | 'limit' | null;
}

/** The candidates of a grid: every combination over `fixed` and the defaults, named by the keys that vary. */
export function gridCandidates(space: SettingsGrid, fixed: Partial<ModelSettings> = {}): Candidate[] {
  const keys = (Object.keys(space) as SweepKey[]).filter((k) => space[k] !== undefined);
  for (const k of keys) if (!(SWEEP_KEYS as readonly string[]).includes(k)) throw new ValueError(`sweep: grid key '${k}' is not a setting a sweep varies (${SWEEP_KEYS.join(', ')})`);
  const combos = grid(Object.fromEntries(keys.map((k) => [k, space[k]!])) as Record<string, readonly unknown[]>);
  return combos.map((combo) => {
    const params = Object.fromEntries(keys.map((k) => [k, formatValue(combo[k])]));
    return { name: settingName(params), params, settings: { ...DEFAULT_SETTINGS, ...fixed, ...combo } as ModelSettings };
  });
}

function shapeOf(train: Dataset): ModelShape {
  const features = train.xShape.slice(1).reduce((a, b) => a * b, 1);
  if (train.y instanceof Int32Array) {
    const classes = train.classes ?? train.y.reduce((m, v) => Math.max(m, v + 1), 0);
    return { features, outputs: classes, task: 'classification' };
  }
  return { features, outputs: train.yShape[1] ?? 1, task: 'regression' };
}

/** Everything checked before anything trains: the data, every setting, the folds. */
function plan<S extends ModelSettings>(o: SweepOptions<S>) {
  validateDataset(o.train, 'sweep: train');
  if (o.test) {
    validateDataset(o.test, 'sweep: test');
    const [a, b] = [o.train.xShape.slice(1).join('×'), o.test.xShape.slice(1).join('×')];
    if (a !== b) throw new ValueError(`sweep: train samples have shape [${a}], test samples [${b}]`);
  }
  if (o.grid && o.candidates) throw new ValueError('sweep: give either grid (every combination) or candidates (a list), not both');
  const candidates = (o.candidates ?? gridCandidates(o.grid ?? {}, o.fixed)) as Candidate<S>[];
  if (candidates.length === 0) throw new ValueError('sweep: no settings to try');
  candidates.forEach((c) => checkSettings(c.settings, `sweep: setting '${c.name}'`));
  if (o.limit !== undefined && !(Number.isInteger(o.limit) && o.limit >= 1)) throw new ValueError(`sweep: limit must be a whole number >= 1; got ${o.limit}`);
  if (o.earlyStopping !== undefined && !(Number.isInteger(o.earlyStopping) && o.earlyStopping >= 0)) throw new ValueError(`sweep: earlyStopping must be a whole number >= 0; got ${o.earlyStopping}`);
  if (o.folds !== undefined && o.validationSplit !== undefined) throw new ValueError('sweep: give folds (k-fold cross-validation) or validationSplit (one held-out part), not both');
  const refitting = o.refit ?? o.test !== undefined;
  if (refitting && !o.test) throw new ValueError('sweep: refit needs test data to score the refitted model');
  const shape = shapeOf(o.train);
  const seed = o.seed ?? 42;
  const splits = makeSplits(o.train, shape.task, { folds: o.folds, validationSplit: o.validationSplit, seed });
  const build = o.model ?? ((s: S, be: Backend) => mlp(s, shape, seed, be));
  return { candidates, shape, seed, splits, build, refitting };
}

/**
 * Trains every setting on every fold on one backend and ranks them by the
 * validation metric (see summarize); then refits the best on the whole
 * training set and scores the test set. Bad settings, too many folds for a
 * class, or mismatched data are refused before the first run.
 */
export async function sweep<S extends ModelSettings = ModelSettings>(o: SweepOptions<S>): Promise<SweepResult<S>> {
  const { candidates, shape, seed, splits, build, refitting } = plan(o);
  const choice = o.backend ?? 'auto';
  const backend = typeof choice === 'string' ? await openBackend(choice) : choice;
  const planned = candidates.length * splits.length;
  const runs: RunResult<S>[] = [];
  let stopped: SweepResult<S>['stopped'] = null;
  const standardize = o.standardize ?? false;
  try {
    outer: for (const [setting, c] of candidates.entries()) {
      for (const [fold, split] of splits.entries()) {
        await yieldToEventLoop();
        if (o.signal?.aborted) stopped = 'signal';
        else if (o.limit !== undefined && runs.length >= o.limit) stopped = 'limit';
        if (stopped) break outer;
        const r = await trainRun({ build, settings: c.settings, data: foldData(o.train, split, standardize), backend, earlyStopping: o.earlyStopping });
        const run: RunResult<S> = { setting, name: c.name, params: c.params, fold, ...r };
        runs.push(run);
        o.onRun?.(run, runs.length, planned);
      }
    }
    // Stopped during the last run: every run finished, but the refit is skipped as asked.
    if (!stopped && o.signal?.aborted) stopped = 'signal';
    const metric = metricFor(shape.task);
    const summary = summarize(runs, metric);
    let refitted: RefitResult<S> | null = null;
    const best = summary[0];
    // Nothing to refit when even the best setting diverged (diverged settings rank last: then all did).
    if (refitting && !stopped && best && !best.diverged) {
      const epochs = o.earlyStopping !== undefined ? Math.max(1, Math.round(best.epochs.mean)) : best.settings.epochs;
      const head = { name: best.name, params: best.params, settings: best.settings };
      const keep = o.onRefit ? (m: Model, r: RefitScores) => o.onRefit!(m, { ...head, ...r }) : undefined;
      const scores = await refit(build, best.settings, epochs, { train: o.train, test: o.test! }, { backend, standardize, task: shape.task, keep });
      refitted = { ...head, ...scores };
    }
    return {
      task: shape.task, metric, validation: describeValidation(splits, { folds: o.folds, validationSplit: o.validationSplit, seed }, shape.task),
      folds: splits, device: backend.describe(), candidates, planned, runs, summary, refit: refitted, stopped,
    };
  } finally {
    if (typeof choice === 'string') backend.dispose();
  }
}
