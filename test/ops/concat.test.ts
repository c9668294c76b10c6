import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { gradients } from '../../src/graph/autodiff.js';
import type { Value } from '../../src/graph/graph.js';
import { Graph } from '../../src/graph/graph.js';
import { concatLast, splitLast } from '../../src/ops/concat.js';
import { add, multiply } from '../../src/ops/elementwise.js';
import { maskSteps } from '../../src/ops/mask.js';
import { reduceSum } from '../../src/ops/reduce.js';
import { reverse } from '../../src/ops/reverse.js';
import { backends, largeCase } from '../helpers/backends.js';
import type { HostTensor } from '../helpers/check.js';
import { runOnce } from '../helpers/graph-run.js';
import { expectClose, FD_TOL, numericGradient, randn, reference, rng, runOn } from '../helpers/check.js';

/*
 * The merge ops of a Bidirectional layer (and of #27's merge layers):
 * concatLast / splitLast along the last axis, reverse of one axis, multiply,
 * and maskSteps (zeros at padded steps). The copies and the products by 0 or
 * 1 must give the reference exactly on every backend.
 */

/** The first element where a copy differs, or -1 (a loop: toEqual on millions of elements is slow). */
const firstDifference = (got: ArrayLike<number>, want: ArrayLike<number>) => {
  for (let i = 0; i < want.length; i++) if (got[i] !== Math.fround(want[i])) return i;
  return -1;
};

