import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import type { Layer } from '../../src/nn/layers.js';
import { bidirectional, dense, embedding, flatten, gru, lstm, simpleRNN } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import { backends } from '../helpers/backends.js';
import { expectClose } from '../helpers/check.js';

/*
 * A mask of padded steps (an Embedding's maskZero) through a Bidirectional
 * layer: both halves skip the padded steps (Keras passes the mask to both),
 * so a padded sentence gives what the same sentence unpadded gives; with
 * returnSequences the padded steps' outputs are zeros (Keras' Bidirectional
 * sets zero_output_for_mask on its halves) and the mask goes on.
 */
const V = 7;
const T = 6;
const LENGTHS = [2, 4, 6, 3, 1];

/** Sentences of ids 1..6, and the same padded with 0 to T steps, before (pre) or after them. */
function sentences(pre: boolean) {
  const r = new Random(9);
  const seqs = LENGTHS.map((L) => Array.from({ length: L }, () => 1 + r.int(V - 1)));
  const x = new Float32Array(LENGTHS.length * T);
  seqs.forEach((s, i) => s.forEach((id, t) => (x[i * T + (pre ? T - s.length : 0) + t] = id)));
  return { seqs, x: { data: x, shape: [LENGTHS.length, T] } };
}

/** The model's prediction of each sentence alone, unpadded, by a model without a mask on its own length with the same weights. */
async function unpadded(layers: (steps: number, maskZero: boolean) => Layer[], weights: Float32Array[], seqs: number[][], backend: (typeof backends)[number][0]) {
  const out: Float32Array[] = [];
  for (const s of seqs) {
    const m = sequential(layers(s.length, false), { seed: 1 }).compile({ loss: 'meanSquaredError', backend });
    m.setWeights(weights);
    out.push((await m.predict({ data: Float32Array.from(s), shape: [1, s.length] })).data as Float32Array);
    m.dispose();
  }
  return out;
}

// The masked kernels and the unmasked ones on shorter sequences run the same float32 operations in the same order.
const SAME = { atol: 1e-6, rtol: 1e-5, why: 'the same float32 steps; the merge and head add no reordering' };

describe.each(backends)('bidirectional with a mask on %s', (backend) => {
  it.each([[false], [true]])('padded sentences (pre %s) predict as unpadded ones through stacked bidirectional layers', async (pre) => {
    const layers = (steps: number, maskZero: boolean) => [
      embedding(V, 3, { maskZero, inputShape: [steps] }),
      bidirectional(lstm(4, { returnSequences: true }), { mergeMode: 'sum' }),
      bidirectional(gru(3)),
      dense(2, { activation: 'softmax' }),
    ];
    const { seqs, x } = sentences(pre);
    const m = sequential(layers(T, true), { seed: 1 }).compile({ loss: 'meanSquaredError', backend });
    const got = (await m.predict(x)).data as Float32Array;
    const want = await unpadded(layers, await m.getWeights(), seqs, backend);
    want.forEach((w, i) => expectClose(got.subarray(i * 2, i * 2 + 2), w, SAME, `sentence ${i} (${seqs[i].length} of ${T} steps real)`));
    m.dispose();
  });

  // Padding first: with the forward half reading backwards the output's steps run backwards (Keras), so the real steps come first.
  it.each([[false], [true]])('with returnSequences (forward half backwards: %s), padded steps give zeros and real steps what the unpadded sentence gives', async (goBackwards) => {
    const layers = (steps: number, maskZero: boolean) => [embedding(V, 3, { maskZero, inputShape: [steps] }), bidirectional(simpleRNN(2, { returnSequences: true, goBackwards }))];
    const { seqs, x } = sentences(true);
    const m = sequential(layers(T, true), { seed: 2 }).compile({ loss: 'meanSquaredError', backend });
    const got = (await m.predict(x)).data as Float32Array;
    const want = await unpadded(layers, await m.getWeights(), seqs, backend);
    seqs.forEach((s, i) => {
      const row = got.subarray(i * T * 4, (i + 1) * T * 4);
      const pad = (T - s.length) * 4;
      const [padding, real] = goBackwards ? [row.subarray(s.length * 4), row.subarray(0, s.length * 4)] : [row.subarray(0, pad), row.subarray(pad)];
      // x · 0 is −0 for a negative x: compared as numbers.
      expect(Array.from(padding, (v) => v === 0), `sentence ${i}: its padding is 0`).toEqual(new Array(pad).fill(true));
      expectClose(real, want[i], SAME, `sentence ${i}: its real steps`);
    });
    m.dispose();
  });

  it('a layer that cannot take the mask after one with returnSequences is refused by name; one giving its last states consumes it', () => {
    expect(() => sequential([embedding(V, 3, { maskZero: true, inputShape: [T] }), bidirectional(lstm(2, { returnSequences: true }), { name: 'bi' }), flatten({ name: 'flat' }), dense(2)])).toThrow(/flat: cannot take the mask of embedding_1 \(maskZero\)/);
    expect(() => sequential([embedding(V, 3, { maskZero: true, inputShape: [T] }), bidirectional(lstm(2)), dense(2)])).not.toThrow();
  });
});
