// Convolution lowered to a matrix product (Caffe's im2col): each output
// position's receptive field becomes one row of `cols`, so that
//   conv2d(x, k)  = im2col(x) · k₂             k₂ = k viewed as [kh·kw·cin, cout]
//   dk₂           = im2col(x)ᵀ · dy₂           dy₂ = dy viewed as [n·oh·ow, cout]
//   dx            = col2im(dy₂ · k₂ᵀ)
// and the tiled matmul, with its fused bias + activation epilogue, does the
// arithmetic. col2im is im2col's gradient: each x element sums the columns
// that copied it. Their WGSL is in shaders/conv.wgsl, with conv2d's.
import { ShapeError } from '../core/errors.js';
import type { Shape } from '../core/shape.js';
import { expectRank, f32, fmt, sameShape, sizeOf } from '../core/shape.js';
import type { Conv2dAttrs, Conv2dGeometry } from './conv.js';
import { checkAttrs, conv2dGeometry, convLaunch, convShader, forEachTap, pair, shapeAttr } from './conv.js';
import { defineKernel } from './kernel.js';

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
  shader: convShader,
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
    return convLaunch('im2col', g.n * g.oh * g.ow * g.kh * g.kw, g, ctx);
  },
});

/** dx [n, h, w, cin] = the sum, for each x element, of the entries of dcols that im2col copied from it. */
export const col2im = defineKernel<Col2imAttrs>({
  name: 'col2im',
  shader: convShader,
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
    return convLaunch('col2im', sizeOf(attrs.inputShape), g, ctx);
  },
});
