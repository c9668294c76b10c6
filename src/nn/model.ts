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
import type { ModelSpec, SpecOutput } from './graphs.js';
import type { Input } from './inputs.js';
import { toFeatures } from './inputs.js';
import type { Layer, LayerConfig, ModelGraph, ParamSpec } from './layers.js';
import { chainGraph, graphShapes, tensorLayer, isAutoNamed, isTrainable, layerFromConfig, layerTitle, maskCarried, nameInModel, shapeProblem, withFileDefaults } from './layers.js';
import { LOSSES, resolveLoss, resolveMetric } from './losses.js';
import type { BackendChoice } from './runtime.js';
import { openBackend, Runtime } from './runtime.js';
import type { FitOptions, History, Prediction, StatisticsPass } from './train.js';
import { evaluateModel, FIT_OPTIONS, fitModel, predictModel, recomputeStatistics } from './train.js';

const COMPILE_OPTIONS = defineOptions('compile', {
  optimizer: opt.custom<OptimizerSpec>('name|config', "an optimizer name ('adam') or config ({ type: 'sgd', learningRate: 0.1, momentum: 0.9 }); default 'adam'", (v) => {
    checkOptimizer(v);
    return null;
  }),
  loss: opt.custom<string | string[]>('string | string[]', `the loss, required: ${LOSSES.join(', ')}; a model with several outputs takes one for all or a list, one per output`, (v) =>
    typeof v === 'string' || (Array.isArray(v) && v.length > 0 && v.every((l) => typeof l === 'string')) ? null : `must be a loss name or a list of them, got ${JSON.stringify(v)}`,
  ),
  lossWeights: opt.custom<number[]>('number[]', "with several outputs, each output's share of the total loss (Keras' loss_weights; default 1 each)", (v) =>
    Array.isArray(v) && v.length > 0 && v.every((w) => typeof w === 'number' && Number.isFinite(w) && w >= 0) ? null : `must be a list of finite numbers ≥ 0, one per output, got ${JSON.stringify(v)}`,
  ),
  metrics: opt.custom<string[] | string[][]>('string[] | string[][]', "metrics to report, e.g. ['accuracy'] (with several outputs: for every output, or a list per output)", (v) =>
    Array.isArray(v) && (v.every((m) => typeof m === 'string') || v.every((l) => Array.isArray(l) && l.every((m) => typeof m === 'string'))) ? null : `must be a list of metric names, or a list of such lists (one per output), got ${JSON.stringify(v)}`,
  ),
  backend: opt.custom<BackendChoice | Backend>('auto|webgpu|cpu|Backend', "'auto' (the default) uses WebGPU where an adapter exists, else the CPU, with a warning; or a backend already open", (v) =>
    v === 'auto' || v === 'webgpu' || v === 'cpu' || (typeof v === 'object' && v !== null && 'kind' in v) ? null : `must be 'auto', 'webgpu', 'cpu' or an open backend, got ${JSON.stringify(v)}${didYouMean(v, ['auto', 'webgpu', 'cpu'])}`,
  ),
  /**
   * Fold each Dense layer's bias and activation into its matmul, forward and
   * backward (default true): fewer launches, the same numbers. false runs
   * every op on its own, for comparing or debugging.
   */
  fuse: opt.boolean('fold bias and activation into the matmul (default true); false runs every op on its own'),
}, { optimiser: 'optimizer', lossFunction: 'loss', loss_fn: 'loss', loss_weights: 'lossWeights' });

export type CompileOptions = OptionsOf<typeof COMPILE_OPTIONS.spec> & { loss: string | string[] };

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
  /**
   * Only a functional model's: its inputs, each call of a layer (by name) on
   * tensors (ModelGraph's ids: the inputs first, then each call's output in
   * order), and the tensors it outputs. A Sequential model's layers are a
   * chain and need none.
   */
  inputs?: TopologyInput[];
  nodes?: { layer: string; inputs: number[]; args?: Record<string, boolean | number | string> }[];
  outputs?: number[];
}

/** A functional model's input as its topology saves it. */
export interface TopologyInput {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
}

/**
 * A model: layers and the calls that connect them (ModelGraph), trained with
 * compile() / fit() as in Keras. Sequential is the chain; model({ inputs,
 * outputs }) (src/nn/functional.ts) makes any other graph.
 */
export abstract class Model implements TrainingModel {
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

