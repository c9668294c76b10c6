// The model behind the page and everything the page draws of it, computed
// where the model lives: on the page for WebGPU, in a Web Worker for the CPU
// backend (worker.ts). One call trains a chunk of epochs (one fit() call)
// and, when asked, takes a snapshot: the output over the 100×100 grid and at
// every train and test point (one predict, one read back), every hidden
// neuron over a 50×50 grid (one predict per hidden layer, through a copy of
// the layers up to it), and the Dense kernels for the links.
import type { Backend, Sequential } from '../../index.js';
import { CpuBackend, createWebGPUBackend, sequential, ValueError } from '../../index.js';
import { gridPoints } from './colors.js';
import type { ModelPlan } from './plan.js';
import { accuracy, dataLoss, hiddenName, modelLayers, optimizerSpec, OUTPUT, targets } from './plan.js';

/** The Playground's heatmap resolution, and the neurons' (it draws them at 10×10). */
export const GRID = 100;
export const THUMB = 50;

export type BackendName = 'webgpu' | 'cpu';

/** Points as the model takes them: x, y interleaved; labels ±1 (classification) or real. */
export interface EngineData {
  trainX: Float32Array;
  trainLabels: Float32Array;
  testX: Float32Array;
  testLabels: Float32Array;
}

export interface Links {
  /** [inputs, units] row-major, as webgrad keeps a Dense kernel. */
  kernel: Float32Array;
  bias: Float32Array;
  inputs: number;
  units: number;
}

export interface Snapshot {
  epoch: number;
  /** The model's output over the grid, GRID² values row-major from the top left (−6, 6). */
  output: Float32Array;
  /** Per hidden layer, its neurons over the THUMB² grid: [THUMB², units] row-major. Empty when the weights are not finite. */
  neurons: Float32Array[];
  /** Per Dense layer, hidden ones then the output. */
  links: Links[];
  trainLoss: number;
  testLoss: number;
  trainAccuracy: number;
  testAccuracy: number;
}

export interface RunResult {
  epoch: number;
  /** Optimizer steps in this call, and the seconds fit() took for them. */
  steps: number;
  trainSeconds: number;
  snapshot: Snapshot | null;
}

/** A model's training so far, moved between backends: every weight (moving statistics included), the optimizer's slots, the epoch. */
export interface Carried {
  weights: Float32Array[];
  optimizer: { slots: Float32Array[][]; step: number } | null;
  epoch: number;
}

export interface DeviceText {
  backend: BackendName;
  /** "google swiftshader", "nvidia ...". */
  adapter: string;
  software: boolean;
}

const finite = (ws: Float32Array[]) => ws.every((w) => w.every(Number.isFinite));

export class Engine {
  private backend: Backend | null = null;
  private model: Sequential | null = null;
  /** Per hidden layer: the layers up to its Dense, and how many of the model's weights they hold. */
  private prefixes: { model: Sequential; weights: number }[] = [];
  private plan: ModelPlan | null = null;
  private data: EngineData | null = null;
  /** The grid, then the train points, then the test points: one predict draws the heatmap and gives both losses. */
  private probe: Float32Array = new Float32Array(0);
  private readonly thumbGrid = gridPoints(THUMB);
  private epoch = 0;

  /** Opens the backend once; WebGPU throws AdapterError where there is none (the page then starts the CPU worker). */
  async open(name: BackendName): Promise<DeviceText> {
    this.backend ??= name === 'webgpu' ? await createWebGPUBackend() : new CpuBackend();
    const d = this.backend.describe();
    return { backend: d.backend, adapter: [d.vendor, d.architecture, d.device].filter(Boolean).join(' ') || d.description, software: d.software };
  }

  /** A new model for this plan and these points, at epoch 0, or going on from `carried` (another backend's); its first snapshot and its parameter count. */
  async reset(plan: ModelPlan, data: EngineData, carried?: Carried | null): Promise<{ params: number; snapshot: Snapshot }> {
    const params = this.build(plan, data);
    if (carried) this.restore(carried);
    return { params, snapshot: await this.snapshot() };
  }

  /** The training so far, for another backend to go on from; null with no model, or weights that are not finite (nothing to carry). */
  async carry(): Promise<Carried | null> {
    if (!this.model) return null;
    const weights = await this.model.getWeights();
    if (!finite(weights) || weights.some((w) => w.length === 0)) return null;
    return { weights, optimizer: await this.model.optimizerState(), epoch: this.epoch };
  }

  private restore(c: Carried): void {
    this.model!.setWeights(c.weights);
    if (c.optimizer) this.model!.setOptimizerState(c.optimizer);
    this.epoch = c.epoch;
  }

