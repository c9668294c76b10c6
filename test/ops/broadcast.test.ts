import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { gradients } from '../../src/graph/autodiff.js';
import type { Value } from '../../src/graph/graph.js';
import { Graph } from '../../src/graph/graph.js';
import { activation } from '../../src/ops/activation.js';
import { broadcastRows, broadcastRowsGrad } from '../../src/ops/broadcast.js';
import { add, multiply } from '../../src/ops/elementwise.js';
import { reduceSum } from '../../src/ops/reduce.js';
import { backends, largeCase } from '../helpers/backends.js';
import type { HostTensor } from '../helpers/check.js';
import { expectClose, FD_TOL, numericGradient, randn, reference, rng, runOn, tensor } from '../helpers/check.js';
import { runOnce } from '../helpers/graph-run.js';

/*
 * broadcastRows, the op under positionEmbedding: a table's first T rows for
 * every sample of [B, T, F], and its gradient, the rows summed over the batch
 * (zero past T). The forward is a copy and must be exact on every backend.
 */

const info = (shape: number[]) => ({ shape, dtype: 'f32' as const });

describe('broadcastRows (CPU reference)', () => {
  it('repeats the first T rows over the batch; its gradient sums them over the batch, zeros past T', () => {
    const table = tensor([3, 2], [1, 2, 3, 4, 5, 6]);
    const like = tensor([2, 2, 2], new Array(8).fill(9));
    expect(Array.from(reference(broadcastRows, [table, like], {})[0])).toEqual([1, 2, 3, 4, 1, 2, 3, 4]);
    const dy = tensor([2, 2, 2], [1, 2, 3, 4, 10, 20, 30, 40]);
    expect(Array.from(reference(broadcastRowsGrad, [dy], { rows: 3 })[0])).toEqual([11, 22, 33, 44, 0, 0]);
  });

  it('refuses shapes and attributes by name', () => {
    expect(() => broadcastRows.outputs([info([3, 2]), info([2, 4, 2])], {})).toThrow(/broadcastRows: like f32\[2, 4, 2\] has 4 steps, more than the table's 3 rows/);
    expect(() => broadcastRows.outputs([info([3, 2]), info([2, 2, 5])], {})).toThrow(/table f32\[3, 2\] has 2 features, like f32\[2, 2, 5\] has 5/);
    expect(() => broadcastRows.outputs([info([3]), info([2, 2, 2])], {})).toThrow(/table must be f32 \[rows, features\], got f32\[3\]/);
    expect(() => broadcastRows.outputs([info([3, 2]), info([4, 2])], {})).toThrow(/like must be f32 \[batch, steps, features\], got f32\[4, 2\]/);
    expect(() => broadcastRowsGrad.outputs([info([2, 4, 2])], { rows: 3 })).toThrow(/rows must be a whole number ≥ dy's 4 steps, got 3/);
  });
});

/** L = Σ w ⊙ tanh(broadcastRows(table, x)) + Σ v ⊙ x: the table's gradient through the op; x's through its own term and the op's zeros. */
function positionGraph([B, T, F]: number[], S: number) {
  const g = new Graph();
  const table = g.param('table', [S, F]);
  const x = g.param('x', [B, T, F]);
  const w = g.input('w', [B, T, F]);
  const v = g.input('v', [B, T, F]);
  const y = g.op(activation, [g.op(broadcastRows, [table, x], {})], { kind: 'tanh' });
  const L = g.op(add, [g.op(reduceSum, [g.op(multiply, [y, w], {})], {}), g.op(reduceSum, [g.op(multiply, [x, v], {})], {})], {});
  const loss = (d: Record<string, Float64Array>) => {
    let s = 0;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        for (let f = 0; f < F; f++) {
          const i = (b * T + t) * F + f;
          s += Math.tanh(d.table[t * F + f]) * d.w[i] + d.x[i] * d.v[i];
        }
      }
    }
    return s;
  };
  return { g, params: [table, x], inputs: [w, v], L, loss };
}

describe.each(backends)('broadcastRows on %s', (name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  // One element; steps < rows and = rows on prime sizes; one step; and a large one: on WebGPU a forward of B·T·F past 65,535 workgroups of 256 (2-D dispatch).
  it.each([
    [[1, 1, 1], 1],
    [[67, 5, 13], 9],
    [[67, 9, 13], 9],
    [[3, 1, 7], 4],
    largeCase<[number[], number]>(name, [[2, 65_536, 129], 65_536], [[2, 4096, 129], 4096]),
  ])('like %j from %i rows: forward exactly, gradient within float32 sums over the batch', async (shape, S) => {
    const [B, , F] = shape;
    const table = randn(rng(S), [S, F]);
    // like is never read: its values must not matter (NaN would show).
    const like: HostTensor = { info: info(shape), data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(NaN) };
    const [out] = await runOn(be, broadcastRows, [table, like], {});
    const want = reference(broadcastRows, [table, like], {})[0];
    const first = out.findIndex((e, i) => e !== want[i]);
    expect(first, `first difference at ${first}: ${out[first]} against ${want[first]}`).toBe(-1);
    const dy = randn(rng(B), shape);
    const [dt] = await runOn(be, broadcastRowsGrad, [dy], { rows: S });
    // B terms of |dy| ≤ 1 summed in float32 in batch order against float64: the worst case of a recursive sum, B·2⁻²⁴·Σ|dy| ≤ B²·2⁻²⁴.
    expectClose(dt, reference(broadcastRowsGrad, [dy], { rows: S })[0], { atol: B * B * 2 ** -24, rtol: 0, why: 'float32 sums of B terms |dy| ≤ 1 against float64' }, 'd(table)');
  });

  it.each([
    [[1, 1, 1], 1],
    [[3, 2, 4], 5],
    [[2, 5, 3], 5],
  ])('gradients through autodiff on %j from %i rows match finite differences; like gets zeros', async (dims, S) => {
    const { g, params, inputs, L, loss } = positionGraph(dims, S);
    const grads = gradients(g, L, params);
    const r = rng(dims.reduce((a, b) => a + b, S));
    const host = new Map<Value, Float32Array>([...params, ...inputs].map((val) => [val, randn(r, [...val.shape]).data as Float32Array]));
    const { compiled, bound } = await runOnce(be, g, host, [...grads.values(), L]);
    const f64 = Object.fromEntries([...host].map(([val, d]) => [val.name, Float64Array.from(d)]));
    for (const p of params) {
      const got = await be.read(compiled.tensor(grads.get(p)!));
      const want = numericGradient((d) => loss({ ...f64, [p.name]: d }), f64[p.name]);
      // A few float32 products and sums of values in ±1, against float64 differences.
      expectClose(got, want, FD_TOL, `d${p.name}`);
    }
    compiled.dispose();
    for (const t of bound.values()) be.free(t);
  });
});