  protected constructor(o: { name: string; seed?: number; inputShape?: number[] }) {
    this.name = o.name;
    this.seed = o.seed ?? 42;
    this.rng = new Random(this.seed ^ 0x5eed);
    this.inputShape = o.inputShape ? [...o.inputShape] : null;
  }

  /** The layers and the calls that connect them. */
  abstract graph(): ModelGraph;

  /** The layer whose call makes the output (a Sequential model's last): its activation is the output's. */
  get outputLayer(): Layer {
    const g = this.graph();
    if (g.nodes.length === 0) throw new ValueError(`${this.name}: the model has no layers`);
    return tensorLayer(g, g.outputs[0]);
  }

  /** The sample shape of the output (Keras' output_shape without the batch axis), or null while the input shape is unknown. */
  get outputShape(): number[] | null {
    if (!this.inputShape || this.layers.length === 0) return null;
    const g = this.graph();
    return graphShapes(g, this.inputShapes()!).shapes[g.outputs[0]];
  }

  /** The layers that read the model's input (a Sequential model's first). */
  protected inputLayers(): Layer[] {
    const g = this.graph();
    return [...new Set(g.nodes.filter((n) => n.inputs.some((t) => t < g.inputs)).map((n) => g.layers[n.layer]))];
  }

  /** Whether the model is built (its weights live on a backend): its layers can no longer change. */
  protected get built(): boolean {
    return this.runtime !== null;
  }

  compile(options: CompileOptions): this {
    this.alive('compile');
    const o = COMPILE_OPTIONS.check(options);
    if (this.layers.length === 0) throw new ValueError('compile: the model has no layers');
    if (o.loss === undefined) throw new ValueError(`compile: no loss given; name one, e.g. compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' }) (losses: ${LOSSES.join(', ')})`);
    this.outputsCompiled({ metrics: [], ...o, loss: o.loss });
    makeOptimizer(o.optimizer ?? 'adam');
    if (this.runtime) throw new ValueError('compile: recompiling a built model is not supported yet; build a new model and setWeights()');
    this.compileOptions = { optimizer: 'adam', metrics: [], backend: 'auto', ...o, loss: o.loss };
    return this;
  }

  /**
   * Output shape and parameter count of each layer, Keras' summary table; a
   * functional model's adds its inputs and what each layer is connected to
   * (every call of a shared layer).
   */
  summary(print: (line: string) => void = console.log): string {
    this.alive('summary');
    this.requireInputShape('summary');
    const g = this.graph();
    const { shapes, params } = graphShapes(g, this.inputShapes()!);
    const count = (ps: ParamSpec[]) => ps.reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
    const total = params.reduce((a, p) => a + count(p), 0);
    const trainable = params.reduce((a, p) => a + count(p.filter(isTrainable)), 0);
    const functional = !(this instanceof Sequential);
    // A name is shown, never obeyed: its control characters (terminal escapes) are printed as escapes.
    const tensorName = (t: number) => (t < g.inputs ? printable(this.inputNames()[t]) : `${printable(g.layers[g.nodes[t - g.inputs].layer].name)}`);
    const rows: string[][] = functional ? this.inputNames().map((n, i) => [`${printable(n)} (InputLayer)`, `(None, ${shapes[i].join(', ')})`, '0', '-']) : [];
    g.layers.forEach((l, i) => {
      const calls = g.nodes.map((n, k) => ({ n, k })).filter(({ n }) => n.layer === i);
      const row = [`${printable(l.name)} (${layerTitle(l)})`, `(None, ${shapes[g.inputs + calls[0].k].join(', ')})`, count(params[i]).toLocaleString('en-US')];
      if (functional) row.push(calls.map(({ n }) => n.inputs.map(tensorName).join(', ')).join('; '));
      rows.push(row);
    });
    // Keras' columns, widened where a name (max_pooling2d_12 (MaxPooling2D)) needs more.
    const nameWidth = Math.max(28, ...rows.map(([a]) => a.length + 2));
    const width = nameWidth + 37 + (functional ? 12 + Math.max(0, ...rows.map((r) => r[3].length)) : 0);
    const rule = (c: string) => c.repeat(width);
    const row = (r: string[]) => ` ${r[0].padEnd(nameWidth)}${r[1].padEnd(26)}${functional ? `${r[2].padEnd(12)}${r[3]}` : r[2]}`;
    const header = functional ? ['Layer (type)', 'Output Shape', 'Param #', 'Connected to'] : ['Layer (type)', 'Output Shape', 'Param #'];
    const text = [`Model: "${printable(this.name)}"`, rule('_'), row(header), rule('=')]
      .concat(rows.map(row))
      .concat([rule('='), `Total params: ${total.toLocaleString('en-US')}`, `Trainable params: ${trainable.toLocaleString('en-US')}`, `Non-trainable params: ${(total - trainable).toLocaleString('en-US')}`, rule('_')])
      .join('\n');
    print(text);
    return text;
  }

