// Import from PyTorch, the reverse of export-pytorch.ts: a torch state_dict
// (safetensors) loaded into a webgrad model whose architecture is given.
// Browser-safe: it takes the file's bytes; src/cli/import.ts reads the file.
import { ValueError } from '../core/errors.js';
import type { OptionsOf } from '../core/options.js';
import { defineOptions, opt } from '../core/options.js';
import { Functional } from '../nn/functional.js';
import type { Layer, LayerConfig, LayerType, ParamSpec } from '../nn/layers.js';
import { activationOpt, dense, graphShapes, layerFromConfig, shapeProblem } from '../nn/layers.js';
import type { Model, Topology } from '../nn/model.js';
import { Sequential } from '../nn/model.js';
import { attentionExpected } from './import-attention.js';
import type { TorchTensor } from './torch-modules.js';
import { groupModules, moduleOrder, naturalCompare, readTorchFile, refuseLeftOver } from './torch-modules.js';
import { bidirectionalExpected, recurrentExpected, refuseStackedOrReverse } from './import-recurrent.js';
import { refuseNegativeVariance } from '../nn/saving.js';
import { layersFromSpec, parseSpec } from '../nn/spec.js';

/** The architecture the file's weights go into: layers, a saved model's topology (a Sequential or a functional model's), or a layer spec ('conv8:3,maxpool2,flatten,64'). */
export type PytorchArchitecture = readonly Layer[] | Topology | string;

const IMPORT_OPTIONS = defineOptions('importPytorch', {
  inputShape: opt.custom<number[]>('number[]', "the sample shape webgrad takes, images as [h, w, c] (NHWC); default: the architecture's (a functional model's inputs carry their own)", shapeProblem),
  modules: opt.custom<string[]>('string[]', "the file's modules in the order of the architecture's weighted layers, for names that do not sort in that order", (v) =>
    Array.isArray(v) && v.every((m) => typeof m === 'string') ? null : `must be a list of module names like ['conv', 'bn', 'fc'], got ${JSON.stringify(v)}`,
  ),
  flattenOrder: opt.oneOf(['nchw', 'nhwc'] as const, "how torch flattened images before its first Linear: 'nchw' (x.flatten(1) on [n, c, h, w]; the default) or 'nhwc' (permuted to channels-last first, as webgrad's export does; the default for files webgrad exported)"),
  activation: { ...activationOpt, help: "a spec's hidden activation (default relu)" },
  outputActivation: { ...activationOpt, help: "a spec's output activation (default softmax, so predict gives probabilities from torch's logits; linear keeps the logits)" },
  name: opt.string("the model's name (default: the topology's, else 'sequential')"),
  source: opt.string("what errors call the file, e.g. its path (default 'torch file')"),
}, { input_shape: 'inputShape', flatten_order: 'flattenOrder' });

export type ImportPytorchOptions = OptionsOf<typeof IMPORT_OPTIONS.spec>;

/** torch's name for each webgrad weight. */
const TORCH_PART: Record<string, string> = { kernel: 'weight', embeddings: 'weight', bias: 'bias', gamma: 'weight', beta: 'bias', moving_mean: 'running_mean', moving_variance: 'running_var' };

/**
 * How each layer kind comes from torch: the module class that holds its
 * weights (none: the kind has no weights to import), the hyperparameters
 * torch's defaults give it where a spec builds it, and what it does to the
 * order of a flattened image's features, which torch holds as (c, h, w) and
 * webgrad as (h, w, c): 'keep' passes each feature through in its place (its
 * per-feature weights move with the rows), 'view' flattens an image, 'mix'
 * makes new features. A kind without an entry does not compile.
 */
