import type { Backend, DeviceDescription } from '../backend/backend.js';
import { ValueError, WebgradError } from '../core/errors.js';
import type { OptionsOf } from '../core/options.js';
import { defineOptions, didYouMean, opt } from '../core/options.js';
import { Random } from '../core/random.js';
import { printable } from '../core/text.js';
import type { Scaler, StandardParams } from '../data/transform.js';
import { standardScalerFrom } from '../data/transform.js';
import type { OptimizerSpec } from '../optim/optimizers.js';
import { checkOptimizer, makeOptimizer } from '../optim/optimizers.js';
import type { Logs, TrainingModel } from './callbacks.js';
import type { ModelSpec } from './graphs.js';
import type { Input } from './inputs.js';
import { toFeatures } from './inputs.js';
import type { Layer, LayerConfig, ParamSpec } from './layers.js';
import { isAutoNamed, isTrainable, layerFromConfig, layerTitle, maskCarried, nameInModel, outputShapeOf, shapeProblem, withFileDefaults } from './layers.js';
import { LOSSES, resolveLoss, resolveMetric } from './losses.js';
import type { BackendChoice } from './runtime.js';
import { openBackend, Runtime } from './runtime.js';
import type { FitOptions, History, StatisticsPass } from './train.js';
import { evaluateModel, FIT_OPTIONS, fitModel, predictModel, recomputeStatistics } from './train.js';

const COMPILE_OPTIONS = defineOptions('compile', {
  optimizer: opt.custom<OptimizerSpec>('name|config', "an optimizer name ('adam') or config ({ type: 'sgd', learningRate: 0.1, momentum: 0.9 }); default 'adam'", (v) => {
    checkOptimizer(v);
    return null;
  }),
  loss: opt.string(`the loss, required: ${LOSSES.join(', ')}`),
  metrics: opt.custom<string[]>('string[]', "metrics to report, e.g. ['accuracy']", (v) => (Array.isArray(v) && v.every((m) => typeof m === 'string') ? null : `must be a list of metric names, got ${JSON.stringify(v)}`)),
  backend: opt.custom<BackendChoice | Backend>('auto|webgpu|cpu|Backend', "'auto' (the default) uses WebGPU where an adapter exists, else the CPU, with a warning; or a backend already open", (v) =>
    v === 'auto' || v === 'webgpu' || v === 'cpu' || (typeof v === 'object' && v !== null && 'kind' in v) ? null : `must be 'auto', 'webgpu', 'cpu' or an open backend, got ${JSON.stringify(v)}${didYouMean(v, ['auto', 'webgpu', 'cpu'])}`,
  ),
  /**
   * Fold each Dense layer's bias and activation into its matmul, forward and
   * backward (default true): fewer launches, the same numbers. false runs
   * every op on its own, for comparing or debugging.
   */
  fuse: opt.boolean('fold bias and activation into the matmul (default true); false runs every op on its own'),
}, { optimiser: 'optimizer', lossFunction: 'loss', loss_fn: 'loss' });

export type CompileOptions = OptionsOf<typeof COMPILE_OPTIONS.spec> & { loss: string };

const SEQUENTIAL_OPTIONS = defineOptions('sequential', {
  name: opt.string('the model\'s name'),
  inputShape: opt.custom<number[]>('number[]', 'features per sample; otherwise the first layer\'s inputShape, or the data\'s at the first fit', (v) => shapeProblem(v)),
  seed: opt.integer('seeds the initial weights and the shuffling, so runs repeat exactly (default 42)', { min: 0 }),
});

export type SequentialOptions = OptionsOf<typeof SEQUENTIAL_OPTIONS.spec>;

const BATCH_OPTIONS = (owner: string) => defineOptions(owner, { batchSize: opt.integer('samples per launch (default 256)', { min: 1 }) });
const EVALUATE_OPTIONS = BATCH_OPTIONS('evaluate');
const PREDICT_OPTIONS = BATCH_OPTIONS('predict');
const STATISTICS_OPTIONS = BATCH_OPTIONS('recomputeBatchNormStatistics');

