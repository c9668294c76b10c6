import { ShapeError, ValueError } from '../core/errors.js';
import type { Shape, TensorInfo } from '../core/shape.js';
import { expectRank, f32, fmt, sameShape, sizeOf } from '../core/shape.js';
import code from '../../shaders/conv.wgsl?raw';
import type { GpuContext, GpuLaunch } from './kernel.js';
import { defineKernel, grid1d } from './kernel.js';

const shader = { name: 'conv', code };
/** Small groups: conv2dBackwardFilter has only kh·kw·cin·cout invocations, often a few hundred, to spread over the cores. */
const WG = 64;

export type Conv2dPadding = 'valid' | 'same';

/** Keras' Conv2D options (tf.nn.conv2d's), for x NHWC [n, h, w, cin] and a kernel [kh, kw, cin, cout]. */
export interface Conv2dAttrs {
  /** [sh, sw], positive; default [1, 1]. */
  readonly strides?: readonly [number, number];
  /** 'valid' (no padding, the default) or 'same' (output ⌈h/sh⌉ × ⌈w/sw⌉, zero-padded, an odd total's extra row/column at the bottom/right, as TensorFlow). */
  readonly padding?: Conv2dPadding;
  /** [dh, dw], Keras' dilation_rate: taps dh rows and dw columns apart; default [1, 1]. */
  readonly dilation?: readonly [number, number];
}

/** conv2d's options plus the forward input's shape [n, h, w, cin] (tf.nn.conv2d_backprop_input's input_sizes): with a stride above 1, dy does not fix h and w. */
export interface Conv2dBackwardInputAttrs extends Conv2dAttrs {
  readonly inputShape: Shape;
}

/** conv2d's options plus the kernel's shape [kh, kw, cin, cout] (tf.nn.conv2d_backprop_filter's filter_sizes): x and dy do not fix kh and kw. */
export interface Conv2dBackwardFilterAttrs extends Conv2dAttrs {
  readonly filterShape: Shape;
}

/** Every size and offset of one convolution. pad* is the zero padding before the first row/column; the rest of the total goes after the last. */
export interface Conv2dGeometry {
  readonly n: number; readonly h: number; readonly w: number; readonly cin: number;
  readonly kh: number; readonly kw: number; readonly cout: number;
  readonly oh: number; readonly ow: number;
  readonly sh: number; readonly sw: number; readonly dh: number; readonly dw: number;
  readonly padTop: number; readonly padLeft: number;
}

const ATTR_KEYS = ['strides', 'padding', 'dilation'];

function checkAttrs(op: string, attrs: object, ...extra: string[]): void {
  const allowed = [...ATTR_KEYS, ...extra];
  for (const key of Object.keys(attrs)) {
    if (!allowed.includes(key)) throw new ValueError(`${op}: unknown option '${key}' (use ${allowed.map((k) => `'${k}'`).join(', ')})`);
  }
}

function pair(op: string, name: string, v: readonly number[] | undefined): [number, number] {
  if (v === undefined) return [1, 1];
  if (!Array.isArray(v) || v.length !== 2 || !v.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new ValueError(`${op}: ${name} must be two positive integers [rows, columns], got ${JSON.stringify(v)}`);
  }
  return [v[0], v[1]];
}

/**
 * Output size along one axis and the padding before it, as TensorFlow: 'valid'
 * fits the dilated kernel (extent dk·(k−1)+1) without padding; 'same' gives
 * ⌈size/s⌉ outputs and pads by what they need, the smaller half first.
 */
function axis(size: number, k: number, s: number, d: number, padding: Conv2dPadding): [out: number, before: number] {
  const extent = d * (k - 1) + 1;
  if (padding === 'valid') return [Math.floor((size - extent) / s) + 1, 0];
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + extent - size, 0);
  return [out, Math.floor(total / 2)];
}

