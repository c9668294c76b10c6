import { ShapeError } from './errors.js';

export type Shape = readonly number[];
export type DType = 'f32' | 'i32';

/** What a tensor is, without its data: used by every shape rule. */
export interface TensorInfo {
  readonly shape: Shape;
  readonly dtype: DType;
}

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function fmt(info: TensorInfo | Shape): string {
  if (Array.isArray(info)) return `[${info.join(', ')}]`;
  const t = info as TensorInfo;
  return `${t.dtype}[${t.shape.join(', ')}]`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function checkShape(shape: Shape, what: string): void {
  if (shape.length === 0) return;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`${what}: bad dimension in shape ${fmt(shape)}`);
  }
  if (sizeOf(shape) === 0) throw new ShapeError(`${what}: empty tensor ${fmt(shape)} (every dimension must be at least 1)`);
}

/** Asserts a tensor's rank and dtype, naming the op and the argument when it is wrong. */
export function expectRank(info: TensorInfo, rank: number, op: string, arg: string, dtype: DType = 'f32'): void {
  if (info.shape.length !== rank) {
    throw new ShapeError(`${op}: ${arg} must have rank ${rank}, got ${fmt(info)}`);
  }
  if (info.dtype !== dtype) throw new ShapeError(`${op}: ${arg} must be ${dtype}, got ${fmt(info)}`);
}

export function expectSame(a: TensorInfo, b: TensorInfo, op: string, names: [string, string]): void {
  if (!sameShape(a.shape, b.shape) || a.dtype !== b.dtype) {
    throw new ShapeError(`${op}: ${names[0]} ${fmt(a)} and ${names[1]} ${fmt(b)} must have the same shape and dtype`);
  }
}

export function f32(shape: Shape): TensorInfo {
  return { shape, dtype: 'f32' };
}

export function i32(shape: Shape): TensorInfo {
  return { shape, dtype: 'i32' };
}

/**
 * Views start at multiples of this many elements: 256 bytes, the largest
 * minStorageBufferOffsetAlignment WebGPU allows, so a view binds on any adapter.
 */
export const VIEW_ALIGN = 64;

/** Where tensors of these shapes lie when packed into one flat buffer: each at a multiple of VIEW_ALIGN, in order. */
export function packLayout(shapes: readonly Shape[]): { offsets: number[]; size: number } {
  const offsets: number[] = [];
  let size = 0;
  for (const s of shapes) {
    offsets.push(size);
    size += Math.ceil(sizeOf(s) / VIEW_ALIGN) * VIEW_ALIGN;
  }
  return { offsets, size };
}