describe('merge ops (CPU reference)', () => {
  it('concatLast puts x first in every row; splitLast undoes it; reverse flips one axis', () => {
    const x: HostTensor = { info: { shape: [2, 2], dtype: 'f32' }, data: Float32Array.of(1, 2, 3, 4) };
    const y: HostTensor = { info: { shape: [2, 1], dtype: 'f32' }, data: Float32Array.of(9, 8) };
    const [c] = reference(concatLast, [x, y], {});
    expect(Array.from(c)).toEqual([1, 2, 9, 3, 4, 8]);
    const [a, b] = reference(splitLast, [{ info: { shape: [2, 3], dtype: 'f32' }, data: Float32Array.from(c) }], { sizes: [2, 1] });
    expect([Array.from(a), Array.from(b)]).toEqual([[1, 2, 3, 4], [9, 8]]);
    const s: HostTensor = { info: { shape: [2, 3, 2], dtype: 'f32' }, data: Float32Array.from({ length: 12 }, (_, i) => i) };
    expect(Array.from(reference(reverse, [s], { axis: 1 })[0])).toEqual([4, 5, 2, 3, 0, 1, 10, 11, 8, 9, 6, 7]);
    expect(Array.from(reference(reverse, [s], { axis: -1 })[0])).toEqual([1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10]);
  });

  it('refuses shapes and attributes by name', () => {
    const t = (shape: number[]) => ({ shape, dtype: 'f32' as const });
    expect(() => concatLast.outputs([t([2, 3]), t([3, 3])], {})).toThrow(/concatLast: x f32\[2, 3\] and y f32\[3, 3\] must agree on every axis but the last/);
    expect(() => splitLast.outputs([t([2, 5])], { sizes: [2, 2] })).toThrow(/sizes 2 \+ 2 must add up to d's last axis, 5/);
    expect(() => splitLast.outputs([t([2, 5])], { sizes: [5, 0] })).toThrow(/sizes must be two whole numbers ≥ 1/);
    expect(() => reverse.outputs([t([2, 5])], { axis: 2 })).toThrow(/reverse: axis must be a whole number in \[-2, 2\) for a tensor of rank 2, got 2/);
    expect(() => multiply.outputs([t([2, 5]), t([5, 2])], {})).toThrow(/multiply: x f32\[2, 5\] and y f32\[5, 2\] must have the same shape/);
  });
});

/**
 * L = Σ w ⊙ maskSteps(concatLast(reverse(x, 1), a ⊙ b), m) + Σ v ⊙ splitLast(z)[1]: every
 * rule in one loss, x used twice (a = x), splitLast's first part unused (its
 * gradient zeros). Returns the loss in float64 from the CPU references too.
 */
function mergeGraph([B, T, F]: number[], Z: number) {
  const g = new Graph();
  const x = g.param('x', [B, T, F]);
  const b = g.param('b', [B, T, F]);
  const z = g.param('z', [B, T, Z + 3]);
  const w = g.input('w', [B, T, 2 * F]);
  const v = g.input('v', [B, T, 3]);
  const m = g.input('m', [B, T]);
  const merged = g.op(maskSteps, [g.op(concatLast, [g.op(reverse, [x], { axis: 1 }), g.op(multiply, [x, b], {})], {}), m], {});
  const [, tail] = g.apply(splitLast, [z], { sizes: [Z, 3] });
  const L = g.op(add, [g.op(reduceSum, [g.op(multiply, [merged, w], {})], {}), g.op(reduceSum, [g.op(multiply, [tail, v], {})], {})], {});
  const lossF64 = (d: Record<string, Float64Array>) => {
    const h = (shape: number[], data: Float64Array): HostTensor => ({ info: { shape, dtype: 'f32' }, data: data as never });
    const [rx] = reference(reverse, [h([B, T, F], d.x)], { axis: 1 });
    const [xb] = reference(multiply, [h([B, T, F], d.x), h([B, T, F], d.b)], {});
    const [c] = reference(concatLast, [h([B, T, F], rx), h([B, T, F], xb)], {});
    const [m] = reference(maskSteps, [h([B, T, 2 * F], c), h([B, T], d.m)], {});
    const [, t] = reference(splitLast, [h([B, T, Z + 3], d.z)], { sizes: [Z, 3] });
    return m.reduce((s, e, i) => s + e * d.w[i], 0) + t.reduce((s, e, i) => s + e * d.v[i], 0);
  };
  return { g, params: [x, b, z], inputs: [w, v], mask: m, L, lossF64 };
}

describe.each(backends)('merge ops on %s', (name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  // Rank 1 (one row), one step, a prime row count with unequal parts, and a large one (> 65,535 workgroups of 256 on WebGPU: 2-D dispatch).
  it.each([
    [[1], [1]],
    [[1, 1, 3], [1, 1, 1]],
    [[67, 5, 13], [67, 5, 7]],
    largeCase(name, [[131_075, 100], [131_075, 29]], [[8195, 100], [8195, 29]]),
  ])('concatLast %j ‖ %j and splitLast back, exactly', async (xs, ys) => {
    const r = rng(xs[0]);
    const x = randn(r, xs);
    const y = randn(r, ys);
    const [c] = await runOn(be, concatLast, [x, y], {});
    const want = reference(concatLast, [x, y], {})[0];
    expect(firstDifference(c, want)).toBe(-1);
    const cat: HostTensor = { info: { shape: [...xs.slice(0, -1), xs[xs.length - 1] + ys[ys.length - 1]], dtype: 'f32' }, data: Float32Array.from(c) };
    const [a, b] = await runOn(be, splitLast, [cat], { sizes: [xs[xs.length - 1], ys[ys.length - 1]] });
    expect([firstDifference(a, x.data), firstDifference(b, y.data)]).toEqual([-1, -1]);
  });

  it.each([
    [[1], 0],
    [[1, 1, 4], 1],
    [[67, 5, 13], 1],
    [[3, 28, 1], 1],
    [[67, 5, 13], -1],
    largeCase<[number[], number]>(name, [[2, 65_536, 129], 1], [[2, 4096, 129], 1]),
  ])('reverse %j along axis %i, exactly', async (shape, axis) => {
    const x = randn(rng(shape.length), shape);
    const [out] = await runOn(be, reverse, [x], { axis });
    expect(firstDifference(out, reference(reverse, [x], { axis })[0])).toBe(-1);
  });

  // multiply's shader and 2-D dispatch are add's (elementwise.test.ts runs those past 65,535 workgroups).
  it.each([
    [[1, 1]],
    [[67, 5, 13]],
    [[3, 4, 2, 5]],
  ])('maskSteps %j: every step times its 0 or 1, exactly', async (shape) => {
    const x = randn(rng(5), shape);
    const m = randn(rng(6), shape.slice(0, 2));
    m.data.forEach((v, i) => (m.data[i] = v > 0 ? 1 : 0));
    const [out] = await runOn(be, maskSteps, [x, m], {});
    expect(firstDifference(out, reference(maskSteps, [x, m], {})[0])).toBe(-1);
  });

  it.each([1, 7, 1031])('multiply n=%i, one rounding per element', async (n) => {
    const r = rng(n);
    const x = randn(r, [n]);
    const y = randn(r, [n]);
    const [out] = await runOn(be, multiply, [x, y], {});
    expectClose(out, reference(multiply, [x, y], {})[0], { atol: 0, rtol: 2 ** -24, why: 'one float32 product, rounded once (half an ulp)' }, 'multiply');
  });

  it.each([
    [[1, 1, 1], 1],
    [[3, 4, 5], 2],
  ])('gradients of reverse, concatLast, splitLast and multiply on %j match finite differences', async (dims, Z) => {
    const { g, params, inputs, mask, L, lossF64 } = mergeGraph(dims, Z);
    const grads = gradients(g, L, params);
    const r = rng(11);
    const host = new Map<Value, Float32Array>([...params, ...inputs].map((v) => [v, randn(r, [...v.shape]).data as Float32Array]));
    // A padded step in every sample but the first's (one step: all real).
    host.set(mask, Float32Array.from({ length: dims[0] * dims[1] }, (_, i) => (i % dims[1] === dims[1] - 1 && i >= dims[1] ? 0 : 1)));
    const { compiled, bound } = await runOnce(be, g, host, [...grads.values(), L]);
    const f64 = Object.fromEntries([...host].map(([v, d]) => [v.name, Float64Array.from(d)]));
    for (const p of params) {
      const got = await be.read(compiled.tensor(grads.get(p)!));
      const want = numericGradient((d) => lossF64({ ...f64, [p.name]: d }), f64[p.name]);
      // Each gradient element is one copy or one float32 product of inputs in ±1: far inside the differences' own error.
      expectClose(got, want, FD_TOL, `d${p.name}`);
    }
    compiled.dispose();
    for (const t of bound.values()) be.free(t);
  });
});
