import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, DeviceTensor } from '../../src/backend/backend.js';
import { gradients } from '../../src/graph/autodiff.js';
import { compileGraph } from '../../src/graph/executor.js';
import type { Value } from '../../src/graph/graph.js';
import { Graph } from '../../src/graph/graph.js';
import { convRows } from '../../src/nn/conv-layers.js';
import { activation } from '../../src/ops/activation.js';
import type { Conv2dAttrs } from '../../src/ops/conv.js';
import { conv2d, conv2dBackwardFilter, conv2dBackwardInput } from '../../src/ops/conv.js';
import { col2im, im2col } from '../../src/ops/conv.js';
import { matmul } from '../../src/ops/matmul.js';
import { reduceSum } from '../../src/ops/reduce.js';
import { reshape } from '../../src/ops/reshape.js';
import { backends } from '../helpers/backends.js';
import type { ConvCase } from '../helpers/conv-cases.js';
import { CONV_CASES, label } from '../helpers/conv-cases.js';
import type { HostTensor, Tolerance } from '../helpers/check.js';
import { expectClose, numericGradient, randn, reference, rng, runOn, tensor } from '../helpers/check.js';

/*
 * The lowering of conv2d to a matrix product: im2col (a gather of copies)
 * and col2im (its adjoint, a sum of at most kh·kw terms per element), each
 * against its float64 reference on both backends; the identities that make
 * the lowering exact, on the references; and a convolution recorded through
 * the lowering (the layer's path) against the direct kernels and finite
 * differences.
 */
type Case = ConvCase;
// conv2d's awkward shapes (test/helpers/conv-cases.ts), W4's second convolution at batch 64, and the issue's
// large case: [64, 28, 28, 32] to 64 filters (a cols matrix of 43,264 × 288, 50 MB).
const CASES: Case[] = [...CONV_CASES, { x: [64, 13, 13, 32], k: [3, 3, 32, 64], attrs: {} }, { x: [64, 28, 28, 32], k: [3, 3, 32, 64], attrs: { padding: 'same' } }];
const SMALL = CASES.slice(0, 11);

const colAttrs = (c: Case) => ({ ...c.attrs, kernelSize: [c.k[0], c.k[1]] as [number, number] });
const exact: Tolerance = { atol: 0, rtol: 0, why: 'im2col copies values and writes zeros: nothing is rounded' };

function operands(c: Case, seed: number) {
  const r = rng(seed);
  const x = randn(r, c.x);
  const k = randn(r, c.k);
  const cols = [...im2col.outputs([x.info], colAttrs(c))[0].shape];
  const yShape = [...conv2d.outputs([x.info, k.info], c.attrs)[0].shape];
  return { x, k, dcols: randn(r, cols), dy: randn(r, yShape), cols, yShape };
}

const view = (t: HostTensor | { info: { shape: number[] }; data: ArrayLike<number> }, shape: number[]): HostTensor => tensor(shape, t.data);

describe.each(backends)('im2col and col2im on %s', (_name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  CASES.forEach((c, i) => {
    it(`im2col ${label(c)}`, async () => {
      const { x } = operands(c, i);
      const [got] = await runOn(be, im2col, [x], colAttrs(c));
      expectClose(got, reference(im2col, [x], colAttrs(c))[0], exact, `im2col ${label(c)}`);
    });

    it(`col2im ${label(c)}`, async () => {
      const { dcols } = operands(c, i);
      const attrs = { ...colAttrs(c), inputShape: c.x };
      const [got] = await runOn(be, col2im, [dcols], attrs);
      // Each element sums at most kh·kw entries (one per tap): within γ_K·Σ|terms| (Higham 3.4), Σ|terms| being col2im of |dcols|.
      const K = c.k[0] * c.k[1];
      const u = 2 ** -24;
      const [bound] = reference(col2im, [{ ...dcols, data: dcols.data.map(Math.abs) as Float32Array }], attrs);
      const tol: Tolerance = { atol: bound.map((v) => ((K * u) / (1 - K * u)) * v), rtol: 0, why: `γ_${K}·Σ|terms|: a float32 sum of at most ${K} terms` };
      expectClose(got, reference(col2im, [dcols], attrs)[0], tol, `col2im ${label(c)}`);
    });
  });
});

