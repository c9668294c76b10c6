import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { trainGraph } from '../../src/nn/graphs.js';
import type { ModelSpec } from '../../src/nn/graphs.js';
import { dense, dropout } from '../../src/nn/layers.js';
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
    const spec: ModelSpec = { layers, inputShape: [6], params, paramCounts: [2, 0, 2], loss, metrics: [], targetShape: [], fuse: true, seed: 4 };
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
    const plain: ModelSpec = { ...spec, layers: [layers[0], layers[2]], paramCounts: [2, 2] };
    expect(trainGraph(plain, 16, makeOptimizer('sgd')).step).toBeNull();
  });
});

describe('dropout refuses what it cannot do', () => {
  it('names the option', () => {
    expect(() => dropout(1)).toThrow(/dropout_\d+: rate must be a number in \[0, 1\), got 1/);
    expect(() => dropout(-0.5)).toThrow(/rate must be a number in \[0, 1\), got -0.5/);
    expect(() => dropout(0.5, { noise_shape: [1, 6] } as never)).toThrow(/dropout: unknown option 'noise_shape'/);
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
