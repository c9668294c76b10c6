import { ShapeError, ValueError } from '../core/errors.js';
import { fmt, sizeOf } from '../core/shape.js';
import type { Kernel } from './kernel.js';
import { defineKernel } from './kernel.js';

export interface ReshapeAttrs {
  /** The new shape; one entry may be -1, the size the others leave. */
  readonly shape: readonly number[];
}

/** `shape` with a -1 resolved against `size` values; refuses anything that does not hold exactly `size`. */
export function resolveShape(shape: readonly number[], size: number, what = 'reshape'): number[] {
  const free = shape.filter((d) => d === -1).length;
  if (free > 1) throw new ValueError(`${what}: at most one dimension may be -1, got ${fmt(shape)}`);
  if (shape.some((d) => d !== -1 && !(Number.isInteger(d) && d > 0))) throw new ValueError(`${what}: dimensions must be positive whole numbers (or one -1), got ${fmt(shape)}`);
  const known = shape.reduce((a, d) => (d === -1 ? a : a * d), 1);
  const out = shape.map((d) => (d === -1 ? size / known : d));
  if (out.some((d) => !Number.isInteger(d)) || sizeOf(out) !== size) throw new ShapeError(`${what}: cannot view ${size} values as ${fmt(shape)}`);
  return out;
}

/**
 * The same values under another shape, in row-major order (NumPy's reshape
 * of a contiguous array): a free view in a compiled graph, never a launch.
 */
export const reshape: Kernel<ReshapeAttrs> = defineKernel<ReshapeAttrs>({
  name: 'reshape',
  shader: { name: 'reshape', code: '' },
  view: true,
  outputs([x], { shape }) {
    if (!x) throw new ShapeError('reshape: expects one input');
    return [{ shape: resolveShape(shape, sizeOf(x.shape)), dtype: x.dtype }];
  },
  cpu([x], [y]) {
    y.set(x);
  },
  gpu() {
    throw new ValueError('reshape is a view: the graph executor binds it and launches nothing');
  },
});
