// Export to PyTorch: a state_dict in torch's names and layouts (safetensors)
// and a generated model.py whose load_model(folder) returns the matching
// torch.nn.Module, in eval mode, predicting what webgrad's predict does.
// Browser-safe: it returns the files' contents; src/nn/file.ts writes them.
import { ValueError } from '../core/errors.js';
import type { LayerConfig } from './layers.js';
import type { Sequential } from './model.js';
import type { SafetensorsTensor } from './safetensors.js';
import { encodeSafetensors } from './safetensors.js';

/** The files of an export: name → contents. */
export type ExportFiles = Record<string, Uint8Array | string>;

type Layout = 'flat' | 'nhwc' | 'nchw';

/** A number as Python reads it (JavaScript prints 1e-7 and 0.001 as Python writes them). */
const py = (v: number) => String(v);

/** A Python identifier for a layer name (dense_1 stays dense_1). */
function attr(name: string, taken: Set<string>): string {
  let a = name.replace(/[^A-Za-z0-9_]/g, '_');
  if (!/^[A-Za-z_]/.test(a)) a = `layer_${a}`;
  let out = a;
  for (let k = 2; taken.has(out); k++) out = `${a}_${k}`;
  taken.add(out);
  return out;
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

/** TensorFlow's 'same' padding of one axis: total max((⌈n/s⌉ − 1)·s + (k − 1)·d + 1 − n, 0), the odd pixel after. */
function samePads(n: number, k: number, s: number, d: number): [number, number] {
  const total = Math.max((Math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/**
 * The export of a built or loaded model: model.safetensors (torch's
 * state_dict: Linear.weight [out, in], Conv2d.weight [out, in, kh, kw],
 * BatchNorm's weight, bias, running_mean, running_var) and model.py.
 */
export async function pytorchExport(model: Sequential): Promise<ExportFiles> {
  const inputShape = model.inputShape;
  if (!inputShape) throw new ValueError("export to PyTorch: the model's input shape is unknown; fit it or give inputShape");
  const specs = model.paramSpecs();
  const weights = await model.getWeights();
  if (weights.some((w) => w.length === 0)) throw new ValueError('export to PyTorch: the model has no weights yet; fit it or load a trained one');
  const byName = new Map(specs.map((p, i) => [p.name, { shape: p.shape, data: weights[i] }]));
  const tensors: Record<string, SafetensorsTensor> = {};
  const put = (key: string, shape: number[], data: Float32Array) => (tensors[key] = { dtype: 'F32', shape, data });
  const init: string[] = [];
  const body: string[] = [];
  const taken = new Set<string>(['x']);
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
  const weight = (layer: string, part: string) => {
    const w = byName.get(`${layer}/${part}`);
    if (!w) throw new ValueError(`export to PyTorch: ${layer} has no ${part}`);
    return w;
  };
  for (const layer of model.layers) {
    const c = layer.config as LayerConfig;
    const a = attr(c.name, taken);
    const activate = () => {
      const code = activationCode(c.activation, (c as { alpha?: number }).alpha);
      if (code) body.push(`x = ${code}`);
    };
    switch (c.type) {
      case 'dense': {
        if (shape.length !== 1) throw new ValueError(`export to PyTorch: ${c.name} takes [${shape.join(', ')}]; webgrad's dense takes flat inputs`);
        const k = weight(c.name, 'kernel');
        const [fin, fout] = k.shape;
        // Linear.weight is [out, in]: the kernel [in, out] transposed.
        const t = new Float32Array(fin * fout);
        for (let i = 0; i < fin; i++) for (let j = 0; j < fout; j++) t[j * fin + i] = k.data[i * fout + j];
        put(`${a}.weight`, [fout, fin], t);
        if (c.useBias) put(`${a}.bias`, [fout], weight(c.name, 'bias').data);
        init.push(`self.${a} = nn.Linear(${fin}, ${fout}, bias=${c.useBias ? 'True' : 'False'})`);
        body.push(`x = self.${a}(x)`);
        activate();
        break;
      }
      case 'conv2d': {
        const k = weight(c.name, 'kernel');
        const [kh, kw, cin, cout] = k.shape;
        // Conv2d.weight is [out, in, kh, kw]: the kernel [kh, kw, in, out] permuted.
        const t = new Float32Array(k.data.length);
        for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) t[((o * cin + i) * kh + y) * kw + x] = k.data[((y * kw + x) * cin + i) * cout + o];
        put(`${a}.weight`, [cout, cin, kh, kw], t);
        if (c.useBias) put(`${a}.bias`, [cout], weight(c.name, 'bias').data);
        toNchw();
        const [h, w] = shape;
        if (c.padding === 'same') {
          const [top, bottom] = samePads(h, kh, c.strides[0], c.dilationRate[0]);
          const [left, right] = samePads(w, kw, c.strides[1], c.dilationRate[1]);
          // TensorFlow puts the odd pixel of 'same' padding after: an explicit pad, then a valid convolution.
          if (top + bottom + left + right > 0) body.push(`x = F.pad(x, (${left}, ${right}, ${top}, ${bottom}))`);
        }
        init.push(`self.${a} = nn.Conv2d(${cin}, ${cout}, (${kh}, ${kw}), stride=(${c.strides.join(', ')}), dilation=(${c.dilationRate.join(', ')}), bias=${c.useBias ? 'True' : 'False'})`);
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
        if (c.scale) put(`${a}.weight`, [C], weight(c.name, 'gamma').data);
        if (c.center) put(`${a}.bias`, [C], weight(c.name, 'beta').data);
        put(`${a}.running_mean`, [C], weight(c.name, 'moving_mean').data);
        put(`${a}.running_var`, [C], weight(c.name, 'moving_variance').data);
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
        if (c.scale) put(`${a}.weight`, [C], weight(c.name, 'gamma').data);
        if (c.center) put(`${a}.bias`, [C], weight(c.name, 'beta').data);
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
  const meta = { format: 'pytorch-state-dict', source: 'webgrad', model: model.name, input_shape: JSON.stringify(inputShape) };
  return {
    'model.safetensors': encodeSafetensors(tensors, meta),
    'model.py': modelPy(model.name, inputShape, init, body),
  };
}

function modelPy(name: string, inputShape: number[], init: string[], body: string[]): string {
  const indent = (lines: string[], n: number) => lines.map((l) => `${' '.repeat(n)}${l}`).join('\n');
  return `"""${name}, exported by webgrad: a torch.nn.Module and its weights.

    from model import load_model
    model = load_model('this folder')    # eval mode: dropout off, batch normalization's running statistics
    y = model(x)                         # x: float32 [n, ${inputShape.join(', ')}], as webgrad's predict takes it

The output is what webgrad's predict returns (after the last activation).
Images are NHWC, as in webgrad and Keras; the module permutes them for torch.
"""
import json
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = (${inputShape.join(', ')}${inputShape.length === 1 ? ',' : ''})


def read_safetensors(path):
    """A safetensors file as {name: tensor}: an 8-byte little-endian header length, a JSON header, raw data."""
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
    return out


class WebgradModel(nn.Module):
    def __init__(self):
        super().__init__()
${indent(init.length ? init : ['pass'], 8)}

    def forward(self, x):
${indent([...body, 'return x'], 8)}


def load_model(folder='.'):
    """The model with its weights loaded, in eval mode."""
    model = WebgradModel()
    state = read_safetensors(os.path.join(folder, 'model.safetensors'))
    for key, module in model.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            state[f'{key}.num_batches_tracked'] = torch.tensor(0, dtype=torch.long)
    model.load_state_dict(state, strict=True)
    return model.eval()
`;
}
