// Reversal of one axis: a Bidirectional layer's backward half, whose states
// come last step first, put back in the order of the input's steps (Keras'
// flip of y_rev along time). Its own gradient: reversing twice is identity.
import { ShapeError, ValueError } from '../core/errors.js';
import { fmt, sizeOf } from '../core/shape.js';
import code from '../../shaders/reverse.wgsl?raw';
import { defineKernel, grid1d } from './kernel.js';

export interface ReverseAttrs {
  /** The axis reversed, counting the batch (a sequence's steps: 1); negative counts from the end. */
  readonly axis: number;
}

const WG = 256;

/** The view [outer, n, inner] around the axis, checked. */
function around(shape: readonly number[], axis: number): [number, number, number] {
  const rank = shape.length;
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) throw new ValueError(`reverse: axis must be a whole number in [${-rank}, ${rank}) for a tensor of rank ${rank}, got ${JSON.stringify(axis)}`);
  const k = axis < 0 ? axis + rank : axis;
  return [sizeOf(shape.slice(0, k)), shape[k], sizeOf(shape.slice(k + 1))];
}

/** out = x with the values along `axis` in reverse order (torch.flip, tf.reverse). */
export const reverse = defineKernel<ReverseAttrs>({
  name: 'reverse',
  shader: { name: 'reverse', code },
  outputs([x, ...rest], { axis }) {
    if (!x || x.dtype !== 'f32' || x.shape.length === 0) throw new ShapeError(`reverse: x must be an f32 tensor of rank ≥ 1, got ${x ? fmt(x) : 'nothing'}`);
    if (rest.length) throw new ShapeError(`reverse: takes 1 input, got ${1 + rest.length}`);
    around(x.shape, axis);
    return [x];
  },
  cpu([x], [out], [info], { axis }) {
    const [outer, n, inner] = around(info.shape, axis);
    for (let o = 0; o < outer; o++) for (let k = 0; k < n; k++) for (let j = 0; j < inner; j++) out[(o * n + k) * inner + j] = x[(o * n + n - 1 - k) * inner + j];
  },
  gpu([x], { axis }, ctx) {
    const [outer, n, inner] = around(x.shape, axis);
    const total = outer * n * inner;
    return { entry: 'reverse_axis', params: [['u32', total], ['u32', n], ['u32', inner], ['u32', 0]], workgroups: grid1d(total, WG, ctx) };
  },
});
