import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import type { MatmulAttrs } from '../../src/ops/matmul.js';
import { chooseVariant, MATMUL_VARIANTS, matmul, matmulWorkgroupSize } from '../../src/ops/matmul.js';
import type { GpuContext } from '../../src/ops/kernel.js';
import { backends } from '../helpers/backends.js';
import { expectClose, FD_TOL, numericGradient, randn, reference, rng, runOn } from '../helpers/check.js';
import type { HostTensor, Tolerance } from '../helpers/check.js';

const U = 2 ** -24; // float32 unit roundoff

/**
 * Any float32 dot product of length K, summed in any order, with or without
 * FMA, is within γ_K·Σ|a_k||b_k| of the exact value, γ_K = K·u/(1−K·u)
 * (Higham, Accuracy and Stability, eq. 3.4), plus u·|c| for rounding c itself.
 * The bound is per element, so an indexing error (an O(1) difference) still fails.
 */
function matmulTolerance(a: HostTensor, b: HostTensor, attrs: MatmulAttrs, K: number): Tolerance {
  const abs = (t: HostTensor) => ({ ...t, data: t.data.map(Math.abs) as Float32Array });
  const [bound] = reference(matmul, [abs(a), abs(b)], attrs);
  const gamma = (K * U) / (1 - K * U);
  return { atol: bound.map((v) => gamma * v + 1e-30), rtol: 2 * U, why: 'γ_K·(|A||B|) dot-product error bound' };
}

// [M, K, N]: 1s, primes, non-multiples of every tile (8, 16, 64), exact tiles, and the large case.
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [1, 17, 1],
  [3, 1, 5],
  [7, 13, 17],
  [64, 64, 64],
  [65, 33, 129],
  [31, 97, 2],
  // Multiples of 4 off every tile, so that matmul_mat8/16 run their edges in all forms (and M odd, in the untransposed-A forms).
  [68, 36, 132],
  [65, 36, 132],
  [4, 4, 4],
  [20, 8, 12],
  // M and N multiples of 4 but K not (a batch of 7 in dW = Xᵀ·dY): the mat variants must decline it.
  [68, 7, 132],
  // Past the edge of a second 128×128 tile in M and N, K off the 8-step (matmul_tiled128's edges).
  [131, 19, 257],
  [512, 784, 256],
];

const FORMS: MatmulAttrs[] = [{}, { transA: true }, { transB: true }, { transA: true, transB: true }];

function operands(seed: number, [M, K, N]: [number, number, number], { transA, transB }: MatmulAttrs) {
  const r = rng(seed);
  return [randn(r, transA ? [K, M] : [M, K]), randn(r, transB ? [N, K] : [K, N])];
}

describe.each(backends)('matmul on %s', (name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());
  const variants: (MatmulAttrs['variant'] | undefined)[] = name === 'webgpu' ? [...MATMUL_VARIANTS] : [undefined];

  for (const variant of variants) {
    for (const form of FORMS) {
      const tag = `${form.transA ? 'Aᵀ' : 'A'}·${form.transB ? 'Bᵀ' : 'B'}${variant ? ` (${variant})` : ''}`;
      it.each(SHAPES)(`${tag} M=%i K=%i N=%i`, async (M, K, N) => {
        const attrs = { ...form, variant };
        const [a, b] = operands(M * 1000 + K + N, [M, K, N], form);
        const [got] = await runOn(be, matmul, [a, b], attrs);
        const [want] = reference(matmul, [a, b], attrs);
        expectClose(got, want, matmulTolerance(a, b, attrs, K), `${tag} ${M}x${K}x${N}`);
      });
    }
  }

  it('refuses mismatched inner dimensions, naming both shapes', () => {
    const a = be.allocate([3, 4]);
    const b = be.allocate([5, 2]);
    const c = be.allocate([3, 2]);
    expect(() => be.run(matmul, [a, b], [c], {})).toThrow(/inner dimensions differ: A f32\[3, 4\] has 4 columns, B f32\[5, 2\] has 5 rows/);
    expect(() => be.run(matmul, [a, be.allocate([4, 2])], [be.allocate([2, 2])], {})).toThrow(/output 0 must be f32\[3, 2\]/);
  });
});

describe('matmul cpuFast (the CPU backend path) against the reference cpu', () => {
  // cpuFast sums in float64 and rounds once to float32: its error is one float32
  // rounding of the result plus a float64 summation error, K·2⁻⁵³·(|A||B|) at most.
  const fastTolerance = (a: HostTensor, b: HostTensor, attrs: MatmulAttrs, K: number): Tolerance => {
    const abs = (t: HostTensor) => ({ ...t, data: t.data.map(Math.abs) as Float32Array });
    const [bound] = reference(matmul, [abs(a), abs(b)], attrs);
    return { atol: bound.map((v) => K * 2 ** -52 * v + 1e-30), rtol: U, why: 'one float32 rounding of a float64 sum' };
  };
  // Edges of its 4×4 blocks (1–9 rows/columns), a long K, and the workloads' shapes; in growing then shrinking sizes (scratch reuse).
  const fastShapes: [number, number, number][] = [[1, 1, 1], [4, 1, 4], [5, 3, 6], [9, 7, 2], [2, 700, 9], [129, 784, 10], [100, 100, 1000], [3, 5, 7]];
  for (const form of FORMS) {
    const tag = `${form.transA ? 'Aᵀ' : 'A'}·${form.transB ? 'Bᵀ' : 'B'}`;
    it.each(fastShapes)(`${tag} M=%i K=%i N=%i`, (M, K, N) => {
      const [a, b] = operands(M + 31 * K + N, [M, K, N], form);
      const infos = [a.info, b.info];
      for (const precision of ['f32', 'f64'] as const) {
        const got = precision === 'f32' ? new Float32Array(M * N).fill(NaN) : new Float64Array(M * N).fill(NaN);
        const ins = precision === 'f32' ? [a.data, b.data] : [Float64Array.from(a.data), Float64Array.from(b.data)];
        matmul.cpuFast!(ins, [got], infos, form);
        expectClose(Float64Array.from(got), reference(matmul, [a, b], form)[0], fastTolerance(a, b, form, K), `cpuFast ${precision} ${tag} ${M}x${K}x${N}`);
      }
    });
  }
});