const IMPORT: { readonly [T in LayerType]: { readonly torchClass?: string | ((c: Extract<LayerConfig, { type: T }>) => string); readonly features: 'keep' | 'view' | 'mix'; readonly sameLayout?: true; torchDefaults?(c: Extract<LayerConfig, { type: T }>): Extract<LayerConfig, { type: T }>; weights?: OwnWeights } } = {
  dense: { torchClass: 'Linear', features: 'mix' },
  conv2d: { torchClass: 'Conv2d', features: 'mix' },
  // torch's eps 1e-5 and momentum 0.1 (webgrad's momentum is the share kept: 0.9).
  batchNormalization: { torchClass: 'BatchNorm', features: 'keep', torchDefaults: (c) => ({ ...c, epsilon: 1e-5, momentum: 0.9 }) },
  layerNormalization: { torchClass: 'LayerNorm', features: 'keep', torchDefaults: (c) => ({ ...c, epsilon: 1e-5 }) },
  activation: { features: 'keep' },
  dropout: { features: 'keep' },
  randomTranslation: { features: 'mix' },
  pointFeatures: { features: 'mix' },
  embedding: { torchClass: 'Embedding', features: 'mix', sameLayout: true },
  // The table as an nn.Embedding's weight (webgrad's export, nanoGPT's wpe), or any module's 'weight' [sequenceLength, features].
  positionEmbedding: { torchClass: 'Embedding', features: 'mix', sameLayout: true },
  // No weights; only in functional models.
  add: { features: 'keep' },
  multiply: { features: 'keep' },
  average: { features: 'keep' },
  concatenate: { features: 'mix' },
  // torch's nn.MultiheadAttention, or the MultiHeadAttention of webgrad's model.py: import-attention.ts.
  multiHeadAttention: { torchClass: 'MultiheadAttention', features: 'mix', weights: attentionExpected },
  // Their own tensor names and layouts (weight_ih_l0, ...): import-recurrent.ts.
  simpleRNN: { torchClass: 'RNN', features: 'mix', weights: recurrentExpected },
  lstm: { torchClass: 'LSTM', features: 'mix', weights: recurrentExpected },
  gru: { torchClass: 'GRU', features: 'mix', weights: recurrentExpected },
  // One torch module with bidirectional=True: both directions' tensors, the reverse one's with _reverse.
  bidirectional: { torchClass: (c) => `${{ simpleRNN: 'RNN', lstm: 'LSTM', gru: 'GRU' }[c.layer.type]}(bidirectional=True)`, features: 'mix', weights: bidirectionalExpected },
  flatten: { features: 'view' },
  reshape: { features: 'view' },
  maxPooling2d: { features: 'mix' },
  averagePooling2d: { features: 'mix' },
  globalAveragePooling2d: { features: 'mix' },
};
/** A kind's own mapping of its weights; `tensors` are the torch module's that the layer takes (undefined when none is left for it). */
type OwnWeights = (layer: Layer, specs: readonly ParamSpec[], tensors: ReadonlyMap<string, unknown> | undefined) => Expected[];
const importRule = (c: LayerConfig) => IMPORT[c.type] as { torchClass?: string | ((c: LayerConfig) => string); features: 'keep' | 'view' | 'mix'; sameLayout?: true; torchDefaults?(c: LayerConfig): LayerConfig; weights?: OwnWeights };
const torchClass = (layer: Layer) => {
  const rule = importRule(layer.config).torchClass;
  const cls = typeof rule === 'function' ? rule(layer.config) : rule;
  if (cls === undefined) throw new ValueError(`importPytorch: layer ${layer.name} (${layer.config.type}) has weights but no torch module maps to it`);
  return cls;
};

/**
 * A model with the architecture given and the weights of a torch state_dict
 * saved as safetensors (`safetensors.torch.save_file(model.state_dict(), path)`),
 * uncompiled: compile() it to predict. Layouts are converted by rule, never
 * guessed from shapes, so a square layer cannot load transposed:
 * Linear.weight [out, in] → kernel [in, out]; Conv2d.weight [out, in, kh, kw]
 * → [kh, kw, in, out]; BatchNorm weight, bias, running_mean, running_var →
 * gamma, beta, moving_mean, moving_variance (num_batches_tracked is ignored);
 * LayerNorm weight, bias → gamma, beta; nn.MultiheadAttention's
 * in_proj_weight, in_proj_bias and out_proj → multiHeadAttention's query, key,
 * value and output kernels and biases in Keras' shapes (import-attention.ts).
 * Inputs are NHWC as webgrad's: feed
 * webgrad x.permute(0, 2, 3, 1) of torch's images. torch flattens images as
 * (c, h, w) where webgrad flattens (h, w, c), so the rows of the first dense
 * layer after a flatten (and any normalization between) are permuted to
 * match (flattenOrder). F16, BF16 and F64 tensors are converted to float32.
 *
 * Matching. A tensor `a.b.weight` belongs to module `a.b`. safetensors writes
 * its header sorted by dtype and name ('10.weight' before '2.weight'), so the
 * order torch defined the modules in is lost. When every module is named as
 * webgrad's export names the architecture's weighted layers, modules match by
 * name. Otherwise the weighted layers take the modules in `modules` order if
 * given, else in natural order of their names, numbers compared as numbers
 * (0, 1, 2, 10; fc1, fc2, fc10), which is definition order for nn.Sequential
 * and numbered attributes. Refused, naming the tensor, its shape and the one
 * expected: a shape that differs, a missing tensor, one left over, a
 * non-float dtype, a non-finite value, a file that is not safetensors.
 *
 * The file holds no hyperparameters: batch normalization's epsilon and
 * momentum come from the architecture (torch's eps 1e-5 and momentum 0.1 are
 * epsilon 1e-5 and momentum 0.9 in webgrad's layers; a spec's bn and ln get
 * them), as do the activations, padding and pooling.
 *
 * A functional model's topology (`model.topology()`, e.g. of gpt()) gives a
 * functional model: its weighted layers are matched in the topology's layer
 * order, a shared layer once. A GPT written as nanoGPT names its modules so
 * that they do not sort in that order: give `modules`.
 */
