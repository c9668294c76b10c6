import { ValueError } from '../core/errors.js';
import type { OptionsOf } from '../core/options.js';
import { defineOptions, opt } from '../core/options.js';
import type { Callback, Logs, TrainingStop } from './callbacks.js';
import type { Features, Input, Targets } from './inputs.js';
import { featureSize } from '../data/dataset.js';
import { gather, toFeatures, toTargets } from './inputs.js';
import { statisticsLayers, sumNames } from './graphs.js';
import type { Model } from './model.js';
import { defaultSink, ProgressBar } from './progress.js';
import type { ProgressSink } from './progress.js';
import type { CompiledStep, Runtime } from './runtime.js';

/** Steps recorded ahead of the GPU before fit() waits for the previous window to finish. */
const QUEUE_WINDOW = 16;

export const FIT_OPTIONS = defineOptions('fit', {
  epochs: opt.integer('passes over the data (default 1)', { min: 1 }),
  batchSize: opt.integer('samples per step: 1 is stochastic, n is full-batch gradient descent (default 32, as Keras)', { min: 1 }),
  shuffle: opt.boolean('shuffle the samples every epoch (default true)'),
  validationSplit: opt.number('hold out the last fraction of the data (before shuffling, as Keras)', { min: 0, max: 1, maxExclusive: true }),
  validationData: opt.custom<[Input | readonly Input[], Input | readonly Input[]]>('[x, y]', 'data to validate on after each epoch (x and y lists, one array per input and output, for a model with several)', (v) => (Array.isArray(v) && v.length === 2 ? null : 'must be a pair [x, y]')),
  callbacks: opt.custom<Callback[]>('Callback[]', 'objects with onEpochEnd etc., e.g. earlyStopping()', (v) => (Array.isArray(v) && v.every((c) => typeof c === 'object' && c !== null) ? null : 'must be a list of callbacks')),
  verbose: opt.oneOf([0, 1, 2] as const, '0 silent, 1 progress bar, 2 one line per epoch (default 1)'),
  sink: opt.custom<ProgressSink>('ProgressSink', 'where progress goes; a terminal by default', (v) => (typeof v === 'object' && v !== null ? null : 'must be a progress sink')),
  logInterval: opt.number('seconds between reads of the running loss and metrics, for the progress bar and onBatchEnd (default 1)', { min: 0 }),
  recomputeBatchNormStatistics: opt.boolean(
    "when training ends, make each BatchNormalization layer's moving mean and variance the exact ones of its inputs over the training data, seen in inference mode (PyTorch's update_bn); before the last epoch's validation. Default false (Keras keeps the moving averages)",
  ),
}, { batch_size: 'batchSize', validation_split: 'validationSplit', validation_data: 'validationData', update_bn: 'recomputeBatchNormStatistics' });

export type FitOptions = OptionsOf<typeof FIT_OPTIONS.spec>;

/** Per-epoch logs, Keras' History.history shape: { loss: [...], val_loss: [...], acc: [...] }. */
export interface History {
  readonly epoch: number[];
  readonly history: Record<string, number[]>;
  /** Samples per second over all epochs (training steps only). */
  readonly samplesPerSecond: number;
  /** Set when a callback stopped training early (divergence, NaN, early stopping): which, in what epoch, why. */
  readonly stopped?: TrainingStop;
  /** Set when recomputeBatchNormStatistics ran: over how many layers and training samples, in how many seconds. */
  readonly batchNormStatistics?: StatisticsPass;
}

/** What a recomputation of the moving statistics covered. */
export interface StatisticsPass {
  readonly layers: number;
  readonly samples: number;
  readonly seconds: number;
}

/** A data set: one array per model input and one per output's targets, the samples along the first axis of each. */
interface Data {
  x: Features[];
  y: Targets[];
}

/** What an input or output is called in errors: x, or x[1] where the model has several. */
const nth = (what: string, k: number, count: number) => (count > 1 ? `${what}[${k}]` : what);

