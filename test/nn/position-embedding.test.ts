import { describe, expect, it } from 'vitest';
import { dense, embedding, flatten, lstm, maskCarried, positionEmbedding } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import { modelFromBytes } from '../../src/nn/saving.js';
import { layersFromSpec, parseSpec, SPEC_HELP } from '../../src/nn/spec.js';
import { backends } from '../helpers/backends.js';
import { expectClose } from '../helpers/check.js';
import { Random } from '../../src/core/random.js';

/*
 * keras-nlp's PositionEmbedding: a learned table [sequenceLength, features];
 * on [batch, steps, features] it gives the first `steps` rows for every
 * sample (not the input plus them), and its gradient sums over the batch.
 */

const quiet = { verbose: 0 as const };
const [B, T, F] = [3, 4, 2];
/** Inputs whose values the layer must ignore. */
const noise = (n: number, t = T) => ({ data: Float32Array.from({ length: n * t * F }, (_, i) => Math.sin(i) * 9), shape: [n, t, F] });
/** A table with a value for each (row, feature) that shows where it went. */
const tableOf = (S: number) => Float32Array.from({ length: S * F }, (_, i) => 0.1 * (i + 1) * (i % 2 ? -1 : 1));

describe('positionEmbedding', () => {
  it("has keras-nlp's defaults and weight name, and refuses what it cannot take, by name", () => {
    const l = positionEmbedding({ sequenceLength: 6 });
    expect(l.config).toMatchObject({ type: 'positionEmbedding', sequenceLength: 6, initializer: 'glorotUniform', activation: 'linear' });
    expect(l.outputShape([4, 3])).toEqual([4, 3]);
    expect(l.params([4, 3]).map((p) => [p.name.replace(/^.*\//, ''), p.shape])).toEqual([['embeddings', [6, 3]]]);
    expect(l.masking).toBe('pass');
    expect(() => positionEmbedding({} as never)).toThrow(/sequenceLength is required/);
    expect(() => positionEmbedding({ sequenceLength: 0 })).toThrow(/sequenceLength must be a whole number >= 1, got 0/);
    expect(() => positionEmbedding({ sequenceLength: 2.5 })).toThrow(/sequenceLength must be a whole number/);
    expect(() => positionEmbedding({ sequenceLenght: 4 } as never)).toThrow(/unknown option 'sequenceLenght' \(did you mean 'sequenceLength'\?\)/);
    expect(() => positionEmbedding({ sequence_length: 4 } as never)).toThrow(/unknown option 'sequence_length'; webgrad calls it sequenceLength/);
    expect(() => positionEmbedding({ sequenceLength: 4, initializer: 'glorot' })).toThrow(/initializer must be one of .*glorotUniform/);
    expect(() => l.outputShape([7, 3])).toThrow(/the input has 7 steps, more than sequenceLength 6; build the layer with sequenceLength ≥ 7/);
    expect(() => l.outputShape([12])).toThrow(/positionEmbedding takes sequences \[steps, features\], got \[12\]/);
  });

  it('a model refuses sequences longer than sequenceLength by name, before anything runs', async () => {
    const m = sequential([positionEmbedding({ sequenceLength: 3 })], { inputShape: [4, 2] }).compile({ loss: 'meanSquaredError', backend: 'cpu' });
    await expect(m.predict(noise(1))).rejects.toThrow(/the input has 4 steps, more than sequenceLength 3/);
    m.dispose();
  });

  it('draws its table Glorot-uniform over [sequenceLength, features], as keras-nlp', () => {
    const [spec] = positionEmbedding({ sequenceLength: 50 }).params([10, 30]);
    const w = spec.init(new Random(2));
    const limit = Math.fround(Math.sqrt(6 / (50 + 30)));
    expect(w.length).toBe(50 * 30);
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(limit);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.99 * limit);
  });

  it('passes the mask of padded steps on, to a recurrent layer after it', () => {
    const e = embedding(5, 2, { maskZero: true });
    expect(maskCarried([e, positionEmbedding({ sequenceLength: 4 })])).toBe(e);
    expect(maskCarried([e, positionEmbedding({ sequenceLength: 4 }), lstm(3)])).toBeNull();
    expect(() => maskCarried([e, positionEmbedding({ sequenceLength: 4 }), flatten()])).toThrow(/cannot take the mask of/);
  });

  it("the 'posembed' token is as long as the sequences reaching it, and help names it", () => {
    const layers = layersFromSpec(parseSpec('embed8,posembed,lstm4'), { activation: 'relu', inputShape: [6], vocabulary: 9 });
    expect(layers.map((l) => l.config.type)).toEqual(['embedding', 'positionEmbedding', 'lstm']);
    expect(layers[1].config).toMatchObject({ sequenceLength: 6, name: 'hidden_2' });
    // Square flat data read as rows: 28 steps of 28.
    expect(layersFromSpec(parseSpec('posembed,rnn4'), { activation: 'relu', inputShape: [784] })[1].config).toMatchObject({ type: 'positionEmbedding', sequenceLength: 28 });
    expect(() => layersFromSpec(parseSpec('posembed,8'), { activation: 'relu', inputShape: [10] })).toThrow(/'posembed' needs sequences, but the layers before it give flat vectors/);
    expect(SPEC_HELP).toMatch(/posembed {4}learned positions/);
  });
});

describe.each(backends)('positionEmbedding on %s', (name) => {
  it.each([
    [6, 'steps < sequenceLength'],
    [T, 'steps = sequenceLength'],
  ])('sequenceLength %i (%s): the first rows for every sample; one SGD step of MSE moves them as by hand; a file predicts the same', async (S) => {
    const m = sequential([positionEmbedding({ sequenceLength: S, inputShape: [T, F] }), flatten()], { seed: 1 }).compile({ optimizer: { type: 'sgd', learningRate: 0.5 }, loss: 'meanSquaredError', backend: name });
    const table = tableOf(S);
    m.setWeights([table]);
    const x = noise(B);
    const y = await m.predict(x);
    expect(y.shape).toEqual([B, T * F]);
    for (let b = 0; b < B; b++) expect(Array.from(y.data.slice(b * T * F, (b + 1) * T * F))).toEqual(Array.from(table.slice(0, T * F)));
    // MSE over the T·F outputs, averaged over the batch: d(table[t, f]) = Σ_b 2 (table[t, f] − target[b, t, f]) / (B·T·F); rows past T get none.
    const target = Float32Array.from({ length: B * T * F }, (_, i) => Math.cos(i));
    await m.fit(x, { data: target, shape: [B, T * F] }, { epochs: 1, batchSize: B, shuffle: false, ...quiet });
    const want = Float64Array.from(table, (w, j) => {
      if (j >= T * F) return w;
      let d = 0;
      for (let b = 0; b < B; b++) d += (2 * (w - target[b * T * F + j])) / (B * T * F);
      return w - 0.5 * d;
    });
    const [got] = await m.getWeights();
    expectClose(got, want, { atol: 1e-6, rtol: 1e-6, why: 'a float32 sum of 3 terms of order 1 and one SGD update' }, 'table after one step');
    const back = modelFromBytes(await m.toBytes(), 'p.safetensors').compile({ loss: 'meanSquaredError', backend: name });
    expect(back.layers[0].config).toEqual(m.layers[0].config);
    expect((await back.predict(noise(2))).data).toEqual((await m.predict(noise(2))).data);
    m.dispose();
    back.dispose();
  });

  it('steps fewer than the table: the gradient of a nonlinear head matches central differences of evaluate', async () => {
    const S = 7;
    const m = sequential([positionEmbedding({ sequenceLength: S, inputShape: [T, F] }), flatten(), dense(2, { activation: 'tanh' })], { seed: 3 }).compile({ optimizer: { type: 'sgd', learningRate: 1 }, loss: 'meanSquaredError', backend: name });
    const x = noise(B);
    await m.predict(x);
    const weights = await m.getWeights();
    const target = { data: Float32Array.from({ length: B * 2 }, (_, i) => Math.sin(3 * i)), shape: [B, 2] };
    const loss = async (table: Float32Array) => {
      m.setWeights([table, ...weights.slice(1)]);
      return (await m.evaluate(x, target)).loss as number;
    };
    const eps = 1e-2;
    const numeric = new Float64Array(S * F);
    for (let j = 0; j < S * F; j++) {
      const [up, down] = [Float32Array.from(weights[0]), Float32Array.from(weights[0])];
      up[j] += eps;
      down[j] -= eps;
      numeric[j] = ((await loss(up)) - (await loss(down))) / (2 * eps);
    }
    m.setWeights(weights);
    await m.fit(x, target, { epochs: 1, batchSize: B, shuffle: false, ...quiet });
    const [after] = await m.getWeights();
    const grad = Float64Array.from(after, (w, j) => weights[0][j] - w);
    // float32 losses of order 1 differenced over 2·eps (error ~1e-7/0.02) plus the curvature's eps² term.
    expectClose(grad, numeric, { atol: 2e-4, rtol: 1e-3, why: 'central differences of float32 losses at eps 1e-2' }, 'd(table)');
    expect(Array.from(grad.slice(T * F))).toEqual(new Array((S - T) * F).fill(0));
    m.dispose();
  });

  it('after an embedding in a Sequential chain it replaces the tokens; the embedding gets zero gradients and stays', async () => {
    const m = sequential([embedding(5, F, { inputShape: [T] }), positionEmbedding({ sequenceLength: T }), flatten(), dense(2)], { seed: 4 }).compile({ optimizer: 'sgd', loss: 'meanSquaredError', backend: name });
    const ids = { data: Float32Array.from({ length: B * T }, (_, i) => i % 5), shape: [B, T] };
    await m.predict(ids);
    const before = await m.getWeights();
    await m.fit(ids, { data: new Float32Array(B * 2).fill(1), shape: [B, 2] }, { epochs: 1, batchSize: B, ...quiet });
    const after = await m.getWeights();
    expect(after[0]).toEqual(before[0]);
    expect(after[1]).not.toEqual(before[1]);
    m.dispose();
  });
});
