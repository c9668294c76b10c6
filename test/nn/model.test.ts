import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { earlyStopping } from '../../src/nn/callbacks.js';
import { dense } from '../../src/nn/layers.js';
import { Model, Sequential, sequential } from '../../src/nn/model.js';
import { loadModel } from '../../src/nn/saving.js';
import { backends } from '../helpers/backends.js';
import { blobs } from '../helpers/blobs.js';

const quiet = { verbose: 0 as const };


function mlp(backend: 'cpu' | 'webgpu', seed = 1) {
  return sequential([dense(16, { activation: 'relu', inputShape: [4] }), dense(3, { activation: 'softmax' })], { seed }).compile({
    optimizer: 'adam',
    loss: 'sparseCategoricalCrossentropy',
    metrics: ['accuracy'],
    backend,
  });
}

describe.each(backends)('Sequential on %s', (name) => {
  const models: Model[] = [];
  afterAll(() => models.forEach((m) => m.dispose()));
  const track = (m: Model) => (models.push(m), m);

  it('fits a linear regression y = 2x + 1 + noise by full-batch gradient descent, recovering w and b to 0.05', async () => {
    const r = new Random(5);
    const n = 100;
    const x = Float32Array.from({ length: n }, () => r.uniform(-1, 1));
    const y = x.map((v) => 2 * v + 1 + r.normal(0, 0.1));
    const model = track(sequential([dense(1, { inputShape: [1] })], { seed: 3 }).compile({ optimizer: { type: 'sgd', learningRate: 0.1 }, loss: 'meanSquaredError', backend: name }));
    const h = await model.fit({ data: x, shape: [n, 1] }, { data: y, shape: [n, 1] }, { epochs: 300, batchSize: n, ...quiet });
    const [w, b] = await model.getWeights();
    expect(Math.abs(w[0] - 2)).toBeLessThan(0.05);
    expect(Math.abs(b[0] - 1)).toBeLessThan(0.05);
    expect(h.history.loss[299]).toBeLessThan(h.history.loss[0]);
  });

  it('learns a classification with stochastic, mini-batch and full-batch descent', async () => {
    const { x, y } = blobs(300, 2);
    for (const batchSize of [1, 32, 300]) {
      const model = track(mlp(name));
      const epochs = batchSize === 300 ? 150 : batchSize === 1 ? 2 : 15;
      const h = await model.fit(x, y, { epochs, batchSize, ...quiet });
      expect(h.history.loss.at(-1)!, `batch ${batchSize}`).toBeLessThan(h.history.loss[0]);
      // The history's accuracy is a running average over an epoch of updates; judge the trained model.
      const ev = await model.evaluate(x, y);
      expect(ev.accuracy, `batch ${batchSize}`).toBeGreaterThan(0.9);
    }
  });

  it('predicts probabilities that sum to one, consistent with evaluate', async () => {
    const { x, y } = blobs(90, 3);
    const model = track(mlp(name));
    await model.fit(x, y, { epochs: 5, batchSize: 16, ...quiet });
    const p = await model.predict(x, { batchSize: 7 });
    expect(p.shape).toEqual([90, 3]);
    let correct = 0;
    for (let i = 0; i < 90; i++) {
      const row = Array.from(p.data.subarray(i * 3, i * 3 + 3));
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      if (row.indexOf(Math.max(...row)) === y.data[i]) correct++;
    }
    expect((await model.evaluate(x, y, { batchSize: 13 })).accuracy).toBeCloseTo(correct / 90, 6);
  });

  it('holds out the last fraction for validation and stops early', async () => {
    const { x, y } = blobs(200, 4);
    const model = track(mlp(name));
    const stop = earlyStopping({ monitor: 'val_loss', patience: 2, minDelta: 10, restoreBestWeights: true });
    const h = await model.fit(x, y, { epochs: 50, batchSize: 20, validationSplit: 0.25, callbacks: [stop], ...quiet });
    // A minDelta of 10 can never be met: it stops after 1 + patience epochs and restores epoch 0's weights.
    expect(h.epoch).toEqual([0, 1, 2]);
    expect(h.history.val_loss).toHaveLength(3);
    expect(stop.stoppedEpoch).toBe(2);
    const val = { data: x.data.subarray(150 * 4), shape: [50, 4] };
    const ev = await model.evaluate(val, { data: y.data.subarray(150), shape: [50] });
    expect(ev.loss).toBeCloseTo(h.history.val_loss[0], 4);
  });

  it('saves and loads weights and optimizer state, and training resumes where it stopped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'webgrad-'));
    try {
      const { x, y } = blobs(120, 6);
      const a = track(mlp(name));
      const b = track(mlp(name));
      await a.fit(x, y, { epochs: 2, batchSize: 40, shuffle: false, ...quiet });
      await b.fit(x, y, { epochs: 2, batchSize: 40, shuffle: false, ...quiet });
      await a.save(join(dir, 'm.safetensors'));
      const c = track(await (name === 'cpu' ? loadModel : Sequential.load)(join(dir, 'm.safetensors')));
      const [hb, hc] = [await b.fit(x, y, { epochs: 1, batchSize: 40, shuffle: false, ...quiet }), await c.fit(x, y, { epochs: 1, batchSize: 40, shuffle: false, ...quiet })];
      // Same weights, same Adam moments and step: the next epoch is the same.
      expect(hc.history.loss[0]).toBeCloseTo(hb.history.loss[0], 5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad input with a message that names the problem', async () => {
    expect(() => dense(3, { activation: 'relux' })).toThrow(/dense: activation "relux" is unknown \(did you mean 'relu'\?\); known: linear, relu/);
    expect(() => sequential([dense(3, { inputShape: [4] })]).compile({ loss: 'crossEntropyy' })).toThrow(/unknown loss 'crossEntropyy'/);
    expect(() => sequential([dense(3, { activation: 'relu', inputShape: [4] })]).compile({ loss: 'sparseCategoricalCrossentropy' })).toThrow(/expects the last layer's activation to be 'softmax' or 'linear'/);
    const model = track(mlp(name));
    await expect(model.fit({ data: new Float32Array(10), shape: [2, 5] }, [0, 1], quiet)).rejects.toThrow(/takes 4 features per sample, got \[2, 5\]/);
    await expect(model.fit({ data: Float32Array.of(0, 1, NaN, 3), shape: [1, 4] }, [0], quiet)).rejects.toThrow(/NaN at sample 0, feature 2/);
    await expect(model.fit({ data: new Float32Array(8), shape: [2, 4] }, [0, 3], quiet)).rejects.toThrow(/label 3 at sample 1 is not a class index in \[0, 3\)/);
    await expect(model.fit({ data: new Float32Array(8), shape: [2, 4] }, [[1, 0, 0], [0, 1, 0]], quiet)).rejects.toThrow(/one-hot targets go with categoricalCrossentropy/);
  });
});

describe('model summary', () => {
  it('prints layers, output shapes and parameter counts like Keras', () => {
    const m = new Sequential([dense(128, { activation: 'relu', inputShape: [784], name: 'hidden' }), dense(10, { activation: 'softmax', name: 'out' })]);
    const text = m.summary(() => {});
    expect(text).toContain(' hidden (Dense)              (None, 128)               100,480');
    expect(text).toContain(' out (Dense)                 (None, 10)                1,290');
    expect(text).toContain('Total params: 101,770');
  });
});