/** Each input's features and each output's targets, checked against the model (Model.listed gives the lists). */
function prepare(rt: Runtime, x: readonly Input[], y: readonly Input[], what: string): Data {
  const fx = features(rt, x, what);
  const n = fx[0].shape[0];
  const outputs = rt.spec.outputs;
  const fy = outputs.map((o, k) => {
    // Labels: as many classes as the output's last axis, one label per step where the output has steps [steps, classes].
    const labels = o.loss.targets === 'labels';
    const units = labels ? o.shape[o.shape.length - 1] : (o.targetShape[0] ?? o.shape[0]);
    return toTargets(y[k], n, o.loss, units, `${what} ${nth('y', k, outputs.length)}`, labels && o.shape.length === 2 ? o.shape[0] : undefined);
  });
  return { x: fx, y: fy };
}

/** Each input's features, all of one sample count. */
function features(rt: Runtime, x: readonly Input[], what: string): Features[] {
  const shapes = rt.spec.inputShapes;
  const fx = shapes.map((s, k) => toFeatures(x[k], s, `${what} ${nth('x', k, shapes.length)}`));
  const odd = fx.findIndex((f) => f.shape[0] !== fx[0].shape[0]);
  if (odd > 0) throw new ValueError(`${what}: x[0] has ${fx[0].shape[0]} samples and x[${odd}] ${fx[odd].shape[0]}; every input needs one row per sample`);
  return fx;
}

function slice(d: Data, from: number, to: number): Data {
  const part = <T extends { data: Float32Array | Int32Array; shape: number[] }>(t: T) => {
    const w = featureSize(t.shape);
    return { data: t.data.subarray(from * w, to * w), shape: [to - from, ...t.shape.slice(1)] } as T;
  };
  return { x: d.x.map(part), y: d.y.map(part) };
}

/** Copies one batch's rows into the step's input and target tensors. */
function load(rt: Runtime, step: CompiledStep, d: Data, idx: ArrayLike<number>): void {
  step.x.forEach((t, k) => {
    const xs = new Float32Array(t.size);
    gather(d.x[k].data, featureSize(d.x[k].shape), idx, xs);
    rt.backend.write(t, xs);
  });
  step.y.forEach((t, k) => {
    const ys = d.y[k].data instanceof Int32Array ? new Int32Array(t.size) : new Float32Array(t.size);
    gather(d.y[k].data, featureSize(d.y[k].shape), idx, ys);
    rt.backend.write(t, ys);
  });
}

function logsFrom(rt: Runtime, sums: number[], n: number, prefix = ''): Logs {
  return Object.fromEntries(sumNames(rt.spec).map((name, i) => [`${prefix}${name}`, sums[i] / n]));
}