  /** The names of the model's inputs (a Sequential model's one is 'input'). */
  protected inputNames(): string[] {
    return ['input'];
  }

  /**
   * Trains on x (a list, one array per input, for a model with several) and
   * y (a list, one per output, for a model with several), Keras' fit.
   */
  async fit(x: Input | readonly Input[], y: Input | readonly Input[], options: FitOptions = {}): Promise<History> {
    const o = FIT_OPTIONS.check(options);
    const xs = this.listed(x, 'fit', 'x');
    const rt = await this.ready('fit', xs);
    const validationLists = o.validationData ? ([this.scaled(this.listed(o.validationData[0], 'validation', 'x'), 'validation x'), this.listed(o.validationData[1], 'validation', 'y')] as [Input[], Input[]]) : undefined;
    return fitModel(this, rt, this.scaled(xs, 'fit x'), this.listed(y, 'fit', 'y'), { ...o, validationLists });
  }

  async evaluate(x: Input | readonly Input[], y: Input | readonly Input[], options: { batchSize?: number } = {}): Promise<Logs> {
    const o = EVALUATE_OPTIONS.check(options);
    const xs = this.listed(x, 'evaluate', 'x');
    return evaluateModel(await this.ready('evaluate', xs), this.scaled(xs, 'evaluate x'), this.listed(y, 'evaluate', 'y'), o.batchSize ?? 256);
  }

  /**
   * Outputs [n, ...output shape] after the final activation (probabilities
   * for a softmax model). A model with several outputs gives them with
   * predictOutputs, and refuses this by name.
   */
  async predict(x: Input | readonly Input[], options: { batchSize?: number } = {}): Promise<Prediction> {
    const outputs = this.graph().outputs.length;
    if (outputs > 1) throw new ValueError(`predict: the model has ${outputs} outputs; predictOutputs(x) gives each of them, in order`);
    return (await this.predictOutputs(x, options))[0];
  }

  /** Each output's predictions, in the order of the model's outputs (Keras' predict on a model with several). */
  async predictOutputs(x: Input | readonly Input[], options: { batchSize?: number } = {}): Promise<Prediction[]> {
    const o = PREDICT_OPTIONS.check(options);
    const xs = this.listed(x, 'predict', 'x');
    return predictModel(await this.ready('predict', xs), this.scaled(xs, 'predict x'), o.batchSize ?? 256);
  }

  /**
   * The data of each input (what === 'x') or each output's targets ('y') as a
   * list: given as is to a model with one, as a list of one array each to a
   * model with several (Keras' fit([a, b], [y1, y2])), refused by name otherwise.
   */
  private listed(v: Input | readonly Input[], op: string, what: 'x' | 'y'): Input[] {
    const g = this.graph();
    const count = what === 'x' ? g.inputs : g.outputs.length;
    if (count === 1) return [v as Input];
    const names = what === 'x' ? this.inputNames() : g.outputs.map((t) => tensorLayer(g, t).name);
    const kind = what === 'x' ? 'inputs' : 'outputs';
    const looksListed = Array.isArray(v) && v.length === count && v.every((e) => e !== null && typeof e === 'object' && ('shape' in e || Array.isArray(e)));
    if (!looksListed) throw new ValueError(`${op}: the model has ${count} ${kind} (${names.join(', ')}); give ${what} as a list of ${count} arrays, one per ${kind.slice(0, -1)}, in that order`);
    return [...(v as readonly Input[])];
  }

