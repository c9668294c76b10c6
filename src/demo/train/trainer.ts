// One model and the runs that train it. The same class serves WebGPU on the
// page and the CPU backend in a Web Worker (worker.ts); the page talks to
// either through TrainerApi.
import type { Backend, Model } from '../../index.js';
import { CpuBackend, modelFromBytes, ValueError, createWebGPUBackend } from '../../index.js';
import { RunCallbacks } from './callbacks.js';
import { takeInsight } from './insight.js';
import { liveLogSink } from './live.js';
import { Meter } from './meter.js';
import { buildModel, checkFits, describeModel, deviceInfo, digitShape, errorText } from './model.js';
import type { BackendName, Digits, Insight, ModelInfo, Phase, RunSummary, TrainConfig, TrainerApi, TrainerEvent } from './protocol.js';
import { Gate, Mutex, StopSignal, yieldTask } from './sync.js';

export class Trainer implements TrainerApi {
  private trainSet: Digits | null = null;
  private testSet: Digits | null = null;
  private model: Model | null = null;
  private running = false;
  private stopRequested = false;
  private readonly gate = new Gate();
  private readonly mutex = new Mutex();
  /** Releases the lock while a run holds it. */
  private release: (() => void) | null = null;

  constructor(private readonly emit: (event: TrainerEvent) => void) {}

  async setData(train: Digits, test: Digits): Promise<void> {
    if (this.running) throw new ValueError('the data cannot change during a training run; stop it first');
    if (train.side !== test.side || train.classes !== test.classes) {
      throw new ValueError(`train images are ${train.side}×${train.side} with ${train.classes} classes, test images ${test.side}×${test.side} with ${test.classes}`);
    }
    this.trainSet = train;
    this.testSet = test;
  }

  async train(config: TrainConfig): Promise<RunSummary | null> {
    if (this.running) throw new ValueError('a training run is already going; stop it first');
    const train = this.trainSet;
    if (!train || !this.testSet) throw new ValueError('no data loaded yet');
    this.running = true;
    this.stopRequested = false;
    this.gate.open();
    this.release = await this.mutex.acquire();
    const meter = new Meter();
    try {
      this.disposeModel();
      this.phase('preparing', config.backend === 'webgpu' ? 'Opening the WebGPU device…' : 'Starting the CPU backend…');
      const backend = await openBackend(config.backend);
      const device = deviceInfo(backend.describe());
      this.emit({ type: 'device', device });
      const model = (this.model = buildModel(config, train.side, train.classes, backend));
      this.emit({ type: 'model', info: describeModel(model) });
      this.phase('compiling', config.backend === 'webgpu' ? 'Compiling the training step’s shaders (async pipelines, before the first step)…' : 'Building the training step…');
      const epochSize = Math.floor(train.n * (1 - config.validationSplit));
      const callbacks = new RunCallbacks(this.host(), model, config, meter, epochSize);
      const { stopped, recomputed } = await this.fit(model, train, config, callbacks, epochSize);
      meter.stop();
      if (!callbacks.insightFresh || recomputed) {
        this.phase('evaluating', 'Evaluating on the test set…');
        this.emit({ type: 'insight', insight: await this.insight(callbacks.at, true) });
      }
      callbacks.report();
      const summary: RunSummary = {
        backend: config.backend,
        device,
        stopped,
        // fit recomputes them when it ends; a stopped run, here when it was stopped.
        batchNormSamples: config.batchNorm && (recomputed || !stopped) ? epochSize : null,
        samples: meter.samples,
        trainSeconds: meter.trainSeconds(),
        samplesPerSecond: meter.rate(),
        config,
      };
      this.phase(stopped ? 'stopped' : 'done', stopped ? 'Stopped' : 'Done');
      this.emit({ type: 'done', summary });
      return summary;
    } catch (e) {
      const message = errorText(e);
      this.emit({ type: 'error', message });
      this.phase('error', message);
      return null;
    } finally {
      this.running = false;
      this.gate.open();
      this.release?.();
      this.release = null;
    }
  }

  async pause(): Promise<void> {
    if (this.running) this.gate.close();
  }

  async resume(): Promise<void> {
    this.gate.open();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.stopRequested = true;
    this.gate.open();
  }

