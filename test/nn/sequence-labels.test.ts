import { describe, expect, it } from 'vitest';
import { dense, embedding, lstm } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import { backends } from '../helpers/backends.js';
import { expectClose } from '../helpers/check.js';

/* A class for every step: a language model's output [steps, vocabulary] against labels [steps], a character model's shape. */

const quiet = { verbose: 0 as const };
/** The text 'abcabc…' as ids 0..2: each window of 6 predicts the next id at every step. */
function windows(n = 48, T = 6) {
  const x = new Float32Array(n * T);
  const y = new Int32Array(n * T);
  for (let i = 0; i < n; i++) for (let t = 0; t < T; t++) {
    x[i * T + t] = (i + t) % 3;
    y[i * T + t] = (i + t + 1) % 3;
  }
  return { x: { data: x, shape: [n, T] }, y: { data: y, shape: [n, T] } };
}
const net = () => sequential([embedding(3, 4, { inputShape: [6] }), lstm(8, { returnSequences: true }), dense(3, { activation: 'softmax' })], { seed: 5 });

describe.each(backends)('labels for every step on %s', (name) => {
  it('train a character model: the loss and accuracy are per step, and evaluate agrees with a hand count', async () => {
    const { x, y } = windows();
    const m = net().compile({ optimizer: { type: 'adam', learningRate: 0.05 }, loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'], backend: name });
    const h = await m.fit(x, y, { epochs: 15, batchSize: 16, ...quiet });
    expect(h.history.loss.at(-1)).toBeLessThan(h.history.loss[0] / 4);
    expect(h.history.accuracy.at(-1)).toBe(1);
    const logs = await m.evaluate(x, y);
    const p = (await m.predict(x)).data;
    expect(p.length).toBe(48 * 6 * 3);
    // The mean over every step of every window of −log p(next id): what evaluate reports.
    let sum = 0;
    for (let i = 0; i < 48 * 6; i++) sum -= Math.log(p[i * 3 + y.data[i]]);
    expectClose([logs.loss], [sum / (48 * 6)], { atol: 1e-5, rtol: 1e-4, why: 'float32 softmax and log against the same probabilities read back' }, 'loss');
    m.dispose();
  });
});

describe('labels and outputs that do not fit', () => {
  it('a class per step against one label per sequence is refused, saying where the steps come from', async () => {
    const { x } = windows();
    const m = net().compile({ loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
    await expect(m.fit(x, { data: new Int32Array(48), shape: [48] }, quiet)).rejects.toThrow(/takes integer class labels of shape \[48, 6\], got \[48\]; the model gives a class for each of 6 steps \(\[6, 3\] per sample\): for one class per sequence, the last recurrent layer must not return sequences/);
    const one = sequential([embedding(3, 4, { inputShape: [6] }), lstm(8), dense(3, { activation: 'softmax' })]).compile({ loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
    await expect(one.fit(x, windows().y, quiet)).rejects.toThrow(/takes integer class labels of shape \[48\], got \[48, 6\]; labels per step need a model that gives a class for every step/);
    await expect(m.fit(x, { data: new Int32Array(48 * 6).fill(3), shape: [48, 6] }, quiet)).rejects.toThrow(/label 3 at sample 0, step 0 is not a class index in \[0, 3\)/);
    m.dispose();
    one.dispose();
  });
});