export async function fitModel(model: Model, rt: Runtime, x: readonly Input[], y: readonly Input[], o: FitOptions & { validationLists?: [Input[], Input[]] }): Promise<History> {
  const epochs = o.epochs ?? 1;
  const verbose = o.verbose ?? 1;
  if (!Number.isInteger(epochs) || epochs < 1) throw new ValueError(`fit: epochs must be a positive integer, got ${o.epochs}`);
  let train = prepare(rt, x, y, 'fit');
  let val: Data | null = null;
  if (o.validationLists) {
    val = prepare(rt, o.validationLists[0], o.validationLists[1], 'validation');
  } else if (o.validationSplit) {
    const f = o.validationSplit;
    if (!(f > 0 && f < 1)) throw new ValueError(`fit: validationSplit must be between 0 and 1, got ${f}`);
    const n = train.x[0].shape[0];
    const cut = Math.floor(n * (1 - f));
    if (cut < 1 || cut >= n) throw new ValueError(`fit: validationSplit ${f} of ${n} samples leaves an empty training or validation set`);
    val = slice(train, cut, n);
    train = slice(train, 0, cut);
  }
  const n = train.x[0].shape[0];
  const batchSize = o.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ValueError(`fit: batchSize must be a positive integer, got ${o.batchSize}`);
  const bs = Math.min(batchSize, n);
  const callbacks = o.callbacks ?? [];
  const sink = o.sink ?? defaultSink();
  const bar = new ProgressBar(sink, n, verbose);
  const history: Record<string, number[]> = {};
  const epochList: number[] = [];
  let trainSeconds = 0;
  let trained = 0;
  model.stopTraining = false;
  for (const c of callbacks) await c.onTrainBegin?.(model);
  let logs: Logs = {};
  // recomputeBatchNormStatistics: once, when training ends.
  let pending = o.recomputeBatchNormStatistics === true && statisticsLayers(rt.spec).length > 0;
  let statistics: StatisticsPass | null = null;
  for (let epoch = 0; epoch < epochs && !model.stopTraining; epoch++) {
    for (const c of callbacks) await c.onEpochBegin?.(epoch, model);
    bar.epochBegin(epoch, epochs);
    const order = o.shuffle === false ? Int32Array.from({ length: n }, (_, i) => i) : model.rng.permutation(n);
    rt.zero('train');
    const t0 = performance.now();
    let lastDraw = t0;
    let shown: Logs = {};
    const wantsRunningLogs = verbose === 1 || callbacks.some((c) => c.onBatchEnd);
    let inFlight: Promise<void> = Promise.resolve();
    let done = 0;
    for (let b = 0, batch = 0; b < n && !model.stopTraining; b += bs, batch++) {
      const idx = order.subarray(b, Math.min(b + bs, n));
      done += idx.length;
      const step = await rt.trainStep(idx.length);
      load(rt, step, train, idx);
      rt.nextStep();
      step.compiled.program.run();
      if ((batch + 1) % QUEUE_WINDOW === 0) {
        // Let at most one window of steps run ahead of the GPU: a wait, not a readback.
        const done = rt.backend.sync();
        await inFlight;
        inFlight = done;
      }
      const now = performance.now();
      let running: Logs | undefined;
      // Also after the run's first batch, once: its loss is where the untrained model starts (terminateOnDivergence's reference).
      const first = epoch === 0 && batch === 0;
      if (wantsRunningLogs && (first || now - lastDraw >= (o.logInterval ?? 1) * 1000)) {
        running = shown = logsFrom(rt, await rt.readSums('train'), b + idx.length);
        lastDraw = now;
      }
      for (const c of callbacks) await c.onBatchEnd?.(batch, { size: idx.length, epoch, logs: running }, model);
      bar.update(b + idx.length, shown);
    }
    await inFlight;
    // Stopped inside an epoch (checked after every batch, as Keras 3 does), the means cover what was trained.
    logs = logsFrom(rt, await rt.readSums('train'), done);
    trainSeconds += (performance.now() - t0) / 1000;
    trained += done;
    // In the last epoch (or one a callback ended inside), before validation: the last val_ logs are then the returned model's.
    if (pending && (epoch === epochs - 1 || model.stopTraining)) [pending, statistics] = [false, await recomputeAfter(rt, train.x, logs)];
    if (val) Object.assign(logs, await evaluateData(rt, val, 256, 'val_'));
    for (const [k, v] of Object.entries(logs)) (history[k] ??= []).push(v);
    epochList.push(epoch);
    bar.epochEnd(epoch, epochs, logs);
    for (const c of callbacks) await c.onEpochEnd?.(epoch, logs, model);
  }
  // Stopped at an epoch's end (early stopping, which may have put the best epoch's weights back): now.
  if (pending) statistics = await recomputeAfter(rt, train.x, logs);
  if (statistics && verbose > 0) sink.write(`recomputed the moving statistics of ${statistics.layers} BatchNormalization layer${statistics.layers === 1 ? '' : 's'} over ${n} training samples (${statistics.seconds.toFixed(1)}s)\n`);
  for (const c of callbacks) await c.onTrainEnd?.(logs, model);
  const stopped = callbacks.map((c) => c.stopReason?.() ?? null).find((s) => s !== null) ?? undefined;
  return { epoch: epochList, history, samplesPerSecond: trained / Math.max(trainSeconds, 1e-9), ...(stopped ? { stopped } : {}), ...(statistics ? { batchNormStatistics: statistics } : {}) };
}

