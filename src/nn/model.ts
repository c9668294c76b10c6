import type { Backend, DeviceDescription } from '../backend/backend.js';
import { ValueError } from '../core/errors.js';
import { Random } from '../core/random.js';
import type { OptimizerSpec } from '../optim/optimizers.js';
import { makeOptimizer } from '../optim/optimizers.js';
import type { Logs, TrainingModel } from './callbacks.js';
import type { ModelSpec } from './graphs.js';
import type { Input } from './inputs.js';
import type { Layer, LayerConfig, ParamSpec } from './layers.js';
import { layerFromConfig } from './layers.js';
import { resolveLoss, resolveMetric } from './losses.js';
import type { BackendChoice } from './runtime.js';
import { openBackend, Runtime } from './runtime.js';
import type { FitOptions, History } from './train.js';
import { evaluateModel, fitModel, predictModel } from './train.js';

export interface CompileOptions {
  optimizer?: OptimizerSpec;
  loss: string;
  metrics?: string[];
  /** 'auto' (the default) uses WebGPU where an adapter exists, else the CPU, with a warning. Or a backend already open. */
  backend?: BackendChoice | Backend;
  /**
   * Fold each Dense layer's bias and activation into its matmul, forward and
   * backward (default true): fewer launches, the same numbers. false runs
   * every op on its own, for comparing or debugging.
   */
  fuse?: boolean;
}

export interface SequentialOptions {
  name?: string;
  /** Features per sample; otherwise the first layer's inputShape, or the data's at the first fit. */
  inputShape?: number[];
  /** Seeds the initial weights and the shuffling, so runs repeat exactly. */
  seed?: number;
}

/** The topology JSON saved with a model. */
export interface Topology {
  name: string;
  inputShape: number[] | null;
  seed: number;
  layers: LayerConfig[];
}

/** A linear stack of layers, trained with compile() / fit() as in Keras. */
export class Sequential implements TrainingModel {
  readonly name: string;
  readonly layers: Layer[] = [];
  readonly seed: number;
  inputShape: number[] | null;
  stopTraining = false;
  compileOptions: CompileOptions | null = null;
  /** Filled by fit(): the rng that shuffles, continuing across fit() calls. */
  readonly rng: Random;
  private runtime: Runtime | null = null;
  private pendingWeights: Float32Array[] | null = null;
  private pendingOptimizer: { slots: Float32Array[][]; step: number } | null = null;

  constructor(layers: Layer[] = [], options: SequentialOptions = {}) {
    this.name = options.name ?? 'sequential';
    this.seed = options.seed ?? 42;
    this.rng = new Random(this.seed ^ 0x5eed);
    this.inputShape = options.inputShape ?? null;
    for (const l of layers) this.add(l);
  }

  add(layer: Layer): this {
    if (this.runtime) throw new ValueError('add: the model is already built; add layers before the first fit/evaluate/predict');
    if (this.layers.some((l) => l.name === layer.name)) throw new ValueError(`add: a layer named '${layer.name}' is already in the model`);
    if (this.layers.length === 0 && layer.config.inputShape) this.inputShape ??= [...layer.config.inputShape];
    this.layers.push(layer);
    return this;
  }

  compile(options: CompileOptions): this {
    if (this.layers.length === 0) throw new ValueError('compile: the model has no layers');
    const last = this.layers[this.layers.length - 1].activation;
    const loss = resolveLoss(options.loss, last);
    (options.metrics ?? []).forEach((m) => resolveMetric(m, loss));
    makeOptimizer(options.optimizer ?? 'adam');
    if (options.fuse !== undefined && typeof options.fuse !== 'boolean') throw new ValueError(`compile: fuse must be true or false, got ${String(options.fuse)}`);
    if (this.runtime) throw new ValueError('compile: recompiling a built model is not supported yet; build a new model and setWeights()');
    this.compileOptions = { optimizer: 'adam', metrics: [], backend: 'auto', ...options };
    return this;
  }

