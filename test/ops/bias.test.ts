import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { biasAdd, biasGrad, biasGradTile } from '../../src/ops/bias.js';
import { backends, gpuOnly } from '../helpers/backends.js';
import { expectClose, FD_TOL, numericGradient, randn, reference, rng, runOn, tensor } from '../helpers/check.js';
import type { HostTensor, Tolerance } from '../helpers/check.js';

const U = 2 ** -24; // float32 unit roundoff
const gamma = (h: number) => (h * U) / (1 - h * U);

/**
 * Column j is summed by `rows` lanes, each adding ⌈B/rows⌉ elements in order,
 * then the lane sums pairwise (log2 rows levels): every element goes through
 * at most h = ⌈B/rows⌉ − 1 + log2(rows) roundings, so |error| ≤ γ_h·Σ_b|dy[b, j]|
 * (Higham, eq. 4.4). Per column, so a wrong index (an O(1) error) still fails.
 */
function biasGradTolerance(dy: HostTensor): Tolerance {
  const [B, N] = dy.info.shape;
  const { rows } = biasGradTile(N);
  const h = Math.ceil(B / rows) - 1 + Math.log2(rows);
  const abs = new Float64Array(N);
  for (let i = 0; i < dy.data.length; i++) abs[i % N] += Math.abs(dy.data[i]);
  return { atol: abs.map((a) => gamma(h) * a), rtol: 0, why: `γ_${h}·Σ_b|dy| bound of a summation tree of height ${h}` };
}

// One correctly rounded float32 addition per element.
const ADD_TOL: Tolerance = { atol: 0, rtol: U, why: 'one rounding of x + bias: |error| ≤ u·|x + bias|' };

describe.each(backends)('bias on %s', (name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  // 1s, primes, a batch of 60000, and on WebGPU more than 65535 workgroups of 256 (2-D dispatch; the CPU backend has no grid).
  it.each([[1, 1], [7, 13], [13, 7], [3, 257], [60000, 10], ...gpuOnly(name, [65536, 257])])('biasAdd x [%i, %i]', async (B, N) => {
    const r = rng(B * 7 + N);
    const x = randn(r, [B, N]);
    const bias = randn(r, [N], -3, 3);
    const [got] = await runOn(be, biasAdd, [x, bias], {});
    expectClose(got, reference(biasAdd, [x, bias], {})[0], ADD_TOL, `biasAdd [${B}, ${N}]`);
  });

  // Rank 4 (a Conv2D's [n, h, w, filters]) and 3: the bias acts on the last axis.
  it.each([[[2, 5, 3, 7]], [[64, 26, 26, 32]], [[3, 1, 1]], [[1, 1, 1, 1]]])('biasAdd and biasGrad on x %j', async (shape) => {
    const r = rng(shape.reduce((a, b) => a * b + 1, 3));
    const N = shape[shape.length - 1];
    const x = randn(r, shape);
    const bias = randn(r, [N], -3, 3);
    const [got] = await runOn(be, biasAdd, [x, bias], {});
    const want = Float64Array.from(x.data, (v, i) => v + bias.data[i % N]);
    expectClose(got, want, ADD_TOL, `biasAdd ${JSON.stringify(shape)}`);
    const [db] = await runOn(be, biasGrad, [x], {});
    const rows = tensor([x.data.length / N, N], x.data);
    expectClose(db, reference(biasGrad, [rows], {})[0], biasGradTolerance(rows), `biasGrad ${JSON.stringify(shape)}`);
  });

  // N from 1 to 4096 across every tile width (1, 4, 16, 32 columns), B up to 60000.
  const GRAD_SHAPES = [[1, 1], [7, 13], [13, 1], [13, 3], [60000, 1], [60000, 10], [257, 33], [60000, 257], [1000, 4096]];
  it.each(GRAD_SHAPES)('biasGrad dy [%i, %i]', async (B, N) => {
    const dy = randn(rng(B * 13 + N), [B, N]);
    const [got] = await runOn(be, biasGrad, [dy], {});
    expectClose(got, reference(biasGrad, [dy], {})[0], biasGradTolerance(dy), `biasGrad [${B}, ${N}]`);
  });

  // The last shape needs more than 65535 column tiles (2-D dispatch), on WebGPU only.
  // Nonzero integers: every partial sum is an integer below 2^24, so the column sums are exact and any skipped or doubled element shows.
  it.each([[1, 5], [60000, 1], [60000, 10], [2000, 4096], ...gpuOnly(name, [2, 65535 * 32 + 1])])('biasGrad sums integers exactly, dy [%i, %i]', async (B, N) => {
    const r = rng(B + N);
    const dy = tensor([B, N], Array.from({ length: B * N }, () => (1 + r.int(7)) * (r.next() < 0.5 ? -1 : 1)));
    const [got] = await runOn(be, biasGrad, [dy], {});
    const want = new Float64Array(N);
    for (let i = 0; i < dy.data.length; i++) want[i % N] += dy.data[i];
    expectClose(got, want, { atol: 0, rtol: 0, why: 'integer partial sums below 2^24 are exact in float32' }, `biasGrad [${B}, ${N}]`);
  });

  it('refuses wrong ranks, dtypes and a bias that does not match the last axis', () => {
    const x = be.allocate([4, 3]);
    expect(() => be.run(biasAdd, [x, be.allocate([4])], [be.allocate([4, 3])], {})).toThrow(
      /biasAdd: bias must be f32\[3\] to match the last axis of x f32\[4, 3\], got f32\[4\]/,
    );
    expect(() => be.run(biasAdd, [be.allocate([12]), be.allocate([3])], [be.allocate([12])], {})).toThrow(/biasAdd: x must have rank 2 or more, \[..., N\] \(bias on the last axis\), got f32\[12\]/);
    expect(() => be.run(biasAdd, [x, be.allocate([3], 'i32')], [be.allocate([4, 3])], {})).toThrow(/biasAdd: bias must be f32, got i32\[3\]/);
    expect(() => be.run(biasGrad, [be.allocate([4, 3], 'i32')], [be.allocate([3])], {})).toThrow(/biasGrad: dy must be f32, got i32\[4, 3\]/);
    expect(() => be.run(biasGrad, [x], [be.allocate([4])], {})).toThrow(/biasGrad: output 0 must be f32\[3\], got f32\[4\]/);
  });
});

describe('bias gradient (CPU reference vs finite differences)', () => {
  // L = Σ biasAdd(x, b) ⊙ G: dL/db = biasGrad(G) (and dL/dx = G).
  it.each([[1, 1], [3, 5], [7, 13]])('d/db of Σ (x + b) ⊙ G for x [%i, %i]', (B, N) => {
    const r = rng(3);
    const x = randn(r, [B, N]);
    const b = randn(r, [N]);
    const g = randn(r, [B, N]);
    const loss = (v: Float64Array) => {
      const [y] = reference(biasAdd, [x, { info: b.info, data: v as never }], {});
      return y.reduce((s, yi, i) => s + yi * g.data[i], 0);
    };
    const [db] = reference(biasGrad, [g], {});
    expectClose(db, numericGradient(loss, Float64Array.from(b.data)), FD_TOL, 'db');
  });
});
