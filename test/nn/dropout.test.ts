import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { trainGraph } from '../../src/nn/graphs.js';
import type { ModelSpec } from '../../src/nn/graphs.js';
import { chainGraph, dense, dropout, flatten, layerFromConfig } from '../../src/nn/layers.js';
import { Graph } from '../../src/graph/graph.js';
import { reference, tensor } from '../helpers/check.js';
import { resolveLoss } from '../../src/nn/losses.js';
import { sequential } from '../../src/nn/model.js';
import { modelFromBytes } from '../../src/nn/saving.js';
import { makeOptimizer } from '../../src/optim/optimizers.js';
import { backends } from '../helpers/backends.js';
import { expectClose } from '../helpers/check.js';

const quiet = { verbose: 0 as const };

/** 96 samples of 6 features, 3 classes by which of the first three features is largest. */
function data() {
  const r = new Random(3);
  const x = r.fill(new Float32Array(96 * 6), -1, 1);
  const y = Int32Array.from({ length: 96 }, (_, i) => [0, 1, 2].reduce((best, k) => (x[i * 6 + k] > x[i * 6 + best] ? k : best), 0));
  return { x: { data: x, shape: [96, 6] }, y: { data: y, shape: [96] } };
}

const net = (rate: number | null, seed = 1) =>
  sequential([dense(32, { activation: 'relu', inputShape: [6] }), ...(rate === null ? [] : [dropout(rate)]), dense(3, { activation: 'softmax' })], { seed });

describe('dropout: a fresh mask every step, the same one forward and backward', () => {
  it('the forward and backward dropout launches read the step number, an input written each step, with one seed', () => {
    const layers = [dense(8, { activation: 'relu' }), dropout(0.5), dense(3, { activation: 'softmax' })];
    const loss = resolveLoss('sparseCategoricalCrossentropy', 'softmax');
    const params = [...layers[0].params([6]), ...layers[2].params([8])];
    const spec: ModelSpec = { graph: chainGraph(layers), inputShapes: [[6]], outputs: [{ name: 'dense', shape: [3], loss, metrics: [], targetShape: [], weight: 1 }], params, paramCounts: [2, 0, 2], fuse: true, seed: 4 };
    const step = trainGraph(spec, 16, makeOptimizer('sgd'));
    const drops = step.graph.nodes.filter((n) => n.kernel.name === 'dropout');
    expect(drops).toHaveLength(2);
    expect(step.step).toMatchObject({ role: 'input', shape: [1], dtype: 'i32' });
    for (const n of drops) expect(n.inputs[1]).toBe(step.step);
    expect(new Set(drops.map((n) => n.attrs.seed)).size).toBe(1);
    expect(drops.map((n) => n.attrs.rate)).toEqual([0.5, 0.5]);
    // The optimizer reads its rate from the step's values, another input.
    const updates = step.graph.nodes.filter((n) => n.kernel.name === 'sgd');
    expect(updates.length).toBeGreaterThan(0);
    for (const n of updates) expect(n.inputs[1]).toBe(step.stepValues);
    // Without a layer that draws per step, no step number is recorded.
    const plain: ModelSpec = { ...spec, graph: chainGraph([layers[0], layers[2]]), paramCounts: [2, 2] };
    expect(trainGraph(plain, 16, makeOptimizer('sgd')).step).toBeNull();
  });
});

describe('dropout refuses what it cannot do', () => {
  it('names the option', () => {
    expect(() => dropout(1)).toThrow(/dropout_\d+: rate must be a number in \[0, 1\), got 1/);
    expect(() => dropout(-0.5)).toThrow(/rate must be a number in \[0, 1\), got -0.5/);
    expect(() => dropout(0.5, { noise_shape: [null, 6] } as never)).toThrow(/dropout: unknown option 'noise_shape'.*noiseShape/);
    expect(() => dropout(0.5, { seed: 1.5 })).toThrow(/seed must be an integer in \[0, 2\^32\), got 1.5/);
    expect(() => dropout(0.5, { rates: 0.1 } as never)).toThrow(/unknown option 'rates'/);
  });
});