describe('matmul gradients (CPU reference vs finite differences)', () => {
  // L = Σ C∘G for a fixed G: dL/dA = G·Bᵀ and dL/dB = Aᵀ·G, the transposed forms backward uses.
  it.each([[1, 1, 1], [3, 5, 2], [7, 13, 4]])('dA = dC·Bᵀ, dB = Aᵀ·dC for M=%i K=%i N=%i', (M, K, N) => {
    const r = rng(7);
    const a = randn(r, [M, K]);
    const b = randn(r, [K, N]);
    const g = randn(r, [M, N]);
    const loss = (A: Float64Array, B: Float64Array) => {
      const [c] = reference(matmul, [{ info: a.info, data: A as never }, { info: b.info, data: B as never }], {});
      return c.reduce((s, v, i) => s + v * g.data[i], 0);
    };
    const A = Float64Array.from(a.data);
    const B = Float64Array.from(b.data);
    const [dA] = reference(matmul, [g, b], { transB: true });
    const [dB] = reference(matmul, [a, g], { transA: true });
    expectClose(dA, numericGradient((x) => loss(x, B), A), FD_TOL, 'dA');
    expectClose(dB, numericGradient((x) => loss(A, x), B), FD_TOL, 'dB');
  });
});

describe('matmul variant choice', () => {
  const ctx = (over: Partial<GpuContext>): GpuContext => ({ maxInvocationsPerWorkgroup: 256, maxWorkgroupsPerDimension: 65535, maxWorkgroupStorageSize: 16384, software: true, adapter: '   llvmpipe-llvm-15 OpenGL ES', ...over });
  const dims = (M: number, K: number, N: number) => ({ M, K, N });
  it('takes the mat4x4f blocks on software adapters only where K and the contiguous axes are multiples of 4', () => {
    expect(chooseVariant({}, ctx({}), dims(512, 784, 256))).toBe('mat16');
    expect(chooseVariant({ transA: true }, ctx({}), dims(784, 7, 128))).toBe('register');
    expect(chooseVariant({}, ctx({}), dims(128, 128, 10))).toBe('register');
    expect(chooseVariant({ transB: true }, ctx({}), dims(128, 128, 10))).toBe('mat8');
    expect(chooseVariant({ transA: true }, ctx({}), dims(10, 128, 128))).toBe('register');
  });
  it('gives llvmpipe 8×8 blocks when 16×16 ones would leave it fewer than 4 workgroups', () => {
    expect(chooseVariant({}, ctx({}), dims(128, 784, 128))).toBe('mat8');
    expect(chooseVariant({}, ctx({}), dims(256, 784, 256))).toBe('mat16');
    expect(matmulWorkgroupSize('mat16', ctx({}))).toEqual([8, 8]);
  });
  it('gives SwiftShader 16×16 blocks in 2×2 workgroups, and real GPUs the workgroup-memory tiles', () => {
    const ss = ctx({ adapter: 'google swiftshader  ' });
    expect(chooseVariant({}, ss, dims(128, 784, 128))).toBe('mat16');
    expect(matmulWorkgroupSize('mat16', ss)).toEqual([2, 2]);
    expect(chooseVariant({}, ctx({ software: false, adapter: 'nvidia hopper' }), dims(128, 784, 128))).toBe('tiled');
  });
  it('gives real GPUs 128×128 tiles once a shape has enough of them to fill the device', () => {
    const gpu = ctx({ software: false, adapter: 'nvidia hopper' });
    expect(chooseVariant({}, gpu, dims(4096, 4096, 4096))).toBe('tiled128');
    expect(chooseVariant({ transA: true }, gpu, dims(4096, 512, 4096))).toBe('tiled128');
    // W3's first layer at batch 512: 4 × 32 tiles of 128.
    expect(chooseVariant({}, gpu, dims(512, 784, 4096))).toBe('tiled128');
    expect(chooseVariant({}, gpu, dims(1024, 1024, 1000))).toBe('tiled128');
    expect(chooseVariant({}, gpu, dims(512, 512, 512))).toBe('tiled');
    expect(chooseVariant({ variant: 'tiled128' }, ctx({ maxInvocationsPerWorkgroup: 128 }), dims(64, 64, 64))).toBe('register');
    expect(matmulWorkgroupSize('tiled128', gpu)).toEqual([16, 16]);
  });
  it('falls back to register for a forced variant the shape or device cannot run, and names unknown ones', () => {
    expect(chooseVariant({ variant: 'mat16' }, ctx({}), dims(5, 7, 9))).toBe('register');
    expect(chooseVariant({ variant: 'tiled' }, ctx({ maxInvocationsPerWorkgroup: 128 }), dims(64, 64, 64))).toBe('register');
    expect(() => chooseVariant({ variant: 'vec4' as never }, ctx({}), dims(4, 4, 4))).toThrow(/unknown variant 'vec4' \(use 'register', 'tiled', 'tiled128', 'mat8', 'mat16'\)/);
  });
});
