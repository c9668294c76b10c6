// Export to PyTorch: a state_dict in torch's names and layouts (safetensors),
// a generated model.py whose load_model(folder) returns the matching
// torch.nn.Module, in eval mode, predicting what webgrad's predict does, the
// optimizer state in torch's layout, and train.py, which continues training
// with DistributedDataParallel under torchrun and writes a file webgrad loads.
// Browser-safe: it returns the files' contents; src/nn/file.ts writes them.
import { ValueError } from '../core/errors.js';
import { checkOptimizer, learningRateAt } from '../optim/optimizers.js';
import { channelsFirstKernel, exportedWeights, samePads, transposed } from './export-common.js';
import type { LayerConfig } from '../nn/layers.js';
import type { Sequential } from '../nn/model.js';
import { TRAIN_PY } from './export-pytorch-train.js';
import type { SafetensorsTensor } from './safetensors.js';
import { encodeSafetensors } from './safetensors.js';
import { modelMetadata } from '../nn/saving.js';

/** The files of an export: name → contents. */
export type ExportFiles = Record<string, Uint8Array | string>;

type Layout = 'flat' | 'nhwc' | 'nchw';

/** A number as Python reads it (JavaScript prints 1e-7 and 0.001 as Python writes them). */
const py = (v: number) => String(v);
const pyBool = (v: boolean | undefined) => (v ? 'True' : 'False');

/** How a webgrad weight becomes its torch tensor: as it is, a dense kernel transposed, a conv kernel permuted. */
type Conversion = 'same' | 'linear' | 'conv';

/** One tensor of the state_dict: its torch key, the webgrad weight it comes from, and how. */
interface Mapped {
  readonly key: string;
  readonly name: string;
  readonly conversion: Conversion;
  readonly shape: number[];
  readonly trainable: boolean;
}

/**
 * Each layer's attribute name in the exported module: a Python identifier for
 * its name (dense_1 stays dense_1), numbered on where two would collide. The
 * state_dict keys are `<name>.weight` and so on; importPytorch matches by them.
 */
export function torchModuleNames(layers: readonly { readonly name: string }[]): Map<string, string> {
  const taken = new Set<string>(['x', 'input_mean', 'input_std']);
  const names = new Map<string, string>();
  for (const { name } of layers) {
    let a = name.replace(/[^A-Za-z0-9_]/g, '_');
    if (!/^[A-Za-z_]/.test(a)) a = `layer_${a}`;
    let out = a;
    for (let k = 2; taken.has(out); k++) out = `${a}_${k}`;
    taken.add(out);
    names.set(name, out);
  }
  return names;
}

/** The torch expression applying a webgrad activation to `x`. */
function activationCode(kind: string, alpha: number | undefined): string | null {
  switch (kind) {
    case 'linear':
      return null;
    case 'relu':
      return 'torch.relu(x)';
    case 'sigmoid':
      return 'torch.sigmoid(x)';
    case 'tanh':
      return 'torch.tanh(x)';
    case 'softplus':
      return 'F.softplus(x)';
    case 'gelu':
      return 'F.gelu(x)'; // exact (erf), as webgrad's
    case 'leakyRelu':
      return `F.leaky_relu(x, ${py(alpha ?? 0.2)})`; // Keras' default slope 0.2 (PyTorch's is 0.01)
    case 'elu':
      return `F.elu(x, ${py(alpha ?? 1)})`;
    case 'softmax':
      return 'torch.softmax(x, dim=-1)';
    case 'logSoftmax':
      return 'torch.log_softmax(x, dim=-1)';
    default:
      throw new ValueError(`export to PyTorch: activation '${kind}' has no torch counterpart here`);
  }
}

