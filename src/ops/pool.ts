import { ShapeError, ValueError } from '../core/errors.js';
import type { Shape, TensorInfo } from '../core/shape.js';
import { f32, fmt, sameShape, sizeOf } from '../core/shape.js';
import code from '../../shaders/pool.wgsl?raw';
import type { GpuContext, GpuLaunch, HostArray } from './kernel.js';
import { defineKernel, grid1d } from './kernel.js';

const shader = { name: 'pool', code };
const WG = 256;

/** Keras' MaxPooling2D / AveragePooling2D arguments, for NHWC tensors [n, h, w, c]. */
export interface Pool2dAttrs {
  readonly poolSize: readonly [number, number];
  /** Default: poolSize, as Keras. */
  readonly strides?: readonly [number, number];
  /** Default 'valid', as Keras. 'same' pads (smaller half top and left, as TensorFlow) and pools the real elements only. */
  readonly padding?: 'valid' | 'same';
}

/** avgPool2dBackward needs the forward input's height and width: dy alone does not determine them. */
export interface AvgPool2dBackwardAttrs extends Pool2dAttrs {
  readonly inputSize: readonly [number, number];
}

export interface GlobalAvgPool2dBackwardAttrs {
  readonly inputSize: readonly [number, number];
}

/** Where every window lies: input [n, h, w, c], output [n, oh, ow, c], pool, strides, and the padding before row 0 and column 0. */
export interface PoolGeometry {
  readonly n: number;
  readonly h: number;
  readonly w: number;
  readonly c: number;
  readonly oh: number;
  readonly ow: number;
  readonly ph: number;
  readonly pw: number;
  readonly sh: number;
  readonly sw: number;
  readonly top: number;
  readonly left: number;
}

function positivePair(op: string, name: string, v: unknown): readonly [number, number] {
  if (!Array.isArray(v) || v.length !== 2 || !v.every((d: unknown) => Number.isInteger(d) && (d as number) >= 1)) {
    throw new ValueError(`${op}: ${name} must be two positive integers [rows, cols], got ${JSON.stringify(v)}`);
  }
  return v as unknown as [number, number];
}

function expectNhwc(op: string, arg: string, x: TensorInfo): void {
  if (x.shape.length !== 4 || x.dtype !== 'f32') {
    throw new ShapeError(`${op}: ${arg} must be f32[batch, height, width, channels] (NHWC), got ${fmt(x)}`);
  }
}

/**
 * TensorFlow's output size and padding on one axis. 'valid': windows inside
 * the input, ⌊(size − pool)/stride⌋ + 1 of them. 'same': ⌈size/stride⌉, the
 * missing max((out − 1)·stride + pool − size, 0) rows split with the smaller
 * half before. Every 'same' window keeps at least one real element.
 */
function axis(size: number, pool: number, stride: number, padding: 'valid' | 'same'): [out: number, before: number] {
  if (padding === 'valid') return [Math.floor((size - pool) / stride) + 1, 0];
  const out = Math.ceil(size / stride);
  return [out, Math.floor(Math.max((out - 1) * stride + pool - size, 0) / 2)];
}

/** The shape rule of the pooling ops: validates x [n, h, w, c] and the attributes, names the problem. */
export function poolGeometry(op: string, x: TensorInfo, attrs: Pool2dAttrs): PoolGeometry {
  expectNhwc(op, 'x', x);
  const [ph, pw] = positivePair(op, 'poolSize', attrs.poolSize);
  const [sh, sw] = positivePair(op, 'strides', attrs.strides ?? attrs.poolSize);
  const padding = attrs.padding ?? 'valid';
  if (padding !== 'valid' && padding !== 'same') throw new ValueError(`${op}: padding must be 'valid' or 'same', got ${JSON.stringify(padding)}`);
  const [n, h, w, c] = x.shape;
  const [oh, top] = axis(h, ph, sh, padding);
  const [ow, left] = axis(w, pw, sw, padding);
  if (oh < 1 || ow < 1) {
    throw new ShapeError(
      `${op}: poolSize [${ph}, ${pw}] does not fit in x ${fmt(x)} with padding 'valid' (the output would be ${oh}×${ow}); ` +
        `use padding 'same' or a pool of at most [${h}, ${w}]`,
    );
  }
  return { n, h, w, c, oh, ow, ph, pw, sh, sw, top, left };
}

/** Rows [r0, r1) and columns [c0, c1) of the image that output (oy, ox) pools: its window without the padding. */
function windowAt(g: PoolGeometry, oy: number, ox: number): { r0: number; r1: number; c0: number; c1: number } {
  const y0 = oy * g.sh - g.top;
  const x0 = ox * g.sw - g.left;
  return { r0: Math.max(y0, 0), r1: Math.min(y0 + g.ph, g.h), c0: Math.max(x0, 0), c1: Math.min(x0 + g.pw, g.w) };
}

