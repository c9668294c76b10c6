// Concatenation along the last axis, and its inverse: the merge of a
// Bidirectional layer's two halves (Keras' Concatenate(axis=-1)) and the
// gradient of it. Any rank: every axis but the last is a row index.
import { ShapeError, ValueError } from '../core/errors.js';
import type { TensorInfo } from '../core/shape.js';
import { fmt, sizeOf } from '../core/shape.js';
import code from '../../shaders/concat.wgsl?raw';
import type { GpuContext, GpuLaunch } from './kernel.js';
import { defineKernel, grid1d } from './kernel.js';

const shader = { name: 'concat', code };
const WG = 256;

export interface SplitLastAttrs {
  /** The last axis of each part: [a, b], a + b the input's. */
  readonly sizes: readonly [number, number];
}

function f32Tensor(op: string, v: TensorInfo | undefined, arg: string): TensorInfo {
  if (!v || v.dtype !== 'f32' || v.shape.length === 0) throw new ShapeError(`${op}: ${arg} must be an f32 tensor of rank ≥ 1, got ${v ? fmt(v) : 'nothing'}`);
  return v;
}

const lead = (s: readonly number[]) => s.slice(0, -1);
const last = (s: readonly number[]) => s[s.length - 1];

function launch(entry: string, rows: number, a: number, b: number, ctx: GpuContext): GpuLaunch {
  const n = rows * (a + b);
  return { entry, params: [['u32', n], ['u32', a], ['u32', b], ['u32', 0]], workgroups: grid1d(n, WG, ctx) };
}

/** x [..., a] ‖ y [..., b] → [..., a + b]: the leading axes equal, x's values first in every row. */
export const concatLast = defineKernel<Readonly<Record<string, never>>>({
  name: 'concatLast',
  shader,
  outputs([x, y, ...rest]) {
    f32Tensor('concatLast', x, 'x');
    f32Tensor('concatLast', y, 'y');
    if (rest.length) throw new ShapeError(`concatLast: takes 2 inputs, got ${2 + rest.length}`);
    if (fmt(lead(x.shape)) !== fmt(lead(y.shape))) throw new ShapeError(`concatLast: x ${fmt(x)} and y ${fmt(y)} must agree on every axis but the last`);
    return [{ shape: [...lead(x.shape), last(x.shape) + last(y.shape)], dtype: 'f32' }];
  },
  cpu([x, y], [out], [xi, yi]) {
    const a = last(xi.shape);
    const b = last(yi.shape);
    const rows = sizeOf(xi.shape) / a;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < a; j++) out[r * (a + b) + j] = x[r * a + j];
      for (let j = 0; j < b; j++) out[r * (a + b) + a + j] = y[r * b + j];
    }
  },
  gpu([x, y], _attrs, ctx) {
    return launch('concat_last', sizeOf(x.shape) / last(x.shape), last(x.shape), last(y.shape), ctx);
  },
});

/** concatLast's inverse: d [..., a + b] → [..., a], [..., b]. */
export const splitLast = defineKernel<SplitLastAttrs>({
  name: 'splitLast',
  shader,
  outputs([d, ...rest], { sizes }) {
    f32Tensor('splitLast', d, 'd');
    if (rest.length) throw new ShapeError(`splitLast: takes 1 input, got ${1 + rest.length}`);
    if (!Array.isArray(sizes) || sizes.length !== 2 || sizes.some((s) => !Number.isInteger(s) || s < 1)) {
      throw new ValueError(`splitLast: sizes must be two whole numbers ≥ 1, got ${JSON.stringify(sizes)}`);
    }
    if (sizes[0] + sizes[1] !== last(d.shape)) throw new ShapeError(`splitLast: sizes ${sizes[0]} + ${sizes[1]} must add up to d's last axis, ${last(d.shape)} (d ${fmt(d)})`);
    return sizes.map((s) => ({ shape: [...lead(d.shape), s], dtype: 'f32' as const }));
  },
  cpu([d], [x, y], [info], { sizes: [a, b] }) {
    const rows = sizeOf(info.shape) / (a + b);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < a; j++) x[r * a + j] = d[r * (a + b) + j];
      for (let j = 0; j < b; j++) y[r * b + j] = d[r * (a + b) + a + j];
    }
  },
  gpu([d], { sizes: [a, b] }, ctx) {
    return launch('split_last', sizeOf(d.shape) / (a + b), a, b, ctx);
  },
});