describe('the lowering is exact on the references (float64)', () => {
  // Float64 sums of the same products in another order: 1e-12 is far above their rounding (|sums| < 1e3) and far below any wrong term.
  const f64: Tolerance = { atol: 1e-12, rtol: 1e-12, why: 'float64 sums of the same products in two orders' };
  SMALL.forEach((c, i) => {
    it(label(c), () => {
      const { x, k, dy, cols: colsShape, yShape } = operands(c, 40 + i);
      const [kh, kw, cin, cout] = c.k;
      const [cols] = reference(im2col, [x], colAttrs(c));
      const C = tensor(colsShape, cols);
      const k2 = view(k, [kh * kw * cin, cout]);
      const dy2 = view(dy, [yShape[0] * yShape[1] * yShape[2], cout]);
      // y = cols·k₂
      expectClose(reference(matmul, [C, k2], {})[0], reference(conv2d, [x, k], c.attrs)[0], f64, 'forward');
      // dk₂ = colsᵀ·dy₂
      expectClose(reference(matmul, [C, dy2], { transA: true })[0], reference(conv2dBackwardFilter, [x, dy], { ...c.attrs, filterShape: c.k })[0], f64, 'dk');
      // dx = col2im(dy₂·k₂ᵀ)
      const [dcols] = reference(matmul, [dy2, k2], { transB: true });
      // Kept in float64 (tensor() would round it to float32).
      const dcols64: HostTensor = { info: { shape: colsShape, dtype: 'f32' }, data: dcols as never };
      const [dx] = reference(col2im, [dcols64], { ...colAttrs(c), inputShape: c.x });
      expectClose(dx, reference(conv2dBackwardInput, [dy, k], { ...c.attrs, inputShape: c.x })[0], f64, 'dx');
    });
  });

  it('col2im is im2col\'s adjoint: ⟨im2col(x), C⟩ = ⟨x, col2im(C)⟩', () => {
    for (const [i, c] of SMALL.entries()) {
      const { x, dcols } = operands(c, 70 + i);
      const [cols] = reference(im2col, [x], colAttrs(c));
      const [back] = reference(col2im, [dcols], { ...colAttrs(c), inputShape: c.x });
      const lhs = cols.reduce((s, v, j) => s + v * dcols.data[j], 0);
      const rhs = back.reduce((s, v, j) => s + v * x.data[j], 0);
      expect(Math.abs(lhs - rhs), label(c)).toBeLessThan(1e-12 * (1 + Math.abs(lhs)));
    }
  });

  it('im2col by hand: padding reads zero, columns run (ky, kx, ci)', () => {
    // x 1×2×2×1 = [[1, 2], [3, 4]], 2×2 kernel, 'same': padding only at the bottom and right.
    const [cols] = reference(im2col, [tensor([1, 2, 2, 1], [1, 2, 3, 4])], { kernelSize: [2, 2], padding: 'same' });
    expect(Array.from(cols)).toEqual([1, 2, 3, 4, 2, 0, 4, 0, 3, 4, 0, 0, 4, 0, 0, 0]);
  });

  it('refuses what does not fit, naming it', () => {
    const f = (shape: number[]) => ({ shape, dtype: 'f32' as const });
    expect(() => im2col.outputs([f([1, 4, 4, 1])], { kernelSize: [5, 5] })).toThrow(/im2col: with padding 'valid' the 5×5 kernel/);
    expect(() => im2col.outputs([f([1, 4, 4, 1])], { kernelSize: [0, 2] })).toThrow(/im2col: kernelSize must be two positive integers/);
    expect(() => im2col.outputs([f([1, 4, 4, 1])], { kernelSize: [2, 2], stride: 2 } as never)).toThrow(/im2col: unknown option 'stride'/);
    expect(() => col2im.outputs([f([8, 4])], { kernelSize: [2, 2], inputShape: [1, 4, 4, 1] })).toThrow(/col2im: dcols must be f32\[9, 4\], im2col's output for x \[1, 4, 4, 1\]/);
    expect(() => col2im.outputs([f([9, 4])], { kernelSize: [2, 2] } as never)).toThrow(/col2im: inputShape must be four positive integers/);
  });
});

describe.each(backends)('conv2d lowered to im2col + matmul, through autodiff, on %s', (_name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  // L = Σ convRows(tanh(convRows(x, k1)), k2) ⊙ G: the layer's path (im2col, 1×1 and direct), values and all three gradients.
  const A1: Conv2dAttrs = { strides: [2, 2], padding: 'same' };
  const A2: Conv2dAttrs = { dilation: [2, 1] };
  const shapes = { x: [2, 7, 6, 3], k1: [3, 3, 3, 4], k2: [2, 2, 4, 5], k3: [1, 1, 5, 2] };

  function build(maxColsBytes: number) {
    const g = new Graph();
    const x = g.param('x', shapes.x);
    const k1 = g.param('k1', shapes.k1);
    const k2 = g.param('k2', shapes.k2);
    const k3 = g.param('k3', shapes.k3);
    const rows1 = convRows(g, x, k1, A1, 'c1', maxColsBytes);
    const h = g.op(activation, [rows1], { kind: 'tanh' });
    const img = g.op(reshape, [h], { shape: [2, 4, 3, 4] });
    const rows2 = convRows(g, img, k2, A2, 'c2', maxColsBytes);
    const h2 = g.op(reshape, [rows2], { shape: [2, 2, 2, 5] });
    const rows3 = convRows(g, h2, k3, {}, 'c3', maxColsBytes);
    const L = g.op(reduceSum, [g.op(activation, [rows3], { kind: 'tanh' })], {}, 'L');
    return { g, params: [x, k1, k2, k3], L };
  }

  function lossF64(d: Record<string, Float64Array>): number {
    const t = (shape: number[], v: Float64Array) => ({ info: { shape, dtype: 'f32' as const }, data: v as never });
    const [a] = reference(conv2d, [t(shapes.x, d.x), t(shapes.k1, d.k1)], A1);
    const [b] = reference(conv2d, [t([2, 4, 3, 4], a.map(Math.tanh)), t(shapes.k2, d.k2)], A2);
    const [c] = reference(conv2d, [t([2, 2, 2, 5], b), t(shapes.k3, d.k3)], {});
    return c.reduce((s, v) => s + Math.tanh(v), 0);
  }

  async function run(maxColsBytes: number, host: Map<string, Float32Array>) {
    const { g, params, L } = build(maxColsBytes);
    const grads = gradients(g, L, params);
    const bound = new Map<Value, DeviceTensor>();
    for (const v of params) {
      const t = be.allocate(v.shape);
      be.write(t, host.get(v.name)!);
      bound.set(v, t);
    }
    const compiled = await compileGraph(be, g, bound, [...grads.values(), L]);
    compiled.program.run();
    const out = { L: (await be.read(compiled.tensor(L)))[0], grads: {} as Record<string, Float32Array>, kernels: g.nodes.map((n) => n.kernel.name) };
    for (const v of params) out.grads[v.name] = (await be.read(compiled.tensor(grads.get(v)!))) as Float32Array;
    compiled.dispose();
    for (const t of bound.values()) be.free(t);
    return out;
  }

  it('equals the direct kernels and finite differences', async () => {
    const r = rng(5);
    const host = new Map(Object.entries(shapes).map(([name, s]) => [name, randn(r, s, -0.5, 0.5).data as Float32Array]));
    const lowered = await run(Infinity, host);
    const direct = await run(0, host);
    // The lowered graph runs im2col/col2im and no conv kernel; 1×1 at stride 1 needs neither; the direct one no im2col.
    expect(lowered.kernels).toContain('im2col');
    expect(lowered.kernels).toContain('col2im');
    expect(lowered.kernels.filter((k) => k.startsWith('conv2d'))).toEqual([]);
    expect(lowered.kernels.filter((k) => k === 'im2col')).toHaveLength(2);
    expect(direct.kernels).not.toContain('im2col');
    expect(direct.kernels).toContain('conv2dBackwardFilter');
    const f64 = Object.fromEntries([...host].map(([n, d]) => [n, Float64Array.from(d)]));
    expect(lowered.L).toBeCloseTo(lossF64(f64), 4);
    expect(direct.L).toBeCloseTo(lowered.L, 5);
    for (const name of Object.keys(shapes)) {
      const want = numericGradient((v) => lossF64({ ...f64, [name]: v }), f64[name]);
      // float32 sums of at most 36 products of terms below 1, through three convs and two tanh: γ_36·36 ≈ 1e-4 at worst.
      const tol: Tolerance = { atol: 1e-4, rtol: 1e-4, why: 'float32 chain of short conv sums vs float64 finite differences' };
      expectClose(lowered.grads[name], want, tol, `lowered d${name}`);
      expectClose(direct.grads[name], lowered.grads[name], tol, `direct vs lowered d${name}`);
    }
  });
});
