import { ShapeError } from '../core/errors.js';
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

/** y = x + bias, bias [N] added to every row of x [B, N] (Keras Dense's bias, tf.nn.bias_add). */
export const biasAdd = defineKernel<NoAttrs>({
  name: 'biasAdd',
  shader,
  outputs([x, bias]) {
    if (!x || !bias) throw new ShapeError('biasAdd: expects two inputs, x [B, N] and bias [N]');
    expectRank(x, 2, 'biasAdd', 'x');
    expectRank(bias, 1, 'biasAdd', 'bias');
    if (bias.shape[0] !== x.shape[1]) {
      throw new ShapeError(`biasAdd: bias must be f32[${x.shape[1]}] to match the last axis of x ${fmt(x)}, got ${fmt(bias)}`);
    }
    return [x];
  },
  cpu([x, bias], [y], [info]) {
    const [B, N] = info.shape;
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < N; j++) y[b * N + j] = x[b * N + j] + bias[j];
    }
  },
  gpu([x], _attrs, ctx) {
    const n = sizeOf(x.shape);
    return { entry: 'bias_add', params: [['u32', n], ['u32', x.shape[1]]], workgroups: grid1d(n, WG, ctx) };
  },
});

/** db[j] = Σ_b dy[b, j]: the gradient of biasAdd with respect to bias. */
export const biasGrad = defineKernel<NoAttrs>({
  name: 'biasGrad',
  shader,
  outputs([dy]) {
    if (!dy) throw new ShapeError('biasGrad: expects one input, dy [B, N]');
    expectRank(dy, 2, 'biasGrad', 'dy');
    return [f32([dy.shape[1]])];
  },
  cpu([dy], [db], [info]) {
    const [B, N] = info.shape;
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let b = 0; b < B; b++) s += dy[b * N + j];
      db[j] = s;
    }
  },
  gpu([dy], _attrs, ctx) {
    const [B, N] = dy.shape;
    const { cols, rows } = biasGradTile(N);
    return {
      entry: 'bias_grad',
      constants: { COLS: cols, ROWS: rows },
      params: [['u32', B], ['u32', N]],
      workgroups: grid1d(N, cols, ctx),
    };
  },
});