/**
 * Calls fn(o, cells) for each output element o, where x[cells[k] + ch] are
 * the real elements of o's window in row-major window order (ch = o's channel,
 * already added).
 */
function eachWindow(g: PoolGeometry, fn: (o: number, cells: number[]) => void): void {
  const { n, h, w, c, oh, ow } = g;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const { r0, r1, c0, c1 } = windowAt(g, oy, ox);
        const cells: number[] = [];
        for (let r = r0; r < r1; r++) for (let s = c0; s < c1; s++) cells.push(((b * h + r) * w + s) * c);
        const base = ((b * oh + oy) * ow + ox) * c;
        for (let ch = 0; ch < c; ch++) fn(base + ch, cells.map((k) => k + ch));
      }
    }
  }
}

/** The index of the window's largest element; of several equal ones, the first (TensorFlow's tie rule). */
function firstMax(x: HostArray, cells: number[]): number {
  let arg = cells[0];
  for (const k of cells) if (x[k] > x[arg]) arg = k;
  return arg;
}

function geometryLaunch(entry: string, g: PoolGeometry, total: number, ctx: GpuContext): GpuLaunch {
  const { h, w, c, oh, ow, ph, pw, sh, sw, top, left } = g;
  const params = [total, h, w, c, oh, ow, ph, pw, sh, sw, top, left].map((v) => ['u32', v] as const);
  return { entry, params, workgroups: grid1d(total, WG, ctx) };
}

const pooledShape = (g: PoolGeometry): Shape => [g.n, g.oh, g.ow, g.c];

function expectGradient(op: string, dy: TensorInfo | undefined, want: Shape): void {
  if (!dy || dy.dtype !== 'f32' || !sameShape(dy.shape, want)) {
    throw new ShapeError(`${op}: dy must be f32[${want.join(', ')}], the shape of the pooled output, got ${dy ? fmt(dy) : 'nothing'}`);
  }
}

/** y[b, oy, ox, ch] = max of x over the window (Keras MaxPooling2D, tf.nn.max_pool2d). */
export const maxPool2d = defineKernel<Pool2dAttrs>({
  name: 'maxPool2d',
  shader,
  outputs: ([x], attrs) => [f32(pooledShape(poolGeometry('maxPool2d', x, attrs)))],
  cpu([x], [y], [info], attrs) {
    eachWindow(poolGeometry('maxPool2d', info, attrs), (o, cells) => (y[o] = x[firstMax(x, cells)]));
  },
  gpu([x], attrs, ctx) {
    const g = poolGeometry('maxPool2d', x, attrs);
    return geometryLaunch('max_pool', g, sizeOf(pooledShape(g)), ctx);
  },
});

/** y[b, oy, ox, ch] = mean of x over the window's real elements (Keras AveragePooling2D, tf.nn.avg_pool2d). */
export const avgPool2d = defineKernel<Pool2dAttrs>({
  name: 'avgPool2d',
  shader,
  outputs: ([x], attrs) => [f32(pooledShape(poolGeometry('avgPool2d', x, attrs)))],
  cpu([x], [y], [info], attrs) {
    eachWindow(poolGeometry('avgPool2d', info, attrs), (o, cells) => {
      let s = 0;
      for (const k of cells) s += x[k];
      y[o] = s / cells.length;
    });
  },
  gpu([x], attrs, ctx) {
    const g = poolGeometry('avgPool2d', x, attrs);
    return geometryLaunch('avg_pool', g, sizeOf(pooledShape(g)), ctx);
  },
});

/**
 * dx from [x, y, dy], y = maxPool2d(x) (as TensorFlow's MaxPoolGrad): each
 * window's dy goes to its first max in row-major order; windows that overlap
 * add up. The reference recomputes the argmax from x; the GPU uses y to
 * dismiss, with one compare, the elements that are not their window's max.
 */
export const maxPool2dBackward = defineKernel<Pool2dAttrs>({
  name: 'maxPool2dBackward',
  shader,
  outputs([x, y, dy], attrs) {
    const pooled = pooledShape(poolGeometry('maxPool2dBackward', x, attrs));
    if (!y || y.dtype !== 'f32' || !sameShape(y.shape, pooled)) {
      throw new ShapeError(`maxPool2dBackward: y must be maxPool2d(x), f32[${pooled.join(', ')}], got ${y ? fmt(y) : 'nothing'}`);
    }
    expectGradient('maxPool2dBackward', dy, pooled);
    return [x];
  },
  cpu([x, , dy], [dx], [info], attrs) {
    dx.fill(0);
    eachWindow(poolGeometry('maxPool2dBackward', info, attrs), (o, cells) => (dx[firstMax(x, cells)] += dy[o]));
  },
  gpu([x], attrs, ctx) {
    return geometryLaunch('max_pool_backward', poolGeometry('maxPool2dBackward', x, attrs), sizeOf(x.shape), ctx);
  },
});