  /**
   * Makes every BatchNormalization layer's moving mean and variance the exact
   * (biased) statistics of its inputs over x, the layers before it in
   * inference mode: what fit's recomputeBatchNormStatistics does when training
   * ends, for data of your choosing (PyTorch's update_bn). One pass over x per
   * such layer, on the device. Returns what it covered.
   */
  async recomputeBatchNormStatistics(x: Input | readonly Input[], options: { batchSize?: number } = {}): Promise<StatisticsPass> {
    const o = STATISTICS_OPTIONS.check(options);
    const xs = this.listed(x, 'recomputeBatchNormStatistics', 'x');
    const rt = await this.ready('recomputeBatchNormStatistics', xs);
    const what = (k: number) => (xs.length > 1 ? `recomputeBatchNormStatistics x[${k}]` : 'recomputeBatchNormStatistics x');
    return recomputeStatistics(rt, this.scaled(xs, 'recomputeBatchNormStatistics x').map((v, k) => toFeatures(v, rt.spec.inputShapes[k], what(k))), o.batchSize ?? 256);
  }

  /** Writes the model (topology, weights, optimizer state, class names, scaler) to a safetensors file, atomically. Node only. */
  async save(path: string): Promise<void> {
    this.alive('save');
    const { saveModel } = await import('./saving.js');
    await saveModel(this, path);
  }

