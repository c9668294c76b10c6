// Two adjacent axes swapped: how [batch, steps, heads, headDim] becomes the
// attention op's default layout [batch, heads, steps, headDim] (multiHeadAttention
// uses its layout 'bthd' instead and needs no swap). Its own gradient, with the
// axes' sizes exchanged.
import { ShapeError, ValueError } from '../core/errors.js';
import { fmt, sizeOf } from '../core/shape.js';
import code from '../../shaders/transpose.wgsl?raw';
import { defineKernel, grid1d } from './kernel.js';

export interface SwapAxesAttrs {
  /** The first of the two axes swapped, counting the batch; the other is the next one. Default 1 ([B, T, H, D] ↔ [B, H, T, D]). */
  readonly axis?: number;
}

const WG = 256;

/** x seen as [outer, m, n, inner] around axes `axis` and `axis + 1`, checked. */
function around(shape: readonly number[], axis = 1): [number, number, number, number] {
  const rank = shape.length;
  if (!Number.isInteger(axis) || axis < 0 || axis + 1 >= rank) throw new ValueError(`swapAxes: axis must be a whole number in [0, ${rank - 2}] for a tensor of rank ${rank} (it swaps axis and axis + 1), got ${JSON.stringify(axis)}`);
  return [sizeOf(shape.slice(0, axis)), shape[axis], shape[axis + 1], sizeOf(shape.slice(axis + 2))];
}

/** out = x with axes `axis` and `axis + 1` swapped (NumPy's swapaxes, torch's transpose(axis, axis + 1)). */
export const swapAxes = defineKernel<SwapAxesAttrs>({
  name: 'swapAxes',
  shader: { name: 'transpose', code },
  outputs([x, ...rest], { axis = 1 }) {
    if (!x || x.dtype !== 'f32' || x.shape.length < 2) throw new ShapeError(`swapAxes: x must be an f32 tensor of rank ≥ 2, got ${x ? fmt(x) : 'nothing'}`);
    if (rest.length) throw new ShapeError(`swapAxes: takes 1 input, got ${1 + rest.length}`);
    around(x.shape, axis);
    const shape = [...x.shape];
    [shape[axis], shape[axis + 1]] = [shape[axis + 1], shape[axis]];
    return [{ shape, dtype: 'f32' }];
  },
  cpu([x], [out], [info], { axis }) {
    const [outer, m, n, inner] = around(info.shape, axis);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) for (let c = 0; c < inner; c++) out[((o * n + j) * m + i) * inner + c] = x[((o * m + i) * n + j) * inner + c];
      }
    }
  },
  gpu([x], { axis }, ctx) {
    const [outer, m, n, inner] = around(x.shape, axis);
    const total = outer * m * n * inner;
    return { entry: 'swap_axes', params: [['u32', total], ['u32', m], ['u32', n], ['u32', inner]], workgroups: grid1d(total, WG, ctx) };
  },
});
