import type { TensorInfo } from '../core/shape.js';
import { expectRank, expectSame } from '../core/shape.js';
import code from '../../shaders/softmax.wgsl?raw';
import type { GpuContext, GpuLaunch, HostArray } from './kernel.js';
import { defineKernel, grid1d } from './kernel.js';

const shader = { name: 'softmax', code };

/**
 * Invocations per row: the power of two that covers the row, between 32 and
 * 256 (and the device's limit). Wider rows loop; narrower ones would idle.
 */
export function softmaxWorkgroupSize(cols: number, ctx: GpuContext): number {
  let wg = 32;
  while (wg < cols && wg < 256) wg *= 2;
  return Math.min(wg, 2 ** Math.floor(Math.log2(ctx.maxInvocationsPerWorkgroup)));
}

function launch(entry: string, log: boolean, [rows, cols]: readonly number[], ctx: GpuContext): GpuLaunch {
  return {
    entry,
    constants: { LOG: log ? 1 : 0, WG: softmaxWorkgroupSize(cols, ctx) },
    params: [['u32', rows], ['u32', cols]],
    workgroups: grid1d(rows, 1, ctx),
  };
}

function forwardShape(op: string, [x]: readonly TensorInfo[]): TensorInfo[] {
  expectRank(x, 2, op, 'x');
  return [x];
}

function backwardShape(op: string, [y, dy]: readonly TensorInfo[]): TensorInfo[] {
  expectRank(y, 2, op, 'y');
  expectSame(y, dy, op, ['y', 'dy']);
  return [y];
}

/** Calls fn(offset, cols) for each row of a [rows, cols] tensor. */
function eachRow(info: TensorInfo, fn: (base: number, cols: number) => void): void {
  const [rows, cols] = info.shape;
  for (let r = 0; r < rows; r++) fn(r * cols, cols);
}

/** Max and Σ exp(x − max) of one row, in the precision of the host (float64 in JS). */
function rowStats(x: HostArray, base: number, cols: number): { max: number; sum: number } {
  let max = x[base];
  for (let j = 1; j < cols; j++) max = Math.max(max, x[base + j]);
  let sum = 0;
  for (let j = 0; j < cols; j++) sum += Math.exp(x[base + j] - max);
  return { max, sum };
}

/** y = softmax(x) over the last axis of a [rows, classes] tensor. */
export const softmax = defineKernel<Record<string, never>>({
  name: 'softmax',
  shader,
  outputs: (inputs) => forwardShape('softmax', inputs),
  cpu([x], [y], [info]) {
    eachRow(info, (base, cols) => {
      const { max, sum } = rowStats(x, base, cols);
      for (let j = 0; j < cols; j++) y[base + j] = Math.exp(x[base + j] - max) / sum;
    });
  },
  gpu: ([x], _attrs, ctx) => launch('softmax', false, x.shape, ctx),
});

/** y = log(softmax(x)) = x − max − log Σ exp(x − max), over the last axis. */
export const logSoftmax = defineKernel<Record<string, never>>({
  name: 'logSoftmax',
  shader,
  outputs: (inputs) => forwardShape('logSoftmax', inputs),
  cpu([x], [y], [info]) {
    eachRow(info, (base, cols) => {
      const { max, sum } = rowStats(x, base, cols);
      const logSum = Math.log(sum);
      for (let j = 0; j < cols; j++) y[base + j] = x[base + j] - max - logSum;
    });
  },
  gpu: ([x], _attrs, ctx) => launch('softmax', true, x.shape, ctx),
});

/** Inputs (y = softmax(x), dy): dx = y ⊙ (dy − Σⱼ dyⱼ yⱼ), the softmax Jacobian (diag(y) − y yᵀ) applied to dy. */
export const softmaxBackward = defineKernel<Record<string, never>>({
  name: 'softmaxBackward',
  shader,
  outputs: (inputs) => backwardShape('softmaxBackward', inputs),
  cpu([y, dy], [dx], [info]) {
    eachRow(info, (base, cols) => {
      let dot = 0;
      for (let j = 0; j < cols; j++) dot += dy[base + j] * y[base + j];
      for (let j = 0; j < cols; j++) dx[base + j] = y[base + j] * (dy[base + j] - dot);
    });
  },
  gpu: ([y], _attrs, ctx) => launch('softmax_backward', false, y.shape, ctx),
});

/** Inputs (y = logSoftmax(x), dy): dx = dy − softmax(x)·Σⱼ dyⱼ, with softmax(x) = exp(y). */
export const logSoftmaxBackward = defineKernel<Record<string, never>>({
  name: 'logSoftmaxBackward',
  shader,
  outputs: (inputs) => backwardShape('logSoftmaxBackward', inputs),
  cpu([y, dy], [dx], [info]) {
    eachRow(info, (base, cols) => {
      let sum = 0;
      for (let j = 0; j < cols; j++) sum += dy[base + j];
      for (let j = 0; j < cols; j++) dx[base + j] = dy[base + j] - Math.exp(y[base + j]) * sum;
    });
  },
  gpu: ([y], _attrs, ctx) => launch('softmax_backward', true, y.shape, ctx),
});