/** Checks x's and the kernel's shapes and the options, and derives the output size and padding. */
export function conv2dGeometry(xShape: Shape, kShape: Shape, attrs: Conv2dAttrs, op = 'conv2d'): Conv2dGeometry {
  const [sh, sw] = pair(op, 'strides', attrs.strides);
  const [dh, dw] = pair(op, 'dilation', attrs.dilation);
  const padding = attrs.padding ?? 'valid';
  if (padding !== 'valid' && padding !== 'same') throw new ValueError(`${op}: padding must be 'valid' or 'same', got ${JSON.stringify(padding)}`);
  const [n, h, w, cin] = xShape;
  const [kh, kw, kcin, cout] = kShape;
  if (kcin !== cin) {
    throw new ShapeError(`${op}: the kernel ${fmt(kShape)} [kh, kw, cin, cout] takes ${kcin} input channels, but x ${fmt(xShape)} [n, h, w, cin] has ${cin}`);
  }
  const [oh, padTop] = axis(h, kh, sh, dh, padding);
  const [ow, padLeft] = axis(w, kw, sw, dw, padding);
  if (oh < 1 || ow < 1) {
    const extent = `${dh * (kh - 1) + 1}×${dw * (kw - 1) + 1}`;
    throw new ShapeError(`${op}: with padding 'valid' the ${kh}×${kw} kernel at dilation [${dh}, ${dw}] spans ${extent}, more than the ${h}×${w} input: use padding 'same', or a smaller kernel or dilation`);
  }
  return { n, h, w, cin, kh, kw, cout, oh, ow, sh, sw, dh, dw, padTop, padLeft };
}

/** A shape given in the options: four positive integers. */
function shapeAttr(op: string, name: string, s: Shape | undefined, layout: string): Shape {
  if (!Array.isArray(s) || s.length !== 4 || !s.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new ShapeError(`${op}: ${name} must be four positive integers ${layout}, got ${JSON.stringify(s)}`);
  }
  return s;
}

/** dy must have conv2d's output shape for this geometry. */
function expectDy(op: string, dy: TensorInfo, g: Conv2dGeometry): void {
  const want = [g.n, g.oh, g.ow, g.cout];
  if (!sameShape(dy.shape, want)) throw new ShapeError(`${op}: dy must be f32${fmt(want)}, conv2d's output for these shapes and options, got ${fmt(dy)}`);
}

/**
 * Calls visit(xi, ki, yi) for every product x[xi]·k[ki] that conv2d adds into
 * y[yi] (flat NHWC, [kh, kw, cin, cout] and NHWC indices), skipping taps that
 * fall in the zero padding. The forward and both backward references are this
 * one sum, accumulated into y, dx or dk.
 */
function forEachTap(g: Conv2dGeometry, visit: (xi: number, ki: number, yi: number) => void): void {
  for (let b = 0; b < g.n; b++) {
    for (let oy = 0; oy < g.oh; oy++) {
      for (let ox = 0; ox < g.ow; ox++) {
        for (let ky = 0; ky < g.kh; ky++) {
          const iy = oy * g.sh - g.padTop + ky * g.dh;
          if (iy < 0 || iy >= g.h) continue;
          for (let kx = 0; kx < g.kw; kx++) {
            const ix = ox * g.sw - g.padLeft + kx * g.dw;
            if (ix < 0 || ix >= g.w) continue;
            for (let ci = 0; ci < g.cin; ci++) {
              for (let co = 0; co < g.cout; co++) {
                visit(((b * g.h + iy) * g.w + ix) * g.cin + ci, ((ky * g.kw + kx) * g.cin + ci) * g.cout + co, ((b * g.oh + oy) * g.ow + ox) * g.cout + co);
              }
            }
          }
        }
      }
    }
  }
}

/** A launch of one of shaders/conv.wgsl's entry points: one invocation per `count` elements, the geometry as its uniform block. */
function launch(entry: string, count: number, g: Conv2dGeometry, ctx: GpuContext): GpuLaunch {
  const dims = [g.n, g.h, g.w, g.cin, g.oh, g.ow, g.cout, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.padTop, g.padLeft];
  return { entry, params: [['i32', count], ...dims.map((d) => ['i32', d] as const)], workgroups: grid1d(count, WG, ctx) };
}

