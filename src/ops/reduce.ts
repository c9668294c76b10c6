import { ShapeError, ValueError } from '../core/errors.js';
import type { Shape, TensorInfo } from '../core/shape.js';
import { checkShape, f32, fmt, sizeOf } from '../core/shape.js';
import code from '../../shaders/reduce.wgsl?raw';
import type { Kernel } from './kernel.js';
import { defineKernel, grid1d } from './kernel.js';

const shader = { name: 'reduce', code };
const WG = 256;

/** Kernels that take no attributes. */
export type NoAttrs = Readonly<Record<string, never>>;

export type ReduceOp = 'sum' | 'mean';

/**
 * One workgroup sums every element, each invocation n/256 of them in order.
 * On llvmpipe a sum of 2^24 values this way came out wrong (about 1/128 of
 * it) while 2^22 was right: larger inputs are refused, not summed wrongly.
 * What the models sum (a batch's per-sample losses) is far smaller.
 */
export const MAX_REDUCE_VALUES = 2 ** 22;

function expectF32(op: string, arg: string, t: TensorInfo): void {
  if (t.dtype !== 'f32') throw new ShapeError(`${op}: ${arg} must be f32, got ${fmt(t)}`);
  if (sizeOf(t.shape) > MAX_REDUCE_VALUES) throw new ShapeError(`${op}: at most ${MAX_REDUCE_VALUES.toLocaleString('en-US')} values in one launch, got ${fmt(t)}`);
}

/**
 * Sum or mean of every element of an f32 tensor of any shape, as f32 [1].
 * Two kernels rather than one with an `op` attribute, so that each has its
 * own entry in the op table and its own gradient (see reduceGradAttrs).
 */
function reduction(op: ReduceOp): Kernel<NoAttrs> {
  const name = op === 'sum' ? 'reduceSum' : 'reduceMean';
  return defineKernel<NoAttrs>({
    name,
    shader,
    outputs([x]) {
      if (!x) throw new ShapeError(`${name}: expects one input tensor`);
      expectF32(name, 'x', x);
      return [f32([1])];
    },
    cpu([x], [out]) {
      let s = 0;
      for (let i = 0; i < x.length; i++) s += x[i];
      out[0] = op === 'sum' ? s : s / x.length;
    },
    gpu([x]) {
      const n = sizeOf(x.shape);
      // 1/n rounded to f32 and one multiply: both correctly rounded, unlike WGSL's division (2.5 ulp).
      return { entry: 'reduce_sum', params: [['u32', n], ['f32', op === 'sum' ? 1 : 1 / n]], workgroups: [1, 1, 1] };
    },
  });
}

/** out[0] = Σ x (tf.reduce_sum / torch.sum with no axis, as shape [1]). */
export const reduceSum = reduction('sum');

/** out[0] = Σ x / n (tf.reduce_mean / torch.mean with no axis, as shape [1]). */
export const reduceMean = reduction('mean');

/**
 * acc[0] += alpha · Σ x, in place: reduceSum feeding accumulate in one launch,
 * as graph/fuse.ts puts it where a model adds a batch's loss or metric to its total.
 */
export const reduceSumInto = defineKernel<{ alpha: number }>({
  name: 'reduceSumInto',
  shader,
  inout: true,
  outputs([x], { alpha }) {
    if (!x) throw new ShapeError('reduceSumInto: expects one input tensor');
    expectF32('reduceSumInto', 'x', x);
    if (!Number.isFinite(alpha)) throw new ValueError(`reduceSumInto: alpha must be a finite number, got ${alpha}`);
    return [f32([1])];
  },
  cpu([x], [acc], _infos, { alpha }) {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += x[i];
    // Rounded to the accumulator's precision first, as reduceSum's output would be.
    const sum = acc instanceof Float32Array ? Math.fround(s) : s;
    acc[0] += alpha * sum;
  },
  gpu([x], { alpha }) {
    return { entry: 'reduce_sum_into', params: [['u32', sizeOf(x.shape)], ['f32', alpha]], workgroups: [1, 1, 1] };
  },
});

export interface BroadcastScalarAttrs {
  /** Shape of the output: the shape of the reduction's input. */
  readonly shape: Shape;
  readonly scale: number;
}

/** out[i] = scale · g[0] for every element of `shape`: the backward of reduceSum (scale 1) and reduceMean (scale 1/n). */
export const broadcastScalar = defineKernel<BroadcastScalarAttrs>({
  name: 'broadcastScalar',
  shader,
  outputs([g], { shape, scale }) {
    if (!g) throw new ShapeError('broadcastScalar: expects one input tensor g of shape [1]');
    if (g.dtype !== 'f32' || g.shape.length !== 1 || g.shape[0] !== 1) {
      throw new ShapeError(`broadcastScalar: g must be f32[1], got ${fmt(g)}`);
    }
    checkShape(shape, 'broadcastScalar');
    if (!Number.isFinite(scale)) throw new ValueError(`broadcastScalar: scale must be a finite number, got ${scale}`);
    return [f32(shape)];
  },
  cpu([g], [out], _infos, { scale }) {
    out.fill(scale * g[0]);
  },
  gpu(_inputs, { shape, scale }, ctx) {
    const n = sizeOf(shape);
    return { entry: 'broadcast_scalar', params: [['u32', n], ['f32', scale]], workgroups: grid1d(n, WG, ctx) };
  },
});

/** The broadcastScalar attributes that give d(reduce op)/dx for an input of `shape`. */
export function reduceGradAttrs(op: ReduceOp, shape: Shape): BroadcastScalarAttrs {
  return { shape, scale: op === 'sum' ? 1 : 1 / sizeOf(shape) };
}
