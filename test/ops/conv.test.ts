import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { gradients } from '../../src/graph/autodiff.js';
import type { Value } from '../../src/graph/graph.js';
import { Graph } from '../../src/graph/graph.js';
import { activation } from '../../src/ops/activation.js';
import type { Conv2dAttrs } from '../../src/ops/conv.js';
import { conv2d, conv2dBackwardFilter, conv2dBackwardInput, conv2dGeometry } from '../../src/ops/conv.js';
import type { Kernel } from '../../src/ops/kernel.js';
import { matmul } from '../../src/ops/matmul.js';
import { reduceSum } from '../../src/ops/reduce.js';
import { backends } from '../helpers/backends.js';
import type { ConvCase, Dims4 } from '../helpers/conv-cases.js';
import { CONV_CASES, label } from '../helpers/conv-cases.js';
import { runOnce } from '../helpers/graph-run.js';
import { expectClose, FD_TOL, numericGradient, randn, reference, rng, runOn, tensor } from '../helpers/check.js';
import type { HostTensor, Tolerance } from '../helpers/check.js';

const U = 2 ** -24; // float32 unit roundoff
const gamma = (K: number) => (K * U) / (1 - K * U);
const abs = (t: HostTensor): HostTensor => ({ ...t, data: t.data.map(Math.abs) as Float32Array });

/**
 * Every output element of the three kernels is a float32 sum of K products,
 * in some order, with or without FMA: within γ_K·Σ|products| of the exact
 * value (Higham, eq. 3.4). Σ|products| is the same kernel run on |inputs|, per
 * element, so a wrong index (an O(1) error) still fails. K is the most terms
 * any element sums: kh·kw·cin (forward), kh·kw·cout (dx), n·oh·ow (dk).
 */
function sumTolerance<A>(kernel: Kernel<A>, inputs: HostTensor[], attrs: A, K: number): Tolerance {
  const [bound] = reference(kernel, inputs.map(abs), attrs);
  return { atol: bound.map((v) => gamma(K) * v), rtol: 0, why: `γ_${K}·Σ|products|: a float32 sum of ${K} products` };
}

const CASES = CONV_CASES;
type Case = ConvCase;

function operands(c: Case, seed: number, make = randn) {
  const r = rng(seed);
  const x = make(r, c.x);
  const k = make(r, c.k);
  const yShape = [...conv2d.outputs([x.info, k.info], c.attrs)[0].shape];
  return { x, k, dy: make(r, yShape), yShape };
}

/** Small integers: every product and partial sum below 2^24 is exact in float32, in any order. */
const ints: typeof randn = (r, shape) => tensor(shape, Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.int(7) - 3));