describe.each(backends)('a model with dropout on %s', (name) => {
  it('evaluate and predict pass through it: the same outputs as the model without it, given the same weights', async () => {
    const { x, y } = data();
    const withDrop = net(0.5).compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'], backend: name });
    await withDrop.fit(x, y, { epochs: 3, batchSize: 16, ...quiet });
    const plain = net(null).compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'], backend: name });
    await plain.setWeights(await withDrop.getWeights());
    expect((await withDrop.predict(x)).data).toEqual((await plain.predict(x)).data);
    expect(await withDrop.evaluate(x, y)).toEqual(await plain.evaluate(x, y));
    // Predicting twice gives the same answer: no mask at inference.
    expect((await withDrop.predict(x)).data).toEqual((await withDrop.predict(x)).data);
    withDrop.dispose();
    plain.dispose();
  });

  it('training with it differs from training without, still learns, and rate 0 changes nothing', async () => {
    const { x, y } = data();
    const fit = async (rate: number | null) => {
      const m = net(rate).compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', backend: name });
      const h = await m.fit(x, y, { epochs: 8, batchSize: 16, shuffle: false, ...quiet });
      const w = await m.getWeights();
      m.dispose();
      return { loss: h.history.loss, w };
    };
    const [plain, zero, half] = [await fit(null), await fit(0), await fit(0.5)];
    expect(zero.loss).toEqual(plain.loss);
    zero.w.forEach((w, i) => expect(Array.from(w)).toEqual(Array.from(plain.w[i])));
    expect(half.loss[7]).toBeLessThan(half.loss[0]);
    expect(Math.abs(half.loss[7] - plain.loss[7])).toBeGreaterThan(1e-3);
  });

  it('fused and unfused training give the same losses: the masks do not depend on how the launches are grouped', async () => {
    const { x, y } = data();
    const fit = async (fuse: boolean) => {
      const m = net(0.4, 3).compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', backend: name, fuse });
      const h = await m.fit(x, y, { epochs: 3, batchSize: 16, shuffle: false, ...quiet });
      m.dispose();
      return h.history.loss;
    };
    expectClose(await fit(false), await fit(true), { atol: 0, rtol: 1e-5, why: 'fused and unfused float32 sums in different orders, 18 steps' }, 'loss');
  });

  it('saves and loads with its rate and seed; summary names it Dropout', async () => {
    const m = sequential([dense(4, { inputShape: [6] }), dropout(0.25, { seed: 9, name: 'drop' }), dense(3, { activation: 'softmax' })], { seed: 2 });
    m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', backend: name });
    const { x, y } = data();
    await m.fit(x, y, { epochs: 1, ...quiet });
    const lines: string[] = [];
    m.summary((l) => lines.push(l));
    expect(lines.join('\n')).toMatch(/drop \(Dropout\) +\(None, 4\) +0/);
    const back = modelFromBytes(await m.toBytes(), 'drop.safetensors');
    expect(back.layers[1].config).toEqual({ type: 'dropout', name: 'drop', activation: 'linear', rate: 0.25, seed: 9 });
    m.dispose();
    back.dispose();
  });
});

describe('dropout trains the same on both backends', () => {
  it.runIf(backends.length === 2)('the masks are the CPU reference\'s on WebGPU, step after step: the same losses', async () => {
    const { x, y } = data();
    const losses: number[][] = [];
    for (const [name] of backends) {
      const m = net(0.5, 7).compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', backend: name });
      losses.push((await m.fit(x, y, { epochs: 6, batchSize: 16, shuffle: false, ...quiet })).history.loss);
      m.dispose();
    }
    // 36 steps of float32 sums in different orders (as test/nn/agreement.test.ts): a mask that differed at one
    // step would move the epoch's loss by far more.
    expectClose(losses[1], losses[0], { atol: 0, rtol: 1e-4, why: 'float32, sums in different orders, over 36 steps' }, 'loss');
  });
});