  /** The models for a plan, unbuilt (no weights on the device yet); the parameter count. */
  private build(plan: ModelPlan, data: EngineData): number {
    const backend = this.backend;
    if (!backend) throw new ValueError('the engine has no backend yet: open() it first');
    this.disposeModels();
    this.plan = plan;
    this.data = data;
    this.epoch = 0;
    const grid = gridPoints(GRID);
    this.probe = new Float32Array(grid.length + data.trainX.length + data.testX.length);
    this.probe.set(grid);
    this.probe.set(data.trainX, grid.length);
    this.probe.set(data.testX, grid.length + data.trainX.length);
    const build = (layers: ReturnType<typeof modelLayers>, loss: string) =>
      sequential(layers, { name: 'playground', inputShape: [2], seed: plan.seed }).compile({ optimizer: optimizerSpec(plan), loss, backend });
    this.model = build(modelLayers(plan), OUTPUT[plan.target].loss);
    // Each prefix ends at a hidden Dense: what its neurons output, after their activation.
    this.prefixes = plan.hidden.map((_, i) => {
      const layers = modelLayers(plan);
      const end = layers.findIndex((l) => l.name === hiddenName(i));
      const model = build(layers.slice(0, end + 1), 'meanSquaredError');
      return { model, weights: model.paramSpecs().length };
    });
    return this.model.paramSpecs().reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
  }

  /**
   * The same weights, optimizer state and epoch under a new plan of the same
   * layers (a new learning rate): the Playground lets the rate change while
   * training goes on. The learning rate is compiled into the model's step,
   * so this builds the model again around the weights it had.
   */
  async retune(plan: ModelPlan): Promise<void> {
    const { model, data } = this.require();
    const carried = { weights: await model.getWeights(), optimizer: await model.optimizerState(), epoch: this.epoch };
    this.build(plan, data);
    this.restore(carried);
  }

  /** Trains `epochs` passes over the training points in one fit() call (the Playground's order: no reshuffling). */
  async run(epochs: number, snapshot: boolean): Promise<RunResult> {
    const { model, plan, data } = this.require();
    const n = data.trainLabels.length;
    const t0 = performance.now();
    await model.fit({ data: data.trainX, shape: [n, 2] }, { data: targets(data.trainLabels, plan.target), shape: [n, 1] }, { epochs, batchSize: plan.batchSize, shuffle: false, verbose: 0 });
    const trainSeconds = (performance.now() - t0) / 1000;
    this.epoch += epochs;
    return { epoch: this.epoch, steps: epochs * Math.ceil(n / Math.min(plan.batchSize, n)), trainSeconds, snapshot: snapshot ? await this.snapshot() : null };
  }

  async snapshot(): Promise<Snapshot> {
    const { model, plan, data } = this.require();
    const nTrain = data.trainLabels.length;
    const nTest = data.testLabels.length;
    // Batch normalization predicts with moving statistics; after a few steps they are far from the data's, so make them exact first.
    if (plan.batchNorm) await model.recomputeBatchNormStatistics({ data: data.trainX, shape: [nTrain, 2] }, { batchSize: nTrain });
    const all = this.probe.length / 2;
    const out = (await model.predict({ data: this.probe, shape: [all, 2] }, { batchSize: all })).data;
    // After predict: a model not built yet (a fresh reset) has no weights on the device to read.
    const weights = await model.getWeights();
    const ok = finite(weights);
    const cells = GRID * GRID;
    const trainOut = out.subarray(cells, cells + nTrain);
    const testOut = out.subarray(cells + nTrain);
    const trainY = targets(data.trainLabels, plan.target);
    const testY = targets(data.testLabels, plan.target);
    const classification = plan.target !== 'regression';
    const neurons: Float32Array[] = [];
    if (ok) {
      for (const p of this.prefixes) {
        p.model.setWeights(weights.slice(0, p.weights));
        neurons.push((await p.model.predict({ data: this.thumbGrid, shape: [THUMB * THUMB, 2] }, { batchSize: THUMB * THUMB })).data);
      }
    }
    return {
      epoch: this.epoch,
      output: out.slice(0, cells),
      neurons,
      links: this.links(weights),
      trainLoss: dataLoss(trainOut, trainY, plan.target),
      testLoss: nTest ? dataLoss(testOut, testY, plan.target) : NaN,
      trainAccuracy: classification ? accuracy(trainOut, trainY, plan.target) : NaN,
      testAccuracy: classification && nTest ? accuracy(testOut, testY, plan.target) : NaN,
    };
  }

  /** The model file (safetensors), as `webgrad train --save` writes it. */
  async exportModel(): Promise<Uint8Array> {
    return this.require().model.toBytes();
  }

  private links(weights: Float32Array[]): Links[] {
    const specs = this.require().model.paramSpecs();
    const out: Links[] = [];
    specs.forEach((p, i) => {
      if (!p.name.endsWith('/kernel')) return;
      const [inputs, units] = p.shape;
      const bias = specs[i + 1]?.name.endsWith('/bias') ? weights[i + 1] : new Float32Array(units);
      out.push({ kernel: weights[i], bias, inputs, units });
    });
    return out;
  }

  private require(): { model: Sequential; plan: ModelPlan; data: EngineData } {
    if (!this.model || !this.plan || !this.data) throw new ValueError('no model yet: reset() the engine with a plan and points');
    return { model: this.model, plan: this.plan, data: this.data };
  }

  private disposeModels(): void {
    this.model?.dispose();
    for (const p of this.prefixes) p.model.dispose();
    this.model = null;
    this.prefixes = [];
  }

  dispose(): void {
    this.disposeModels();
    this.backend?.dispose();
    this.backend = null;
  }
}