  async predict(x: Float32Array): Promise<Float32Array> {
    // The model is looked up once the lock is held: a new run or a load may have replaced it meanwhile.
    return this.mutex.run(async () => {
      const model = this.requireModel();
      const side = this.testSet?.side ?? 28;
      const pixels = side * side;
      if (x.length === 0 || x.length % pixels !== 0) throw new ValueError(`predict: ${x.length} values is not a whole number of ${side}×${side} images`);
      // [n, 784] for an MLP, [n, 28, 28, 1] for a CNN that takes images: the same pixels either way.
      const shape = digitShape(model, side);
      if (!shape) throw new ValueError(`predict: the model takes samples of shape [${model.inputShape?.join(', ')}], not ${side}×${side} images`);
      return (await model.predict({ data: x, shape: [x.length / pixels, ...shape] })).data;
    });
  }

  async save(): Promise<Uint8Array> {
    return this.mutex.run(() => this.requireModel().toBytes());
  }

  /** Loads a model file onto `backend`; with a test set, evaluates it there. */
  async load(bytes: Uint8Array, backend: BackendName, name: string): Promise<ModelInfo> {
    if (this.running) throw new ValueError('stop training before loading a model');
    const model = modelFromBytes(bytes, name);
    if (this.testSet) checkFits(model, this.testSet.side, this.testSet.classes, name);
    const opened = await openBackend(backend);
    model.compile({ ...(model.compileOptions ?? { loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] }), backend: opened });
    const info = describeModel(model);
    await this.mutex.run(async () => {
      this.disposeModel();
      this.model = model;
      this.emit({ type: 'device', device: deviceInfo(opened.describe()) });
      this.emit({ type: 'model', info });
      if (this.testSet) this.emit({ type: 'insight', insight: await this.insight(0, true) });
    });
    return info;
  }

  /**
   * fit() on the training set, with batch normalization's moving statistics
   * recomputed over the digits trained on when it ends (fit's
   * recomputeBatchNormStatistics), or when the user stops it: after a short
   * run the moving averages are far from the data's, and the test accuracy,
   * the test digits and the pad all use them. Whether the user stopped it,
   * and whether statistics were recomputed after the last look at the test set.
   */
  private async fit(model: Model, train: Digits, config: TrainConfig, callbacks: RunCallbacks, epochSize: number): Promise<{ stopped: boolean; recomputed: boolean }> {
    const sink = liveLogSink((done, total, logs) => this.emit({ type: 'live', at: callbacks.epoch + done / total, logs }));
    const x = { data: train.x, shape: [train.n, ...digitShape(model, train.side)!] };
    try {
      await model.fit(x, { data: train.y, shape: [train.n] }, {
        epochs: config.epochs, batchSize: config.batchSize, validationSplit: config.validationSplit, verbose: 1, sink, logInterval: 0.5, callbacks: [callbacks], recomputeBatchNormStatistics: true,
      });
      return { stopped: false, recomputed: false };
    } catch (e) {
      if (!(e instanceof StopSignal)) throw e;
      if (!config.batchNorm || callbacks.step === 0) return { stopped: true, recomputed: false };
      this.phase('evaluating', `Recomputing the batch-normalization statistics over the ${epochSize.toLocaleString('en-US')} training digits…`);
      const pixels = train.side * train.side;
      await model.recomputeBatchNormStatistics({ data: train.x.subarray(0, epochSize * pixels), shape: [epochSize, ...x.shape.slice(1)] });
      return { stopped: true, recomputed: true };
    }
  }

  private host() {
    return {
      emit: this.emit,
      wantsTurn: () => this.mutex.waiting > 0 || !this.gate.isOpen || this.stopRequested,
      park: () => this.park(),
      insight: (at: number, evaluate: boolean) => this.insight(at, evaluate),
    };
  }

  /** Between batches: releases the model to waiting jobs, lets the event loop run, waits out a pause. */
  private async park(): Promise<void> {
    this.release?.();
    this.release = null;
    await yieldTask();
    if (!this.gate.isOpen) {
      this.phase('paused', 'Paused');
      await this.gate.wait();
      if (!this.stopRequested) this.phase('training', 'Training');
    }
    this.release = await this.mutex.acquire();
    if (this.stopRequested) throw new StopSignal();
  }

  private insight(at: number, evaluate: boolean): Promise<Insight> {
    return takeInsight(this.requireModel(), this.testSet!, at, evaluate);
  }

  private phase(phase: Phase, text: string): void {
    this.emit({ type: 'phase', phase, text });
  }

  private requireModel(): Model {
    if (!this.model) throw new ValueError('no model yet: train one or load a model file');
    return this.model;
  }

  private disposeModel(): void {
    this.model?.dispose();
    this.model = null;
  }
}

export function openBackend(name: BackendName): Promise<Backend> {
  if (name === 'cpu') return Promise.resolve(new CpuBackend());
  if (name === 'webgpu') return createWebGPUBackend();
  throw new ValueError(`unknown backend '${String(name)}' (webgpu or cpu)`);
}