/** A feature scaler saved with the model: x' = (x − mean) / std, applied to every input of fit, evaluate and predict. */
export type InputScaler = StandardParams;

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
  /** Where the training data came from, as the CLI was given it ('mnist' or a path, and the CSV's label column): saved with the model so that an export can name it; null when unknown. */
  trainingData: { data: string; labelColumn?: string } | null = null;
  /** Filled by fit(): the rng that shuffles, continuing across fit() calls. */
  readonly rng: Random;
  private runtime: Runtime | null = null;
  private pendingWeights: Float32Array[] | null = null;
  private pendingOptimizer: { slots: Float32Array[][]; step: number } | null = null;
  private disposed = false;
  private names: string[] | null = null;
  private chars: string[] | null = null;
  private inputScaler: Scaler<StandardParams> | null = null;

  constructor(layers: Layer[] = [], options: SequentialOptions = {}) {
    const o = SEQUENTIAL_OPTIONS.check(options);
    this.name = o.name ?? 'sequential';
    this.seed = o.seed ?? 42;
    this.rng = new Random(this.seed ^ 0x5eed);
    this.inputShape = o.inputShape ? [...o.inputShape] : null;
    for (const l of layers) this.add(l);
  }

  add(layer: Layer): this {
    this.alive('add');
    if (this.runtime) throw new ValueError('add: the model is already built; add layers before the first fit/evaluate/predict');
    // A layer built without a name is named by its place in this model (dense_1, dense_2, ...), as if the
    // process had built no model before: the model holds a copy under that name.
    if (isAutoNamed(layer)) layer = layerFromConfig({ ...layer.config, name: nameInModel(layer, new Set(this.layers.map((l) => l.name))) });
    if (this.layers.some((l) => l.name === layer.name)) throw new ValueError(`add: a layer named '${layer.name}' is already in the model`);
    if (this.layers.length === 0 && layer.config.inputShape) this.inputShape ??= [...layer.config.inputShape];
    // A layer that cannot take the mask of padded steps an earlier embedding makes (maskZero) is refused now, by name.
    maskCarried([...this.layers, layer]);
    this.layers.push(layer);
    return this;
  }

  compile(options: CompileOptions): this {
    this.alive('compile');
    const o = COMPILE_OPTIONS.check(options);
    if (this.layers.length === 0) throw new ValueError('compile: the model has no layers');
    if (o.loss === undefined) throw new ValueError(`compile: no loss given; name one, e.g. compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' }) (losses: ${LOSSES.join(', ')})`);
    const last = this.layers[this.layers.length - 1].activation;
    const loss = resolveLoss(o.loss, last);
    (o.metrics ?? []).forEach((m) => resolveMetric(m, loss));
    makeOptimizer(o.optimizer ?? 'adam');
    if (this.runtime) throw new ValueError('compile: recompiling a built model is not supported yet; build a new model and setWeights()');
    this.compileOptions = { optimizer: 'adam', metrics: [], backend: 'auto', ...o, loss: o.loss };
    return this;
  }

  /** Output shape and parameter count of each layer, Keras' summary table. */
  summary(print: (line: string) => void = console.log): string {
    this.alive('summary');
    const shape = this.requireInputShape('summary');
    const rows: [string, string, number][] = [];
    let s = shape;
    let total = 0;
    let trainable = 0;
    const count = (ps: ParamSpec[]) => ps.reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
    for (const l of this.layers) {
      const ps = l.params(s);
      const n = count(ps);
      s = l.outputShape(s);
      total += n;
      trainable += count(ps.filter(isTrainable));
      // A name is shown, never obeyed: its control characters (terminal escapes) are printed as escapes.
      rows.push([`${printable(l.name)} (${layerTitle(l)})`, `(None, ${s.join(', ')})`, n]);
    }
    // Keras' columns, widened where a name (max_pooling2d_12 (MaxPooling2D)) needs more.
    const nameWidth = Math.max(28, ...rows.map(([a]) => a.length + 2));
    const rule = (c: string) => c.repeat(nameWidth + 37);
    const row = (a: string, b: string, c: string) => ` ${a.padEnd(nameWidth)}${b.padEnd(26)}${c}`;
    const text = [`Model: "${printable(this.name)}"`, rule('_'), row('Layer (type)', 'Output Shape', 'Param #'), rule('=')]
      .concat(rows.map(([a, b, c]) => row(a, b, c.toLocaleString('en-US'))))
      .concat([rule('='), `Total params: ${total.toLocaleString('en-US')}`, `Trainable params: ${trainable.toLocaleString('en-US')}`, `Non-trainable params: ${(total - trainable).toLocaleString('en-US')}`, rule('_')])
      .join('\n');
    print(text);
    return text;
  }

  async fit(x: Input, y: Input, options: FitOptions = {}): Promise<History> {
    const o = FIT_OPTIONS.check(options);
    const rt = await this.ready('fit', x);
    const validationData = o.validationData ? ([this.scaled(o.validationData[0], 'validation x'), o.validationData[1]] as [Input, Input]) : undefined;
    return fitModel(this, rt, this.scaled(x, 'fit x'), y, { ...o, validationData });
  }

  async evaluate(x: Input, y: Input, options: { batchSize?: number } = {}): Promise<Logs> {
    const o = EVALUATE_OPTIONS.check(options);
    return evaluateModel(await this.ready('evaluate', x), this.scaled(x, 'evaluate x'), y, o.batchSize ?? 256);
  }

  /** Outputs [n, units] after the final activation (probabilities for a softmax model). */
  async predict(x: Input, options: { batchSize?: number } = {}): Promise<{ data: Float32Array; shape: number[] }> {
    const o = PREDICT_OPTIONS.check(options);
    return predictModel(await this.ready('predict', x), this.scaled(x, 'predict x'), o.batchSize ?? 256);
  }

  /**
   * Makes every BatchNormalization layer's moving mean and variance the exact
   * (biased) statistics of its inputs over x, the layers before it in
   * inference mode: what fit's recomputeBatchNormStatistics does when training
   * ends, for data of your choosing (PyTorch's update_bn). One pass over x per
   * such layer, on the device. Returns what it covered.
   */
  async recomputeBatchNormStatistics(x: Input, options: { batchSize?: number } = {}): Promise<StatisticsPass> {
    const o = STATISTICS_OPTIONS.check(options);
    const rt = await this.ready('recomputeBatchNormStatistics', x);
    return recomputeStatistics(rt, toFeatures(this.scaled(x, 'recomputeBatchNormStatistics x'), rt.spec.inputShape, 'recomputeBatchNormStatistics x'), o.batchSize ?? 256);
  }

  /** Writes the model (topology, weights, optimizer state, class names, scaler) to a safetensors file, atomically. Node only. */
  async save(path: string): Promise<void> {
    this.alive('save');
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
    this.alive('toBytes');
    const { modelToBytes } = await import('./saving.js');
    return modelToBytes(this);
  }

  /** The backend and device the model runs on, once built. */
  device(): DeviceDescription | null {
    this.alive('device');
    return this.runtime?.backend.describe() ?? null;
  }

  get backend(): Backend | null {
    this.alive('backend');
    return this.runtime?.backend ?? null;
  }

  /** The name of each class, in the order of the model's outputs (label i is classNames[i]), or null. Saved with the model. */
  get classNames(): string[] | null {
    return this.names ? [...this.names] : null;
  }

  setClassNames(names: readonly string[] | null): void {
    this.alive('setClassNames');
    if (names === null) {
      this.names = null;
      return;
    }
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) throw new ValueError(`setClassNames: expected a list of strings, got ${JSON.stringify(names)}`);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup !== undefined) throw new ValueError(`setClassNames: class '${dup}' is named twice`);
    const units = this.inputShape ? this.outputUnits() : null;
    // One output is one class per unit, or a binary classifier's two classes (sigmoid: the output is P(class 1)).
    if (units !== null && names.length !== units && !(units === 1 && names.length === 2)) {
      throw new ValueError(`setClassNames: the model has ${units} output${units === 1 ? ' (a binary classifier has 2 class names)' : 's'}, got ${names.length} class names`);
    }
    this.names = [...names];
  }

  /**
   * A character model's vocabulary: the character of each token id, which is
   * also each output class (the next character). Saved with the model (as
   * code points: a text's newline and tab are characters like any other).
   */
  get vocabulary(): string[] | null {
    return this.chars ? [...this.chars] : null;
  }

  setVocabulary(chars: readonly string[] | null): void {
    this.alive('setVocabulary');
    if (chars === null) {
      this.chars = null;
      return;
    }
    if (!Array.isArray(chars) || chars.length === 0) throw new ValueError(`setVocabulary: expected a non-empty list of characters, got ${JSON.stringify(chars)?.slice(0, 60)}`);
    chars.forEach((c, i) => {
      if (typeof c !== 'string' || Array.from(c).length !== 1) throw new ValueError(`setVocabulary: entry ${i} must be one character, got ${JSON.stringify(c)?.slice(0, 20)}`);
      if (chars.indexOf(c) !== i) throw new ValueError(`setVocabulary: the character U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} is in it twice`);
    });
    const first = this.layers[0]?.config;
    if (first?.type === 'embedding' && first.inputDim !== chars.length) throw new ValueError(`setVocabulary: ${chars.length} characters, but the model's embedding takes ${first.inputDim} ids`);
    const units = this.inputShape ? this.outputUnits() : null;
    if (units !== null && units !== chars.length) throw new ValueError(`setVocabulary: ${chars.length} characters, but the model predicts ${units} classes`);
    this.chars = [...chars];
  }

  /** The feature scaler every input goes through (fit, evaluate, predict), or null. Saved with the model. */
  get scaler(): InputScaler | null {
    const p = this.inputScaler?.params;
    return p ? { mean: [...p.mean], std: [...p.std] } : null;
  }

  /** Sets the scaler: x' = (x − mean) / std per feature, applied inside fit, evaluate and predict. */
  setScaler(scaler: InputScaler | null): void {
    this.alive('setScaler');
    if (scaler === null) {
      this.inputScaler = null;
      return;
    }
    const { mean, std } = scaler;
    if (!Array.isArray(mean) || !Array.isArray(std)) throw new ValueError('setScaler: mean and std must be lists of numbers');
    const f = this.inputShape ? this.inputShape.reduce((a, b) => a * b, 1) : undefined;
    if (f !== undefined && mean.length !== f) throw new ValueError(`setScaler: the model takes ${f} values per sample, the scaler has ${mean.length}`);
    try {
      this.inputScaler = standardScalerFrom({ mean: [...mean], std: [...std] });
    } catch (e) {
      if (e instanceof WebgradError) e.message = e.message.replace(/^standardScaler: /, 'setScaler: ');
      throw e;
    }
  }

  /** Every weight, in layer order (kernel, then bias). */
  async getWeights(): Promise<Float32Array[]> {
    this.alive('getWeights');
    if (!this.runtime) return this.pendingWeights?.map((w) => w.slice()) ?? this.paramSpecs().map(() => new Float32Array(0));
    const rt = this.runtime;
    return Promise.all(rt.weights.map(async (t) => (await rt.backend.read(t)) as Float32Array));
  }

  setWeights(weights: Float32Array[]): void {
    this.alive('setWeights');
    const specs = this.paramSpecs();
    if (!Array.isArray(weights) || weights.length !== specs.length) throw new ValueError(`setWeights: the model has ${specs.length} weights, got ${Array.isArray(weights) ? weights.length : typeof weights}`);
    specs.forEach((p, i) => {
      const n = p.shape.reduce((a, b) => a * b, 1);
      if (weights[i].length !== n) throw new ValueError(`setWeights: ${p.name} has shape [${p.shape.join(', ')}] (${n} values), got ${weights[i].length}`);
      const bad = firstNonFinite(weights[i]);
      if (bad >= 0) throw new ValueError(`setWeights: ${p.name} holds ${weights[i][bad]} at index ${bad}; weights must be finite`);
    });
    if (this.runtime) this.runtime.weights.forEach((t, i) => this.runtime!.backend.write(t, weights[i]));
    else this.pendingWeights = weights.map((w) => Float32Array.from(w));
  }

  topology(): Topology {
    this.alive('topology');
    return { name: this.name, inputShape: this.inputShape, seed: this.seed, layers: this.layers.map((l) => l.config) };
  }

  static fromTopology(t: Topology): Sequential {
    if (!t || !Array.isArray(t.layers)) throw new ValueError('model topology: no layer list');
    // Fields a file leaves out take Keras' defaults (a dense layer without useBias has its bias, as in Keras).
    return new Sequential(t.layers.map((c) => layerFromConfig(withFileDefaults(c))), { name: t.name, inputShape: t.inputShape ?? undefined, seed: t.seed });
  }

  /** @internal Optimizer state for save(): slots per trainable weight and the step count. */
  async optimizerState(): Promise<{ slots: Float32Array[][]; step: number } | null> {
    this.alive('optimizerState');
    const rt = this.runtime;
    if (!rt) return this.pendingOptimizer;
    if (!rt.optimizer) return null;
    const slots = await Promise.all(rt.slots.map((s) => Promise.all(s.map(async (t) => (await rt.backend.read(t)) as Float32Array))));
    return { slots, step: rt.step };
  }

  /** @internal Restores optimizer state at the next build (load()). */
  setOptimizerState(state: { slots: Float32Array[][]; step: number }): void {
    this.alive('setOptimizerState');
    if (this.runtime) throw new ValueError('optimizer state can only be restored before the model is built');
    this.pendingOptimizer = state;
  }

  paramSpecs(): ParamSpec[] {
    this.alive('paramSpecs');
    const spec = this.specFor(this.requireInputShape('weights'));
    return [...spec.params];
  }

  /** Frees the model's device memory. Every later call but dispose() throws; dispose() again does nothing. */
  dispose(): void {
    this.runtime?.dispose();
    this.runtime = null;
    this.pendingWeights = null;
    this.pendingOptimizer = null;
    this.disposed = true;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  private alive(what: string): void {
    if (this.disposed) throw new ValueError(`${what}: the model '${this.name}' was disposed and its weights are gone; load it again or build a new model`);
  }

  private outputUnits(): number {
    const s = outputShapeOf(this.layers, this.requireInputShape('outputs'));
    return s[s.length - 1];
  }

  /** x through the saved scaler, when there is one. */
  private scaled(x: Input, what: string): Input {
    const check = this.layers[0]?.checkInput;
    if (!this.inputScaler && !check) return x;
    const f = toFeatures(x, this.inputShape, what);
    const data = this.inputScaler ? this.inputScaler.transform(f.data) : f.data;
    check?.(data instanceof Float32Array ? data : Float32Array.from(data), what);
    return { data, shape: f.shape };
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
    return { layers: this.layers, inputShape, params, paramCounts, loss, metrics: (options?.metrics ?? []).map((m) => resolveMetric(m, loss)), targetShape: loss.targets === 'labels' ? (s.length === 2 ? [s[0]] : []) : s, fuse: options?.fuse ?? true, seed: this.seed };
  }

  /** Builds the runtime on first use: opens the backend, initialises or restores weights. */
  private async ready(what: string, x: Input): Promise<Runtime> {
    this.alive(what);
    if (!this.compileOptions) throw new ValueError(`${what}: compile() the model first`);
    if (!this.inputShape) {
      const shape = 'shape' in x ? x.shape : [(x as unknown[]).length, ((x as unknown[][])[0] ?? []).length];
      this.inputShape = shape.slice(1);
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

/** The index of the first NaN or ±Infinity, or -1. */
export function firstNonFinite(a: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return i;
  return -1;
}

/** `sequential([...layers], options)`, the functional spelling. */
export function sequential(layers: Layer[] = [], options: SequentialOptions = {}): Sequential {
  return new Sequential(layers, options);
}
