import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { accumulate, add, fill, scale } from '../../src/ops/elementwise.js';
import { backends, largeCase } from '../helpers/backends.js';
import { expectClose, randn, reference, rng, runOn } from '../helpers/check.js';

// One float32 multiply-add: at most one rounding of each result, 2u relative; atol 0.
const TOL = { atol: 0, rtol: 2 ** -23, why: 'one rounded float32 operation per element' };

/**
 * u + αv rounds the product and the sum (or neither, with FMA, then once):
 * the error is at most 2u·(|u| + |αv|) per element. Relative to the result it
 * is unbounded when the two cancel, so the bound is per element.
 */
function axpyTol(u: ArrayLike<number>, v: ArrayLike<number>, alpha: number) {
  const atol = new Float64Array(u.length); // a plain loop: Float64Array.from with a map takes seconds at 16M
  for (let i = 0; i < u.length; i++) atol[i] = 2 ** -23 * (Math.abs(u[i]) + Math.abs(alpha * v[i]));
  return { atol, rtol: 0, why: 'two float32 roundings of u + αv, bounded by 2u(|u|+|αv|)' };
}

// 1, primes, a multiple of the workgroup, and a large size: > 65535 workgroups of 256 on WebGPU (2-D dispatch).
const SIZES = [1, 7, 257, 1024];

describe.each(backends)('elementwise on %s', (name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  it.each([...SIZES, largeCase(name, 65535 * 256 + 3, 1_048_579)])('fill / scale / add / accumulate, n=%i', async (n) => {
    const r = rng(n);
    const x = randn(r, [n]);
    const y = randn(r, [n]);
    const [f] = await runOn(be, fill, [], { shape: [n], value: -2.5 });
    expect(f.every((v) => v === -2.5)).toBe(true);
    const [s] = await runOn(be, scale, [x], { alpha: 0.3 });
    expectClose(s, reference(scale, [x], { alpha: 0.3 })[0], TOL, 'scale');
    const [z] = await runOn(be, add, [x, y], { alpha: -1.5 });
    expectClose(z, reference(add, [x, y], { alpha: -1.5 })[0], axpyTol(x.data, y.data, -1.5), 'add');
    const [acc] = await runOn(be, accumulate, [x], { alpha: 2 }, [y]);
    expectClose(acc, reference(accumulate, [x], { alpha: 2 }, [y])[0], axpyTol(y.data, x.data, 2), 'accumulate');
  });

  it('refuses mismatched shapes and non-finite scalars', () => {
    const a = be.allocate([3]);
    const b = be.allocate([4]);
    expect(() => be.run(add, [a, b], [be.allocate([3])], {})).toThrow(/add: x f32\[3\] and y f32\[4\] must have the same shape/);
    expect(() => be.run(scale, [a], [be.allocate([3])], { alpha: NaN })).toThrow(/alpha must be a finite number/);
    expect(() => be.allocate([0, 3])).toThrow(/empty tensor/);
    expect(() => be.write(a, [1, 2])).toThrow(/holds 3 values, got 2/);
  });
});
