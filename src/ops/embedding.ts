// Embedding lookup: the op under Keras' Embedding, and its gradient. Ids are
// whole numbers in f32 (the model's inputs are f32; ids below 2^24 are
// exact), checked on the host (idsProblem) before they reach a kernel.
import { ShapeError, ValueError } from '../core/errors.js';
import type { TensorInfo } from '../core/shape.js';
import { fmt, sizeOf } from '../core/shape.js';
import code from '../../shaders/embedding.wgsl?raw';
import { defineKernel, grid1d } from './kernel.js';

const shader = { name: 'embedding', code };
const WG = 256;

/** Ids above this are not all exact in f32. */
export const MAX_VOCABULARY = 2 ** 24;

/** The first id in `ids` that is not a whole number in [0, inputDim), as a message, or null. */
export function idsProblem(ids: ArrayLike<number>, inputDim: number): string | null {
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i];
    if (!(Number.isInteger(v) && v >= 0 && v < inputDim)) return `${v} at position ${i} is not a token id: ids are whole numbers from 0 to ${inputDim - 1} (inputDim ${inputDim})`;
  }
  return null;
}

function table(op: string, t: TensorInfo | undefined, arg: string): [number, number] {
  if (!t || t.dtype !== 'f32' || t.shape.length !== 2) throw new ShapeError(`${op}: ${arg} must be f32 [inputDim, outputDim], got ${t ? fmt(t) : 'nothing'}`);
  if (t.shape[0] > MAX_VOCABULARY) throw new ValueError(`${op}: inputDim ${t.shape[0]} is above ${MAX_VOCABULARY}, past the ids f32 holds exactly`);
  return [t.shape[0], t.shape[1]];
}

function idsOf(op: string, ids: TensorInfo | undefined): number {
  if (!ids || ids.dtype !== 'f32' || ids.shape.length < 1) throw new ShapeError(`${op}: ids must be f32 of rank 1 or more, got ${ids ? fmt(ids) : 'nothing'}`);
  return sizeOf(ids.shape);
}

/** out[..., d] = table[ids[...], d]: ids [...] → [..., outputDim]. */
export const embedding = defineKernel<Record<string, never>>({
  name: 'embedding',
  shader,
  outputs([ids, t]) {
    idsOf('embedding', ids);
    const [, D] = table('embedding', t, 'table');
    return [{ shape: [...ids.shape, D], dtype: 'f32' }];
  },
  cpu([ids, t], [out], [, info]) {
    const [V, D] = info.shape;
    for (let i = 0; i < ids.length; i++) {
      const v = Math.min(Math.max(Math.round(ids[i]), 0), V - 1);
      for (let d = 0; d < D; d++) out[i * D + d] = t[v * D + d];
    }
  },
  gpu([ids, t], _attrs, ctx) {
    const n = sizeOf(ids.shape);
    const [V, D] = t.shape;
    return { entry: 'embedding', params: [['u32', n * D], ['u32', D], ['u32', n], ['u32', V]], workgroups: grid1d(n * D, WG, ctx) };
  },
});

/** Positions per partial sum of the gradient (shaders/embedding.wgsl's CHUNK). */
export const EMBEDDING_CHUNK = 256;

export interface EmbeddingBackwardAttrs {
  /** The table's rows: the vocabulary's size. */
  readonly inputDim: number;
}

/**
 * The gradient of the table in partial sums: partial[c, v, d] = Σ over the
 * positions i of chunk c (EMBEDDING_CHUNK positions each, in order) that hold
 * id v of dy[i, d]: ids [...], dy [..., D] → [chunks, inputDim, D]. The
 * gradient rule adds the chunks (biasGrad over them), in order.
 */
export const embeddingBackward = defineKernel<EmbeddingBackwardAttrs>({
  name: 'embeddingBackward',
  shader,
  outputs([ids, dy], { inputDim }) {
    const n = idsOf('embeddingBackward', ids);
    if (!Number.isInteger(inputDim) || inputDim < 1 || inputDim > MAX_VOCABULARY) throw new ValueError(`embeddingBackward: inputDim must be a whole number from 1 to ${MAX_VOCABULARY}, got ${inputDim}`);
    if (!dy || dy.dtype !== 'f32' || dy.shape.length !== ids.shape.length + 1 || sizeOf(dy.shape.slice(0, -1)) !== n) {
      throw new ShapeError(`embeddingBackward: dy must be f32 [${ids.shape.join(', ')}, outputDim], got ${dy ? fmt(dy) : 'nothing'}`);
    }
    return [{ shape: [Math.ceil(n / EMBEDDING_CHUNK), inputDim, dy.shape[dy.shape.length - 1]], dtype: 'f32' }];
  },
  cpu([ids, dy], [dt], [, info], { inputDim }) {
    const D = info.shape[info.shape.length - 1];
    dt.fill(0);
    for (let i = 0; i < ids.length; i++) {
      // As the kernel: an id outside the table adds to no row (the host refuses such ids before training).
      const v = Math.round(ids[i]);
      if (v < 0 || v >= inputDim) continue;
      const c = Math.floor(i / EMBEDDING_CHUNK);
      for (let d = 0; d < D; d++) dt[(c * inputDim + v) * D + d] += dy[i * D + d];
    }
  },
  gpu([ids, dy], { inputDim }, ctx) {
    const n = sizeOf(ids.shape);
    const D = dy.shape[dy.shape.length - 1];
    const total = Math.ceil(n / EMBEDDING_CHUNK) * inputDim * D;
    return { entry: 'embedding_backward', params: [['u32', total], ['u32', D], ['u32', n], ['u32', inputDim]], workgroups: grid1d(total, WG, ctx) };
  },
});
