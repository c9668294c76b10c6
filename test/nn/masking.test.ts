import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import type { Layer } from '../../src/nn/layers.js';
import { dense, dropout, embedding, flatten, gru, layerFromConfig, lstm, simpleRNN, withFileDefaults } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import { modelFromBytes } from '../../src/nn/saving.js';
import { backends } from '../helpers/backends.js';
import { expectClose } from '../helpers/check.js';

/*
 * Keras' masking end to end: an Embedding with maskZero makes a mask of the
 * padded steps (id 0), the layers after it hand it on or consume it, and the
 * loss and metrics of a class per step count only the real steps. Each check
 * against the same sequences unpadded, run by a model without a mask.
 */

const quiet = { verbose: 0 as const };
const V = 7;
const T = 6;
/** Real lengths: every sample has 2, 4 or 6 real steps (ids 1..6), the rest padding (0). */
const LENGTHS = [2, 4, 6, 4, 2, 6, 6, 2, 4, 2, 4, 6];

function data(seed: number, pre: boolean) {
  const r = new Random(seed);
  const n = LENGTHS.length;
  const seqs = LENGTHS.map((L) => Array.from({ length: L }, () => 1 + r.int(V - 1)));
  const labels = LENGTHS.map((L) => Array.from({ length: L }, () => r.int(V)));
  const x = new Float32Array(n * T);
  const y = new Int32Array(n * T);
  seqs.forEach((s, i) => s.forEach((id, t) => (x[i * T + (pre ? T - s.length : 0) + t] = id)));
  // Labels at padded steps are noise: a masked loss must not see them.
  labels.forEach((l, i) => l.forEach((c, t) => (y[i * T + t] = c)));
  for (let i = 0; i < n; i++) for (let t = LENGTHS[i]; t < T; t++) y[i * T + t] = r.int(V);
  return { seqs, labels, x: { data: x, shape: [n, T] }, y: { data: y, shape: [n, T] } };
}

type Make = (units: number, o?: object) => Layer;
const CELLS: [string, Make][] = [['lstm', lstm], ['gru', gru], ['simpleRNN', simpleRNN]];