describe.each(backends)('conv2d on %s', (_name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  CASES.forEach((c, i) => {
    const [kh, kw, cin, cout] = c.k;
    it(`forward ${label(c)}`, async () => {
      const { x, k } = operands(c, i);
      const [got] = await runOn(be, conv2d, [x, k], c.attrs);
      expectClose(got, reference(conv2d, [x, k], c.attrs)[0], sumTolerance(conv2d, [x, k], c.attrs, kh * kw * cin), `conv2d ${label(c)}`);
    });

    it(`backward input ${label(c)}`, async () => {
      const { k, dy } = operands(c, i);
      const attrs = { ...c.attrs, inputShape: c.x };
      const [got] = await runOn(be, conv2dBackwardInput, [dy, k], attrs);
      expectClose(got, reference(conv2dBackwardInput, [dy, k], attrs)[0], sumTolerance(conv2dBackwardInput, [dy, k], attrs, kh * kw * cout), `dx ${label(c)}`);
    });

    it(`backward filter ${label(c)}`, async () => {
      const { x, dy, yShape } = operands(c, i);
      const attrs = { ...c.attrs, filterShape: c.k };
      const [got] = await runOn(be, conv2dBackwardFilter, [x, dy], attrs);
      const K = yShape[0] * yShape[1] * yShape[2];
      expectClose(got, reference(conv2dBackwardFilter, [x, dy], attrs)[0], sumTolerance(conv2dBackwardFilter, [x, dy], attrs, K), `dk ${label(c)}`);
    });
  });

  // On the large cases γ_K·Σ|products| exceeds a single product (K = 43264 for dk), so one lost or doubled term could
  // hide inside it: integer data makes every kernel exact, and any such term shows.
  for (const c of [CASES[3], CASES[8], CASES[11], CASES[12]]) {
    it(`all three exactly on integers, ${label(c)}`, async () => {
      const { x, k, dy } = operands(c, 99, ints);
      const exact: Tolerance = { atol: 0, rtol: 0, why: 'integer sums below 2^24 are exact in float32' };
      const runs: [Kernel<any>, HostTensor[], object][] = [
        [conv2d, [x, k], c.attrs],
        [conv2dBackwardInput, [dy, k], { ...c.attrs, inputShape: c.x }],
        [conv2dBackwardFilter, [x, dy], { ...c.attrs, filterShape: c.k }],
      ];
      for (const [kernel, ins, attrs] of runs) {
        const [got] = await runOn(be, kernel, ins, attrs);
        expectClose(got, reference(kernel, ins, attrs)[0], exact, `${kernel.name} ${label(c)}`);
      }
    });
  }

  // Hand-computed (see 'conv2d reference by hand' below), run on the backend too: the WGSL's padding and dilation, digit by digit.
  it.each(HAND.map((h) => [h.what, h] as const))('by hand: %s', async (_what, h) => {
    const [got] = await runOn(be, conv2d, [h.x, h.k], h.attrs);
    expect(Array.from(got)).toEqual(h.y);
  });
});

/**
 * Kernels whose taps are 1, 10, 100, 1000 and inputs 1..9: each output's
 * digits say which input each tap met (0 where it met padding).
 */
const HAND: { what: string; x: HostTensor; k: HostTensor; attrs: Conv2dAttrs; y: number[] }[] = [
  {
    // 'same', 2×2 kernel: total padding 1, none at the top/left, 1 at the bottom/right.
    what: "'same' puts odd padding at the bottom and right",
    x: tensor([1, 2, 2, 1], [1, 2, 3, 4]),
    k: tensor([2, 2, 1, 1], [1, 10, 100, 1000]),
    attrs: { padding: 'same' },
    y: [4321, 402, 43, 4],
  },
  {
    // w = 4, kernel 3, stride 2: ⌈4/2⌉ = 2 outputs, total padding 1, at the right.
    what: "'same' stride 2 on an even width",
    x: tensor([1, 1, 4, 1], [1, 2, 3, 4]),
    k: tensor([1, 3, 1, 1], [1, 10, 100]),
    attrs: { strides: [1, 2], padding: 'same' },
    y: [321, 43],
  },
  {
    // w = 5, kernel 3, stride 2: 3 outputs, total padding 2, one each side.
    what: "'same' stride 2 on an odd width",
    x: tensor([1, 1, 5, 1], [1, 2, 3, 4, 5]),
    k: tensor([1, 3, 1, 1], [1, 10, 100]),
    attrs: { strides: [1, 2], padding: 'same' },
    y: [210, 432, 54],
  },
  {
    // 4×4 kernel on a 4-tall input, 'same': total padding 3, 1 above, 2 below.
    what: "'same' with a kernel as tall as the input",
    x: tensor([1, 4, 1, 1], [1, 2, 3, 4]),
    k: tensor([4, 1, 1, 1], [1, 10, 100, 1000]),
    attrs: { padding: 'same' },
    y: [3210, 4321, 432, 43],
  },
  {
    what: "dilation 2, 'valid'",
    x: tensor([1, 1, 5, 1], [1, 2, 3, 4, 5]),
    k: tensor([1, 2, 1, 1], [1, 10]),
    attrs: { dilation: [1, 2] },
    y: [31, 42, 53],
  },
  {
    // Extent 3: total padding 2, one each side.
    what: "dilation 2, 'same'",
    x: tensor([1, 5, 1, 1], [1, 2, 3, 4, 5]),
    k: tensor([2, 1, 1, 1], [1, 10]),
    attrs: { dilation: [2, 1], padding: 'same' },
    y: [20, 31, 42, 53, 4],
  },
  {
    // Stride 3 'valid' on 7 columns: 2 outputs, from columns 0–1 and 3–4; columns 2, 5 and 6 unread.
    what: "stride 3, 'valid', two channels in and out",
    x: tensor([1, 1, 7, 2], [1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5]),
    // Output channel 0 reads channel 0 at tap 0 and channel 1 at tap 1; output channel 1 the other way round.
    k: tensor([1, 2, 2, 2], [1, 0, 0, 10, 0, 1, 10, 0]),
    attrs: { strides: [1, 3] },
    y: [41, 23, 17, 89],
  },
];

