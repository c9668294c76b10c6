import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { sizeOf } from '../../src/core/shape.js';
import { gradients } from '../../src/graph/autodiff.js';
import type { Value } from '../../src/graph/graph.js';
import type { Functional, SymbolicTensor } from '../../src/nn/functional.js';
import { input, model } from '../../src/nn/functional.js';
import type { ModelSpec } from '../../src/nn/graphs.js';
import { predictGraph } from '../../src/nn/graphs.js';
import { add, average, concatenate, dense, graphShapes, multiHeadAttention, multiply } from '../../src/nn/layers.js';
import { resolveLoss } from '../../src/nn/losses.js';
import type { HostArray } from '../../src/ops/kernel.js';
import { matmul } from '../../src/ops/matmul.js';
import { reshape } from '../../src/ops/reshape.js';
import { backends } from '../helpers/backends.js';
import { expectClose, numericGradient, randn, rng } from '../helpers/check.js';
import { lossF64, runOnce } from '../helpers/graph-run.js';

/*
 * Functional graphs (a residual add, merges of branches, a layer called twice)
 * recorded as predict records them and differentiated by autodiff on each
 * backend, against float64 central differences of the same graph run through
 * the CPU references: L = ⟨output, G⟩, with respect to every weight. A shared
 * layer's gradient is the sum over its calls; a residual's flows both ways.
 */

/** The spec the model compiles to, unfused so that every op is its own node. */
function specOf(m: Functional): ModelSpec {
  const graph = m.graph();
  const inputShape = m.inputShape!;
  const { shapes, params } = graphShapes(graph, [inputShape]);
  const shape = shapes[graph.outputs[0]];
  const outputs = [{ name: 'out', shape, loss: resolveLoss('meanSquaredError', 'linear'), metrics: [], targetShape: shape, weight: 1 }];
  return { graph, inputShapes: [inputShape], outputs, params: params.flat(), paramCounts: params.map((p) => p.length), fuse: false };
}

const smooth = { activation: 'tanh' } as const;
const CASES: [string, number[], (x: SymbolicTensor) => SymbolicTensor][] = [
  ['residual add', [4], (x) => {
    const h = dense(5, smooth).apply(x);
    return dense(3).apply(add().apply([h, dense(5, smooth).apply(h)]));
  }],
  ['multiply, average and concatenate of branches', [4], (x) => {
    const [a, b] = [dense(3, smooth).apply(x), dense(3, smooth).apply(x)];
    return dense(2).apply(concatenate().apply([multiply().apply([a, b]), average().apply([a, b, dense(3).apply(x)])]));
  }],
  ['a layer called twice (its gradient sums both calls)', [3], (x) => {
    const shared = dense(3, smooth);
    return dense(2).apply(add().apply([shared.apply(x), shared.apply(shared.apply(x))]));
  }],
  ['causal self-attention with a residual (every projection and bias)', [5, 4], (x) => add().apply([x, multiHeadAttention({ numHeads: 2, keyDim: 3 }).apply([x, x], { useCausalMask: true })])],
  ['attention with its own key, values of another width, an output size', [4, 3], (x) => {
    const kv = dense(5, smooth).apply(x);
    return multiHeadAttention({ numHeads: 3, keyDim: 2, valueDim: 4, outputShape: 2 }).apply([x, kv, dense(3, smooth).apply(x)]);
  }],
  ['sequences joined along the steps (axis 1) and the features (axis −1)', [3, 2], (x) => {
    const steps = concatenate({ axis: 1 }).apply([x, dense(2, smooth).apply(x)]);
    return concatenate({ axis: -1 }).apply([steps, dense(3, smooth).apply(steps)]);
  }],
];

describe.each(backends)('functional graph gradients on %s', (_name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  it.each(CASES)('%s: every weight against finite differences', async (_label, shape, build) => {
    const x = input({ shape });
    const m = model({ inputs: x, outputs: build(x) });
    const { graph: g, x: [xv], weights, outputs: [output] } = predictGraph(specOf(m), 3);
    const n = sizeOf(output.shape);
    const G = g.input('G', [n, 1]);
    const forwardNodes = g.nodes.length;
    const L = g.op(matmul, [g.op(reshape, [output], { shape: [1, n] }), G], {}, 'L');
    const grads = gradients(g, L, weights);
    const r = rng(23);
    // Values in ±1 keep tanh off saturation, where float64 differences stay accurate.
    const host = new Map<Value, Float32Array>([xv, G, ...weights].map((v) => [v, randn(r, [...v.shape], -1, 1).data as Float32Array]));
    const { compiled, bound } = await runOnce(be, g, host, weights.map((w) => grads.get(w)!));
    const f64 = new Map<Value, HostArray>([...host].map(([v, d]) => [v, Float64Array.from(d)]));
    for (const w of weights) {
      const want = numericGradient((d) => lossF64(g, forwardNodes + 2, new Map([...f64, [w, d]]), L), f64.get(w) as Float64Array);
      const got = await be.read(compiled.tensor(grads.get(w)!));
      // float32 through a few layers against float64 central differences (the layers' own checks use the same bound).
      expectClose(got, want, { atol: 1e-5, rtol: 1e-4, why: 'float32 forward and backward through three layers against float64 central differences' }, `d(${w.name})`);
    }
    compiled.dispose();
    for (const t of bound.values()) be.free(t);
    m.dispose();
  });
});