export function importPytorch(bytes: Uint8Array, architecture: string | readonly Layer[], options?: ImportPytorchOptions): Sequential;
export function importPytorch(bytes: Uint8Array, architecture: PytorchArchitecture, options?: ImportPytorchOptions): Model;
export function importPytorch(bytes: Uint8Array, architecture: PytorchArchitecture, options: ImportPytorchOptions = {}): Model {
  const o = IMPORT_OPTIONS.check(options);
  const source = o.source ?? 'torch file';
  const file = readTorchFile(bytes, source);
  const modules = groupModules(file.tensors);
  const model = buildModel(architecture, o, modules, source);
  takeScaler(model, modules);
  const plan = weightedLayers(model, o.flattenOrder ?? (file.metadata.source === 'webgrad' ? 'nhwc' : 'nchw'));
  const { order, how } = moduleOrder(model, plan, modules, o.modules, source);
  const weights = new Map<string, Float32Array>();
  plan.forEach((w, i) => {
    const module = order[i];
    const tensors = module === undefined ? undefined : modules.get(module);
    if (tensors && importRule(w.layer.config).weights && w.layer.config.type !== 'multiHeadAttention') refuseStackedOrReverse(module!, tensors.keys(), w.layer, source);
    const expected = w.expected(tensors);
    // A tensor may give several weights (nn.MultiheadAttention's in_proj_weight: the query, key and value kernels): it is removed once all are read.
    const used = new Set<string>();
    for (const e of expected) {
      const what = `layer ${w.layer.name} (${w.layer.config.type}, ${e.spec.name.slice(w.layer.name.length + 1)} [${e.spec.shape.join(', ')}]) expects`;
      const owner = e.owner ?? torchClass(w.layer);
      const take = (part: string) => {
        const key = module === undefined ? undefined : module === '' ? part : `${module}.${part}`;
        const t = key === undefined ? undefined : tensors?.get(part);
        if (!t) {
          const where = key === undefined ? `no module is left for it (the file has ${modules.size}: ${[...modules.keys()].join(', ')})` : `tensor '${key}' is missing`;
          throw new ValueError(`${source}: ${where}; ${what} torch's ${owner}.${part} [${e.shape.join(', ')}]${how}`);
        }
        if (t.shape.join() !== e.shape.join()) throw new ValueError(`${source}: tensor '${key}' is [${t.shape.join(', ')}]; ${what} [${e.shape.join(', ')}] (torch's ${owner}.${part})${how}`);
        refuseNegativeVariance(source, key!, t.data);
        used.add(part);
        return t.data;
      };
      const data = take(e.part);
      weights.set(e.spec.name, e.convert(data, e.also === undefined ? undefined : take(e.also)));
    }
    for (const part of used) tensors!.delete(part);
    if (module !== undefined) refuseLeftOver(modules.get(module)!, module, `layer ${w.layer.name} (${w.layer.config.type}) takes ${[...new Set(expected.flatMap((e) => (e.also === undefined ? [e.part] : [e.part, e.also])))].join(', ')}`, source);
  });
  for (const module of order.slice(plan.length)) refuseLeftOver(modules.get(module)!, module, `the architecture has ${plan.length} weighted layers (${plan.map((w) => w.layer.name).join(', ')}), all taken by modules before it${how}`, source);
  model.setWeights(model.paramSpecs().map((p) => weights.get(p.name)!));
  return model;
}