describe('conv2d reference by hand', () => {
  it.each(HAND.map((h) => [h.what, h] as const))('%s', (_what, h) => {
    expect(Array.from(reference(conv2d, [h.x, h.k], h.attrs)[0])).toEqual(h.y);
  });

  it('gives TensorFlow\'s output sizes and padding', () => {
    const at = (h: number, k: number, attrs: Conv2dAttrs) => {
      const g = conv2dGeometry([1, h, 1, 1], [k, 1, 1, 1], attrs);
      return [g.oh, g.padTop];
    };
    expect(at(28, 3, {})).toEqual([26, 0]);
    expect(at(7, 3, { strides: [2, 1], padding: 'same' })).toEqual([4, 1]);
    expect(at(8, 3, { strides: [2, 1], padding: 'same' })).toEqual([4, 0]);
    expect(at(4, 4, { padding: 'same' })).toEqual([4, 1]);
    expect(at(5, 3, { dilation: [2, 1] })).toEqual([1, 0]);
    expect(at(10, 2, { strides: [3, 1] })).toEqual([3, 0]);
    // A stride past the kernel: 'same' needs no padding, never negative padding.
    expect(at(7, 1, { strides: [3, 1], padding: 'same' })).toEqual([3, 0]);
    expect(at(1, 5, { padding: 'same' })).toEqual([1, 2]);
  });
});

/**
 * An independent forward: patches gathered into a matrix [n·oh·ow, kh·kw·cin]
 * (im2col, with TensorFlow's documented padding written out again here),
 * times the kernel seen as [kh·kw·cin, cout].
 */
function im2colConv(x: HostTensor, k: HostTensor, attrs: Conv2dAttrs): Float64Array {
  const [n, h, w, cin] = x.info.shape;
  const [kh, kw, , cout] = k.info.shape;
  const [sh, sw] = attrs.strides ?? [1, 1];
  const [dh, dw] = attrs.dilation ?? [1, 1];
  const size = (len: number, kk: number, s: number, d: number) => {
    const extent = (kk - 1) * d + 1;
    if (attrs.padding !== 'same') return [Math.ceil((len - extent + 1) / s), 0];
    const out = Math.ceil(len / s);
    return [out, Math.floor(Math.max(0, (out - 1) * s + extent - len) / 2)];
  };
  const [oh, pt] = size(h, kh, sh, dh);
  const [ow, pl] = size(w, kw, sw, dw);
  const K = kh * kw * cin;
  const cols = new Float32Array(n * oh * ow * K);
  let at = 0;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let ky = 0; ky < kh; ky++) {
          for (let kx = 0; kx < kw; kx++) {
            for (let c = 0; c < cin; c++) {
              const iy = oy * sh + ky * dh - pt;
              const ix = ox * sw + kx * dw - pl;
              const inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
              cols[at++] = inside ? x.data[((b * h + iy) * w + ix) * cin + c] : 0;
            }
          }
        }
      }
    }
  }
  return reference(matmul, [tensor([n * oh * ow, K], cols), tensor([K, cout], k.data)], {})[0];
}

describe('conv2d reference against im2col + matmul', () => {
  CASES.slice(0, 11).forEach((c, i) => {
    it(label(c), () => {
      const { x, k } = operands(c, 50 + i);
      // Both in float64 on the same float32 values, summed in different orders: 1e-12 is ~10⁴ ulps of the largest sums (|y| < 300).
      expectClose(reference(conv2d, [x, k], c.attrs)[0], im2colConv(x, k, c.attrs), { atol: 1e-12, rtol: 1e-12, why: 'float64 sums in two orders' }, label(c));
    });
  });
});