describe.each(backends)('maskZero on %s', (backend) => {
  it.each(CELLS)('%s, a class per step: the loss and accuracy of a padded batch are those of the real steps alone, in evaluate and in fit', async (_k, make) => {
    const { seqs, labels, x, y } = data(1, false);
    // Dropout hands the mask on; at rate 0 fit's figure is evaluate's, which the by-hand loss checks.
    const build = (steps: number, maskZero: boolean, rate = 0) =>
      sequential([embedding(V, 5, { maskZero, inputShape: [steps] }), make(8, { returnSequences: true }), dropout(rate), dense(V, { activation: 'softmax' })], { seed: 3 }).compile({
        optimizer: 'sgd',
        loss: 'sparseCategoricalCrossentropy',
        metrics: ['accuracy'],
        backend,
      });
    const padded = build(T, true);
    const ev = await padded.evaluate(x, y, { batchSize: 16 });
    const weights = await padded.getWeights();
    // By hand: every real step of every sequence, through a model without a mask on exactly those steps.
    let loss = 0;
    let right = 0;
    let count = 0;
    for (const L of new Set(LENGTHS)) {
      const m = build(L, false);
      m.setWeights(weights);
      const idx = LENGTHS.flatMap((l, i) => (l === L ? [i] : []));
      const p = await m.predict({ data: Float32Array.from(idx.flatMap((i) => seqs[i])), shape: [idx.length, L] });
      idx.forEach((i, k) =>
        labels[i].forEach((c, t) => {
          const row = Array.from(p.data.subarray((k * L + t) * V, (k * L + t + 1) * V));
          loss -= Math.log(row[c]);
          right += row.indexOf(Math.max(...row)) === c ? 1 : 0;
          count++;
        }),
      );
      m.dispose();
    }
    const tol = { atol: 1e-6, rtol: 1e-5, why: 'float32 losses summed over 48 steps against a float64 sum of the same probabilities' };
    expectClose([ev.loss], [loss / count], tol, 'evaluate loss');
    expect(ev.accuracy).toBeCloseTo(right / count, 6);
    // fit's first figure is the loss before its one step (one batch of everything).
    const h = await padded.fit(x, y, { epochs: 1, batchSize: 16, shuffle: false, ...quiet });
    expectClose([h.history.loss[0]], [loss / count], tol, 'fit loss');
    padded.dispose();
    // The labels at padded steps change nothing in training (dropout on): the same weights with other noise there.
    const y2 = { data: Int32Array.from(y.data, (c, k) => (k % T >= LENGTHS[Math.floor(k / T)] ? (c + 1) % V : c)), shape: y.shape };
    const trained: Float32Array[][] = [];
    for (const labelsNow of [y, y2]) {
      const m = build(T, true, 0.3);
      await m.fit(x, labelsNow, { epochs: 2, batchSize: 8, shuffle: false, ...quiet });
      trained.push(await m.getWeights());
      m.dispose();
    }
    trained[0].forEach((w, i) => expect(Array.from(trained[1][i])).toEqual(Array.from(w)));
  });

  it.each(CELLS)('%s, a class per sentence: padded sentences (before or after) predict as the unpadded ones', async (_k, make) => {
    for (const pre of [true, false]) {
      const { seqs, x } = data(2, pre);
      const build = (steps: number, maskZero: boolean) =>
        sequential([embedding(V, 4, { maskZero, inputShape: [steps] }), make(6), dense(3, { activation: 'softmax' })], { seed: 5 }).compile({ loss: 'sparseCategoricalCrossentropy', backend });
      const padded = build(T, true);
      const got = (await padded.predict(x)).data;
      for (const L of new Set(LENGTHS)) {
        const m = build(L, false);
        m.setWeights(await padded.getWeights());
        const idx = LENGTHS.flatMap((l, i) => (l === L ? [i] : []));
        const want = (await m.predict({ data: Float32Array.from(idx.flatMap((i) => seqs[i])), shape: [idx.length, L] })).data;
        const tol = { atol: 1e-6, rtol: 1e-5, why: 'the same float32 steps; only the padded batch\'s shapes (and so the kernels\' tiling) differ' };
        expectClose(Float32Array.from(idx.flatMap((i) => Array.from(got.subarray(i * 3, i * 3 + 3)))), want, tol, `${pre ? 'pre' : 'post'}-padded, length ${L}`);
        m.dispose();
      }
      // The model file keeps maskZero.
      const back = modelFromBytes(await padded.toBytes(), 'masked.safetensors').compile({ loss: 'sparseCategoricalCrossentropy', backend });
      expect(back.layers[0].config).toMatchObject({ maskZero: true });
      expect((await back.predict(x)).data).toEqual(got);
      back.dispose();
      padded.dispose();
    }
  });
});

describe('maskZero refusals and defaults', () => {
  it('a layer that cannot take the mask is refused by name as the model is built', () => {
    expect(() => sequential([embedding(5, 3, { maskZero: true, inputShape: [4] }), flatten({ name: 'flat' }), dense(2)])).toThrow(
      /flat: cannot take the mask of embedding_1 \(maskZero\); a flatten layer would mix padded steps with real ones\. Put a recurrent layer without returnSequences/,
    );
    // After a recurrent layer that consumes it, anything goes; without maskZero, too.
    expect(() => sequential([embedding(5, 3, { maskZero: true, inputShape: [4] }), lstm(3), dense(2)])).not.toThrow();
    expect(() => sequential([embedding(5, 3, { inputShape: [4] }), flatten(), dense(2)])).not.toThrow();
  });

  it('a mask carried into a loss that is not per step is refused, saying what to do', async () => {
    const m = sequential([embedding(5, 3, { maskZero: true, inputShape: [4] }), lstm(3, { returnSequences: true }), dense(1)]).compile({ loss: 'meanSquaredError', backend: 'cpu' });
    const x = { data: Float32Array.from([1, 2, 0, 0, 3, 1, 2, 0]), shape: [2, 4] };
    await expect(m.fit(x, { data: new Float32Array(8), shape: [2, 4] }, quiet)).rejects.toThrow(/still carries the mask of padded steps \(maskZero\) into a meanSquaredError loss/);
    m.dispose();
  });

  it('a file without maskZero reads as false; the option help no longer says it is unsupported', () => {
    expect(layerFromConfig(withFileDefaults({ type: 'embedding', name: 'e', inputDim: 3, outputDim: 2 } as never)).config).toMatchObject({ maskZero: false });
    expect(() => embedding(3, 2, { maskZero: 'yes' as never })).toThrow(/maskZero/);
    expect(embedding(3, 2, { maskZero: true }).masking).toBe('make');
  });
});