/** y = conv2d(x, kernel): tf.nn.conv2d (a cross-correlation), x NHWC, kernel [kh, kw, cin, cout] (Keras' layout), y [n, oh, ow, cout]. */
export const conv2d = defineKernel<Conv2dAttrs>({
  name: 'conv2d',
  shader,
  outputs([x, k], attrs) {
    if (!x || !k) throw new ShapeError('conv2d: expects two inputs, x [n, h, w, cin] and kernel [kh, kw, cin, cout]');
    checkAttrs('conv2d', attrs);
    expectRank(x, 4, 'conv2d', 'x');
    expectRank(k, 4, 'conv2d', 'kernel');
    const g = conv2dGeometry(x.shape, k.shape, attrs);
    return [f32([g.n, g.oh, g.ow, g.cout])];
  },
  cpu([x, k], [y], [xi, ki], attrs) {
    y.fill(0);
    forEachTap(conv2dGeometry(xi.shape, ki.shape, attrs), (a, b, c) => (y[c] += x[a] * k[b]));
  },
  gpu([x, k], attrs, ctx) {
    const g = conv2dGeometry(x.shape, k.shape, attrs);
    return launch('conv2d_forward', g.n * g.oh * g.ow * g.cout, g, ctx);
  },
});

/** dx = ∂L/∂x of y = conv2d(x, kernel), from dy = ∂L/∂y: inputs [dy, kernel]; dx has attrs.inputShape. */
export const conv2dBackwardInput = defineKernel<Conv2dBackwardInputAttrs>({
  name: 'conv2dBackwardInput',
  shader,
  outputs([dy, k], attrs) {
    const op = 'conv2dBackwardInput';
    if (!dy || !k) throw new ShapeError(`${op}: expects two inputs, dy [n, oh, ow, cout] and kernel [kh, kw, cin, cout]`);
    checkAttrs(op, attrs, 'inputShape');
    const xShape = shapeAttr(op, 'inputShape', attrs.inputShape, '[n, h, w, cin]');
    expectRank(dy, 4, op, 'dy');
    expectRank(k, 4, op, 'kernel');
    expectDy(op, dy, conv2dGeometry(xShape, k.shape, attrs, op));
    return [f32(xShape)];
  },
  cpu([dy, k], [dx], [, ki], attrs) {
    dx.fill(0);
    forEachTap(conv2dGeometry(attrs.inputShape, ki.shape, attrs), (a, b, c) => (dx[a] += dy[c] * k[b]));
  },
  gpu([, k], attrs, ctx) {
    const g = conv2dGeometry(attrs.inputShape, k.shape, attrs);
    return launch('conv2d_backward_input', sizeOf(attrs.inputShape), g, ctx);
  },
});

/** dk = ∂L/∂kernel of y = conv2d(x, kernel), from dy = ∂L/∂y: inputs [x, dy]; dk has attrs.filterShape. */
export const conv2dBackwardFilter = defineKernel<Conv2dBackwardFilterAttrs>({
  name: 'conv2dBackwardFilter',
  shader,
  outputs([x, dy], attrs) {
    const op = 'conv2dBackwardFilter';
    if (!x || !dy) throw new ShapeError(`${op}: expects two inputs, x [n, h, w, cin] and dy [n, oh, ow, cout]`);
    checkAttrs(op, attrs, 'filterShape');
    const kShape = shapeAttr(op, 'filterShape', attrs.filterShape, '[kh, kw, cin, cout]');
    expectRank(x, 4, op, 'x');
    expectRank(dy, 4, op, 'dy');
    expectDy(op, dy, conv2dGeometry(x.shape, kShape, attrs, op));
    return [f32(kShape)];
  },
  cpu([x, dy], [dk], [xi], attrs) {
    dk.fill(0);
    forEachTap(conv2dGeometry(xi.shape, attrs.filterShape, attrs), (a, b, c) => (dk[b] += x[a] * dy[c]));
  },
  gpu([x], attrs, ctx) {
    const g = conv2dGeometry(x.shape, attrs.filterShape, attrs);
    return launch('conv2d_backward_filter', sizeOf(attrs.filterShape), g, ctx);
  },
});