/**
 * TensorFlow.js (a devDependency, CPU backend) as an outside check of
 * TensorFlow's semantics: output sizes, the 'same' split, dilation, and
 * tf.conv2d's gradients. It computes in float32, so the bounds are
 * sumTolerance's. tf.conv2d refuses strides and dilations both above 1, and
 * its gradients refuse dilation (finite differences cover those below).
 */
describe('conv2d reference against TensorFlow.js', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  const tfCases = CASES.slice(0, 11).filter(({ attrs: { strides = [1, 1], dilation = [1, 1] } }) => Math.max(...strides) === 1 || Math.max(...dilation) === 1);
  tfCases.forEach((c, i) => {
    it(label(c), () => {
      const { x, k, dy, yShape } = operands(c, 300 + i);
      const [kh, kw, cin, cout] = c.k;
      const { strides = [1, 1], padding = 'valid', dilation = [1, 1] } = c.attrs;
      const conv = (xt: tf.Tensor4D, kt: tf.Tensor4D) => tf.conv2d(xt, kt, strides as [number, number], padding, 'NHWC', dilation as [number, number]);
      const xt = tf.tensor4d(x.data as Float32Array, c.x);
      const kt = tf.tensor4d(k.data as Float32Array, c.k);
      const y = conv(xt, kt);
      expect(y.shape).toEqual(yShape);
      const fwd = reference(conv2d, [x, k], c.attrs)[0];
      expectClose(y.dataSync(), fwd, sumTolerance(conv2d, [x, k], c.attrs, kh * kw * cin), `tf.conv2d ${label(c)}`);
      tf.dispose(y);
      if (Math.max(...dilation) > 1) return void tf.dispose([xt, kt]);
      // The gradients of Σ y ⊙ dy: tf.grads seeds y's gradient with dy.
      const dyt = tf.tensor4d(dy.data as Float32Array, yShape as Dims4);
      const [dx, dk] = tf.grads((a: tf.Tensor, b: tf.Tensor) => conv(a as tf.Tensor4D, b as tf.Tensor4D))([xt, kt], dyt);
      const inAttrs = { ...c.attrs, inputShape: c.x };
      expectClose(dx.dataSync(), reference(conv2dBackwardInput, [dy, k], inAttrs)[0], sumTolerance(conv2dBackwardInput, [dy, k], inAttrs, kh * kw * cout), `tf dx ${label(c)}`);
      const kAttrs = { ...c.attrs, filterShape: c.k };
      const K = yShape[0] * yShape[1] * yShape[2];
      expectClose(dk.dataSync(), reference(conv2dBackwardFilter, [x, dy], kAttrs)[0], sumTolerance(conv2dBackwardFilter, [x, dy], kAttrs, K), `tf dk ${label(c)}`);
      tf.dispose([xt, kt, dyt, dx, dk]);
    });
  });
});

describe('conv2d gradients (CPU reference vs finite differences)', () => {
  // L = Σ conv2d(x, k) ⊙ G for a fixed G: dL/dx = conv2dBackwardInput(G, k), dL/dk = conv2dBackwardFilter(x, G).
  const FD_CASES: Case[] = [
    { x: [1, 1, 1, 1], k: [1, 1, 1, 1], attrs: {} },
    { x: [2, 5, 4, 3], k: [3, 2, 3, 2], attrs: {} },
    { x: [1, 7, 5, 2], k: [3, 3, 2, 3], attrs: { strides: [2, 2], padding: 'same' } },
    { x: [1, 6, 7, 1], k: [2, 4, 1, 2], attrs: { strides: [2, 2], padding: 'same' } },
    { x: [2, 7, 6, 2], k: [2, 3, 2, 3], attrs: { dilation: [2, 2] } },
    { x: [1, 6, 7, 3], k: [3, 2, 3, 2], attrs: { strides: [2, 1], dilation: [2, 2], padding: 'same' } },
    { x: [1, 8, 7, 1], k: [2, 2, 1, 2], attrs: { strides: [3, 2] } },
    { x: [1, 3, 4, 2], k: [3, 4, 2, 5], attrs: { padding: 'same' } },
  ];
  FD_CASES.forEach((c, i) => {
    it(label(c), () => {
      const { x, k, dy: G } = operands(c, 200 + i);
      const loss = (X: Float64Array, Kd: Float64Array) => {
        const [y] = reference(conv2d, [{ info: x.info, data: X as never }, { info: k.info, data: Kd as never }], c.attrs);
        return y.reduce((s, v, j) => s + v * G.data[j], 0);
      };
      const X = Float64Array.from(x.data);
      const Kd = Float64Array.from(k.data);
      const [dx] = reference(conv2dBackwardInput, [G, k], { ...c.attrs, inputShape: c.x });
      const [dk] = reference(conv2dBackwardFilter, [x, G], { ...c.attrs, filterShape: c.k });
      expectClose(dx, numericGradient((v) => loss(v, Kd), X), FD_TOL, 'dx');
      expectClose(dk, numericGradient((v) => loss(X, v), Kd), FD_TOL, 'dk');
    });
  });
});