/** webgrad's export keeps the input scaler as buffers input_mean and input_std: they become the model's scaler again. */
function takeScaler(model: Model, modules: Map<string, Map<string, TorchTensor>>): void {
  const top = modules.get('');
  const [mean, std] = [top?.get('input_mean'), top?.get('input_std')];
  if (!top || !mean || !std) return;
  model.setScaler({ mean: Array.from(mean.data), std: Array.from(std.data) });
  top.delete('input_mean');
  top.delete('input_std');
  if (top.size === 0) modules.delete('');
}

/** The model of an architecture; a spec's output dense layer is as wide as the file's last module's Linear. */
function buildModel(arch: PytorchArchitecture, o: ImportPytorchOptions, modules: Map<string, Map<string, TorchTensor>>, source: string): Model {
  if (typeof arch !== 'string') {
    const given = (['activation', 'outputActivation'] as const).find((k) => o[k] !== undefined);
    if (given) throw new ValueError(`importPytorch: ${given} applies to a layer spec; the layers given carry their own activations`);
  }
  let model: Model;
  if (typeof arch === 'string') {
    if (!o.inputShape) throw new ValueError(`importPytorch: a layer spec needs inputShape, the sample shape (e.g. [784], or [28, 28, 1] for images)`);
    const hidden = layersFromSpec(parseSpec(arch, 'importPytorch spec'), { activation: o.activation ?? 'relu', inputShape: o.inputShape });
    const last = (o.modules ?? [...modules.keys()].sort(naturalCompare)).at(-1);
    const w = last === undefined ? undefined : modules.get(last)?.get('weight');
    if (!w || w.shape.length !== 2) {
      throw new ValueError(`${source}: the spec's output layer is a dense layer as wide as the file's last module, but ${last === undefined ? 'the file has no tensors' : `'${last}' has no Linear weight [out, in] (its tensors: ${[...(modules.get(last)?.keys() ?? [])].join(', ')})`}`);
    }
    if (w.shape[0] < 1) throw new ValueError(`${source}: the spec's output layer is a dense layer as wide as the file's last module, but '${last}.weight' is [${w.shape.join(', ')}], a Linear layer with no outputs`);
    const torchDefaults = hidden.map((l) => {
      const rule = importRule(l.config);
      return rule.torchDefaults ? layerFromConfig(rule.torchDefaults(l.config)) : l;
    });
    model = new Sequential([...torchDefaults, dense(w.shape[0], { activation: o.outputActivation ?? 'softmax', name: 'output' })], { inputShape: o.inputShape, name: o.name });
  } else if (Array.isArray(arch)) {
    model = new Sequential([...arch], { inputShape: o.inputShape, name: o.name });
  } else if (arch && typeof arch === 'object' && Array.isArray((arch as Topology).layers)) {
    const t = arch as Topology;
    if (t.nodes !== undefined || t.inputs !== undefined || t.outputs !== undefined) {
      // A functional model's calls, read as they are (as a chain its layers would be wired wrongly); its inputs carry their shapes.
      if (o.inputShape) throw new ValueError(`importPytorch: inputShape applies to a Sequential architecture; '${String(t.name)}' is a functional model's topology, whose inputs carry their own shapes`);
      model = Functional.fromTopology({ ...t, name: o.name ?? t.name });
    } else {
      model = Sequential.fromTopology({ ...t, inputShape: o.inputShape ?? t.inputShape, name: o.name ?? t.name });
    }
  } else {
    throw new ValueError(`importPytorch: the architecture must be a list of layers, a model's topology or a layer spec string, got ${JSON.stringify(arch)?.slice(0, 60)}`);
  }
  if (!model.inputShape) throw new ValueError('importPytorch: the input shape is unknown; give inputShape (e.g. [784], or [28, 28, 1] for images)');
  return model;
}

export interface Expected {
  spec: ParamSpec;
  /** torch's parameter name in the module: weight, bias, running_mean, running_var, weight_ih_l0, ... */
  part: string;
  /** A second tensor of the same shape that the weight is made of too (an LSTM's bias_hh_l0, added to bias_ih_l0). */
  also?: string;
  /** torch's shape. */
  shape: number[];
  /** The torch module class errors name (default: the kind's torchClass). */
  owner?: string;
  convert(torch: Float32Array, also?: Float32Array): Float32Array;
}