/** The statistics recomputed over x, unless the last loss is NaN or ±Infinity (the weights are then useless). */
async function recomputeAfter(rt: Runtime, x: Features[], logs: Logs): Promise<StatisticsPass | null> {
  return Number.isFinite(logs.loss) ? recomputeStatistics(rt, x, STATISTICS_BATCH) : null;
}

/** Samples per launch of a statistics pass: evaluate's default. */
const STATISTICS_BATCH = 256;

/**
 * Recomputes every BatchNormalization layer's moving mean and variance as
 * the exact (biased) statistics of its inputs over `x`, PyTorch's update_bn
 * with the layers before it in inference mode: one pass over x per layer,
 * in order, each running only the layers before it (with the statistics the
 * earlier passes made), so each layer gets the statistics of what it sees in
 * predict. On the device; nothing is read back.
 */
export async function recomputeStatistics(rt: Runtime, x: Features[], batchSize: number): Promise<StatisticsPass> {
  const t0 = performance.now();
  const n = x[0].shape[0];
  const bs = Math.min(batchSize, n);
  const layers = statisticsLayers(rt.spec);
  const d: Data = { x, y: [] };
  for (const index of layers) {
    for (let b = 0; b < n; b += bs) {
      const m = Math.min(bs, n - b);
      const step = await rt.statisticsStep(index, m);
      if (b === 0) rt.startPass(step);
      load(rt, step, d, Int32Array.from({ length: m }, (_, i) => b + i));
      step.compiled.program.run();
    }
    await rt.backend.sync();
  }
  return { layers: layers.length, samples: n, seconds: (performance.now() - t0) / 1000 };
}

async function evaluateData(rt: Runtime, d: Data, batchSize: number, prefix = ''): Promise<Logs> {
  const n = d.x[0].shape[0];
  const bs = Math.min(batchSize, n);
  rt.zero('eval');
  for (let b = 0; b < n; b += bs) {
    const m = Math.min(bs, n - b);
    const step = await rt.evalStep(m);
    load(rt, step, d, Int32Array.from({ length: m }, (_, i) => b + i));
    step.compiled.program.run();
  }
  return logsFrom(rt, await rt.readSums('eval'), n, prefix);
}

export async function evaluateModel(rt: Runtime, x: readonly Input[], y: readonly Input[], batchSize: number): Promise<Logs> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ValueError(`evaluate: batchSize must be a positive integer, got ${batchSize}`);
  return evaluateData(rt, prepare(rt, x, y, 'evaluate'), batchSize);
}

/** Each output's predictions for the samples of x, [n, ...the output's sample shape]. */
export async function predictModel(rt: Runtime, x: readonly Input[], batchSize: number): Promise<Prediction[]> {
  const fx = features(rt, x, 'predict');
  const n = fx[0].shape[0];
  // Each sample's output may have any shape (an image, after a convolution last): count all of it.
  const units = rt.spec.outputs.map((o) => o.shape.reduce((a, b) => a * b, 1));
  const outs = units.map((u) => new Float32Array(n * u));
  const bs = Math.min(batchSize, n);
  const d: Data = { x: fx, y: [] };
  for (let b = 0; b < n; b += bs) {
    const m = Math.min(bs, n - b);
    const step = await rt.predictStep(m);
    load(rt, step, d, Int32Array.from({ length: m }, (_, i) => b + i));
    step.compiled.program.run();
    for (const [k, v] of step.graph.outputs.entries()) outs[k].set(await rt.backend.read(step.compiled.tensor(v)), b * units[k]);
  }
  return rt.spec.outputs.map((o, k) => ({ data: outs[k], shape: [n, ...o.shape] }));
}

/** One output's predictions: [samples, ...its sample shape]. */
export interface Prediction {
  data: Float32Array;
  shape: number[];
}
