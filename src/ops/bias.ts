import { ShapeError } from '../core/errors.js';
import type { TensorInfo } from '../core/shape.js';
import { expectRank, f32, fmt, sizeOf } from '../core/shape.js';
import code from '../../shaders/bias.wgsl?raw';
import { defineKernel, grid1d } from './kernel.js';
import type { NoAttrs } from './reduce.js';

const shader = { name: 'bias', code };
const WG = 256;

/**
 * bias_grad's workgroup: `cols` adjacent columns × `rows` row lanes, 256 in
 * all. Up to 32 columns (128 contiguous bytes per row read); fewer when N is
 * small, so that the spare invocations split the rows instead of idling.
 */
export function biasGradTile(n: number): { cols: number; rows: number } {
  let cols = 1;
  while (cols < n && cols < 32) cols *= 2;
  return { cols, rows: WG / cols };
}

/** x of rank 2 or more, [..., N], as rows [B, N] (B the product of the leading axes): bias acts on the last axis. */
function asRows(x: TensorInfo, op: string, arg: string): [number, number] {
  if (x.shape.length < 2) throw new ShapeError(`${op}: ${arg} must have rank 2 or more, [..., N] (bias on the last axis), got ${fmt(x)}`);
  expectRank(x, x.shape.length, op, arg);
  const N = x.shape[x.shape.length - 1];
  return [sizeOf(x.shape) / N, N];
}

/**
 * y = x + bias, bias [N] added along the last axis of x [..., N]: every row of
 * a Dense layer's [B, N], every pixel of a Conv2D's [n, h, w, N] (Keras' bias,
 * tf.nn.bias_add).
 */
export const biasAdd = defineKernel<NoAttrs>({
  name: 'biasAdd',
  shader,
  outputs([x, bias]) {
    if (!x || !bias) throw new ShapeError('biasAdd: expects two inputs, x [..., N] and bias [N]');
    const [, N] = asRows(x, 'biasAdd', 'x');
    expectRank(bias, 1, 'biasAdd', 'bias');
    if (bias.shape[0] !== N) {
      throw new ShapeError(`biasAdd: bias must be f32[${N}] to match the last axis of x ${fmt(x)}, got ${fmt(bias)}`);
    }
    return [x];
  },
  cpu([x, bias], [y], [info]) {
    const [B, N] = asRows(info, 'biasAdd', 'x');
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < N; j++) y[b * N + j] = x[b * N + j] + bias[j];
    }
  },
  gpu([x], _attrs, ctx) {
    const n = sizeOf(x.shape);
    return { entry: 'bias_add', params: [['u32', n], ['u32', x.shape[x.shape.length - 1]]], workgroups: grid1d(n, WG, ctx) };
  },
});

/** db[j] = the sum of dy[..., j] over every leading index: the gradient of biasAdd with respect to bias. */
export const biasGrad = defineKernel<NoAttrs>({
  name: 'biasGrad',
  shader,
  outputs([dy]) {
    if (!dy) throw new ShapeError('biasGrad: expects one input, dy [..., N]');
    return [f32([asRows(dy, 'biasGrad', 'dy')[1]])];
  },
  cpu([dy], [db], [info]) {
    const [B, N] = asRows(info, 'biasGrad', 'dy');
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let b = 0; b < B; b++) s += dy[b * N + j];
      db[j] = s;
    }
  },
  gpu([dy], _attrs, ctx) {
    const [B, N] = asRows(dy, 'biasGrad', 'dy');
    const { cols, rows } = biasGradTile(N);
    return {
      entry: 'bias_grad',
      constants: { COLS: cols, ROWS: rows },
      params: [['u32', B], ['u32', N]],
      workgroups: grid1d(N, cols, ctx),
    };
  },
});
