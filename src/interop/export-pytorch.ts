// Export to PyTorch: a state_dict in torch's names and layouts (safetensors),
// a generated model.py whose load_model(folder) returns the matching
// torch.nn.Module, in eval mode, predicting what webgrad's predict does, the
// optimizer state in torch's layout, and train.py, which continues training
// with DistributedDataParallel under torchrun and writes a file webgrad loads.
// Browser-safe: it returns the files' contents; src/nn/file.ts writes them.
//
// model.py and train.py are real Python files (src/interop/python/), loaded
// as text at build time; the export fills model.py's `# <slot>` lines with
// code made of numbers, sanitized identifiers and escaped literals only.
import { ValueError } from '../core/errors.js';
import { layerActivationRecord, torchActivation } from '../ops/activations.js';
import { featureRecord } from '../ops/features.js';
import { exportedWeights, samePads } from './export-common.js';
import { graphForward, graphLossCode } from './export-pytorch-graph.js';
import type { Conversion, Mapped } from './export-pytorch-train.js';
import { lossCode, optimizerExport, optimizerSlots, penaltyCode, toTorch } from './export-pytorch-train.js';
import type { Layer, LayerConfig } from '../nn/layers.js';
import { isTrainable, maskCarried } from '../nn/layers.js';
import type { Functional } from '../nn/functional.js';
import type { Model } from '../nn/model.js';
import { Sequential } from '../nn/model.js';
import MODEL_PY from './python/model.py?raw';
import TRAIN_PY from './python/train.py?raw';
import { bidirectionalCode, recurrentCode } from './export-pytorch-recurrent.js';
import { fillTemplate, pyBool, pyNum, pyNums, pyStr, pyStrList, pyTuple } from './python-source.js';
import type { SafetensorsTensor } from './safetensors.js';
import { encodeSafetensors } from './safetensors.js';
import { modelMetadata } from '../nn/saving.js';

/** The files of an export: name → contents. */
export type ExportFiles = Record<string, Uint8Array | string>;

type Layout = 'flat' | 'nhwc' | 'nchw';

/** A number as Python reads it; anything but a finite number (a string from a file) is refused. */
const py = pyNum;

/**
 * Names a layer's module must not take: Python's keywords (self.class is a
 * syntax error), the attributes of torch's nn.Module (self.forward or
 * self.training would replace what torch calls) in torch 1.13 and 2, and
 * the exported module's own.
 */
const RESERVED = [
  ...['False', 'None', 'True', 'and', 'as', 'assert', 'async', 'await', 'break', 'class', 'continue', 'def', 'del', 'elif', 'else', 'except', 'finally', 'for', 'from', 'global', 'if', 'import', 'in', 'is', 'lambda', 'nonlocal', 'not', 'or', 'pass', 'raise', 'return', 'try', 'while', 'with', 'yield'],
  ...['T_destination', 'add_module', 'apply', 'bfloat16', 'buffers', 'call_super_init', 'children', 'compile', 'cpu', 'cuda', 'double', 'dump_patches', 'eval', 'extra_repr', 'float', 'forward', 'get_buffer', 'get_extra_state', 'get_parameter', 'get_submodule', 'half', 'ipu', 'load_state_dict', 'modules', 'mtia', 'named_buffers', 'named_children', 'named_modules', 'named_parameters', 'parameters', 'register_backward_hook', 'register_buffer', 'register_forward_hook', 'register_forward_pre_hook', 'register_full_backward_hook', 'register_full_backward_pre_hook', 'register_load_state_dict_post_hook', 'register_load_state_dict_pre_hook', 'register_module', 'register_parameter', 'register_state_dict_post_hook', 'register_state_dict_pre_hook', 'requires_grad_', 'set_extra_state', 'set_submodule', 'share_memory', 'state_dict', 'to', 'to_empty', 'train', 'training', 'type', 'xpu', 'zero_grad'],
  ...['x', 'logits', 'penalty', 'input_mean', 'input_std'],
];

/**
 * Each layer's attribute name in the exported module: a Python identifier for
 * its name (dense_1 stays dense_1), numbered on where two would collide. The
 * state_dict keys are `<name>.weight` and so on; importPytorch matches by them.
 */
export function torchModuleNames(layers: readonly { readonly name: string }[]): Map<string, string> {
  const taken = new Set<string>(RESERVED);
  const names = new Map<string, string>();
  for (const { name } of layers) {
    let a = name.replace(/[^A-Za-z0-9_]/g, '_');
    // A leading '_' would make it private (or a dunder), a digit no identifier at all.
    if (!/^[A-Za-z]/.test(a)) a = `layer_${a}`;
    let out = a;
    for (let k = 2; taken.has(out); k++) out = `${a}_${k}`;
    taken.add(out);
    names.set(name, out);
  }
  return names;
}


