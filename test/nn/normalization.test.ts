import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { trainGraph } from '../../src/nn/graphs.js';
import type { ModelSpec } from '../../src/nn/graphs.js';
import { batchNormalization, chainGraph, conv2d, dense, dropout, flatten, layerNormalization } from '../../src/nn/layers.js';
import type { Layer } from '../../src/nn/layers.js';
import { resolveLoss } from '../../src/nn/losses.js';
import { sequential } from '../../src/nn/model.js';
import { modelFromBytes } from '../../src/nn/saving.js';
import { makeOptimizer } from '../../src/optim/optimizers.js';
import { backends } from '../helpers/backends.js';
import { expectClose } from '../helpers/check.js';

const quiet = { verbose: 0 as const };

/** 96 samples of 6 features (offset and scaled, so normalization matters), 3 classes by the largest of the first three. */
function data(n = 96) {
  const r = new Random(3);
  const x = r.fill(new Float32Array(n * 6), -1, 1);
  const y = Int32Array.from({ length: n }, (_, i) => [0, 1, 2].reduce((best, k) => (x[i * 6 + k] > x[i * 6 + best] ? k : best), 0));
  for (let i = 0; i < x.length; i++) x[i] = 3 + 4 * x[i];
  return { x: { data: x, shape: [n, 6] }, y: { data: y, shape: [n] } };
}

const bnNet = (o: { momentum?: number; seed?: number; center?: boolean; scale?: boolean } = {}) =>
  // No bias before batch normalization (it would be subtracted again): Keras' advice, and its gradient is 0 in exact arithmetic.
  sequential([dense(16, { inputShape: [6], useBias: false }), batchNormalization({ momentum: o.momentum, center: o.center, scale: o.scale }), dense(8, { activation: 'relu' }), layerNormalization(), dense(3, { activation: 'softmax' })], { seed: o.seed ?? 1 });

const compiled = (m: ReturnType<typeof bnNet>, backend: string, fuse = true) => m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'], backend: backend as 'cpu', fuse });

/** The model's forward pass in float64 from its weights, batch normalization with the given statistics. */
function forward64(x: Float32Array, n: number, w: Float32Array[], stats: 'moving' | 'batch'): Float64Array {
  const [k1, gamma, beta, mm, mv, k2, b2, g2, be2, k3, b3] = w;
  const b1 = new Float32Array(16);
  const denseF = (h: Float64Array, k: Float32Array, b: Float32Array, fin: number, fout: number) => {
    const out = new Float64Array(n * fout);
    for (let i = 0; i < n; i++) for (let j = 0; j < fout; j++) {
      let s = b[j];
      for (let q = 0; q < fin; q++) s += h[i * fin + q] * k[q * fout + j];
      out[i * fout + j] = s;
    }
    return out;
  };
  let h = denseF(Float64Array.from(x), k1, b1, 6, 16);
  for (let c = 0; c < 16; c++) {
    let mean = mm[c];
    let v = mv[c];
    if (stats === 'batch') {
      mean = 0;
      for (let i = 0; i < n; i++) mean += h[i * 16 + c] / n;
      v = 0;
      for (let i = 0; i < n; i++) v += (h[i * 16 + c] - mean) ** 2 / n;
    }
    for (let i = 0; i < n; i++) h[i * 16 + c] = ((h[i * 16 + c] - mean) / Math.sqrt(v + 1e-3)) * gamma[c] + beta[c];
  }
  h = denseF(h, k2, b2, 16, 8).map((v) => Math.max(0, v));
  for (let i = 0; i < n; i++) {
    const row = h.subarray(i * 8, i * 8 + 8);
    const mean = row.reduce((a, b) => a + b, 0) / 8;
    const v = row.reduce((a, b) => a + (b - mean) ** 2, 0) / 8;
    row.forEach((e, c) => (row[c] = ((e - mean) / Math.sqrt(v + 1e-3)) * g2[c] + be2[c]));
  }
  const z = denseF(h, k3, b3, 8, 3);
  for (let i = 0; i < n; i++) {
    const row = z.subarray(i * 3, i * 3 + 3);
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    row.forEach((v, c) => (row[c] = e[c] / s));
  }
  return z;
}