describe("dropout's noiseShape (Keras' noise_shape)", () => {
  it('refuses a noise shape that is malformed, does not fit the samples, or shares axes that are not adjacent, naming it', () => {
    expect(() => dropout(0.5, { noiseShape: [null] })).toThrow(/dropout: noiseShape must be a list like \[null, 1, 64\]/);
    expect(() => dropout(0.5, { noiseShape: [32, 1, 4] })).toThrow(/noiseShape must be a list like \[null, 1, 64\]: the batch axis first \(null, or 1 for one mask across the batch\).*got \[32,1,4\]/);
    expect(() => dropout(0.5, { noiseShape: [null, 0, 4] })).toThrow(/got \[null,0,4\]/);
    expect(() => dropout(0.5, { noiseShape: [null, 3, 4], name: 'd' }).outputShape([5, 4])).toThrow(/d: noiseShape \[null,3,4\] does not fit samples \[5, 4\]: .* e\.g\. \[null, 1, 4\]/);
    expect(() => dropout(0.5, { noiseShape: [null, 1], name: 'd' }).outputShape([5, 4])).toThrow(/d: noiseShape \[null,1\] does not fit samples \[5, 4\]/);
    expect(() => dropout(0.5, { noiseShape: [null, 1, 5, 1], name: 'd' }).outputShape([3, 5, 4])).toThrow(/d: noiseShape \[2,1,5,1\] shares axes that are not adjacent \(1, 3\)/);
    expect(dropout(0.5, { noiseShape: [null, 1, null] }).outputShape([5, 4])).toEqual([5, 4]);
    // From a file, checked as the option is.
    expect(() => layerFromConfig({ ...dropout(0.5, { name: 'f' }).config, noiseShape: [null, 'a'] } as never)).toThrow(/f: noiseShape must be a list like \[null, 1, 64\]/);
  });

  it('in training, one mask bit per (sample, feature) for every step, drawn as the op draws it; in inference, nothing', () => {
    const layer = dropout(0.5, { noiseShape: [null, 1, null], seed: 3 });
    const record = (training: boolean) => {
      const g = new Graph();
      const x = g.input('x', [6, 7, 5]);
      const step = g.input('step', [1], 'i32');
      const y = layer.forward(g, x, [], { skipActivation: false, training, seed: 1, step: () => step, addLoss: () => {} });
      return { g, x, y };
    };
    expect(record(false).g.nodes).toHaveLength(0);
    const { g } = record(true);
    expect(g.nodes.map((n) => [n.kernel.name, n.attrs])).toEqual([['dropout', { rate: 0.5, seed: 3, noiseShape: [6, 1, 5] }]]);
    const [y] = reference(g.nodes[0].kernel, [tensor([6, 7, 5], new Float32Array(210).fill(1)), tensor([1], [4], 'i32')], g.nodes[0].attrs);
    for (let b = 0; b < 6; b++) for (let t = 1; t < 7; t++) for (let f = 0; f < 5; f++) expect(y[(b * 7 + t) * 5 + f]).toBe(y[b * 35 + f]);
    expect(new Set(y)).toEqual(new Set([0, 2]));
  });

  it.each(backends)('on %s: a model trains with it, predicts as the model without it, and saves it', async (name) => {
    const r = new Random(5);
    const x = { data: r.fill(new Float32Array(32 * 4 * 3), -1, 1), shape: [32, 4, 3] };
    const y = { data: Int32Array.from({ length: 32 }, (_, i) => (x.data[i * 12] > 0 ? 1 : 0)), shape: [32] };
    const make = (drop: boolean) =>
      sequential([dense(6, { activation: 'relu', inputShape: [4, 3] }), ...(drop ? [dropout(0.4, { noiseShape: [null, 1, 6] })] : []), flatten(), dense(2, { activation: 'softmax' })], { seed: 2 });
    const m = make(true).compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', backend: name });
    const h = await m.fit(x, y, { epochs: 2, batchSize: 8, ...quiet });
    expect(h.history.loss.every(Number.isFinite)).toBe(true);
    const plain = make(false).compile({ loss: 'sparseCategoricalCrossentropy', backend: name });
    await plain.setWeights(await m.getWeights());
    expect(Array.from((await m.predict(x)).data)).toEqual(Array.from((await plain.predict(x)).data));
    const back = modelFromBytes(await m.toBytes(), 'noise.safetensors');
    expect(back.layers[1].config).toMatchObject({ type: 'dropout', rate: 0.4, noiseShape: [null, 1, 6] });
    m.dispose();
    plain.dispose();
    back.dispose();
  });
});
