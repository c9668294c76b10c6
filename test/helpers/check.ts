import { expect } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import type { TensorInfo } from '../../src/core/shape.js';
import { sizeOf } from '../../src/core/shape.js';
import type { HostArray, Kernel } from '../../src/ops/kernel.js';
import { newHostArray } from '../../src/ops/kernel.js';
import { Random } from '../../src/core/random.js';

export interface Tolerance {
  /** Absolute part, a number or one bound per element. */
  atol: number | ArrayLike<number>;
  rtol: number;
  /** Why these numbers: printed when the check fails. */
  why: string;
}

/**
 * Input data plus its shape and dtype. f32 data is stored as Float32Array, so
 * the f64 reference sees the same values; a Float64Array hands the reference
 * exact values on purpose (a backend rounds them to f32 when written).
 */
export interface HostTensor {
  info: TensorInfo;
  data: Float32Array | Float64Array | Int32Array;
}

export function tensor(shape: number[], data: ArrayLike<number>, dtype: 'f32' | 'i32' = 'f32'): HostTensor {
  const typed = dtype === 'i32' ? Int32Array.from(data) : Float32Array.from(data);
  if (typed.length !== sizeOf(shape)) throw new Error(`test tensor: ${typed.length} values for shape [${shape}]`);
  return { info: { shape, dtype }, data: typed };
}

export function randn(rng: Random, shape: number[], lo = -1, hi = 1): HostTensor {
  const d = new Float32Array(sizeOf(shape));
  rng.fill(d, lo, hi);
  return { info: { shape, dtype: 'f32' }, data: d };
}

export function randLabels(rng: Random, n: number, classes: number): HostTensor {
  const d = new Int32Array(n);
  for (let i = 0; i < n; i++) d[i] = rng.int(classes);
  return { info: { shape: [n], dtype: 'i32' }, data: d };
}

/** Runs the kernel's CPU version in float64 on the same (float32-rounded) inputs. */
export function reference<A>(kernel: Kernel<A>, inputs: HostTensor[], attrs: A, init?: HostTensor[]): Float64Array[] {
  const infos = inputs.map((t) => t.info);
  const outs = kernel.outputs(infos, attrs).map((o, i) => {
    const a = newHostArray(o.dtype, sizeOf(o.shape), 'f64');
    if (init?.[i]) a.set(init[i].data);
    return a;
  });
  const ins: HostArray[] = inputs.map((t) => (t.data instanceof Int32Array ? t.data : Float64Array.from(t.data)));
  kernel.cpu(ins, outs, infos, attrs);
  return outs.map((o) => Float64Array.from(o));
}

/**
 * Runs the kernel on a backend. Outputs start as NaN (or `init` for kernels
 * that read their outputs), so an element the kernel fails to write shows up.
 */
export async function runOn<A>(be: Backend, kernel: Kernel<A>, inputs: HostTensor[], attrs: A, init?: HostTensor[]): Promise<Float64Array[]> {
  const ins = inputs.map((t) => {
    const d = be.allocate(t.info.shape, t.info.dtype);
    be.write(d, t.data);
    return d;
  });
  const outInfos = kernel.outputs(inputs.map((t) => t.info), attrs);
  const outs = outInfos.map((o, i) => {
    const d = be.allocate(o.shape, o.dtype);
    const n = sizeOf(o.shape);
    be.write(d, init?.[i]?.data ?? (o.dtype === 'i32' ? new Int32Array(n).fill(-7) : new Float32Array(n).fill(NaN)));
    return d;
  });
  be.run(kernel, ins, outs, attrs);
  const results = await Promise.all(outs.map((o) => be.read(o)));
  for (const t of [...ins, ...outs]) be.free(t);
  return results.map((r) => Float64Array.from(r));
}

/** Fails with the largest absolute and relative difference and where it is. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance, label = ''): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  let maxAbs = 0;
  let maxRel = 0;
  let bad = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const diff = Math.abs(a - e);
    const atol = typeof tol.atol === 'number' ? tol.atol : tol.atol[i];
    const bound = atol + tol.rtol * Math.abs(e);
    const ok = diff <= bound || (Number.isNaN(a) && Number.isNaN(e)) || a === e;
    if (Number.isFinite(diff)) {
      maxAbs = Math.max(maxAbs, diff);
      if (e !== 0) maxRel = Math.max(maxRel, diff / Math.abs(e));
    }
    if (!ok) {
      bad++;
      const excess = Number.isFinite(diff) ? diff / (bound || 1e-300) : Infinity;
      if (worst < 0 || excess > worstExcess) {
        worst = i;
        worstExcess = excess;
      }
    }
  }
  if (bad > 0) {
    const msg =
      `${label}: ${bad} of ${expected.length} elements out of tolerance (atol ${typeof tol.atol === 'number' ? tol.atol : 'per-element'}, rtol ${tol.rtol}: ${tol.why}). ` +
      `Worst at index ${worst}: got ${actual[worst]}, expected ${expected[worst]}. Max abs diff ${maxAbs.toExponential(3)}, max rel diff ${maxRel.toExponential(3)}.`;
    expect.fail(msg);
  }
}

/** Central finite differences of a scalar function of x, in float64. */
export function numericGradient(f: (x: Float64Array) => number, x: Float64Array, eps = 1e-6): Float64Array {
  const g = new Float64Array(x.length);
  const xp = Float64Array.from(x);
  for (let i = 0; i < x.length; i++) {
    const old = xp[i];
    xp[i] = old + eps;
    const fp = f(xp);
    xp[i] = old - eps;
    const fm = f(xp);
    xp[i] = old;
    g[i] = (fp - fm) / (2 * eps);
  }
  return g;
}

/**
 * Central differences in float64 have error ~eps² (truncation) + 1e-16/eps
 * (cancellation): about 1e-10 at eps = 1e-6 for smooth functions of O(1)
 * values. 1e-6 leaves room for curvature and still catches any wrong term.
 */
export const FD_TOL: Tolerance = { atol: 1e-6, rtol: 1e-5, why: 'float64 central differences, eps=1e-6: error ~1e-10' };

/** Fresh random inputs every run would hide flaky bugs behind luck; a fixed seed per test keeps failures reproducible. */
export function rng(seed: number): Random {
  return new Random(seed);
}
