import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, Launch, Program } from '../../src/backend/backend.js';
import { CpuBackend } from '../../src/backend/cpu.js';
import { gradients } from '../../src/graph/autodiff.js';
import { fuse } from '../../src/graph/fuse.js';
import type { Value } from '../../src/graph/graph.js';
import { Graph } from '../../src/graph/graph.js';
import { activation } from '../../src/ops/activation.js';
import { biasAdd } from '../../src/ops/bias.js';
import { broadcastRows } from '../../src/ops/broadcast.js';
import { add } from '../../src/ops/elementwise.js';
import { matmul } from '../../src/ops/matmul.js';
import { layerNorm } from '../../src/ops/norm.js';
import { reduceSum } from '../../src/ops/reduce.js';
import { reshape } from '../../src/ops/reshape.js';
import { gpt } from '../../src/nn/gpt.js';
import { backends } from '../helpers/backends.js';
import { expectClose, numericGradient, randn, rng } from '../helpers/check.js';
import { lossF64, runOnce } from '../helpers/graph-run.js';

const U = 2 ** -24;
const [B, T, F] = [3, 5, 7];

/**
 * What a pre-norm Transformer block records, small: h = ln(x) read twice, each
 * read through its own reshape to rows as a layer on sequences records it: a
 * Dense branch added back to x (the residual), and a second projection (as
 * the key beside the query). L = Σ tanh(x + branch) + Σ tanh(projection).
 * h's gradient is then a sum of two matmuls, and x's the residual's plus the
 * norm's.
 */
function block() {
  const g = new Graph();
  const x = g.param('x', [B, T, F]);
  const gamma = g.param('gamma', [F]);
  const beta = g.param('beta', [F]);
  const w1 = g.param('w1', [F, F]);
  const b1 = g.param('b1', [F]);
  const w2 = g.param('w2', [F, 6]);
  const [h] = g.apply(layerNorm, [x, gamma, beta], { epsilon: 1e-5 }, 'ln');
  const rows = (name: string) => g.op(reshape, [h], { shape: [B * T, F] }, name);
  const z = g.op(biasAdd, [g.op(matmul, [rows('rows1'), w1], {}, 'm1'), b1], {}, 'z1');
  const s = g.op(add, [x, g.op(reshape, [z], { shape: [B, T, F] }, 'z1/steps')], {}, 'residual');
  const c = g.op(matmul, [rows('rows2'), w2], {}, 'm2');
  const sum = (v: Value, name: string) => g.op(reduceSum, [g.op(activation, [v], { kind: 'tanh' }, `${name}/tanh`)], {}, name);
  const L = g.op(add, [sum(s, 'Ls'), sum(c, 'Lc')], {}, 'L');
  const forward = g.nodes.length;
  const weights = [x, gamma, beta, w1, b1, w2];
  const grads = gradients(g, L, weights);
  return { g, forward, weights, grads: weights.map((w) => grads.get(w)!), L };
}

const kernels = (g: Graph) => g.nodes.filter((n) => !n.kernel.view).map((n) => n.kernel.name);
const count = (names: string[], name: string) => names.filter((n) => n === name).length;

