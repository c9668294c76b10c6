import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import type { DeviceTensor } from '../../src/backend/backend.js';
import { gradients } from '../../src/graph/autodiff.js';
import { compileGraph } from '../../src/graph/executor.js';
import { Graph } from '../../src/graph/graph.js';
import { activation } from '../../src/ops/activation.js';
import { EMBEDDING_CHUNK, embedding, embeddingBackward, idsProblem } from '../../src/ops/embedding.js';
import { reduceSum } from '../../src/ops/reduce.js';
import { backends, largeCase } from '../helpers/backends.js';
import { expectClose, FD_TOL, numericGradient, randn, reference, rng, runOn, tensor } from '../helpers/check.js';

/* The embedding lookup (Keras' Embedding) and its gradient: ids are whole numbers held in f32. */

/** n ids in [0, vocab) in a scrambled order (a stride prime to most vocabularies), every id of a small vocabulary repeated. */
const idsOf = (n: number, vocab: number, seed: number) => tensor([n], Array.from({ length: n }, (_, i) => (i * 7919 + seed) % vocab));

describe('embedding (CPU reference)', () => {
  it('looks rows up, and its backward is the gradient of ⟨lookup, w⟩ with respect to the table', () => {
    const ids = tensor([2, 3], [4, 0, 4, 2, 1, 4]);
    const t = randn(rng(1), [5, 3]);
    const [out] = reference(embedding, [ids, t], {});
    expect(Array.from(out.slice(0, 3))).toEqual(Array.from(t.data.slice(12, 15)));
    expect(Array.from(out.slice(3, 6))).toEqual(Array.from(t.data.slice(0, 3)));
    const w = randn(rng(2), [2, 3, 3]);
    const loss = (v: Float64Array) => reference(embedding, [ids, { info: t.info, data: v }], {})[0].reduce((s, e, i) => s + e * w.data[i], 0);
    expectClose(reference(embeddingBackward, [ids, w], { inputDim: 5 })[0], numericGradient(loss, Float64Array.from(t.data)), FD_TOL, 'd(table)');
  });

  it('names an id that is not a whole number in [0, inputDim)', () => {
    expect(idsProblem([0, 3, 2], 4)).toBeNull();
    expect(idsProblem([0, 4], 4)).toMatch(/4 at position 1 is not a token id: ids are whole numbers from 0 to 3 \(inputDim 4\)/);
    expect(idsProblem([1.5], 4)).toMatch(/1.5 at position 0/);
    expect(idsProblem([-1], 4)).toMatch(/-1 at position 0/);
    expect(() => embedding.outputs([{ shape: [3], dtype: 'f32' }, { shape: [4], dtype: 'f32' }], {})).toThrow(/table must be f32 \[inputDim, outputDim\], got f32\[4\]/);
    expect(() => embeddingBackward.outputs([{ shape: [3], dtype: 'f32' }, { shape: [3, 2, 2], dtype: 'f32' }], { inputDim: 4 })).toThrow(/dy must be f32 \[3, outputDim\]/);
  });
});

describe.each(backends)('embedding on %s', (name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  // One id, a one-row table, a prime count over a character-sized vocabulary, and a large one: on WebGPU ids × dim past
  // 65,535 workgroups of 256; on the CPU backend (no grid) 2·4099 ids, still thousands of terms in each row's sum.
  it.each([
    [[1], 1, 1],
    [[3, 7], 1, 5],
    [[67, 13], 97, 17],
    [[64, 100], 65, 64],
    largeCase<[number[], number, number]>(name, [[2, 70_001], 3, 128], [[2, 4099], 3, 128]),
  ])('ids %j, vocabulary %i, dim %i: forward exactly, backward within float32 summation', async (shape, vocab, dim) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const ids = tensor(shape, idsOf(n, vocab, vocab).data);
    const t = randn(rng(dim), [vocab, dim]);
    const [out] = await runOn(be, embedding, [ids, t], {});
    // A copy: nothing is computed, nothing may differ (a loop: toEqual on 18 million elements takes a minute).
    const ref = reference(embedding, [ids, t], {})[0];
    const first = out.findIndex((v, i) => v !== Math.fround(ref[i]));
    expect(first, `first difference at ${first}: ${out[first]} against ${ref[first]}`).toBe(-1);
    const dy = randn(rng(dim + 1), [...shape, dim]);
    const [dt] = await runOn(be, embeddingBackward, [ids, dy], { inputDim: vocab });
    // Each partial sums the positions of its chunk that hold its id, in order, in float32: error ≲ count·2^-24·Σ|dy|.
    const count = Math.min(EMBEDDING_CHUNK, Math.ceil(n / vocab) * 2);
    expectClose(dt, reference(embeddingBackward, [ids, dy], { inputDim: vocab })[0], { atol: count * 1e-7, rtol: 1e-6, why: 'float32 sums of at most one chunk of terms |dy| ≤ 1, in the same order' }, 'd(table) by chunks');
  });

  it('the gradient through autodiff adds the chunks: d(table) of Σ tanh(embedding) against finite differences', async () => {
    const n = 600; // three chunks
    const g = new Graph();
    const table = g.param('table', [7, 3]);
    const ids = g.input('ids', [n]);
    const L = g.op(reduceSum, [g.op(activation, [g.op(embedding, [ids, table], {})], { kind: 'tanh' })], {}, 'L');
    const grads = gradients(g, L, [table]);
    const idData = idsOf(n, 7, 5);
    const tData = randn(rng(9), [7, 3]);
    const t = be.allocate([7, 3]);
    be.write(t, tData.data);
    const s = be.allocate([n]);
    be.write(s, idData.data);
    const compiled = await compileGraph(be, g, new Map<typeof table, DeviceTensor>([[table, t], [ids, s]]), [grads.get(table)!]);
    compiled.program.run();
    const got = await be.read(compiled.tensor(grads.get(table)!));
    const f = (v: Float64Array) => reference(embedding, [idData, { info: tData.info, data: v }], {})[0].reduce((acc, y) => acc + Math.tanh(y), 0);
    expectClose(got, numericGradient(f, Float64Array.from(tData.data)), { atol: 1e-4, rtol: 1e-5, why: "sums of ~90 float32 tanh' terms per row against float64 differences" }, 'd(table)');
    compiled.dispose();
    be.free(t);
    be.free(s);
  });
});