/** What the export builds while it walks the layers: model.py's slots, the state_dict and its map back to webgrad's names. */
export interface Builder {
  readonly init: string[];
  readonly body: string[];
  readonly penalties: string[];
  /** Layer `layer`'s weight `part` as torch tensor `key`. */
  put(key: string, layer: string, part: string, conversion?: Conversion): void;
  /** A torch tensor with no webgrad weight behind it, zero and frozen (an RNN's second bias); save_webgrad refuses it once nonzero. */
  zeros(key: string, shape: number[]): void;
  weight(layer: string, part: string): { shape: number[] };
  /** The sample's layout before the layer; toNchw / toNhwc permute (in the generated forward) where needed. */
  layout: Layout;
  toNchw(): void;
  toNhwc(): void;
}

/**
 * One layer's module and forward lines. Exhaustive over the layer kinds: a
 * kind without a PyTorch mapping does not compile (the default's config is
 * not `never`). `a` is the layer's sanitized module name; the layer's own
 * name never enters the code.
 */
function layerCode(b: Builder, layer: Layer, a: string, shape: number[], masked: boolean): void {
  const c = layer.config as LayerConfig;
  const activate = () => {
    const code = torchActivation(c.activation, (c as { alpha?: number }).alpha, py);
    // A row-wise activation (softmax, its log) runs over webgrad's last axis, the channels: after a conv2d (NCHW) that is dim 1, not -1.
    if (layerActivationRecord(c.activation).rowwise) b.toNhwc();
    if (code) b.body.push(`x = ${code}`);
  };
  switch (c.type) {
    case 'dense': {
      if (shape.length !== 1 && shape.length !== 2) throw new ValueError(`export to PyTorch: ${c.name} takes [${shape.join(', ')}]; webgrad's dense takes flat inputs or sequences`);
      const [fin, fout] = b.weight(c.name, 'kernel').shape;
      // Linear.weight is [out, in]: the kernel [in, out] transposed.
      b.put(`${a}.weight`, c.name, 'kernel', 'linear');
      if (c.useBias) b.put(`${a}.bias`, c.name, 'bias');
      b.init.push(`self.${a} = nn.Linear(${pyNums([fin, fout])}, bias=${pyBool(c.useBias)})`);
      b.penalties.push(...penaltyCode(a, c.kernelRegularizer, c.useBias ? c.biasRegularizer : undefined));
      b.body.push(`x = self.${a}(x)`);
      activate();
      return;
    }
    case 'conv2d': {
      const [kh, kw, cin, cout] = b.weight(c.name, 'kernel').shape;
      // Conv2d.weight is [out, in, kh, kw]: the kernel [kh, kw, in, out] permuted.
      b.put(`${a}.weight`, c.name, 'kernel', 'conv');
      if (c.useBias) b.put(`${a}.bias`, c.name, 'bias');
      b.toNchw();
      const [h, w] = shape;
      if (c.padding === 'same') {
        const [top, bottom] = samePads(h, kh, c.strides[0], c.dilationRate[0]);
        const [left, right] = samePads(w, kw, c.strides[1], c.dilationRate[1]);
        // TensorFlow puts the odd pixel of 'same' padding after: an explicit pad, then a valid convolution.
        if (top + bottom + left + right > 0) b.body.push(`x = F.pad(x, ${pyTuple([left, right, top, bottom])})`);
      }
      b.init.push(`self.${a} = nn.Conv2d(${pyNums([cin, cout])}, ${pyTuple([kh, kw])}, stride=${pyTuple(c.strides)}, dilation=${pyTuple(c.dilationRate)}, bias=${pyBool(c.useBias)})`);
      b.penalties.push(...penaltyCode(a, c.kernelRegularizer, c.useBias ? c.biasRegularizer : undefined));
      b.body.push(`x = self.${a}(x)`);
      activate();
      return;
    }
    case 'maxPooling2d':
    case 'averagePooling2d': {
      if (c.padding !== 'valid') throw new ValueError(`export to PyTorch: ${c.name} has 'same' padding, which torch's pooling has no counterpart for; only 'valid' pooling is exported`);
      b.toNchw();
      const op = c.type === 'maxPooling2d' ? 'nn.MaxPool2d' : 'nn.AvgPool2d';
      b.init.push(`self.${a} = ${op}(${pyTuple(c.poolSize)}, stride=${pyTuple(c.strides)})`);
      b.body.push(`x = self.${a}(x)`);
      return;
    }
    case 'globalAveragePooling2d':
      b.body.push(b.layout === 'nchw' ? 'x = x.mean(dim=(2, 3))' : 'x = x.mean(dim=(1, 2))');
      b.layout = 'flat';
      return;
    case 'flatten':
      b.toNhwc();
      b.body.push('x = x.reshape(x.shape[0], -1)');
      b.layout = 'flat';
      return;
    case 'reshape': {
      b.toNhwc();
      const out = layer.outputShape(shape);
      b.body.push(`x = x.reshape(x.shape[0], ${pyNums(out)})`);
      b.layout = out.length === 3 ? 'nhwc' : 'flat';
      return;
    }
    case 'activation':
      activate();
      return;
    case 'dropout':
      if (c.noiseShape) {
        // nn.Dropout has no noise shape: a mask of that shape in webgrad's axes (NHWC), drawn while training (model.py's dropout_mask).
        b.toNhwc();
        const [batch, ...sizes] = c.noiseShape.map((d, k) => (d === null ? (k === 0 ? 'x.shape[0]' : py(shape[k - 1])) : py(d)));
        b.body.push(`if self.training:  # ${a}: noiseShape`, `    x = x * dropout_mask(x.new_ones(${[batch, ...sizes].join(', ')}), ${py(c.rate)})`);
        return;
      }
      b.init.push(`self.${a} = nn.Dropout(${py(c.rate)})`);
      b.body.push(`x = self.${a}(x)`);
      return;
    case 'embedding':
      // nn.Embedding's weight is webgrad's table [inputDim, outputDim] as it is; it takes ids as integers.
      b.put(`${a}.weight`, c.name, 'embeddings');
      b.init.push(`self.${a} = nn.Embedding(${pyNums([c.inputDim, c.outputDim])})`);
      b.penalties.push(...penaltyCode(a, c.embeddingsRegularizer, undefined));
      // Keras' mask_zero: id 0 is padding; the mask goes to the recurrent layers after it.
      if (c.maskZero) b.body.push('mask = x != 0  # maskZero: [n, steps], False at padding');
      b.body.push(`x = self.${a}(x.long())`);
      return;
    case 'positionEmbedding': {
      // The table as an nn.Embedding's weight [sequenceLength, features], read at positions 0 .. steps − 1 for every sample
      // (nanoGPT's wpe(arange(t))). A lookup, not weight[:steps]: in torch 1.13 a view of a parameter requires grad even under no_grad.
      const [S, F] = b.weight(c.name, 'embeddings').shape;
      b.put(`${a}.weight`, c.name, 'embeddings');
      b.init.push(`self.${a} = nn.Embedding(${pyNums([S, F])})`);
      b.body.push(`x = self.${a}(torch.arange(x.shape[1], device=x.device)).unsqueeze(0).expand(x.shape[0], -1, -1)  # positions, not x plus them (keras-nlp's PositionEmbedding)`);
      return;
    }
    case 'simpleRNN':
    case 'lstm':
    case 'gru':
      recurrentCode(b, c, a, shape, masked);
      return;
    case 'bidirectional':
      bidirectionalCode(b, c, a, shape, masked);
      return;
    case 'pointFeatures':
      // The Playground's features of (x, y), each from its record; the layer's list was checked against the records when it was built.
      b.body.push('x0, x1 = x[:, 0], x[:, 1]', `x = torch.stack([${c.features.map((f) => featureRecord(f).torch).join(', ')}], dim=1)  # ${a}: ${c.features.join(', ')}`);
      return;
    case 'randomTranslation':
      b.body.push(`# ${a}: RandomTranslation moves images only while training; inference passes them through`);
      return;
    case 'batchNormalization': {
      if (c.center !== c.scale) throw new ValueError(`export to PyTorch: ${c.name} has center ${c.center} and scale ${c.scale}; torch's BatchNorm learns both or neither`);
      const C = shape[shape.length - 1];
      if (c.scale) b.put(`${a}.weight`, c.name, 'gamma');
      if (c.center) b.put(`${a}.bias`, c.name, 'beta');
      b.put(`${a}.running_mean`, c.name, 'moving_mean');
      b.put(`${a}.running_var`, c.name, 'moving_variance');
      const images = shape.length === 3;
      if (images) b.toNchw();
      // Keras' momentum weighs the old average, torch's the new batch: 1 − momentum.
      b.init.push(`self.${a} = nn.BatchNorm${images ? '2' : '1'}d(${py(C)}, eps=${py(c.epsilon)}, momentum=${py(Number((1 - c.momentum).toPrecision(12)))}, affine=${pyBool(c.scale)})`);
      b.body.push(`x = self.${a}(x)`);
      return;
    }
    case 'layerNormalization': {
      if (c.center !== c.scale) throw new ValueError(`export to PyTorch: ${c.name} has center ${c.center} and scale ${c.scale}; torch 1.13's LayerNorm learns both or neither`);
      const C = shape[shape.length - 1];
      if (c.scale) b.put(`${a}.weight`, c.name, 'gamma');
      if (c.center) b.put(`${a}.bias`, c.name, 'beta');
      b.toNhwc();
      b.init.push(`self.${a} = nn.LayerNorm(${py(C)}, eps=${py(c.epsilon)}, elementwise_affine=${pyBool(c.scale)})`);
      b.body.push(`x = self.${a}(x)`);
      return;
    }
    case 'add':
    case 'multiply':
    case 'average':
    case 'concatenate':
    case 'multiHeadAttention':
      // A chain has no branches to merge (Sequential.add refuses these layers); a functional model's calls of them are graphForward's.
      throw new ValueError(`export to PyTorch: ${c.name} (${c.type}) takes several inputs, which only a functional model's call gives it`);
    default: {
      const unmapped: never = c;
      throw new ValueError(`export to PyTorch: layer type '${(unmapped as LayerConfig).type}' is not exported yet`);
    }
  }
}