/** The input [n, h, w, c] of a pooling whose output gradient is dy [n, oh, ow, c]. */
function inputOf(op: string, dy: TensorInfo, inputSize: unknown): TensorInfo {
  if (!dy || dy.shape.length < 2) throw new ShapeError(`${op}: expects one input, dy [batch, ..., channels], got ${dy ? fmt(dy) : 'nothing'}`);
  const [h, w] = positivePair(op, 'inputSize', inputSize);
  return f32([dy.shape[0], h, w, dy.shape[dy.shape.length - 1]]);
}

/** dx from dy alone: each window's dy, divided by its count of real elements, goes to each of them. */
export const avgPool2dBackward = defineKernel<AvgPool2dBackwardAttrs>({
  name: 'avgPool2dBackward',
  shader,
  outputs([dy], attrs) {
    const x = inputOf('avgPool2dBackward', dy, attrs.inputSize);
    expectGradient('avgPool2dBackward', dy, pooledShape(poolGeometry('avgPool2dBackward', x, attrs)));
    return [x];
  },
  cpu([dy], [dx], [info], attrs) {
    dx.fill(0);
    const g = poolGeometry('avgPool2dBackward', inputOf('avgPool2dBackward', info, attrs.inputSize), attrs);
    eachWindow(g, (o, cells) => {
      for (const k of cells) dx[k] += dy[o] / cells.length;
    });
  },
  gpu([dy], attrs, ctx) {
    const x = inputOf('avgPool2dBackward', dy, attrs.inputSize);
    return geometryLaunch('avg_pool_backward', poolGeometry('avgPool2dBackward', x, attrs), sizeOf(x.shape), ctx);
  },
});

/** The average pooling that global pooling is, for the GPU: one window as large as the image. */
const wholeImage = (x: TensorInfo): Pool2dAttrs => ({ poolSize: [x.shape[1], x.shape[2]], strides: [1, 1] });

/** y[b, ch] = mean of x[b, :, :, ch] (Keras GlobalAveragePooling2D): [n, h, w, c] → [n, c]. */
export const globalAvgPool2d = defineKernel<Record<string, never>>({
  name: 'globalAvgPool2d',
  shader,
  outputs([x]) {
    expectNhwc('globalAvgPool2d', 'x', x);
    return [f32([x.shape[0], x.shape[3]])];
  },
  cpu([x], [y], [info]) {
    const [n, h, w, c] = info.shape;
    for (let b = 0; b < n; b++) {
      for (let ch = 0; ch < c; ch++) {
        let s = 0;
        for (let k = 0; k < h * w; k++) s += x[(b * h * w + k) * c + ch];
        y[b * c + ch] = s / (h * w);
      }
    }
  },
  gpu([x], _attrs, ctx) {
    return geometryLaunch('avg_pool', poolGeometry('globalAvgPool2d', x, wholeImage(x)), x.shape[0] * x.shape[3], ctx);
  },
});

/** dx[b, i, j, ch] = dy[b, ch] / (h·w): [n, c] → [n, h, w, c], h and w from inputSize. */
export const globalAvgPool2dBackward = defineKernel<GlobalAvgPool2dBackwardAttrs>({
  name: 'globalAvgPool2dBackward',
  shader,
  outputs([dy], { inputSize }) {
    if (!dy || dy.dtype !== 'f32' || dy.shape.length !== 2) {
      throw new ShapeError(`globalAvgPool2dBackward: dy must be f32[batch, channels], got ${dy ? fmt(dy) : 'nothing'}`);
    }
    return [inputOf('globalAvgPool2dBackward', dy, inputSize)];
  },
  cpu([dy], [dx], [info], { inputSize: [h, w] }) {
    const [n, c] = info.shape;
    for (let b = 0; b < n; b++) {
      for (let k = 0; k < h * w; k++) {
        for (let ch = 0; ch < c; ch++) dx[(b * h * w + k) * c + ch] = dy[b * c + ch] / (h * w);
      }
    }
  },
  gpu([dy], { inputSize }, ctx) {
    const x = inputOf('globalAvgPool2dBackward', dy, inputSize);
    return geometryLaunch('avg_pool_backward', poolGeometry('globalAvgPool2dBackward', x, wholeImage(x)), sizeOf(x.shape), ctx);
  },
});
