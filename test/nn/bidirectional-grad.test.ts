import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { sizeOf } from '../../src/core/shape.js';
import { gradients } from '../../src/graph/autodiff.js';
import type { Value } from '../../src/graph/graph.js';
import { Graph } from '../../src/graph/graph.js';
import type { Layer } from '../../src/nn/layers.js';
import { bidirectional, gru, lstm } from '../../src/nn/layers.js';
import type { HostArray } from '../../src/ops/kernel.js';
import { matmul } from '../../src/ops/matmul.js';
import { reshape } from '../../src/ops/reshape.js';
import { backends } from '../helpers/backends.js';
import { lossF64, runOnce } from '../helpers/graph-run.js';
import { expectClose, numericGradient, randn, rng } from '../helpers/check.js';

/*
 * A bidirectional layer's whole graph (both halves' projections, sequence
 * kernels, the reverse and the merge) differentiated by autodiff on each
 * backend, against float64 central differences of the same graph run through
 * the CPU references: L = ⟨out, G⟩, with respect to the input and every weight.
 */

function layerGraph(layer: Layer, [B, T, F]: number[]) {
  const g = new Graph();
  const x = g.param('x', [B, T, F]);
  const weights = layer.params([T, F]).map((p) => g.param(p.name, p.shape));
  const ctx = { skipActivation: false, training: true, seed: 1, step: () => g.input('step', [1], 'i32'), addLoss: () => {} };
  const out = layer.forward(g, x, weights, ctx);
  const n = sizeOf(out.shape);
  const G = g.input('G', [n, 1]);
  const L = g.op(matmul, [g.op(reshape, [out], { shape: [1, n] }), G], {}, 'L');
  return { g, x, weights, G, L, forwardNodes: g.nodes.length };
}

// LSTM and GRU (resetAfter, and not), every step and the last, every merge; 3 samples of 4 steps of 2 features, 3 units.
const CASES: [string, () => Layer][] = [
  ['lstm concat, every step', () => bidirectional(lstm(3, { returnSequences: true }))],
  ['lstm ave, the last step', () => bidirectional(lstm(3), { mergeMode: 'ave' })],
  ['gru sum, every step', () => bidirectional(gru(3, { returnSequences: true }), { mergeMode: 'sum' })],
  ['gru resetAfter false mul, the last step', () => bidirectional(gru(3, { resetAfter: false }), { mergeMode: 'mul' })],
];

describe.each(backends)('bidirectional gradients on %s', (_name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  it.each(CASES)('%s: d(x) and every weight against finite differences', async (_label, build) => {
    const dims = [3, 4, 2];
    const { g, x, weights, G, L, forwardNodes } = layerGraph(build(), dims);
    const wrt = [x, ...weights];
    const grads = gradients(g, L, wrt);
    const r = rng(17);
    // Weights in ±0.5 keep the gates off saturation, where differences of float64 stay accurate.
    const host = new Map<Value, Float32Array>([...wrt, G].map((v) => [v, randn(r, [...v.shape], v === x || v === G ? -1 : -0.5, v === x || v === G ? 1 : 0.5).data as Float32Array]));
    const { compiled, bound } = await runOnce(be, g, host, wrt.map((v) => grads.get(v)!));
    const f64 = new Map<Value, HostArray>([...host].map(([v, d]) => [v, Float64Array.from(d)]));
    for (const v of wrt) {
      const want = numericGradient((d) => lossF64(g, forwardNodes, new Map([...f64, [v, d]]), L), f64.get(v) as Float64Array);
      const got = await be.read(compiled.tensor(grads.get(v)!));
      // As the recurrent layers' own check (test/ops/recurrent.test.ts): float32 through 4 steps against float64 differences.
      expectClose(got, want, { atol: 1e-6, rtol: 1e-5, why: 'float32 forward and backward through 4 steps each way against float64 central differences' }, `d(${v.name})`);
    }
    compiled.dispose();
    for (const t of bound.values()) be.free(t);
  });
});
