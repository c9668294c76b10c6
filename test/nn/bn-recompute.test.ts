// fit's recomputeBatchNormStatistics and model.recomputeBatchNormStatistics:
// the moving statistics become the exact mean and biased variance of what
// each BatchNormalization layer sees in inference mode, checked against a
// float64 forward pass from the model's own weights, on both backends.
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { Random } from '../../src/core/random.js';
import { batchNormalization, conv2d, dense, dropout, flatten } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import type { Sequential } from '../../src/nn/model.js';
import { backends } from '../helpers/backends.js';
import { expectClose } from '../helpers/check.js';

const N = 300;
const EPS = 1e-3;

/** N images 5×5×1, offset and scaled (mean 2, spread 3) so the statistics are far from the initial 0 and 1; 3 classes. */
function data(n = N) {
  const r = new Random(11);
  const x = r.fill(new Float32Array(n * 25), -1, 1);
  const y = Int32Array.from({ length: n }, (_, i) => (x[i * 25 + 6] > x[i * 25 + 18] ? 0 : x[i * 25 + 12] > 0 ? 1 : 2));
  for (let i = 0; i < x.length; i++) x[i] = 2 + 3 * x[i];
  return { x: { data: x, shape: [n, 5, 5, 1] }, y: { data: y, shape: [n] } };
}

/**
 * Conv → BN (rows are pixels too) → Dense → Dropout → BN (after a dropout:
 * its statistics must be taken with dropout off) → softmax. The second BN's
 * input depends on the first BN's statistics, which must be the recomputed ones.
 */
const net = (seed = 3) =>
  sequential([conv2d(4, 2, { inputShape: [5, 5, 1], activation: 'relu' }), batchNormalization({ name: 'bn1' }), flatten(), dense(6, { activation: 'relu' }), dropout(0.5), batchNormalization({ name: 'bn2' }), dense(3, { activation: 'softmax' })], { seed });

const compile = (m: Sequential, backend: Backend) => m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'], backend });

interface Stats {
  mean: Float64Array;
  variance: Float64Array;
}

/** Each channel's mean and biased variance over the rows of h [rows, C], in float64. */
function moments(h: Float64Array, C: number): Stats {
  const rows = h.length / C;
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  for (let i = 0; i < h.length; i++) mean[i % C] += h[i] / rows;
  for (let i = 0; i < h.length; i++) variance[i % C] += (h[i] - mean[i % C]) ** 2 / rows;
  return { mean, variance };
}

function normalize(h: Float64Array, C: number, s: Stats, gamma: Float32Array, beta: Float32Array): Float64Array {
  return h.map((v, i) => ((v - s.mean[i % C]) / Math.sqrt(s.variance[i % C] + EPS)) * gamma[i % C] + beta[i % C]);
}

function denseF(h: Float64Array, n: number, k: Float32Array, b: Float32Array, fin: number, fout: number): Float64Array {
  const out = new Float64Array(n * fout);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < fout; j++) {
      let s = b[j];
      for (let q = 0; q < fin; q++) s += h[i * fin + q] * k[q * fout + j];
      out[i * fout + j] = s;
    }
  return out;
}

/** Conv 2×2, valid, 1 → 4 channels, relu: [n, 4, 4, 4] as rows of 4. */
function convRelu(x: Float32Array, n: number, k: Float32Array, b: Float32Array): Float64Array {
  const out = new Float64Array(n * 64);
  for (let i = 0; i < n; i++)
    for (let r = 0; r < 4; r++)
      for (let c = 0; c < 4; c++)
        for (let f = 0; f < 4; f++) {
          let s = b[f];
          for (let dr = 0; dr < 2; dr++) for (let dc = 0; dc < 2; dc++) s += x[i * 25 + (r + dr) * 5 + c + dc] * k[(dr * 2 + dc) * 4 + f];
          out[((i * 4 + r) * 4 + c) * 4 + f] = Math.max(0, s);
        }
  return out;
}

const stored = (m: Float32Array, v: Float32Array): Stats => ({ mean: Float64Array.from(m), variance: Float64Array.from(v) });

/**
 * The float64 inference forward from the weights, each BN layer normalizing
 * with `pick`'s statistics given those of its input; dropout passes x
 * through. Returns what each BN layer saw and the softmax outputs.
 */
function forward64(x: Float32Array, n: number, w: Float32Array[], pick: (seen: Stats, i: 0 | 1) => Stats) {
  const [k1, b1, g1, be1, , , k2, b2, g2, be2, , , k3, b3] = w;
  const conv = convRelu(x, n, k1, b1);
  const bn1 = moments(conv, 4);
  const h = denseF(normalize(conv, 4, pick(bn1, 0), g1, be1), n, k2, b2, 64, 6).map((v) => Math.max(0, v));
  const bn2 = moments(h, 6);
  const z = denseF(normalize(h, 6, pick(bn2, 1), g2, be2), n, k3, b3, 6, 3);
  for (let i = 0; i < n; i++) {
    const row = z.subarray(i * 3, i * 3 + 3);
    const e = row.map((v) => Math.exp(v - Math.max(...row)));
    const s = e.reduce((a, b) => a + b, 0);
    row.forEach((_, c) => (row[c] = e[c] / s));
  }
  return { bn1, bn2, probs: z };
}

/** The reference statistics: each BN layer's over x, bn2's seen through bn1 normalizing with its own (as predict will). */
const reference = (x: Float32Array, n: number, w: Float32Array[]) => forward64(x, n, w, (seen) => seen);

/** The model's predict in float64, with the statistics stored in w. */
const predict64 = (x: Float32Array, n: number, w: Float32Array[]) => forward64(x, n, w, (_, i) => (i === 0 ? stored(w[4], w[5]) : stored(w[10], w[11]))).probs;