  /** Output shape and parameter count of each layer, Keras' summary table. */
  summary(print: (line: string) => void = console.log): string {
    const shape = this.requireInputShape('summary');
    const rows: [string, string, number][] = [];
    let s = shape;
    let total = 0;
    for (const l of this.layers) {
      const n = l.params(s).reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
      s = l.outputShape(s);
      total += n;
      rows.push([`${l.name} (${l.config.type === 'dense' ? 'Dense' : 'Activation'})`, `(None, ${s.join(', ')})`, n]);
    }
    const rule = (c: string) => c.repeat(65);
    const row = (a: string, b: string, c: string) => ` ${a.padEnd(28)}${b.padEnd(26)}${c}`;
    const text = [`Model: "${this.name}"`, rule('_'), row('Layer (type)', 'Output Shape', 'Param #'), rule('=')]
      .concat(rows.map(([a, b, c]) => row(a, b, c.toLocaleString('en-US'))))
      .concat([rule('='), `Total params: ${total.toLocaleString('en-US')}`, `Trainable params: ${total.toLocaleString('en-US')}`, 'Non-trainable params: 0', rule('_')])
      .join('\n');
    print(text);
    return text;
  }

  async fit(x: Input, y: Input, options: FitOptions = {}): Promise<History> {
    return fitModel(this, await this.ready('fit', x), x, y, options);
  }

  async evaluate(x: Input, y: Input, options: { batchSize?: number } = {}): Promise<Logs> {
    return evaluateModel(await this.ready('evaluate', x), x, y, options.batchSize ?? 256);
  }

  /** Outputs [n, units] after the final activation (probabilities for a softmax model). */
  async predict(x: Input, options: { batchSize?: number } = {}): Promise<{ data: Float32Array; shape: [number, number] }> {
    return predictModel(await this.ready('predict', x), x, options.batchSize ?? 256);
  }

  /** Writes the model (topology, weights, optimizer state) to a safetensors file, atomically. Node only. */
  async save(path: string): Promise<void> {
    const { saveModel } = await import('./saving.js');
    await saveModel(this, path);
  }

  /** Reads a model written by save(): topology, weights, optimizer state and compile options. Node only. */
  static async load(path: string): Promise<Sequential> {
    const { loadModel } = await import('./saving.js');
    return loadModel(path);
  }

  /** The model file's bytes, for the browser (download) or any storage. */
  async toBytes(): Promise<Uint8Array> {
    const { modelToBytes } = await import('./saving.js');
    return modelToBytes(this);
  }

  /** The backend and device the model runs on, once built. */
  device(): DeviceDescription | null {
    return this.runtime?.backend.describe() ?? null;
  }

  get backend(): Backend | null {
    return this.runtime?.backend ?? null;
  }

  /** Every weight, in layer order (kernel, then bias). */
  async getWeights(): Promise<Float32Array[]> {
    if (!this.runtime) return this.pendingWeights?.map((w) => w.slice()) ?? this.paramSpecs().map(() => new Float32Array(0));
    const rt = this.runtime;
    return Promise.all(rt.weights.map(async (t) => (await rt.backend.read(t)) as Float32Array));
  }

  setWeights(weights: Float32Array[]): void {
    const specs = this.paramSpecs();
    if (weights.length !== specs.length) throw new ValueError(`setWeights: the model has ${specs.length} weights, got ${weights.length}`);
    specs.forEach((p, i) => {
      const n = p.shape.reduce((a, b) => a * b, 1);
      if (weights[i].length !== n) throw new ValueError(`setWeights: ${p.name} has shape [${p.shape.join(', ')}] (${n} values), got ${weights[i].length}`);
    });
    if (this.runtime) this.runtime.weights.forEach((t, i) => this.runtime!.backend.write(t, weights[i]));
    else this.pendingWeights = weights.map((w) => Float32Array.from(w));
  }