describe('fuse: sums into a matmul epilogue', () => {
  it("folds the residual's add into the branch's matmul, h's gradient sum into a matmul, and x's into the norm's gradient", () => {
    const { g, grads, L } = block();
    const before = kernels(g);
    fuse(g, [L, ...grads]);
    const after = kernels(g);
    expect(count(before, 'add')).toBe(4); // L, the residual, h's gradient from two parts, x's from two
    expect(count(after, 'add')).toBe(1); // L
    expect(count(after, 'matmulBiasActivationAdd')).toBe(1);
    expect(count(after, 'matmulAdd')).toBe(1);
    expect(count(after, 'layerNormBackwardAdd')).toBe(1);
    expect(after.length).toBe(before.length - 4); // the bias' add too
    // Every value is written before it is read, the new row views included.
    const written = new Set<Value>(g.values.filter((v) => v.role !== 'temp'));
    for (const n of g.nodes) {
      for (const v of n.inputs) expect(written.has(v), `${n.kernel.name} reads ${v.name} before it is written`).toBe(true);
      n.outputs.forEach((o) => written.add(o));
    }
  });

  it('leaves an add that scales (alpha ≠ 1) or adds C to itself, and a sum a pack places; views a sum of another shape', () => {
    const make = () => {
      const g = new Graph();
      const x = g.input('x', [4, 3]);
      const z = g.op(matmul, [x, g.param('w', [3, 3])], {}, 'z');
      return { g, x, z };
    };
    const steps = (g: Graph, v: Value, name: string) => g.op(reshape, [v], { shape: [2, 2, 3] }, name);
    {
      const { g, x, z } = make();
      const s = g.op(add, [x, z], { alpha: 2 }, 's');
      expect(fuse(g, [s]).fused).toBe(0);
    }
    {
      const { g, z } = make();
      const s = g.op(add, [z, z], {}, 's');
      expect(fuse(g, [s]).fused).toBe(0);
    }
    {
      const { g, x, z } = make();
      const s = g.op(add, [steps(g, x, 'xs'), steps(g, z, 'zs')], {}, 's');
      g.pack('sums', [s]);
      expect(fuse(g, [s]).fused).toBe(0);
    }
    {
      const { g, x, z } = make();
      const s = g.op(add, [steps(g, x, 'xs'), steps(g, z, 'zs')], {}, 's');
      expect(fuse(g, [s]).fused).toBe(1);
      expect(kernels(g)).toEqual(['matmulAdd']);
      const last = g.nodes[g.nodes.length - 1];
      expect([last.kernel.name, last.outputs[0]]).toEqual(['reshape', s]); // s: a view of the fused rows
    }
  });
});

describe('autodiff: a zero gradient adds nothing', () => {
  it("a position embedding's zero gradient for the tensor it reads the shape of: no fill and no add", () => {
    const g = new Graph();
    const x = g.param('x', [2, 3, 4]);
    const table = g.param('table', [3, 4]);
    const s = g.op(add, [x, g.op(broadcastRows, [table, x], {}, 'positions')], {}, 's');
    const L = g.op(reduceSum, [g.op(activation, [s], { kind: 'tanh' }, 'tanh')], {}, 'L');
    const forward = g.nodes.length;
    const grads = gradients(g, L, [x, table]);
    const backward = g.nodes.slice(forward).map((n) => n.kernel.name);
    expect(backward.filter((k) => k === 'add' || k === 'fill')).toEqual(['fill']); // the seed only
    const given = new Map<Value, Float64Array>([x, table].map((w, k) => [w, Float64Array.from(randn(rng(20 + k), [...w.shape], -1, 1).data)]));
    const dx = numericGradient((v) => lossF64(g, forward, new Map(given).set(x, v), L), given.get(x)!);
    const vals = new Map<Value, Float64Array>(given);
    for (const n of g.nodes) {
      const outs = n.outputs.map((o) => new Float64Array(o.shape.reduce((a, b) => a * b, 1)));
      n.kernel.cpu(n.inputs.map((v) => vals.get(v)!), outs, n.inputs, n.attrs);
      n.outputs.forEach((o, i) => vals.set(o, outs[i]));
    }
    expectClose(vals.get(grads.get(x)!)!, dx, { atol: 1e-8, rtol: 1e-6, why: 'float64 throughout; central differences err ~1e-10' }, 'dx');
  });
});

describe.each(backends)('sums fused into matmuls on %s', (_name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  async function run(fused: boolean) {
    const { g, weights, grads, L } = block();
    if (fused) fuse(g, [L, ...grads]);
    const r = rng(12);
    const host = new Map(weights.map((w) => [w, randn(r, [...w.shape], -1, 1).data as Float32Array]));
    const { compiled, bound } = await runOnce(be, g, host, [L, ...grads]);
    const out = await Promise.all([L, ...grads].map((v) => be.read(compiled.tensor(v))));
    compiled.dispose();
    for (const t of bound.values()) be.free(t);
    return out;
  }

  it('the loss and every gradient equal to the unfused graph', async () => {
    const plain = await run(false);
    const fused = await run(true);
    ['L', 'dx', 'dgamma', 'dbeta', 'dw1', 'db1', 'dw2'].forEach((name, i) => {
      const scaleOf = Math.max(...Array.from(plain[i], Math.abs));
      expectClose(fused[i], plain[i], { atol: 16 * U * scaleOf, rtol: 8 * U, why: 'the same f32 operations; a compiler may contract a multiply-add in one shader and not the other' }, name);
    });
  });

  it('the fused gradients against central differences of the float64 loss', async () => {
    const fused = await run(true);
    const { g, forward, weights, L } = block();
    const r = rng(12);
    const given = new Map<Value, Float64Array>(weights.map((w) => [w, Float64Array.from(randn(r, [...w.shape], -1, 1).data)]));
    weights.forEach((w, k) => {
      const numeric = numericGradient((v) => lossF64(g, forward, new Map(given).set(w, v), L), given.get(w)!);
      // f32 gradients of a loss of ~60 terms, through a layer norm of 7 features (rstd up to ~3).
      expectClose(fused[1 + k], numeric, { atol: 2e-5, rtol: 1e-4, why: 'float32 gradients against float64 central differences (error ~1e-10)' }, `d${w.name}`);
    });
  });
});