/**
 * The export of a built or loaded model:
 * - model.safetensors: torch's state_dict (Linear.weight [out, in],
 *   Conv2d.weight [out, in, kh, kw], BatchNorm's weight, bias, running_mean,
 *   running_var; the input scaler, if any, as buffers input_mean, input_std);
 * - model.py: the module, load_model, the compiled loss and regularizers,
 *   make_optimizer / load_optimizer, and save_webgrad / load_webgrad, which
 *   write and read webgrad model files;
 * - optimizer.safetensors (with a compiled model that has trained): the
 *   optimizer's state in torch's names (exp_avg, momentum_buffer, ...);
 * - webgrad.json: what save_webgrad needs to write a file webgrad loads (the
 *   model file's metadata and each tensor's webgrad name and layout);
 * - train.py: continues training under torchrun with DistributedDataParallel.
 */
export async function pytorchExport(model: Model): Promise<ExportFiles> {
  const { inputShape, weight } = await exportedWeights(model, 'PyTorch');
  const tensors: Record<string, SafetensorsTensor> = {};
  const mapped: Mapped[] = [];
  const frozenZero: string[] = [];
  const b: Builder = {
    init: [],
    body: [],
    penalties: [],
    put(key, layer, part, conversion = 'same') {
      const w = weight(layer, part);
      const t = toTorch(conversion, w.shape, w.data);
      tensors[key] = { dtype: 'F32', shape: t.shape, data: t.data };
      mapped.push({ key, name: `${layer}/${part}`, conversion, shape: w.shape, trainable: w.trainable });
    },
    zeros(key, shape) {
      tensors[key] = { dtype: 'F32', shape, data: new Float32Array(shape.reduce((p, n) => p * n, 1)) };
      frozenZero.push(key);
    },
    weight,
    layout: inputShape.length === 3 ? 'nhwc' : 'flat',
    toNchw() {
      if (this.layout === 'nhwc') this.body.push('x = x.permute(0, 3, 1, 2)  # NHWC (webgrad, Keras) to NCHW (torch)');
      this.layout = 'nchw';
    },
    toNhwc() {
      if (this.layout === 'nchw') this.body.push('x = x.permute(0, 2, 3, 1)  # back to NHWC');
      if (this.layout !== 'flat') this.layout = 'nhwc';
    },
  };
  const scaler = model.scaler;
  if (scaler) {
    // webgrad's predict standardizes each feature first: (x − mean) / std, kept here as buffers.
    const F = scaler.mean.length;
    tensors.input_mean = { dtype: 'F32', shape: [F], data: Float32Array.from(scaler.mean) };
    tensors.input_std = { dtype: 'F32', shape: [F], data: Float32Array.from(scaler.std) };
    b.init.push(`self.register_buffer('input_mean', torch.zeros(${py(F)}))`, `self.register_buffer('input_std', torch.ones(${py(F)}))`);
    b.body.push('x = (x - self.input_mean.view(1, *INPUT_SHAPE)) / self.input_std.view(1, *INPUT_SHAPE)  # the input scaler');
  }
  const moduleNames = torchModuleNames(model.layers);
  if (model instanceof Sequential) chainForward(b, model, moduleNames);
  else graphForward(b, model as Functional, moduleNames, layerCode);
  const { body } = b;
  const compile = model.compileOptions;
  const held = compile ? await model.optimizerState() : null;
  // The slots in torch's parameter order (mapped's), found by name: a bidirectional layer's halves take torch's directions in another order than webgrad's.
  const trainable = model.paramSpecs().filter(isTrainable).map((p) => p.name);
  const state = held && { ...held, slots: mapped.filter((m) => m.trainable).map((m) => held.slots[trainable.indexOf(m.name)]) };
  const graph = model.graph();
  const inputShapes = model instanceof Sequential ? [inputShape] : (model as Functional).inputs.map((i) => i.shape);
  const files: ExportFiles = {};
  const meta = { format: 'pytorch-state-dict', source: 'webgrad', model: model.name, input_shape: JSON.stringify(inputShape) };
  files['model.safetensors'] = encodeSafetensors(tensors, meta);
  const optimizer = compile ? optimizerExport(compile.optimizer ?? 'adam', mapped, state) : null;
  if (optimizer?.file) files['optimizer.safetensors'] = optimizer.file;
  files['model.py'] = fillTemplate(
    MODEL_PY,
    {
      constants: [
        `MODEL_NAME = ${pyStr(model.name)}  # the webgrad model's name`,
        `LAYER_NAMES = ${pyStrList(model.layers.map((l) => l.name))}  # webgrad's layer names, in order`,
        `INPUT_SHAPE = ${pyTuple(inputShape)}  # the first input's, of ${pyNum(graph.inputs)}`,
        `INPUT_SHAPES = [${inputShapes.map(pyTuple).join(', ')}]  # every input's sample shape, in order`,
        `OUTPUT_COUNT = ${pyNum(graph.outputs.length)}  # forward returns a tuple of the outputs when there are several`,
        `FROZEN_ZERO = ${pyStrList(frozenZero)}  # torch tensors webgrad has no weight for (an RNN's bias_hh): zero, not trained`,
      ],
      init: b.init,
      forward: body,
      penalty: b.penalties,
      loss: compile ? modelLossCode(model) : [`raise ValueError(${pyStr('the webgrad model was not compiled: no loss to carry over')})`],
      ...optimizerSlots(optimizer),
    },
    'model.py',
  );
  files['webgrad.json'] = `${JSON.stringify({ metadata: { ...modelMetadata(model, 0), optimizer_step: '0' }, tensors: mapped.map(({ key, name, conversion, shape, trainable }) => ({ key, name, conversion, shape, trainable })) }, null, 1)}\n`;
  files['train.py'] = TRAIN_PY;
  return files;
}