const STATS_TOL = { atol: 1e-5, rtol: 1e-4, why: 'float32 sums of up to 300·16 values a channel, merged batch by batch, against float64' };
const PROBS_TOL = { atol: 2e-5, rtol: 1e-4, why: 'float32 conv, two dense layers and a softmax against float64' };

/** The moving statistics as stored: bn1's mean and variance at weights 4, 5; bn2's at 10, 11. */
function checkStats(w: Float32Array[], ref: { bn1: Stats; bn2: Stats }, label: string): void {
  expectClose(w[4], ref.bn1.mean, STATS_TOL, `${label} bn1 moving mean`);
  expectClose(w[5], ref.bn1.variance, STATS_TOL, `${label} bn1 moving variance`);
  expectClose(w[10], ref.bn2.mean, STATS_TOL, `${label} bn2 moving mean`);
  expectClose(w[11], ref.bn2.variance, STATS_TOL, `${label} bn2 moving variance`);
}

describe.each(backends)('recomputing the batch-normalization statistics (%s)', (name, make) => {
  it('fit({ recomputeBatchNormStatistics }) leaves the exact statistics of what each layer sees in predict, and predict uses them', async () => {
    const backend = await make();
    const { x, y } = data();
    const m = net();
    compile(m, backend);
    const lines: string[] = [];
    // validationSplit 0.2: the statistics are those of the 240 samples trained on, not of the held-out 60.
    const history = await m.fit(x, y, { epochs: 2, batchSize: 16, validationSplit: 0.2, recomputeBatchNormStatistics: true, verbose: 2, sink: { interactive: false, write: (t) => lines.push(t) } });
    expect(history.batchNormStatistics).toMatchObject({ layers: 2, samples: 240 });
    expect(lines.at(-1)).toMatch(/^recomputed the moving statistics of 2 BatchNormalization layers over 240 training samples \([\d.]+s\)\n$/);
    const w = await m.getWeights();
    const ref = reference(x.data.subarray(0, 240 * 25), 240, w);
    checkStats(w, ref, name);
    // predict normalizes with them: the float64 forward with the stored statistics, which the reference's equal.
    expectClose((await m.predict(x)).data, predict64(x.data, N, w), PROBS_TOL, `${name} predict`);
    // The last epoch's validation logs are the returned model's: evaluate on the same 60 agrees.
    const held = await m.evaluate({ data: x.data.subarray(240 * 25), shape: [60, 5, 5, 1] }, { data: y.data.subarray(240), shape: [60] });
    expect(history.history.val_loss.at(-1)).toBeCloseTo(held.loss, 5);
    m.dispose();
    backend.dispose();
  });

  it('a run a callback stops at an epoch’s end (as early stopping does) gets them after it; a run whose loss is not finite does not', async () => {
    const backend = await make();
    const { x, y } = data();
    const m = net();
    compile(m, backend);
    const stopAtEnd = { onEpochEnd: (_e: number, _l: unknown, model: { stopTraining: boolean }) => void (model.stopTraining = true) };
    const history = await m.fit(x, y, { epochs: 3, batchSize: 32, recomputeBatchNormStatistics: true, callbacks: [stopAtEnd], verbose: 0 });
    expect(history.epoch).toEqual([0]);
    expect(history.batchNormStatistics).toMatchObject({ layers: 2, samples: N });
    const w = await m.getWeights();
    checkStats(w, reference(x.data, N, w), name);
    m.dispose();
    // SGD at 1e30 blows the loss up in a step or two.
    const blown = net();
    blown.compile({ optimizer: { type: 'sgd', learningRate: 1e30 }, loss: 'sparseCategoricalCrossentropy', backend });
    const lost = await blown.fit(x, y, { epochs: 1, batchSize: 32, recomputeBatchNormStatistics: true, verbose: 0 });
    expect(lost.history.loss[0]).not.toBeLessThan(Infinity);
    expect(lost.batchNormStatistics).toBeUndefined();
    blown.dispose();
    backend.dispose();
  });

  it('without the option, fit keeps the moving averages, which after 10 steps are far from the statistics', async () => {
    const backend = await make();
    const { x, y } = data();
    const m = net();
    compile(m, backend);
    const history = await m.fit(x, y, { epochs: 1, batchSize: 32, verbose: 0 });
    expect(history.batchNormStatistics).toBeUndefined();
    const w = await m.getWeights();
    const ref = reference(x.data, N, w);
    // Momentum 0.99 from mean 0: after 10 steps the moving mean has gone about a tenth of the way.
    expect(Math.abs(w[4][0] - ref.bn1.mean[0])).toBeGreaterThan(0.5 * Math.abs(ref.bn1.mean[0]));
    m.dispose();
    backend.dispose();
  });

  it('model.recomputeBatchNormStatistics merges batches of any size into the statistics of the whole set, a short last batch included', async () => {
    const backend = await make();
    const { x, y } = data();
    const m = net(5);
    compile(m, backend);
    await m.fit(x, y, { epochs: 1, batchSize: 32, verbose: 0 });
    const before = await m.getWeights();
    // 300 = 42 batches of 7 and one of 6: how the batches' means differ must be counted in the variance.
    const pass = await m.recomputeBatchNormStatistics(x, { batchSize: 7 });
    expect(pass).toMatchObject({ layers: 2, samples: N });
    const w = await m.getWeights();
    checkStats(w, reference(x.data, N, w), name);
    // Only the moving statistics changed.
    w.forEach((t, i) => ([4, 5, 10, 11].includes(i) ? expect(t).not.toEqual(before[i]) : expect(t).toEqual(before[i])));
    m.dispose();
    backend.dispose();
  });
});