  /** Reads a model written by save(): topology, weights, optimizer state and compile options. Node only. */
  static async load(path: string): Promise<Model> {
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
    const first = this.inputLayers()[0]?.config;
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
    if (this.graph().inputs > 1) throw new ValueError(`setScaler: the model has ${this.graph().inputs} inputs; a scaler applies to a model with one (scale each input's data before fit instead)`);
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

  /** The model as JSON: its layers' configs, and a functional model's calls (Topology). */
  abstract topology(): Topology;

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
    this.requireInputShape('weights');
    return [...this.specFor(this.inputShapes()!).params];
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

  protected alive(what: string): void {
    if (this.disposed) throw new ValueError(`${what}: the model '${this.name}' was disposed and its weights are gone; load it again or build a new model`);
  }

  private outputUnits(): number {
    const g = this.graph();
    this.requireInputShape('outputs');
    const s = graphShapes(g, this.inputShapes()!).shapes[g.outputs[0]];
    return s[s.length - 1];
  }

  /**
   * Each input through the saved scaler, when there is one (only a model with
   * one input has one), and the checks of the layers that read it (an
   * Embedding's token ids).
   */
  private scaled(xs: readonly Input[], what: string): Input[] {
    const g = this.graph();
    const shapes = this.inputShapes();
    return xs.map((x, k) => {
      const readers = [...new Set(g.nodes.filter((n) => n.inputs.includes(k)).map((n) => g.layers[n.layer]))];
      const checks = readers.flatMap((l) => (l.checkInput ? [l.checkInput] : []));
      if (!this.inputScaler && !checks.length) return x;
      const named = xs.length > 1 ? `${what}[${k}]` : what;
      const f = toFeatures(x, shapes?.[k] ?? null, named);
      const data = this.inputScaler ? this.inputScaler.transform(f.data) : f.data;
      for (const check of checks) check(data instanceof Float32Array ? data : Float32Array.from(data), named);
      return { data, shape: f.shape };
    });
  }

  /** The sample shape of each input, or null while unknown (a Sequential model before its first fit). */
  protected inputShapes(): number[][] | null {
    return this.inputShape ? [this.inputShape] : null;
  }

  /**
   * Each output with its loss, metrics and loss weight as compile gave them:
   * one loss for all or one per output, metrics for all or one list per
   * output, each checked against the output's activation; refused by name.
   */
  private outputsCompiled(o: Pick<CompileOptions, 'loss' | 'metrics' | 'lossWeights'>, shapes?: number[][]): SpecOutput[] {
    const g = this.graph();
    const count = g.outputs.length;
    const names = g.outputs.map((t) => tensorLayer(g, t).name);
    const perOutput = <T>(v: T | T[], what: string, isList: boolean): T[] => {
      if (!isList) return names.map(() => v as T);
      if ((v as T[]).length !== count) throw new ValueError(`compile: ${what} lists ${(v as T[]).length} entries for the model's ${count} output${count === 1 ? '' : 's'} (${names.join(', ')})`);
      return v as T[];
    };
    const losses = perOutput(o.loss, 'loss', Array.isArray(o.loss));
    const metricLists = perOutput<string[]>(o.metrics as string[] | string[][], 'metrics', Array.isArray(o.metrics) && o.metrics.some((m) => Array.isArray(m)) || (count > 1 && Array.isArray(o.metrics) && o.metrics.length === count && o.metrics.length > 0 && o.metrics.every((m) => Array.isArray(m))));
    const weights = o.lossWeights === undefined ? names.map(() => 1) : perOutput(o.lossWeights, 'lossWeights', true);
    return g.outputs.map((t, k) => {
      const loss = resolveLoss(losses[k], tensorLayer(g, t).activation);
      const metrics = (metricLists[k] ?? []).map((m) => resolveMetric(m, loss));
      const s = shapes?.[t] ?? [];
      const targetShape = loss.targets === 'labels' ? (s.length === 2 ? [s[0]] : []) : s;
      return { name: names[k], shape: s, loss, metrics, targetShape, weight: weights[k] };
    });
  }

  protected requireInputShape(what: string): number[] {
    if (!this.inputShape) throw new ValueError(`${what}: the model's input shape is unknown; give inputShape to the first layer or to sequential(), or call fit() first`);
    return this.inputShape;
  }

  private specFor(inputShapes: number[][]): ModelSpec {
    const options = this.compileOptions;
    const graph = this.graph();
    const { shapes, params: perLayer } = graphShapes(graph, inputShapes);
    const outputs = this.outputsCompiled({ loss: options?.loss ?? 'meanSquaredError', metrics: options?.metrics ?? [], lossWeights: options?.lossWeights }, shapes);
    return { graph, inputShapes, outputs, params: perLayer.flat(), paramCounts: perLayer.map((p) => p.length), fuse: options?.fuse ?? true, seed: this.seed };
  }

  /** Builds the runtime on first use: opens the backend, initialises or restores weights. */
  private async ready(what: string, xs: readonly Input[]): Promise<Runtime> {
    this.alive(what);
    if (!this.compileOptions) throw new ValueError(`${what}: compile() the model first`);
    if (!this.inputShape) {
      // A Sequential model without an input shape takes the data's at its first use.
      const x = xs[0];
      const shape = 'shape' in x ? x.shape : [(x as unknown[]).length, ((x as unknown[][])[0] ?? []).length];
      this.inputShape = shape.slice(1);
    }
    if (this.runtime) return this.runtime;
    const choice = this.compileOptions.backend ?? 'auto';
    const backend = typeof choice === 'string' ? await openBackend(choice) : choice;
    const spec = this.specFor(this.inputShapes()!);
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

/** A linear stack of layers: each layer called on the one before it (Keras' and TensorFlow.js' Sequential). */
export class Sequential extends Model {
  constructor(layers: Layer[] = [], options: SequentialOptions = {}) {
    const o = SEQUENTIAL_OPTIONS.check(options);
    super({ name: o.name ?? 'sequential', seed: o.seed, inputShape: o.inputShape });
    for (const l of layers) this.add(l);
  }

  graph(): ModelGraph {
    return chainGraph(this.layers);
  }

  add(layer: Layer): this {
    this.alive('add');
    if (this.built) throw new ValueError('add: the model is already built; add layers before the first fit/evaluate/predict');
    // A layer built without a name is named by its place in this model (dense_1, dense_2, ...), as if the
    // process had built no model before: the model holds a copy under that name.
    if (isAutoNamed(layer)) layer = layerFromConfig({ ...layer.config, name: nameInModel(layer, new Set(this.layers.map((l) => l.name))) });
    if (this.layers.some((l) => l.name === layer.name)) throw new ValueError(`add: a layer named '${layer.name}' is already in the model`);
    if (this.layers.length === 0 && layer.config.inputShape) this.inputShape ??= [...layer.config.inputShape];
    // A layer that cannot take the mask of padded steps an earlier embedding makes (maskZero) is refused now, by name.
    maskCarried([...this.layers, layer]);
    // A merge layer or attention takes several inputs: a chain has one tensor to give.
    if (layer.multi) throw new ValueError(`add: ${layer.name} (${layerTitle(layer)}) takes ${layer.multi.min === layer.multi.max ? layer.multi.min : `${layer.multi.min} or more`} inputs, which a Sequential model cannot give; build a functional model: model({ inputs, outputs }) with ${layer.name}.apply([a, b])`);
    this.layers.push(layer);
    return this;
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
}

/** `sequential([...layers], options)`, the functional spelling. */
export function sequential(layers: Layer[] = [], options: SequentialOptions = {}): Sequential {
  return new Sequential(layers, options);
}