describe.each(backends)('conv2d through autodiff on %s', (_name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  // L = Σ conv2d(tanh(conv2d(x, k1, stride 2 'same')), k2, dilation 2): the tanh between makes d(first conv) non-uniform.
  const A1: Conv2dAttrs = { strides: [2, 2], padding: 'same' };
  const A2: Conv2dAttrs = { dilation: [2, 2] };
  const shapes = { x: [2, 7, 6, 3], k1: [3, 3, 3, 4], k2: [2, 2, 4, 5] };

  function lossF64(d: Record<string, Float64Array>): number {
    const t = (shape: number[], v: Float64Array) => ({ info: { shape, dtype: 'f32' as const }, data: v as never });
    const [h] = reference(conv2d, [t(shapes.x, d.x), t(shapes.k1, d.k1)], A1);
    const th = h.map(Math.tanh);
    const [y] = reference(conv2d, [t([2, 4, 3, 4], th), t(shapes.k2, d.k2)], A2);
    return y.reduce((s, v) => s + v, 0);
  }

  it('gradients() of Σ conv2d(tanh(conv2d(x, k1)), k2) match finite differences', async () => {
    const g = new Graph();
    const x = g.param('x', shapes.x);
    const k1 = g.param('k1', shapes.k1);
    const k2 = g.param('k2', shapes.k2);
    const h = g.op(activation, [g.op(conv2d, [x, k1], A1, 'h')], { kind: 'tanh' });
    const L = g.op(reduceSum, [g.op(conv2d, [h, k2], A2, 'y')], {}, 'L');
    const grads = gradients(g, L, [x, k1, k2]);
    const r = rng(11);
    const host = new Map<Value, Float32Array>([x, k1, k2].map((v) => [v, randn(r, [...v.shape], -0.5, 0.5).data as Float32Array]));
    const { compiled, bound } = await runOnce(be, g, host, [...grads.values(), L]);
    const f64 = Object.fromEntries([...host].map(([v, d]) => [v.name, Float64Array.from(d)]));
    expect((await be.read(compiled.tensor(L)))[0]).toBeCloseTo(lossF64(f64), 4);
    for (const w of [x, k1, k2]) {
      const got = await be.read(compiled.tensor(grads.get(w)!));
      const want = numericGradient((v) => lossF64({ ...f64, [w.name]: v }), f64[w.name]);
      // float32 sums of at most 40 products of terms below 1 in magnitude, through two convs: γ_40·40 ≈ 1e-4 at worst.
      expectClose(got, want, { atol: 1e-4, rtol: 1e-4, why: 'float32 chain of short conv sums vs float64 finite differences' }, `d${w.name}`);
    }
    compiled.dispose();
    for (const t of bound.values()) be.free(t);
  });
});

