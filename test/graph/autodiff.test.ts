import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { gradients } from '../../src/graph/autodiff.js';
import { compileGraph } from '../../src/graph/executor.js';
import type { Value } from '../../src/graph/graph.js';
import { Graph } from '../../src/graph/graph.js';
import { add, scale } from '../../src/ops/elementwise.js';
import { matmul } from '../../src/ops/matmul.js';
import { backends } from '../helpers/backends.js';
import { runOnce } from '../helpers/graph-run.js';
import { expectClose, numericGradient, randn, reference, rng } from '../helpers/check.js';

/**
 * L = u·(op(A)·op(B) + 0.5·op(A)·op(B))·v: a scalar from matmuls alone, so
 * the autodiff and executor are tested before any loss kernel exists. The
 * repeated use of the product checks that gradients of a value used twice add up.
 */
function build(form: { transA?: boolean; transB?: boolean }, [M, K, N]: number[]) {
  const g = new Graph();
  const u = g.input('u', [1, M]);
  const v = g.input('v', [N, 1]);
  const A = g.param('A', form.transA ? [K, M] : [M, K]);
  const B = g.param('B', form.transB ? [N, K] : [K, N]);
  const C = g.op(matmul, [A, B], form, 'C');
  const C2 = g.op(add, [C, C], { alpha: 0.5 });
  const L = g.op(matmul, [g.op(matmul, [u, C2], {}), v], {}, 'L');
  return { g, u, v, A, B, L };
}

function lossF64(form: { transA?: boolean; transB?: boolean }, dims: number[], data: Record<string, Float64Array>) {
  const t = (shape: number[], d: Float64Array) => ({ info: { shape, dtype: 'f32' as const }, data: d as never });
  const [M, K, N] = dims;
  const [C] = reference(matmul, [t(form.transA ? [K, M] : [M, K], data.A), t(form.transB ? [N, K] : [K, N], data.B)], form);
  const [uC] = reference(matmul, [t([1, M], data.u), t([M, N], C)], {});
  const [L] = reference(matmul, [t([1, N], uC), t([N, 1], data.v)], {});
  return 1.5 * L[0];
}

describe.each(backends)('autodiff + executor on %s', (_name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  for (const form of [{}, { transA: true }, { transB: true }, { transA: true, transB: true }]) {
    it(`matches finite differences for matmul ${JSON.stringify(form)}`, async () => {
      const dims = [5, 7, 3];
      const { g, u, v, A, B, L } = build(form, dims);
      const grads = gradients(g, L, [A, B]);
      const r = rng(3);
      const host = new Map<Value, Float32Array>([u, v, A, B].map((x) => [x, randn(r, [...x.shape]).data as Float32Array]));
      const { compiled } = await runOnce(be, g, host, [...grads.values(), L]);
      const f64 = Object.fromEntries([...host].map(([x, d]) => [x.name, Float64Array.from(d)]));
      const loss = (await be.read(compiled.tensor(L)))[0];
      expect(loss).toBeCloseTo(lossF64(form, dims, f64), 4);
      for (const w of [A, B]) {
        const got = await be.read(compiled.tensor(grads.get(w)!));
        const want = numericGradient((x) => lossF64(form, dims, { ...f64, [w.name]: x }), f64[w.name]);
        // float32 products of ≤ 7 terms of O(1): 1e-5 absolute is ~100 ulps of the largest term.
        expectClose(got, want, { atol: 1e-5, rtol: 1e-5, why: 'float32 chain of short matmuls vs float64 finite differences' }, `d${w.name}`);
      }
      compiled.dispose();
    });
  }

  it('reuses temporaries whose lifetimes do not overlap', async () => {
    const g = new Graph();
    const x = g.input('x', [16, 16]);
    let h = x;
    for (let i = 0; i < 10; i++) h = g.op(scale, [h], { alpha: 1.1 });
    const t = be.allocate([16, 16]);
    be.write(t, new Float32Array(256).fill(1));
    const compiled = await compileGraph(be, g, new Map([[x, t]]), [h]);
    // A chain needs two buffers at a time, plus the kept result.
    expect(compiled.stats.temps).toBe(10);
    expect(compiled.stats.buffers).toBeLessThanOrEqual(3);
    compiled.program.run();
    const out = await be.read(compiled.tensor(h));
    expect(out[0]).toBeCloseTo(1.1 ** 10, 4);
    compiled.dispose();
  });

  it('records no gradient that nothing needs (d(input) of a first layer, d of a param not asked for)', () => {
    const g = new Graph();
    const x = g.input('x', [4, 6]);
    const w1 = g.param('w1', [6, 5]);
    const w2 = g.param('w2', [5, 1]);
    const y = g.op(matmul, [g.op(matmul, [x, w1], {}, 'h'), w2], {}, 'y');
    const L = g.op(matmul, [g.input('u', [1, 4]), y], {}, 'L');
    const forward = g.nodes.length;
    gradients(g, L, [w1]);
    const backward = g.nodes.slice(forward).map((n) => n.outputs[0].name);
    // d(y), d(h) and d(w1) are needed; d(x), d(w2) and d(u) are not.
    expect(backward.filter((n) => n.startsWith('d(') && n !== 'd(L)').sort()).toEqual(['d(h)', 'd(w1)', 'd(y)']);
    expect(g.nodes.slice(0, forward).map((n) => n.outputs[0].name)).toEqual(['h', 'y', 'L']);
  });

  it('names the kernel when the loss depends on something with no gradient rule', () => {
    const g = new Graph();
    const w = g.param('w', [1]);
    expect(() => gradients(g, g.op(scale, [w], { alpha: 2 }), [w])).not.toThrow();
    const unrelated = g.param('z', [1]);
    expect(() => gradients(g, g.op(scale, [w], { alpha: 2 }), [unrelated])).toThrow(/does not depend on 'z'/);
  });
});
