// Masks of padded steps, Keras' masking: an Embedding with maskZero makes a
// mask [batch, steps] (1 real, 0 padding) from its token ids; recurrent layers
// skip the padded steps (src/ops/recurrent.ts takes the mask); the loss and the
// metrics of a class per step count only the real steps, each batch's figure
// the mean over its real steps (Keras 3: masked entries weigh 0, the others
// total/valid). Both kernels are data-only: no gradient flows into a mask.
import { ShapeError } from '../core/errors.js';
import type { TensorInfo } from '../core/shape.js';
import { f32, fmt, sizeOf } from '../core/shape.js';
import code from '../../shaders/mask.wgsl?raw';
import { defineKernel, grid1d } from './kernel.js';

const shader = { name: 'mask', code };
const WG = 256;

function f32In(op: string, arg: string, t: TensorInfo | undefined): TensorInfo {
  if (!t || t.dtype !== 'f32' || t.shape.length < 1) throw new ShapeError(`${op}: ${arg} must be f32 of rank 1 or more, got ${t ? fmt(t) : 'nothing'}`);
  return t;
}

/** ids (whole numbers in f32) → mask of the same shape: 1 where the id is not 0 (Keras' mask_zero: id 0 is padding). */
export const paddingMask = defineKernel<Readonly<Record<string, never>>>({
  name: 'paddingMask',
  shader,
  outputs([ids]) {
    return [f32([...f32In('paddingMask', 'ids', ids).shape])];
  },
  cpu([ids], [out]) {
    for (let i = 0; i < ids.length; i++) out[i] = ids[i] !== 0 ? 1 : 0;
  },
  gpu([ids], _attrs, ctx) {
    const n = sizeOf(ids.shape);
    return { entry: 'padding_mask', params: [['u32', n], ['u32', 0]], workgroups: grid1d(n, WG, ctx) };
  },
});

/**
 * mask → the weights of a mean over its real entries: w = m / Σm, so that
 * Σ v·w is the mean of v where m is 1; all 0 where the mask is all 0 (a batch
 * of padding counts nothing, as Keras' total / (valid + ε) gives).
 */
export const maskWeights = defineKernel<Readonly<Record<string, never>>>({
  name: 'maskWeights',
  shader,
  outputs([mask]) {
    return [f32([...f32In('maskWeights', 'mask', mask).shape])];
  },
  cpu([mask], [out]) {
    let total = 0;
    for (let i = 0; i < mask.length; i++) total += mask[i];
    for (let i = 0; i < mask.length; i++) out[i] = total > 0 ? mask[i] / total : 0;
  },
  gpu([mask]) {
    // One workgroup: the sum must be whole before any weight is written.
    return { entry: 'mask_weights', params: [['u32', sizeOf(mask.shape)], ['u32', 0]], workgroups: [1, 1, 1] };
  },
});

/**
 * x [batch, steps, ...] times mask [batch, steps], each step's values by its
 * entry: zeros at padded steps (Keras' zero_output_for_mask, which its
 * Bidirectional forces on with return_sequences). Linear in x; the mask is data.
 */
export const maskSteps = defineKernel<Readonly<Record<string, never>>>({
  name: 'maskSteps',
  shader,
  outputs([x, mask]) {
    f32In('maskSteps', 'x', x);
    if (x.shape.length < 2 || !mask || mask.dtype !== 'f32' || fmt(mask.shape) !== fmt(x.shape.slice(0, 2))) {
      throw new ShapeError(`maskSteps: mask must be f32 [batch, steps] of x's first two axes (x ${fmt(x)}), got ${mask ? fmt(mask) : 'nothing'}`);
    }
    return [f32([...x.shape])];
  },
  cpu([x, mask], [out], [info]) {
    const inner = sizeOf(info.shape.slice(2));
    for (let i = 0; i < x.length; i++) out[i] = x[i] * mask[Math.floor(i / inner)];
  },
  gpu([x], _attrs, ctx) {
    const n = sizeOf(x.shape);
    return { entry: 'mask_steps', params: [['u32', n], ['u32', sizeOf(x.shape.slice(2))]], workgroups: grid1d(n, WG, ctx) };
  },
});
