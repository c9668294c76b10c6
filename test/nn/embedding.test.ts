import { describe, expect, it } from 'vitest';
import { dense, embedding, flatten } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import { modelFromBytes } from '../../src/nn/saving.js';
import { backends } from '../helpers/backends.js';
import { expectClose } from '../helpers/check.js';

/* Keras' Embedding: token ids → rows of a trained table. */

const quiet = { verbose: 0 as const };
/** 64 sequences of 4 ids below 6, labelled by whether id 5 occurs: a task only trained embeddings solve. */
function data() {
  const x = new Float32Array(64 * 4);
  const y = new Int32Array(64);
  for (let i = 0; i < 64; i++) {
    for (let t = 0; t < 4; t++) x[i * 4 + t] = (i * 7 + t * 3 + (i >> 3)) % 6;
    y[i] = x.subarray(i * 4, i * 4 + 4).includes(5) ? 1 : 0;
  }
  return { x: { data: x, shape: [64, 4] }, y: { data: y, shape: [64] } };
}
const net = (seed = 1) => sequential([embedding(6, 3, { inputShape: [4] }), flatten(), dense(2, { activation: 'softmax' })], { seed });

describe('embedding', () => {
  it("has Keras' defaults and refuses what it cannot take, by name", () => {
    const l = embedding(10, 4);
    expect(l.config).toMatchObject({ type: 'embedding', inputDim: 10, outputDim: 4, embeddingsInitializer: 'randomUniform', maskZero: false });
    expect(l.outputShape([7])).toEqual([7, 4]);
    expect(() => embedding(0, 4)).toThrow(/inputDim must be a positive integer, got 0/);
    expect(() => embedding(10, 4, { input_dim: 3 } as never)).toThrow(/unknown option 'input_dim'.*the first argument/);
    expect(() => embedding(10, 4, { maskZero: 1 as never })).toThrow(/maskZero must be true or false, got 1/);
  });

  it('refuses an id outside the table, or not a whole number, naming it, before anything runs', async () => {
    const m = net().compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
    await expect(m.predict({ data: Float32Array.of(0, 1, 2, 6), shape: [1, 4] })).rejects.toThrow(/predict x: embedding_\d+: 6 at position 3 is not a token id: ids are whole numbers from 0 to 5 \(inputDim 6\)/);
    await expect(m.fit({ data: Float32Array.of(0, 1.5, 2, 3), shape: [1, 4] }, { data: Int32Array.of(0), shape: [1] }, quiet)).rejects.toThrow(/fit x: .*1.5 at position 1/);
    m.dispose();
  });
});

describe.each(backends)('a model with an embedding on %s', (name) => {
  it('learns which sequences hold id 5, and a loaded file predicts the same', async () => {
    const { x, y } = data();
    const m = net().compile({ optimizer: { type: 'adam', learningRate: 0.05 }, loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'], backend: name });
    const h = await m.fit(x, y, { epochs: 40, batchSize: 16, ...quiet });
    expect(h.history.accuracy.at(-1)).toBeGreaterThan(0.95);
    const back = modelFromBytes(await m.toBytes(), 'e.safetensors').compile({ loss: 'sparseCategoricalCrossentropy', backend: name });
    expect((await back.predict(x)).data).toEqual((await m.predict(x)).data);
    m.dispose();
    back.dispose();
  });
});

describe('an embedding trains the same on both backends', () => {
  it.runIf(backends.length === 2)('the same weights after 8 steps of Adam', async () => {
    const { x, y } = data();
    const weights: Float32Array[][] = [];
    for (const [name] of backends) {
      const m = net(3).compile({ optimizer: { type: 'adam', learningRate: 0.05 }, loss: 'sparseCategoricalCrossentropy', backend: name });
      await m.fit(x, y, { epochs: 2, batchSize: 16, shuffle: false, ...quiet });
      weights.push(await m.getWeights());
      m.dispose();
    }
    weights[0].forEach((w, i) => expectClose(weights[1][i], w, { atol: 1e-5, rtol: 1e-4, why: 'float32, 8 Adam steps: summation order only' }, `weight ${i}`));
  });
});
