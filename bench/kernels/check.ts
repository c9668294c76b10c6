import type { Backend, Kernel } from '../../src/index.js';
import type { MatmulAttrs } from '../../src/ops/matmul.js';
import { ops, Random } from '../../src/index.js';

const U = 2 ** -24; // float32 unit roundoff

/**
 * Runs a matmul kernel on the backend and compares it with matmul's CPU
 * reference in float64. The bound per element is γ_K·(|A||B|) + u·|ref|
 * (Higham eq. 3.4: any summation order, with or without FMA), the same bound
 * test/ops/matmul.test.ts uses. Returns the largest error as a fraction of
 * its bound: ≤ 1 passes; an indexing mistake gives ≫ 1.
 */
export async function checkMatmul(be: Backend, kernel: Kernel<MatmulAttrs>, M: number, K: number, N: number, attrs: MatmulAttrs, seed: number): Promise<number> {
  const rng = new Random(seed);
  const aShape = attrs.transA ? [K, M] : [M, K];
  const bShape = attrs.transB ? [N, K] : [K, N];
  const a = rng.fill(new Float32Array(M * K));
  const b = rng.fill(new Float32Array(K * N));
  const infos = [{ shape: aShape, dtype: 'f32' as const }, { shape: bShape, dtype: 'f32' as const }];
  const ref = new Float64Array(M * N);
  const bound = new Float64Array(M * N);
  ops.matmul.cpu([Float64Array.from(a), Float64Array.from(b)], [ref], infos, attrs);
  ops.matmul.cpu([Float64Array.from(a, Math.abs), Float64Array.from(b, Math.abs)], [bound], infos, attrs);
  const ta = be.allocate(aShape);
  const tb = be.allocate(bShape);
  const tc = be.allocate([M, N]);
  try {
    be.write(ta, a);
    be.write(tb, b);
    be.write(tc, new Float32Array(M * N).fill(NaN)); // an element left unwritten shows up
    be.run(kernel, [ta, tb], [tc], attrs);
    const got = await be.read(tc);
    const gamma = (K * U) / (1 - K * U);
    let worst = 0;
    for (let i = 0; i < M * N; i++) {
      const err = Math.abs(got[i] - ref[i]);
      const tol = gamma * bound[i] + U * Math.abs(ref[i]) + 1e-30;
      const r = Number.isNaN(err) ? Infinity : err / tol;
      if (r > worst) worst = r;
    }
    return worst;
  } finally {
    for (const t of [ta, tb, tc]) be.free(t);
  }
}