describe('batch normalization as Keras has it', () => {
  it('summary counts γ and β as trainable and the moving statistics as not, as Keras does', () => {
    const m = sequential([dense(16, { inputShape: [6] }), batchNormalization({ name: 'bn' }), layerNormalization({ name: 'ln' }), dense(3)]);
    const text = m.summary(() => {});
    expect(text).toMatch(/bn \(BatchNormalization\) +\(None, 16\) +64/);
    expect(text).toMatch(/ln \(LayerNormalization\) +\(None, 16\) +32/);
    // 6·16 + 16 + 64 + 32 + 16·3 + 3 = 259, of which 32 are the moving mean and variance.
    expect(text).toMatch(/Total params: 259\nTrainable params: 227\nNon-trainable params: 32/);
    expect(m.paramSpecs().map((p) => p.name).slice(2, 6)).toEqual(['bn/gamma', 'bn/beta', 'bn/moving_mean', 'bn/moving_variance']);
  });

  it('the optimizer updates only the trainable weights; the step updates the moving statistics in place', () => {
    const layers: Layer[] = [dense(4), batchNormalization({ scale: false }), dense(3, { activation: 'softmax' })];
    const params = [...layers[0].params([6]), ...layers[1].params([4]), ...layers[2].params([4])];
    const spec: ModelSpec = { graph: chainGraph(layers), inputShapes: [[6]], outputs: [{ name: 'dense', shape: [3], loss: resolveLoss('sparseCategoricalCrossentropy', 'softmax'), metrics: [], targetShape: [], weight: 1 }], params, paramCounts: [2, 3, 2], fuse: true };
    const step = trainGraph(spec, 8, makeOptimizer('adam'));
    const kinds = step.graph.nodes.map((n) => n.kernel.name);
    expect(kinds.filter((k) => k === 'movingAverage')).toHaveLength(2);
    expect(kinds.filter((k) => k === 'batchNorm')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'batchNormBackward')).toHaveLength(1);
    // 5 trainable weights (no γ: scale false), so 5 pairs of Adam slots; the moving statistics have none.
    expect(step.slots).toHaveLength(5);
    expect(step.weights).toHaveLength(7);
  });

  it('refuses what it cannot do, naming the option', () => {
    expect(() => batchNormalization({ axis: 1 })).toThrow(/batchNormalization: axis must be -1 \(the last axis/);
    expect(() => batchNormalization({ momentum: 1 })).toThrow(/momentum must be a number in \[0, 1\), got 1/);
    expect(() => batchNormalization({ epsilon: 0 })).toThrow(/epsilon must be a positive number, got 0/);
    expect(() => batchNormalization({ eps: 1e-5 } as never)).toThrow(/unknown option 'eps'.*epsilon/);
    expect(() => batchNormalization({ momentun: 0.9 } as never)).toThrow(/unknown option 'momentun'.*did you mean 'momentum'/);
    expect(() => layerNormalization({ axis: 0 })).toThrow(/layerNormalization: axis must be -1/);
  });
});