describe('conv2d refuses bad shapes and options, naming the problem', () => {
  const f = (shape: number[]) => ({ shape, dtype: 'f32' as const });
  const fwd = (x: number[], k: number[], attrs: object = {}) => () => conv2d.outputs([f(x), f(k)], attrs as Conv2dAttrs);
  it('channels, ranks and sizes', () => {
    expect(fwd([1, 5, 5, 3], [3, 3, 4, 8])).toThrow(/conv2d: the kernel \[3, 3, 4, 8\] \[kh, kw, cin, cout\] takes 4 input channels, but x \[1, 5, 5, 3\] \[n, h, w, cin\] has 3/);
    expect(fwd([5, 5, 3], [3, 3, 3, 8])).toThrow(/conv2d: x must have rank 4, got f32\[5, 5, 3\]/);
    expect(fwd([1, 5, 5, 3], [3, 3, 3])).toThrow(/conv2d: kernel must have rank 4/);
    expect(fwd([1, 4, 4, 1], [3, 3, 1, 1], { dilation: [2, 2] })).toThrow(/padding 'valid' the 3×3 kernel at dilation \[2, 2\] spans 5×5, more than the 4×4 input: use padding 'same'/);
    expect(fwd([1, 4, 4, 1], [3, 3, 1, 1], { dilation: [2, 2], padding: 'same' })).not.toThrow();
  });
  it('strides, dilation, padding and unknown options', () => {
    expect(fwd([1, 5, 5, 1], [1, 1, 1, 1], { strides: [0, 1] })).toThrow(/conv2d: strides must be two positive integers \[rows, columns\], got \[0,1\]/);
    expect(fwd([1, 5, 5, 1], [1, 1, 1, 1], { strides: [2] })).toThrow(/strides must be two positive integers/);
    expect(fwd([1, 5, 5, 1], [1, 1, 1, 1], { strides: [1.5, 1] })).toThrow(/strides must be two positive integers/);
    expect(fwd([1, 5, 5, 1], [1, 1, 1, 1], { dilation: [1, -1] })).toThrow(/conv2d: dilation must be two positive integers/);
    expect(fwd([1, 5, 5, 1], [1, 1, 1, 1], { padding: 'full' })).toThrow(/conv2d: padding must be 'valid' or 'same', got "full"/);
    expect(fwd([1, 5, 5, 1], [1, 1, 1, 1], { stride: [2, 2] })).toThrow(/conv2d: unknown option 'stride' \(use 'strides', 'padding', 'dilation'\)/);
  });
  it('backward: dy that is not the forward output, and missing shapes', () => {
    const attrs = { strides: [2, 2] as [number, number], padding: 'same' as const };
    expect(() => conv2dBackwardInput.outputs([f([1, 3, 3, 4]), f([3, 3, 2, 4])], { ...attrs, inputShape: [1, 7, 7, 2] })).toThrow(
      /conv2dBackwardInput: dy must be f32\[1, 4, 4, 4\], conv2d's output for these shapes and options, got f32\[1, 3, 3, 4\]/,
    );
    expect(conv2dBackwardInput.outputs([f([1, 4, 4, 4]), f([3, 3, 2, 4])], { ...attrs, inputShape: [1, 7, 7, 2] })[0].shape).toEqual([1, 7, 7, 2]);
    expect(() => conv2dBackwardInput.outputs([f([1, 4, 4, 4]), f([3, 3, 2, 4])], attrs as never)).toThrow(/conv2dBackwardInput: inputShape must be four positive integers \[n, h, w, cin\], got undefined/);
    expect(() => conv2dBackwardFilter.outputs([f([1, 7, 7, 2]), f([1, 4, 4, 5])], { ...attrs, filterShape: [3, 3, 2, 4] })).toThrow(/conv2dBackwardFilter: dy must be f32\[1, 4, 4, 4\]/);
    expect(() => conv2dBackwardFilter.outputs([f([1, 7, 7, 2]), f([1, 4, 4, 4])], { ...attrs, filterShape: [3, 3, 4] })).toThrow(/filterShape must be four positive integers \[kh, kw, cin, cout\], got \[3,3,4\]/);
    expect(conv2dBackwardFilter.outputs([f([1, 7, 7, 2]), f([1, 4, 4, 4])], { ...attrs, filterShape: [3, 3, 2, 4] })[0].shape).toEqual([3, 3, 2, 4]);
  });
});