/** A weighted layer and how each of its weights comes from torch's, given the tensors of the module it takes. */
interface Planned {
  layer: Layer;
  expected(tensors: ReadonlyMap<string, unknown> | undefined): Expected[];
}

/**
 * Each layer with weights, in the model's order of layers (a shared layer
 * once, at its first call), and how each weight comes from torch's. The
 * calls are walked in order, each tensor carrying the image [h, w, c] whose
 * flattening its features are, if any: torch holds those as (c, h, w), so the
 * rows of a dense layer that reads them are permuted (flattenOrder 'nchw').
 */
function weightedLayers(model: Model, flattenOrder: 'nchw' | 'nhwc'): Planned[] {
  const graph = model.graph();
  const inputs = model instanceof Functional ? model.inputs.map((i) => [...i.shape]) : [model.inputShape!];
  // Every tensor's shape, and each layer's weights at its first call.
  const { shapes, params } = graphShapes(graph, inputs);
  // The image [h, w, c] whose flattening each tensor's features are; torch holds them as (c, h, w).
  const images: (number[] | null)[] = inputs.map(() => null);
  const planned = new Map<number, Planned>();
  graph.nodes.forEach((node, k) => {
    const layer = graph.layers[node.layer];
    const ins = node.inputs.map((t) => shapes[t]);
    const specs = params[node.layer];
    const inImages = node.inputs.map((t) => images[t]);
    // Merged tensors keep a flattened image's order only when every one is that same image's.
    const image = inImages.every((i) => i === inImages[0]) ? inImages[0] : null;
    const perm = image && flattenOrder === 'nchw' ? nchwIndex(image) : null;
    const rule = importRule(layer.config);
    if (specs.length && !planned.has(node.layer)) {
      planned.set(node.layer, {
        layer,
        expected: (tensors) => rule.weights ? rule.weights(layer, specs, tensors) : specs.map((spec) => {
          const part = TORCH_PART[spec.name.slice(layer.name.length + 1)];
          // nn.Embedding's weight is laid out as webgrad's table: no transpose.
          if (rule.sameLayout) return { spec, part, shape: spec.shape, convert: (t) => t } as Expected;
          if (spec.shape.length === 2) return linear(spec, part, perm);
          if (spec.shape.length === 4) return conv(spec, part);
          // A normalization of the flattened image normalizes each of its features: they move as the rows do.
          const moved = perm && spec.shape[0] === perm.length;
          return { spec, part, shape: spec.shape, convert: (t) => (moved ? Float32Array.from(perm, (q) => t[q]) : t) } as Expected;
        }),
      });
    }
    const next = shapes[graph.inputs + k];
    const shape = ins[0];
    images.push(rule.features === 'view' && ins.length === 1 && shape.length === 3 && next.length === 1 ? shape : rule.features === 'keep' && next.length === 1 ? image : null);
  });
  return [...planned].sort(([a], [b]) => a - b).map(([, p]) => p);
}

/** Linear.weight [out, in] → kernel [in, out], its rows taken through `perm` (torch's index of each webgrad input). Always transposed: never decided by shape. */
function linear(spec: ParamSpec, part: string, perm: Int32Array | null): Expected {
  const [fin, fout] = spec.shape;
  return {
    spec, part, shape: [fout, fin],
    convert(t) {
      const k = new Float32Array(fin * fout);
      for (let i = 0; i < fin; i++) {
        const q = perm ? perm[i] : i;
        for (let o = 0; o < fout; o++) k[i * fout + o] = t[o * fin + q];
      }
      return k;
    },
  };
}

/** Conv2d.weight [out, in, kh, kw] → kernel [kh, kw, in, out]. */
function conv(spec: ParamSpec, part: string): Expected {
  const [kh, kw, cin, cout] = spec.shape;
  return {
    spec, part, shape: [cout, cin, kh, kw],
    convert(t) {
      const k = new Float32Array(t.length);
      for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) k[((y * kw + x) * cin + i) * cout + o] = t[((o * cin + i) * kh + y) * kw + x];
      return k;
    },
  };
}

/** For each feature of a flattened [h, w, c] image in webgrad's order (h, w, c), its index in torch's (c, h, w). */
function nchwIndex([h, w, c]: number[]): Int32Array {
  const q = new Int32Array(h * w * c);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) q[(y * w + x) * c + k] = (k * h + y) * w + x;
  return q;
}

export { naturalCompare } from './torch-modules.js';
