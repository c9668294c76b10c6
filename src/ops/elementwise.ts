import { ValueError } from '../core/errors.js';
import type { Shape } from '../core/shape.js';
import { checkShape, expectSame, f32, sizeOf } from '../core/shape.js';
import code from '../../shaders/elementwise.wgsl?raw';
import { defineKernel, grid1d } from './kernel.js';

const shader = { name: 'elementwise', code };
const WG = 256;

function onlyF32(op: string, dtype: string): void {
  if (dtype !== 'f32') throw new ValueError(`${op}: only f32 tensors, got ${dtype}`);
}

function finite(op: string, name: string, v: number): void {
  if (!Number.isFinite(v)) throw new ValueError(`${op}: ${name} must be a finite number, got ${v}`);
}

/** out = value, for a tensor of the given shape. */
export const fill = defineKernel<{ shape: Shape; value: number }>({
  name: 'fill',
  shader,
  outputs(inputs, { shape, value }) {
    checkShape(shape, 'fill');
    finite('fill', 'value', value);
    return [f32(shape)];
  },
  cpu(_inputs, [out], _infos, { value }) {
    out.fill(value);
  },
  gpu(_inputs, { shape, value }, ctx) {
    const n = sizeOf(shape);
    return { entry: 'fill', params: [['u32', n], ['f32', value]], workgroups: grid1d(n, WG, ctx) };
  },
});

/** out = alpha * x */
export const scale = defineKernel<{ alpha: number }>({
  name: 'scale',
  shader,
  outputs([x], { alpha }) {
    onlyF32('scale', x.dtype);
    finite('scale', 'alpha', alpha);
    return [x];
  },
  cpu([x], [out], _infos, { alpha }) {
    for (let i = 0; i < x.length; i++) out[i] = alpha * x[i];
  },
  gpu([x], { alpha }, ctx) {
    const n = sizeOf(x.shape);
    return { entry: 'scale', params: [['u32', n], ['f32', alpha]], workgroups: grid1d(n, WG, ctx) };
  },
});

/** out += alpha * x: reads its output. */
export const accumulate = defineKernel<{ alpha: number }>({
  name: 'accumulate',
  shader,
  inout: true,
  outputs([x], { alpha }) {
    onlyF32('accumulate', x.dtype);
    finite('accumulate', 'alpha', alpha);
    return [x];
  },
  cpu([x], [out], _infos, { alpha }) {
    for (let i = 0; i < x.length; i++) out[i] += alpha * x[i];
  },
  gpu([x], { alpha }, ctx) {
    const n = sizeOf(x.shape);
    return { entry: 'accumulate', params: [['u32', n], ['f32', alpha]], workgroups: grid1d(n, WG, ctx) };
  },
});

/** out = x + alpha * y (alpha = -1 subtracts). */
export const add = defineKernel<{ alpha?: number }>({
  name: 'add',
  shader,
  outputs([x, y], { alpha = 1 }) {
    onlyF32('add', x.dtype);
    expectSame(x, y, 'add', ['x', 'y']);
    finite('add', 'alpha', alpha);
    return [x];
  },
  cpu([x, y], [out], _infos, { alpha = 1 }) {
    for (let i = 0; i < x.length; i++) out[i] = x[i] + alpha * y[i];
  },
  gpu([x], { alpha = 1 }, ctx) {
    const n = sizeOf(x.shape);
    return { entry: 'add', params: [['u32', n], ['f32', alpha]], workgroups: grid1d(n, WG, ctx) };
  },
});

/** out = x ⊙ y, elementwise (Keras' Multiply of two tensors of one shape). */
export const multiply = defineKernel<Readonly<Record<string, never>>>({
  name: 'multiply',
  shader,
  outputs([x, y]) {
    onlyF32('multiply', x.dtype);
    expectSame(x, y, 'multiply', ['x', 'y']);
    return [x];
  },
  cpu([x, y], [out]) {
    for (let i = 0; i < x.length; i++) out[i] = x[i] * y[i];
  },
  gpu([x], _attrs, ctx) {
    const n = sizeOf(x.shape);
    return { entry: 'multiply', params: [['u32', n], ['f32', 0]], workgroups: grid1d(n, WG, ctx) };
  },
});