  topology(): Topology {
    return { name: this.name, inputShape: this.inputShape, seed: this.seed, layers: this.layers.map((l) => l.config) };
  }

  static fromTopology(t: Topology): Sequential {
    if (!t || !Array.isArray(t.layers)) throw new ValueError('model topology: no layer list');
    return new Sequential(t.layers.map(layerFromConfig), { name: t.name, inputShape: t.inputShape ?? undefined, seed: t.seed });
  }

  /** @internal Optimizer state for save(): slots per weight and the step count. */
  async optimizerState(): Promise<{ slots: Float32Array[][]; step: number } | null> {
    const rt = this.runtime;
    if (!rt) return this.pendingOptimizer;
    if (!rt.optimizer) return null;
    const slots = await Promise.all(rt.slots.map((s) => Promise.all(s.map(async (t) => (await rt.backend.read(t)) as Float32Array))));
    return { slots, step: rt.step };
  }

  /** @internal Restores optimizer state at the next build (load()). */
  setOptimizerState(state: { slots: Float32Array[][]; step: number }): void {
    if (this.runtime) throw new ValueError('optimizer state can only be restored before the model is built');
    this.pendingOptimizer = state;
  }

  paramSpecs(): ParamSpec[] {
    const spec = this.specFor(this.requireInputShape('weights'));
    return [...spec.params];
  }

  dispose(): void {
    this.runtime?.dispose();
    this.runtime = null;
  }

  private requireInputShape(what: string): number[] {
    if (!this.inputShape) throw new ValueError(`${what}: the model's input shape is unknown; give inputShape to the first layer or to sequential(), or call fit() first`);
    return this.inputShape;
  }

  private specFor(inputShape: number[]): ModelSpec {
    const options = this.compileOptions;
    const last = this.layers[this.layers.length - 1];
    const loss = resolveLoss(options?.loss ?? 'meanSquaredError', last.activation);
    const params: ParamSpec[] = [];
    const paramCounts: number[] = [];
    let s = inputShape;
    for (const l of this.layers) {
      const p = l.params(s);
      params.push(...p);
      paramCounts.push(p.length);
      s = l.outputShape(s);
    }
    return { layers: this.layers, inputShape, params, paramCounts, loss, metrics: (options?.metrics ?? []).map((m) => resolveMetric(m, loss)), targetShape: loss.targets === 'labels' ? [] : s, fuse: options?.fuse ?? true };
  }

  /** Builds the runtime on first use: opens the backend, initialises or restores weights. */
  private async ready(what: string, x: Input): Promise<Runtime> {
    if (!this.compileOptions) throw new ValueError(`${what}: compile() the model first`);
    if (!this.inputShape) {
      const shape = 'shape' in x ? x.shape : [(x as unknown[]).length, ((x as unknown[][])[0] ?? []).length];
      this.inputShape = [shape[shape.length - 1]];
    }
    if (this.runtime) return this.runtime;
    const choice = this.compileOptions.backend ?? 'auto';
    const backend = typeof choice === 'string' ? await openBackend(choice) : choice;
    const spec = this.specFor(this.inputShape);
    const rt = new Runtime(backend, spec, makeOptimizer(this.compileOptions.optimizer ?? 'adam'), this.pendingWeights ?? new Random(this.seed), typeof choice === 'string');
    if (this.pendingOptimizer) {
      rt.slots.forEach((s, i) => s.forEach((t, k) => backend.write(t, this.pendingOptimizer!.slots[i][k])));
      rt.step = this.pendingOptimizer.step;
    }
    this.pendingWeights = null;
    this.pendingOptimizer = null;
    this.runtime = rt;
    return rt;
  }
}

/** `sequential([...layers], options)`, the functional spelling. */
export function sequential(layers: Layer[] = [], options: SequentialOptions = {}): Sequential {
  return new Sequential(layers, options);
}
