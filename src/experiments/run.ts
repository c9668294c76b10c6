// One training run of a sweep, and the refit of the best settings. Browser-safe.
import type { Backend } from '../backend/backend.js';
import type { Dataset } from '../data/dataset.js';
import type { StandardParams } from '../data/transform.js';
import { standardScaler } from '../data/transform.js';
import type { Callback, Divergence, Logs } from '../nn/callbacks.js';
import { earlyStopping, terminateOnDivergence } from '../nn/callbacks.js';
import type { Model } from '../nn/model.js';
import type { History } from '../nn/train.js';
import type { FoldData } from './folds.js';
import type { ModelBuilder, ModelSettings, Task } from './settings.js';
import { regressionScores } from '../nn/scores.js';

/** One setting trained on one fold. */
export interface RunResult<S extends ModelSettings = ModelSettings> {
  /** Index of the setting in the sweep's list, its name and the values that vary. */
  setting: number;
  name: string;
  params: Record<string, string>;
  settings: S;
  /** 0-based fold (0 for a single validation split). */
  fold: number;
  history: History;
  /** Loss and metric of the trained model on the fold's validation part and on its training part (evaluated after training). */
  validation: Logs;
  train: Logs;
  /** Epochs of training in the weights that were scored: settings.epochs, or the best epoch's count when early stopping cut in. */
  epochs: number;
  /** Wall time of the run: building, training and scoring. */
  seconds: number;
  /** Training samples per second of fit() (its per-epoch validation pass and first-use pipeline compiles included). */
  samplesPerSecond: number;
  /** The standardisation used, fitted on this fold's training part (null without standardize). */
  scaler: StandardParams | null;
  /** Where the run blew up (terminateOnDivergence's rule: NaN, or 10× its first loss), which stopped it; null when it did not. */
  diverged: Divergence | null;
}

/**
 * On the CPU backend a run is one long chain of promises that never gives
 * the event loop a turn: without a yield between runs and now and then
 * between epochs, a Ctrl-C (or a click in a page) would only be seen once the
 * whole sweep had finished.
 */
export const yieldToEventLoop = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

let lastYield = 0;
/** Yields at most every 100 ms: a yield costs about a millisecond, which would distort the timing of tiny epochs. */
async function yieldNowAndThen(): Promise<void> {
  if (performance.now() - lastYield < 100) return;
  await yieldToEventLoop();
  lastYield = performance.now();
}

const input = (d: Dataset) => [{ data: d.x, shape: d.xShape }, { data: d.y, shape: d.yShape }] as const;

/**
 * Builds the model on `backend`, runs `body`, and frees the model's tensors
 * whatever happens. A model compiled on a backend it was given leaves that
 * backend open, so every run of a sweep shares one device and its pipelines.
 */
export async function withModel<S extends ModelSettings, T>(build: ModelBuilder<S>, settings: S, backend: Backend, train: Dataset, body: (m: Model) => Promise<T>): Promise<T> {
  let model: Model | null = null;
  try {
    model = build(settings, backend, train);
    return await body(model);
  } finally {
    model?.dispose();
  }
}

export interface RunSpec<S extends ModelSettings> {
  build: ModelBuilder<S>;
  settings: S;
  data: FoldData;
  backend: Backend;
  /** Patience of early stopping on val_loss (best weights restored), or undefined for none. */
  earlyStopping?: number;
}

/** Trains one setting on one fold and scores it on both parts. */
export async function trainRun<S extends ModelSettings>(spec: RunSpec<S>): Promise<Omit<RunResult<S>, 'setting' | 'name' | 'params' | 'fold'>> {
  const { settings, data } = spec;
  const started = performance.now();
  return withModel(spec.build, settings, spec.backend, data.train, async (model) => {
    const [x, y] = input(data.train);
    const [vx, vy] = input(data.validation);
    const stop = spec.earlyStopping !== undefined ? earlyStopping({ patience: spec.earlyStopping, restoreBestWeights: true }) : null;
    // A run that blows up stops there and is marked diverged, rather than trained on into a row of NaN.
    const divergence = terminateOnDivergence();
    const callbacks: Callback[] = [{ onEpochEnd: yieldNowAndThen }, divergence, ...(stop ? [stop] : [])];
    const fitStart = performance.now();
    const history = await model.fit(x, y, { epochs: settings.epochs, batchSize: settings.batchSize, validationData: [vx, vy], callbacks, verbose: 0 });
    // Measured here at sub-millisecond resolution: tiny runs finish an epoch faster than fit's own clock ticks.
    const samplesPerSecond = (history.epoch.length * data.train.xShape[0]) / ((performance.now() - fitStart) / 1000);
    const validation = await model.evaluate(vx, vy);
    const train = await model.evaluate(x, y);
    const seconds = (performance.now() - started) / 1000;
    // Early stopping put back the best epoch's weights: those are the ones scored, and the count a refit trains for.
    const epochs = stop && stop.stoppedEpoch >= 0 ? stop.bestEpoch + 1 : history.epoch.length;
    return { settings, history, validation, train, epochs, seconds, samplesPerSecond, scaler: data.scaler, diverged: divergence.stopped };
  });
}

/** The best settings trained on the whole training set, scored on the test set. */
export interface RefitResult<S extends ModelSettings = ModelSettings> {
  name: string;
  params: Record<string, string>;
  settings: S;
  epochs: number;
  trainSamples: number;
  /** Test loss and metric; for regression also r2 and mse. */
  test: Logs;
  seconds: number;
}

export type RefitScores = Omit<RefitResult, 'name' | 'params' | 'settings'>;

export interface RefitOptions {
  backend: Backend;
  standardize: boolean;
  task: Task;
  /** Sees the trained model and its scores before the model is freed. */
  keep?: (model: Model, scores: RefitScores) => Promise<void> | void;
}

/**
 * Trains `settings` on all of `train` (standardised with its own statistics, kept by the model)
 * for `epochs`, then scores the test set.
 */
export async function refit<S extends ModelSettings>(
  build: ModelBuilder<S>, settings: S, epochs: number, data: { train: Dataset; test: Dataset }, o: RefitOptions,
): Promise<RefitScores> {
  const started = performance.now();
  const { train, test } = data;
  return withModel(build, settings, o.backend, train, async (model) => {
    // The model keeps the scaler and applies it to every input, so a saved refit carries it.
    if (o.standardize) model.setScaler(standardScaler(train).params);
    const [x, y] = input(train);
    const [tx, ty] = input(test);
    await model.fit(x, y, { epochs, batchSize: settings.batchSize, verbose: 0 });
    const scores = await model.evaluate(tx, ty);
    if (o.task === 'regression') Object.assign(scores, regressionScores(test.y, (await model.predict(tx)).data));
    const result = { epochs, trainSamples: train.xShape[0], test: scores, seconds: (performance.now() - started) / 1000 };
    await o.keep?.(model, result);
    return result;
  });
}