// Convolution lowered to a matrix product (Caffe's im2col): each output
// position's receptive field becomes one row of `cols`, so that
//   conv2d(x, k)  = im2col(x) · k₂             k₂ = k viewed as [kh·kw·cin, cout]
//   dk₂           = im2col(x)ᵀ · dy₂           dy₂ = dy viewed as [n·oh·ow, cout]
//   dx            = col2im(dy₂ · k₂ᵀ)
// and the tiled matmul, with its fused bias + activation epilogue, does the
// arithmetic. col2im is im2col's gradient: each x element sums the columns
// that copied it.

/** conv2d's options and the kernel's spatial size [kh, kw] (the channels come from x). */
export interface Im2colAttrs extends Conv2dAttrs {
  readonly kernelSize: readonly [number, number];
}

/** im2col's options and the shape [n, h, w, cin] of the x it read. */
export interface Col2imAttrs extends Im2colAttrs {
  readonly inputShape: Shape;
}

/** The geometry of a one-filter convolution: its output index is the row of cols, its kernel index the column. */
function geometry(op: string, xShape: Shape, attrs: Im2colAttrs): Conv2dGeometry {
  const [kh, kw] = pair(op, 'kernelSize', attrs.kernelSize);
  return conv2dGeometry(xShape, [kh, kw, xShape[3], 1], attrs, op);
}

/** The shape of cols for this geometry: a row per output position, a column per tap (ky, kx, ci). */
export function colsShape(g: Conv2dGeometry): [number, number] {
  return [g.n * g.oh * g.ow, g.kh * g.kw * g.cin];
}

/** cols [n·oh·ow, kh·kw·cin] = the receptive field of each conv2d output position, zeros where it overlaps the padding. */
export const im2col = defineKernel<Im2colAttrs>({
  name: 'im2col',
  shader: shader,
  outputs([x], attrs) {
    if (!x) throw new ShapeError('im2col: expects one input, x [n, h, w, cin]');
    checkAttrs('im2col', attrs, 'kernelSize');
    expectRank(x, 4, 'im2col', 'x');
    return [f32(colsShape(geometry('im2col', x.shape, attrs)))];
  },
  cpu([x], [cols], [xi], attrs) {
    const g = geometry('im2col', xi.shape, attrs);
    const width = g.kh * g.kw * g.cin;
    cols.fill(0);
    // With one filter, the tap's kernel index is its column and its output index its row.
    forEachTap(g, (xAt, column, row) => (cols[row * width + column] = x[xAt]));
  },
  gpu([x], attrs, ctx) {
    const g = geometry('im2col', x.shape, attrs);
    return launch('im2col', g.n * g.oh * g.ow * g.kh * g.kw, g, ctx);
  },
});

/** dx [n, h, w, cin] = the sum, for each x element, of the entries of dcols that im2col copied from it. */
export const col2im = defineKernel<Col2imAttrs>({
  name: 'col2im',
  shader: shader,
  outputs([dcols], attrs) {
    if (!dcols) throw new ShapeError('col2im: expects one input, dcols [n·oh·ow, kh·kw·cin]');
    checkAttrs('col2im', attrs, 'kernelSize', 'inputShape');
    const xShape = shapeAttr('col2im', 'inputShape', attrs.inputShape, '[n, h, w, cin]');
    expectRank(dcols, 2, 'col2im', 'dcols');
    const want = colsShape(geometry('col2im', xShape, attrs));
    if (!sameShape(dcols.shape, want)) throw new ShapeError(`col2im: dcols must be f32${fmt(want)}, im2col's output for x ${fmt(xShape)} and these options, got ${fmt(dcols)}`);
    return [f32(xShape)];
  },
  cpu([dcols], [dx], _infos, attrs) {
    const g = geometry('col2im', attrs.inputShape, attrs);
    const width = g.kh * g.kw * g.cin;
    dx.fill(0);
    forEachTap(g, (xAt, column, row) => (dx[xAt] += dcols[row * width + column]));
  },
  gpu(_inputs, attrs, ctx) {
    const g = geometry('col2im', attrs.inputShape, attrs);
    return launch('col2im', sizeOf(attrs.inputShape), g, ctx);
  },
});
