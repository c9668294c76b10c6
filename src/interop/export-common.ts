// What the exports to PyTorch and ONNX share: a trained model's weights by
// name, TensorFlow's 'same' padding made explicit, and the kernel layouts of
// frameworks that are channels-first.
import { ValueError } from '../core/errors.js';
import { isTrainable } from '../nn/layer-base.js';
import type { Model } from '../nn/model.js';

/** A weight of the model as an export reads it: webgrad's shape and data, and whether the optimizer trains it. */
export interface ExportedWeight {
  readonly shape: number[];
  readonly data: Float32Array;
  readonly trainable: boolean;
}

/**
 * The model's input shape and its weights, refusing a model that has neither
 * yet: `weight(layer, part)` is one ('dense_1', 'kernel'), or an error naming
 * what the layer lacks. Sequential and functional models alike.
 */
export async function exportedWeights(model: Model, to: string): Promise<{ inputShape: number[]; weight: (layer: string, part: string) => ExportedWeight }> {
  const inputShape = model.inputShape;
  if (!inputShape) throw new ValueError(`export to ${to}: the model's input shape is unknown; fit it or give inputShape`);
  const specs = model.paramSpecs();
  const weights = await model.getWeights();
  if (weights.some((w) => w.length === 0)) throw new ValueError(`export to ${to}: the model has no weights yet; fit it or load a trained one`);
  const byName = new Map(specs.map((p, i) => [p.name, { shape: p.shape, data: weights[i], trainable: isTrainable(p) }]));
  const weight = (layer: string, part: string) => {
    const w = byName.get(`${layer}/${part}`);
    if (!w) throw new ValueError(`export to ${to}: ${layer} has no ${part}`);
    return w;
  };
  return { inputShape, weight };
}

/** TensorFlow's 'same' padding of one axis: total max((⌈n/s⌉ − 1)·s + (k − 1)·d + 1 − n, 0), the odd pixel after. */
export function samePads(n: number, k: number, s: number, d: number): [before: number, after: number] {
  const total = Math.max((Math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** A dense kernel [in, out] as [out, in] (torch's Linear.weight). */
export function transposed([fin, fout]: number[], data: Float32Array): Float32Array {
  const t = new Float32Array(data.length);
  for (let i = 0; i < fin; i++) for (let j = 0; j < fout; j++) t[j * fin + i] = data[i * fout + j];
  return t;
}

/** A conv kernel [kh, kw, in, out] as [out, in, kh, kw] (torch's Conv2d.weight, ONNX's Conv). */
export function channelsFirstKernel([kh, kw, cin, cout]: number[], data: Float32Array): Float32Array {
  const t = new Float32Array(data.length);
  for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) t[((o * cin + i) * kh + y) * kw + x] = data[((y * kw + x) * cin + i) * cout + o];
  return t;
}

/**
 * Gate blocks reordered: `data` is blocks of `block` floats (a gate's rows of
 * a [G·U, K] matrix, or its U entries of a bias), and block k of the result
 * is block order[k] of the input. Keras' LSTM i, f, c, o is ONNX's i, o, f, c
 * by [0, 3, 1, 2]; Keras' GRU z, r, h is torch's r, z, n by [1, 0, 2], which
 * is its own inverse.
 */
export function reorderGates(data: Float32Array, order: readonly number[], block: number): Float32Array {
  if (data.length !== order.length * block) throw new Error(`reorderGates: ${data.length} floats are not ${order.length} blocks of ${block} (a webgrad bug)`);
  const out = new Float32Array(data.length);
  order.forEach((from, k) => out.set(data.subarray(from * block, (from + 1) * block), k * block));
  return out;
}

/** Keras' GRU gates z, r, h in torch's order r, z, n (and back: the swap is its own inverse). */
export const TORCH_GRU_ORDER = [1, 0, 2] as const;