/** A webgrad weight (or optimizer slot, laid out like it) in torch's layout: [in, out] → [out, in]; [kh, kw, in, out] → [out, in, kh, kw]. */
function toTorch(conversion: Conversion, shape: number[], data: Float32Array): { shape: number[]; data: Float32Array } {
  if (conversion === 'same') return { shape, data };
  if (conversion === 'linear') return { shape: [shape[1], shape[0]], data: transposed(shape, data) };
  const [kh, kw, cin, cout] = shape;
  return { shape: [cout, cin, kh, kw], data: channelsFirstKernel(shape, data) };
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
export async function pytorchExport(model: Sequential): Promise<ExportFiles> {
  const { inputShape, weight } = await exportedWeights(model, 'PyTorch');
  const tensors: Record<string, SafetensorsTensor> = {};
  const mapped: Mapped[] = [];
  /** Layer `layer`'s weight `part` as torch tensor `key`, noted for save_webgrad and the optimizer state. */
  const put = (key: string, layer: string, part: string, conversion: Conversion = 'same') => {
    const w = weight(layer, part);
    const t = toTorch(conversion, w.shape, w.data);
    tensors[key] = { dtype: 'F32', shape: t.shape, data: t.data };
    mapped.push({ key, name: `${layer}/${part}`, conversion, shape: w.shape, trainable: w.trainable });
  };
  const init: string[] = [];
  const body: string[] = [];
  const penalties: string[] = [];
  const moduleNames = torchModuleNames(model.layers);
  const scaler = model.scaler;
  if (scaler) {
    // webgrad's predict standardizes each feature first: (x − mean) / std, kept here as buffers.
    const F = scaler.mean.length;
    tensors.input_mean = { dtype: 'F32', shape: [F], data: Float32Array.from(scaler.mean) };
    tensors.input_std = { dtype: 'F32', shape: [F], data: Float32Array.from(scaler.std) };
    init.push(`self.register_buffer('input_mean', torch.zeros(${F}))`, `self.register_buffer('input_std', torch.ones(${F}))`);
    body.push('x = (x - self.input_mean.view(1, *INPUT_SHAPE)) / self.input_std.view(1, *INPUT_SHAPE)  # the input scaler');
  }
  let layout = (inputShape.length === 3 ? 'nhwc' : 'flat') as Layout;
  let shape = [...inputShape];
  const toNchw = () => {
    if (layout === 'nhwc') body.push('x = x.permute(0, 3, 1, 2)  # NHWC (webgrad, Keras) to NCHW (torch)');
    layout = 'nchw';
  };
  const toNhwc = () => {
    if (layout === 'nchw') body.push('x = x.permute(0, 2, 3, 1)  # back to NHWC');
    if (layout !== 'flat') layout = 'nhwc';
  };
  for (const layer of model.layers) {
    const c = layer.config as LayerConfig;
    const a = moduleNames.get(c.name)!;
    const activate = () => {
      const code = activationCode(c.activation, (c as { alpha?: number }).alpha);
      // softmax and its log run over webgrad's last axis, the channels: after a conv2d (NCHW) that is dim 1, not -1.
      if (c.activation === 'softmax' || c.activation === 'logSoftmax') toNhwc();
      if (code) body.push(`x = ${code}`);
    };
    switch (c.type) {
      case 'dense': {
        if (shape.length !== 1) throw new ValueError(`export to PyTorch: ${c.name} takes [${shape.join(', ')}]; webgrad's dense takes flat inputs`);
        const [fin, fout] = weight(c.name, 'kernel').shape;
        // Linear.weight is [out, in]: the kernel [in, out] transposed.
        put(`${a}.weight`, c.name, 'kernel', 'linear');
        if (c.useBias) put(`${a}.bias`, c.name, 'bias');
        init.push(`self.${a} = nn.Linear(${fin}, ${fout}, bias=${c.useBias ? 'True' : 'False'})`);
        penalties.push(...penaltyCode(a, c.kernelRegularizer, c.useBias ? c.biasRegularizer : undefined));
        body.push(`x = self.${a}(x)`);
        activate();
        break;
      }
      case 'conv2d': {
        const [kh, kw, cin, cout] = weight(c.name, 'kernel').shape;
        // Conv2d.weight is [out, in, kh, kw]: the kernel [kh, kw, in, out] permuted.
        put(`${a}.weight`, c.name, 'kernel', 'conv');
        if (c.useBias) put(`${a}.bias`, c.name, 'bias');
        toNchw();
        const [h, w] = shape;
        if (c.padding === 'same') {
          const [top, bottom] = samePads(h, kh, c.strides[0], c.dilationRate[0]);
          const [left, right] = samePads(w, kw, c.strides[1], c.dilationRate[1]);
          // TensorFlow puts the odd pixel of 'same' padding after: an explicit pad, then a valid convolution.
          if (top + bottom + left + right > 0) body.push(`x = F.pad(x, (${left}, ${right}, ${top}, ${bottom}))`);
        }
        init.push(`self.${a} = nn.Conv2d(${cin}, ${cout}, (${kh}, ${kw}), stride=(${c.strides.join(', ')}), dilation=(${c.dilationRate.join(', ')}), bias=${c.useBias ? 'True' : 'False'})`);
        penalties.push(...penaltyCode(a, c.kernelRegularizer, c.useBias ? c.biasRegularizer : undefined));
        body.push(`x = self.${a}(x)`);
        activate();
        break;
      }
      case 'maxPooling2d':
      case 'averagePooling2d': {
        if (c.padding !== 'valid') throw new ValueError(`export to PyTorch: ${c.name} has 'same' padding, which torch's pooling has no counterpart for; only 'valid' pooling is exported`);
        toNchw();
        const op = c.type === 'maxPooling2d' ? 'nn.MaxPool2d' : 'nn.AvgPool2d';
        init.push(`self.${a} = ${op}((${c.poolSize.join(', ')}), stride=(${c.strides.join(', ')}))`);
        body.push(`x = self.${a}(x)`);
        break;
      }
      case 'globalAveragePooling2d':
        body.push(layout === 'nchw' ? 'x = x.mean(dim=(2, 3))' : 'x = x.mean(dim=(1, 2))');
        layout = 'flat';
        break;
      case 'flatten':
        toNhwc();
        body.push('x = x.reshape(x.shape[0], -1)');
        layout = 'flat';
        break;
      case 'reshape': {
        toNhwc();
        const out = layer.outputShape(shape);
        body.push(`x = x.reshape(x.shape[0], ${out.join(', ')})`);
        layout = out.length === 3 ? 'nhwc' : 'flat';
        break;
      }
      case 'activation':
        activate();
        break;
      case 'dropout':
        init.push(`self.${a} = nn.Dropout(${py(c.rate)})`);
        body.push(`x = self.${a}(x)`);
        break;
      case 'randomTranslation':
        body.push(`# ${c.name}: RandomTranslation moves images only while training; inference passes them through`);
        break;
      case 'batchNormalization': {
        if (c.center !== c.scale) throw new ValueError(`export to PyTorch: ${c.name} has center ${c.center} and scale ${c.scale}; torch's BatchNorm learns both or neither`);
        const C = shape[shape.length - 1];
        if (c.scale) put(`${a}.weight`, c.name, 'gamma');
        if (c.center) put(`${a}.bias`, c.name, 'beta');
        put(`${a}.running_mean`, c.name, 'moving_mean');
        put(`${a}.running_var`, c.name, 'moving_variance');
        const images = shape.length === 3;
        if (images) toNchw();
        // Keras' momentum weighs the old average, torch's the new batch: 1 − momentum.
        init.push(`self.${a} = nn.BatchNorm${images ? '2' : '1'}d(${C}, eps=${py(c.epsilon)}, momentum=${py(Number((1 - c.momentum).toPrecision(12)))}, affine=${c.scale ? 'True' : 'False'})`);
        body.push(`x = self.${a}(x)`);
        break;
      }
      case 'layerNormalization': {
        if (c.center !== c.scale) throw new ValueError(`export to PyTorch: ${c.name} has center ${c.center} and scale ${c.scale}; torch 1.13's LayerNorm learns both or neither`);
        const C = shape[shape.length - 1];
        if (c.scale) put(`${a}.weight`, c.name, 'gamma');
        if (c.center) put(`${a}.bias`, c.name, 'beta');
        toNhwc();
        init.push(`self.${a} = nn.LayerNorm(${C}, eps=${py(c.epsilon)}, elementwise_affine=${c.scale ? 'True' : 'False'})`);
        body.push(`x = self.${a}(x)`);
        break;
      }
      default:
        throw new ValueError(`export to PyTorch: layer type '${(c as { type: string }).type}' is not exported yet`);
    }
    // The sample shape after the layer, as webgrad computes it.
    shape = layer.outputShape(shape);
  }
  toNhwc();
  // A loss on logits (softmax or sigmoid fused into it, as webgrad trains) reads the output before the last activation.
  const last = model.layers[model.layers.length - 1];
  if ((last.activation === 'softmax' || last.activation === 'sigmoid') && /^x = (torch\.softmax|torch\.sigmoid)\(x/.test(body[body.length - 1] ?? '')) {
    body.push(`if not logits:\n    ${body.pop()!}`);
  }
  const compile = model.compileOptions;
  const state = compile ? await model.optimizerState() : null;
  const files: ExportFiles = {};
  const meta = { format: 'pytorch-state-dict', source: 'webgrad', model: model.name, input_shape: JSON.stringify(inputShape) };
  files['model.safetensors'] = encodeSafetensors(tensors, meta);
  const optimizer = compile ? optimizerExport(compile.optimizer ?? 'adam', mapped, state) : null;
  if (optimizer?.file) files['optimizer.safetensors'] = optimizer.file;
  files['model.py'] = modelPy(model.name, inputShape, init, body, penalties, compile ? lossCode(compile.loss) : null, optimizer);
  files['webgrad.json'] = `${JSON.stringify({ metadata: { ...modelMetadata(model, 0), optimizer_step: '0' }, tensors: mapped.map(({ key, name, conversion, shape, trainable }) => ({ key, name, conversion, shape, trainable })) }, null, 1)}\n`;
  files['train.py'] = TRAIN_PY;
  return files;
}

/** model.penalty()'s terms for a layer's regularizers: l1·Σ|w| + l2·Σw², as webgrad adds them to the loss. */
function penaltyCode(a: string, kernel: { l1: number; l2: number } | undefined, bias: { l1: number; l2: number } | undefined): string[] {
  const terms: string[] = [];
  for (const [r, part] of [[kernel, 'weight'], [bias, 'bias']] as const) {
    if (!r) continue;
    if (r.l1) terms.push(`p = p + ${py(r.l1)} * self.${a}.${part}.abs().sum()`);
    if (r.l2) terms.push(`p = p + ${py(r.l2)} * self.${a}.${part}.pow(2).sum()`);
  }
  return terms;
}

/** loss_fn(output, target) for the compiled loss; the output is the model's with logits=True (see forward). */
function lossCode(loss: string): string {
  switch (loss) {
    case 'sparseCategoricalCrossentropy':
      return 'return F.cross_entropy(output, target.long())';
    case 'categoricalCrossentropy':
      return 'return -(target * torch.log_softmax(output, dim=-1)).sum(dim=-1).mean()';
    case 'binaryCrossentropy':
      return 'return F.binary_cross_entropy_with_logits(output, target)';
    case 'meanSquaredError':
      return 'return (output - target).pow(2).mean()';
    case 'meanAbsoluteError':
      return 'return (output - target).abs().mean()';
    case 'nll':
      return 'return F.nll_loss(output, target.long())';
    default:
      return `raise NotImplementedError("the loss '${loss}' is not carried over to torch by this export")`;
  }
}

/** What the export writes of an optimizer: the torch constructor, its state file, and where its rule differs from webgrad's. */
interface OptimizerExport {
  readonly constructor: string;
  readonly file: Uint8Array | null;
  /** The state names per slot, in webgrad's slot order. */
  readonly names: string[];
  readonly step: number;
  readonly differs: string | null;
}

/**
 * The optimizer in torch's terms. SGD, momentum (PyTorch's form, which
 * webgrad's is), Adam and AdamW with epsilonHat false, and L2 or decoupled
 * weight decay as torch applies them, continue exactly; Keras' ε̂ placement
 * (adam's default here) and RMSprop's ε inside the root do not exist in
 * torch, so the state is carried and torch's rule is used, said in `differs`.
 * A schedule is not carried: torch continues at the rate of the next step.
 */
function optimizerExport(spec: unknown, mapped: readonly Mapped[], state: { slots: Float32Array[][]; step: number } | null): OptimizerExport {
  const c = checkOptimizer(spec);
  const step = state?.step ?? 0;
  const lr = learningRateAt(c.learningRate, step + 1);
  const wd = c.weightDecay ?? 0;
  const mu = c.momentum ?? 0;
  let constructor: string;
  let names: string[];
  let differs: string | null = null;
  switch (c.type) {
    case 'sgd':
    case 'momentum':
      constructor = `torch.optim.SGD(params, lr=${py(lr)}, momentum=${py(mu)}, nesterov=${pyBool(c.nesterov)}, weight_decay=${py(wd)})`;
      names = mu > 0 ? ['momentum_buffer'] : [];
      break;
    case 'rmsprop':
      constructor = `torch.optim.RMSprop(params, lr=${py(lr)}, alpha=${py(c.rho!)}, eps=${py(c.epsilon!)}, weight_decay=${py(wd)}, momentum=${py(mu)}, centered=${pyBool(c.centered)})`;
      names = ['square_avg', ...(mu > 0 ? ['momentum_buffer'] : []), ...(c.centered ? ['grad_avg'] : [])];
      differs = "webgrad's RMSprop (Keras') divides by √(s + ε); torch's by √s + ε";
      break;
    case 'adam':
    case 'adamw':
      constructor = `torch.optim.${c.type === 'adam' ? 'Adam' : 'AdamW'}(params, lr=${py(lr)}, betas=(${py(c.beta1!)}, ${py(c.beta2!)}), eps=${py(c.epsilon!)}, weight_decay=${py(wd)})`;
      names = ['exp_avg', 'exp_avg_sq'];
      if (c.epsilonHat) differs = "webgrad's Adam was compiled with epsilonHat (Keras' ε̂, added to √v); torch adds ε to √v̂";
      break;
  }
  if (typeof c.learningRate !== 'number') differs = [differs, `the learning-rate schedule is not carried: torch continues at ${py(lr)}, the rate of step ${step + 1}`].filter(Boolean).join('; ');
  let file: Uint8Array | null = null;
  if (state && step > 0) {
    const trained = mapped.filter((m) => m.trainable);
    const tensors: Record<string, SafetensorsTensor> = {};
    trained.forEach((m, i) =>
      names.forEach((n, k) => {
        const t = toTorch(m.conversion, m.shape, state.slots[i][k]);
        tensors[`state.${i}.${n}`] = { dtype: 'F32', shape: t.shape, data: t.data };
      }),
    );
    file = encodeSafetensors(tensors, { format: 'pytorch-optimizer-state', step: String(step) });
  }
  return { constructor, file, names, step, differs };
}

function modelPy(name: string, inputShape: number[], init: string[], body: string[], penalties: string[], loss: string | null, optimizer: OptimizerExport | null): string {
  const indent = (lines: string[], n: number) => lines.flatMap((l) => l.split('\n')).map((l) => `${' '.repeat(n)}${l}`).join('\n');
  const optimizerCode = optimizer
    ? [
        `def make_optimizer(model):`,
        `    """The optimizer webgrad compiled, in torch: ${optimizer.differs ? `not the same rule (${optimizer.differs.replace(/"/g, "'")})` : 'the same update rule'}."""`,
        `    params = model.parameters()`,
        `    return ${optimizer.constructor}`,
        ``,
        ``,
        `OPTIMIZER_STATE = ${JSON.stringify(optimizer.names)}  # torch's names of webgrad's optimizer slots, in order`,
        `OPTIMIZER_STEP = ${optimizer.step}  # the steps webgrad took`,
        `OPTIMIZER_DIFFERS = ${optimizer.differs ? JSON.stringify(optimizer.differs) : 'None'}`,
      ].join('\n')
    : ['def make_optimizer(model):', '    raise ValueError("the webgrad model was not compiled: no optimizer to carry over")', '', '', 'OPTIMIZER_STATE = []', 'OPTIMIZER_STEP = 0', 'OPTIMIZER_DIFFERS = None'].join('\n');
  return `"""${name}, exported by webgrad: a torch.nn.Module, its weights and its optimizer.

    from model import load_model
    model = load_model('this folder')    # eval mode: dropout off, batch normalization's running statistics
    y = model(x)                         # x: float32 [n, ${inputShape.join(', ')}], as webgrad's predict takes it

The output is what webgrad's predict returns (after the last activation);
model(x, logits=True) stops before a final softmax or sigmoid, which the loss
(loss_fn) then applies itself, as webgrad trains. Images are NHWC, as in
webgrad and Keras; the module permutes them for torch.

To go on training: load_optimizer(model, folder) is the optimizer with the
state webgrad had; train.py runs it under torchrun with
DistributedDataParallel; save_webgrad(model, path) writes a file webgrad loads.
"""
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = (${inputShape.join(', ')}${inputShape.length === 1 ? ',' : ''})
HERE = os.path.dirname(os.path.abspath(__file__))


def read_safetensors(path):
    """A safetensors file as ({name: tensor}, metadata): an 8-byte little-endian header length, a JSON header, raw data."""
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for key, info in header.items():
        if key == '__metadata__':
            continue
        if info['dtype'] != 'F32':
            raise ValueError(f"{path}: tensor {key} is {info['dtype']}; this reader takes F32")
        begin, end = info['data_offsets']
        out[key] = torch.from_numpy(np.frombuffer(data[begin:end], dtype='<f4').reshape(info['shape']).copy())
    return out, header.get('__metadata__', {})


def write_safetensors(path, tensors, metadata):
    """Writes {name: tensor} as float32 safetensors, atomically (a temporary file, then a rename)."""
    header, chunks, offset = {'__metadata__': metadata}, [], 0
    for key, t in tensors.items():
        b = t.detach().cpu().contiguous().numpy().astype('<f4').tobytes()
        header[key] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [offset, offset + len(b)]}
        chunks.append(b)
        offset += len(b)
    text = json.dumps(header).encode()
    text += b' ' * (-len(text) % 8)
    tmp = f'{path}.tmp-{os.getpid()}'
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(chunks))
    os.replace(tmp, path)


class WebgradModel(nn.Module):
    def __init__(self):
        super().__init__()
${indent(init.length ? init : ['pass'], 8)}

    def forward(self, x, logits=False):
${indent([...body, 'return x'], 8)}

    def penalty(self):
        """The regularizers' penalty, part of the loss as in webgrad (Keras): l1·Σ|w| + l2·Σw²."""
        p = torch.zeros(())
${indent(penalties, 8)}
        return p


def loss_fn(output, target):
    """The compiled loss of model(x, logits=True) against the targets, averaged over the batch."""
    ${loss ?? 'raise ValueError("the webgrad model was not compiled: no loss to carry over")'}


${optimizerCode}


def load_model(folder=HERE):
    """The model with its weights loaded, in eval mode."""
    model = WebgradModel()
    state, _ = read_safetensors(os.path.join(folder, 'model.safetensors'))
    for key, module in model.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            state[f'{key}.num_batches_tracked'] = torch.tensor(0, dtype=torch.long)
    model.load_state_dict(state, strict=True)
    return model.eval()


def load_optimizer(model, folder=HERE):
    """make_optimizer(model) holding the state webgrad's optimizer had (its slots, in torch's layout, and its step)."""
    opt = make_optimizer(model)
    path = os.path.join(folder, 'optimizer.safetensors')
    if not os.path.exists(path):
        return opt  # the model had not trained: the state starts at zero, as webgrad's
    tensors, meta = read_safetensors(path)
    params = list(model.parameters())
    step = int(meta['step'])
    state = {}
    for i, p in enumerate(params):
        s = {name: tensors.pop(f'state.{i}.{name}').to(p.device) for name in OPTIMIZER_STATE}
        if isinstance(opt, (torch.optim.Adam, torch.optim.AdamW)):
            s['step'] = torch.tensor(float(step))
        elif isinstance(opt, torch.optim.RMSprop):
            s['step'] = step
        if s:
            state[i] = s
    if tensors:
        raise ValueError(f'{path}: tensors {sorted(tensors)} belong to no parameter of the model')
    opt.load_state_dict({'state': state, 'param_groups': opt.state_dict()['param_groups']})
    return opt


def _to_webgrad(conversion, t):
    """A torch tensor in webgrad's layout: Linear [out, in] to [in, out]; Conv2d [out, in, kh, kw] to [kh, kw, in, out]."""
    if conversion == 'linear':
        return t.t()
    if conversion == 'conv':
        return t.permute(2, 3, 1, 0)
    return t


def _from_webgrad(conversion, t):
    if conversion == 'linear':
        return t.t()
    if conversion == 'conv':
        return t.permute(3, 2, 0, 1)
    return t


def save_webgrad(model, path, folder=HERE, optimizer=None, step=None):
    """Writes the model as a webgrad model file (webgrad's names and layouts), which webgrad loads and trains on.

    With the optimizer (make_optimizer's or load_optimizer's) and the step count, its state goes in
    too, as webgrad's optimizer slots, so webgrad's next step continues where torch's stopped.
    """
    info = json.load(open(os.path.join(folder, 'webgrad.json')))
    state = model.state_dict()
    tensors = {}

    def put(name, key, conversion, t, shape):
        w = _to_webgrad(conversion, t.detach().float())
        if list(w.shape) != shape:
            raise ValueError(f"{key}: shape {list(w.shape)} in webgrad's layout, expected {shape}")
        if not torch.isfinite(w).all():
            raise ValueError(f"{key}: holds NaN or infinite values; not written (a webgrad model file never holds them)")
        tensors[name] = w

    for t in info['tensors']:
        put(f"weights/{t['name']}", t['key'], t['conversion'], state[t['key']], t['shape'])
    metadata = dict(info['metadata'])
    if optimizer is not None:
        if step is None:
            raise ValueError('save_webgrad: give the step count with the optimizer (OPTIMIZER_STEP plus the steps torch took)')
        slots = optimizer.state_dict()['state']
        for i, t in enumerate(x for x in info['tensors'] if x['trainable']):
            for k, name in enumerate(OPTIMIZER_STATE):
                if i not in slots or name not in slots[i]:
                    raise ValueError(f"save_webgrad: the optimizer holds no {name} for parameter {i} ({t['key']}); has it taken a step?")
                put(f"optimizer/{t['name']}/{k}", f"{t['key']} {name}", t['conversion'], slots[i][name], t['shape'])
        metadata['optimizer_step'] = str(int(step))
    write_safetensors(path, tensors, metadata)


def load_webgrad(path, folder=HERE):
    """A webgrad model file of this architecture (one save_webgrad wrote) as the torch module, in eval mode."""
    info = json.load(open(os.path.join(folder, 'webgrad.json')))
    weights, _ = read_safetensors(path)
    model = load_model(folder)  # the input scaler's buffers and the architecture; the weights come from the file
    state = model.state_dict()
    for t in info['tensors']:
        state[t['key']] = _from_webgrad(t['conversion'], weights[f"weights/{t['name']}"])
    model.load_state_dict(state, strict=True)
    return model.eval()
`;
}