/** A CPU backend that records the kernels of each program it compiles. */
class Recording extends CpuBackend {
  programs: string[][] = [];
  override async compile(launches: readonly Launch[]): Promise<Program> {
    this.programs.push(launches.map((l) => l.kernel.name));
    return super.compile(launches);
  }
}

describe('a GPT training step', () => {
  const tiny = () => gpt({ vocabularySize: 11, contextLength: 8, width: 16, blocks: 2, heads: 2, seed: 3 });
  const ids = (n: number, seed: number) => Int32Array.from({ length: n * 8 }, (_, i) => (i * 7 + seed) % 11);

  it('adds each block\'s branches to their residuals, the query, key and value gradients inside matmuls, the residuals\' gradients into the norms\', and takes GELU\'s gradient in a matmul: 7 launches fewer a block', async () => {
    const names: string[][] = [];
    for (const fuseKernels of [false, true]) {
      const be = new Recording();
      const m = tiny();
      m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', backend: be, fuse: fuseKernels });
      await m.fit({ data: ids(4, 0), shape: [4, 8] }, { data: ids(4, 1), shape: [4, 8] }, { batchSize: 4, verbose: 0 });
      names.push(be.programs[0]);
      m.dispose();
    }
    const [, fused] = names;
    expect(count(fused, 'matmulBiasActivationAdd')).toBe(2 * 2); // attention output and MLP output, a block
    expect(count(fused, 'matmulAdd')).toBe(2 * 2); // d(ln1 output) = dq·Wqᵀ + dk·Wkᵀ + dv·Wvᵀ
    expect(count(fused, 'layerNormBackwardAdd')).toBe(2 * 2); // d(block input) and d(residual1 output): residual's + the norm's
    // Left: the embeddings' sum. The token embeddings' gradient takes no zeros from the position embedding (autodiff).
    expect(count(fused, 'add')).toBe(1);
    expect(count(fused, 'fill')).toBe(1); // the loss gradient's seed
    // GELU's gradient rides in the matmul that makes its dy, from GELU's input.
    expect(count(fused, 'matmulActivationGradOfInput')).toBe(2);
    expect(count(fused, 'activationBackward')).toBe(0);
    // 105 launches without these folds, 7 fewer a block with them, 2 fewer without the zeros (the unfused step: 157).
    expect([names[0].length, fused.length]).toEqual([157, 89]);
  });

  it.each(backends)('trains the same fused and unfused on %s: 3 steps of Adam', async (name, make) => {
    const results: { loss: number[]; weights: Float32Array[] }[] = [];
    for (const fuseKernels of [false, true]) {
      const be = await make();
      const m = tiny();
      m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', backend: be, fuse: fuseKernels });
      const h = await m.fit({ data: ids(12, 2), shape: [12, 8] }, { data: ids(12, 3), shape: [12, 8] }, { epochs: 3, batchSize: 4, shuffle: false, verbose: 0 });
      results.push({ loss: h.history.loss, weights: await m.getWeights() });
      m.dispose();
      be.dispose();
    }
    const [plain, fused] = results;
    // Bit-equal on the CPU (the same f32 roundings in the same order); on WebGPU up to a contracted multiply-add, carried by 9 steps.
    const tol = name === 'cpu' ? { atol: 0, rtol: 0, why: 'the same f32 operations in the same order' } : { atol: 1e-6, rtol: 1e-5, why: 'contraction differences carried over 9 Adam steps' };
    expectClose(fused.loss, plain.loss, tol, 'loss');
    fused.weights.forEach((w, i) => expectClose(w, plain.weights[i], tol, `weight ${i}`));
  });
});