/** A Sequential model's forward: each layer's code on `x`, in order. */
function chainForward(b: Builder, model: Sequential, moduleNames: Map<string, string>): void {
  let shape = [...model.inputShape!];
  for (const [i, layer] of model.layers.entries()) {
    // Whether the mask of padded steps an Embedding with maskZero made reaches this layer (the forward's `mask`).
    const masked = maskCarried(model.layers.slice(0, i)) !== null;
    layerCode(b, layer, moduleNames.get(layer.name)!, shape, masked);
    // The sample shape after the layer, as webgrad computes it.
    shape = layer.outputShape(shape);
  }
  b.toNhwc();
  // A loss on logits (softmax or sigmoid fused into it, as webgrad trains) reads the output before the last activation.
  const { body } = b;
  const last = model.layers[model.layers.length - 1];
  if ((last.activation === 'softmax' || last.activation === 'sigmoid') && /^x = (torch\.softmax|torch\.sigmoid)\(x/.test(body[body.length - 1] ?? '')) {
    body.push(`if not logits:\n    ${body.pop()!}`);
  }
}

/** loss_fn's body for a compiled model: its loss, or with several outputs each one's weighted by lossWeights and summed. */
function modelLossCode(model: Model): string[] {
  const { loss, lossWeights } = model.compileOptions!;
  const outputs = model.graph().outputs.length;
  if (outputs > 1) return graphLossCode(loss, lossWeights, outputs);
  return lossCode(Array.isArray(loss) ? loss[0] : loss, model instanceof Sequential && maskCarried(model.layers) !== null);
}