describe.each(backends)('a model with batch and layer normalization on %s', (name) => {
  it('trains with the batch statistics, moves the moving ones, and predicts with the moving ones', async () => {
    const { x, y } = data();
    const m = compiled(bnNet({ momentum: 0.9 }), name);
    await m.predict(x);
    const before = await m.getWeights();
    expect(Array.from(before[3])).toEqual(new Array(16).fill(0));
    expect(Array.from(before[4])).toEqual(new Array(16).fill(1));
    const h = await m.fit(x, y, { epochs: 20, batchSize: 32, ...quiet });
    expect(h.history.loss[19]).toBeLessThan(h.history.loss[0] * 0.6);
    const w = await m.getWeights();
    // The inputs average about 3·Σk over the first dense layer: the moving mean left 0.
    expect(Math.max(...Array.from(w[3]).map(Math.abs))).toBeGreaterThan(0.1);
    // predict: the moving statistics, not this batch's (float32 against float64 through three layers).
    const got = await m.predict(x);
    const tol = { atol: 2e-5, rtol: 1e-4, why: 'float32 forward through dense, normalization and softmax against float64' };
    expectClose(got.data, forward64(x.data, 96, w, 'moving'), tol, 'predict');
    // ... and the batch's statistics would give other outputs: the two forms differ where they must.
    const batch = forward64(x.data, 96, w, 'batch');
    expect(Math.max(...Array.from(got.data).map((v, i) => Math.abs(v - batch[i])))).toBeGreaterThan(1e-3);
    // evaluate uses the moving ones too: its loss is predict's.
    const ev = await m.evaluate(x, y);
    const p = forward64(x.data, 96, w, 'moving');
    const ce = Array.from(y.data).reduce((s, c, i) => s - Math.log(p[i * 3 + c]), 0) / 96;
    expect(ev.loss).toBeCloseTo(ce, 4);
    m.dispose();
  });

  it('fused and unfused training give the same losses and weights', async () => {
    const { x, y } = data();
    const run = async (fuse: boolean) => {
      const m = compiled(bnNet(), name, fuse);
      const h = await m.fit(x, y, { epochs: 3, batchSize: 32, shuffle: false, ...quiet });
      const w = await m.getWeights();
      m.dispose();
      return { loss: h.history.loss, w };
    };
    const [a, b] = [await run(true), await run(false)];
    const tol = { atol: 1e-5, rtol: 1e-4, why: 'fused and unfused float32 sums in different orders, 9 steps' };
    expectClose(a.loss, b.loss, tol, 'loss');
    a.w.forEach((w, i) => expectClose(w, b.w[i], tol, `weight ${i}`));
  });

  it('saves and loads its moving statistics: the reloaded model predicts the same and resumes training where it stopped', async () => {
    const { x, y } = data();
    const m = compiled(bnNet(), name);
    await m.fit(x, y, { epochs: 2, batchSize: 32, ...quiet });
    const back = modelFromBytes(await m.toBytes(), 'bn.safetensors');
    expect(back.layers[1].config).toMatchObject({ type: 'batchNormalization', momentum: 0.99, epsilon: 1e-3, center: true, scale: true, axis: -1 });
    // The CPU backend's predictions of a reloaded model (any model, normalization or not) differ from the
    // original's in the last bit at most: its blocked sums start from other buffer offsets.
    expectClose((await back.predict(x)).data, (await m.predict(x)).data, { atol: 2.4e-7, rtol: 0, why: 'one or two float32 ulps of a probability' }, 'predict');
    // One more epoch each, unshuffled: the same weights, moving statistics and Adam state included.
    await m.fit(x, y, { epochs: 1, batchSize: 32, shuffle: false, ...quiet });
    await back.fit(x, y, { epochs: 1, batchSize: 32, shuffle: false, ...quiet });
    const [wa, wb] = [await m.getWeights(), await back.getWeights()];
    // Exact on WebGPU; on the CPU the last-bit differences above carry through three steps.
    wa.forEach((w, i) => expectClose(wb[i], w, { atol: 1e-6, rtol: 1e-5, why: 'float32 last-bit differences over 3 steps (CPU backend)' }, `weight ${i}`));
    // A model that lost its moving statistics would predict as a fresh one: mean 0, variance 1.
    expect(Array.from(wb[3]).some((v) => Math.abs(v) > 1e-3)).toBe(true);
    m.dispose();
    back.dispose();
  });

  it('center and scale false leave β and γ out; a conv2d feature map is normalized per channel', async () => {
    const m = sequential([conv2d(4, 3, { inputShape: [6, 6, 1] }), batchNormalization({ center: false, scale: false, name: 'bn' }), flatten(), dense(2, { activation: 'softmax' })], { seed: 3 });
    expect(m.paramSpecs().map((p) => p.name).filter((n) => n.startsWith('bn/'))).toEqual(['bn/moving_mean', 'bn/moving_variance']);
    m.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', backend: name as 'cpu' });
    const r = new Random(5);
    const xs = r.fill(new Float32Array(10 * 36), 0, 2);
    const ys = Int32Array.from({ length: 10 }, (_, i) => i % 2);
    await m.fit({ data: xs, shape: [10, 6, 6, 1] }, { data: ys, shape: [10] }, { epochs: 1, batchSize: 10, ...quiet });
    const w = await m.getWeights();
    // One step with momentum 0.99: moving = 0.99·initial + 0.01·batch, per channel of the conv output.
    const mm = w[2];
    const mv = w[3];
    for (let c = 0; c < 4; c++) {
      expect(Math.abs(mm[c])).toBeGreaterThan(0);
      expect(mv[c]).not.toBe(1);
    }
    m.dispose();
  });
});

describe('batch normalization trains the same on both backends', () => {
  it.runIf(backends.length === 2)('the same losses step after step', async () => {
    const { x, y } = data();
    const losses: number[][] = [];
    for (const [name] of backends) {
      const m = compiled(bnNet({ seed: 7 }), name);
      losses.push((await m.fit(x, y, { epochs: 6, batchSize: 16, shuffle: false, ...quiet })).history.loss);
      m.dispose();
    }
    expectClose(losses[1], losses[0], { atol: 0, rtol: 1e-4, why: 'float32, sums in different orders, over 36 steps' }, 'loss');
  });
});

describe('layer names', () => {
  it("a model's auto names depend on its own layers only, not on how many models the process built before", () => {
    const build = () => sequential([dense(8, { inputShape: [6] }), batchNormalization(), dense(8), dropout(0.5), layerNormalization(), dense(3, { name: 'out' })]);
    const names = ['dense_1', 'batch_normalization_1', 'dense_2', 'dropout_1', 'layer_normalization_1', 'out'];
    expect(build().layers.map((l) => l.name)).toEqual(names);
    expect(build().layers.map((l) => l.name)).toEqual(names);
    expect(build().paramSpecs().map((p) => p.name)[0]).toBe('dense_1/kernel');
    // A name given is kept, and an auto name steps around it.
    const m = sequential([dense(4, { inputShape: [6], name: 'dense_1' }), dense(2)]);
    expect(m.layers.map((l) => l.name)).toEqual(['dense_1', 'dense_2']);
  });
});
