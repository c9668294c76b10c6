import { describe, expect, it } from 'vitest';
import { WebGPUBackend } from '../../src/backend/webgpu/backend.js';
import { Random } from '../../src/core/random.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/interop/safetensors.js';
import { dense } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import { modelFromBytes } from '../../src/nn/saving.js';
import type { OptimizerConfig } from '../../src/optim/optimizers.js';
import { checkOptimizer, learningRateAt, makeOptimizer, packOrder } from '../../src/optim/optimizers.js';
import { backends } from '../helpers/backends.js';
import { expectClose } from '../helpers/check.js';

/*
 * What training a GPT asks of the optimizers (#27): Keras' gradient clipping
 * (clipnorm, globalClipnorm, clipvalue), weights left out of weight decay,
 * and CosineDecay's warmup. The kernels are checked in
 * test/ops/optimizer-clip.test.ts; here the options, the schedule, and one
 * training step of a model against the step without the option.
 */

/** Keras 3's CosineDecay.__call__(step), written out from keras/src/optimizers/schedules/learning_rate_schedule.py. */
function kerasCosineDecay(c: { initial: number; decaySteps: number; alpha?: number; warmupTarget?: number; warmupSteps?: number }, step: number): number {
  const alpha = c.alpha ?? 0;
  const decay = (s: number, decayFromLr: number) => {
    const completedFraction = s / c.decaySteps;
    const cosineDecayed = 0.5 * (1.0 + Math.cos(Math.PI * completedFraction));
    const decayed = (1 - alpha) * cosineDecayed + alpha;
    return decayFromLr * decayed;
  };
  if (c.warmupTarget === undefined) return decay(Math.min(step, c.decaySteps), c.initial);
  const warmupSteps = c.warmupSteps ?? 0;
  const s = Math.min(step, c.decaySteps + warmupSteps);
  if (s < warmupSteps) return (c.warmupTarget - c.initial) * (s / warmupSteps) + c.initial;
  return decay(s - warmupSteps, c.warmupTarget);
}

describe('cosineDecay with warmup (Keras 3)', () => {
  const configs = [
    { initial: 0, decaySteps: 100, warmupTarget: 1e-3, warmupSteps: 10 },
    { initial: 1e-4, decaySteps: 50, alpha: 0.1, warmupTarget: 3e-3, warmupSteps: 7 },
    { initial: 0.1, decaySteps: 30, alpha: 0.05, warmupTarget: 0.2, warmupSteps: 0 },
    { initial: 0.1, decaySteps: 30, alpha: 0.05 },
  ];
  it.each(configs)('equals Keras at every step, the first (Keras iteration 0) to past the end: %o', (c) => {
    const schedule = { type: 'cosineDecay' as const, initialLearningRate: c.initial, decaySteps: c.decaySteps, alpha: c.alpha, warmupTarget: c.warmupTarget, warmupSteps: c.warmupSteps };
    for (let step = 1; step <= (c.warmupSteps ?? 0) + c.decaySteps + 5; step++) {
      expect(learningRateAt(schedule, step), `step ${step}`).toBeCloseTo(kerasCosineDecay(c, step - 1), 15);
    }
  });

  it('rises linearly to warmupTarget, then falls along the cosine to alpha·warmupTarget', () => {
    const s = { type: 'cosineDecay' as const, initialLearningRate: 0, decaySteps: 100, alpha: 0.1, warmupTarget: 1e-3, warmupSteps: 10 };
    expect(learningRateAt(s, 1)).toBe(0);
    expect(learningRateAt(s, 6)).toBeCloseTo(5e-4, 15); // iteration 5 of 10
    expect(learningRateAt(s, 11)).toBeCloseTo(1e-3, 15); // the warmup's end, the cosine's start
    expect(learningRateAt(s, 61)).toBeCloseTo(1e-3 * (0.9 * 0.5 + 0.1), 15); // half the cosine
    expect(learningRateAt(s, 1000)).toBeCloseTo(1e-4, 15);
  });

  it('refuses warmupSteps without warmupTarget, and a 0 initial rate without a warmup, by name', () => {
    expect(() => makeOptimizer({ type: 'adamw', learningRate: { type: 'cosineDecay', initialLearningRate: 1e-3, decaySteps: 10, warmupSteps: 5 } })).toThrow(/warmupSteps 5 needs warmupTarget/);
    expect(() => makeOptimizer({ type: 'adamw', learningRate: { type: 'cosineDecay', initialLearningRate: 0, decaySteps: 10 } })).toThrow(/initialLearningRate 0 trains nothing without warmupTarget/);
    expect(() => makeOptimizer({ type: 'adamw', learningRate: { type: 'cosineDecay', initialLearningRate: 0, decaySteps: 10, warmupTarget: -1 } as never })).toThrow(/warmupTarget/);
  });
});

describe('clipping and excludeFromWeightDecay options', () => {
  it('refuses two clips (as Keras), a clip <= 0, Python spellings, and exclusions without weight decay, by name', () => {
    expect(() => checkOptimizer({ type: 'adam', clipnorm: 1, globalClipnorm: 1 })).toThrow(/only one of clipnorm, globalClipnorm and clipvalue can be set \(as Keras\), got clipnorm 1 and globalClipnorm 1/);
    expect(() => checkOptimizer({ type: 'sgd', clipvalue: 1, globalClipnorm: 2 })).toThrow(/globalClipnorm 2 and clipvalue 1/);
    expect(() => checkOptimizer({ type: 'sgd', globalClipnorm: 0 })).toThrow(/globalClipnorm/);
    expect(() => checkOptimizer({ type: 'adamw', global_clipnorm: 1 })).toThrow(/globalClipnorm/);
    expect(() => checkOptimizer({ type: 'adamw', exclude_from_weight_decay: ['bias'] })).toThrow(/excludeFromWeightDecay/);
    expect(() => checkOptimizer({ type: 'adamw', excludeFromWeightDecay: 'bias' })).toThrow(/excludeFromWeightDecay must be a list of non-empty strings/);
    expect(() => makeOptimizer({ type: 'adam', excludeFromWeightDecay: ['bias'] })).toThrow(/excludeFromWeightDecay \["bias"\] has nothing to exclude without weight decay; set weightDecay > 0/);
  });

  it('excludes a weight when any string is part of its name, and packs the excluded weights last', () => {
    const opt = makeOptimizer({ type: 'adamw', excludeFromWeightDecay: ['bias', 'layer_normalization'] });
    const names = ['dense/kernel', 'dense/bias', 'layer_normalization/gamma', 'dense_1/kernel', 'dense_1/bias'];
    expect(names.map((n) => opt.decays(n))).toEqual([true, false, false, true, false]);
    expect(packOrder(opt, names)).toEqual([0, 3, 1, 2, 4]);
    expect(packOrder(makeOptimizer('adamw'), names)).toEqual([0, 1, 2, 3, 4]);
    expect(makeOptimizer({ type: 'sgd', clipnorm: 1 }).clip).toBe('perWeight');
    expect(makeOptimizer({ type: 'rmsprop', globalClipnorm: 1 }).clip).toBe('global');
    expect(makeOptimizer({ type: 'momentum', clipvalue: 1 }).clip).toBe('value');
  });
});

function data(n: number) {
  const r = new Random(1);
  const x = Float32Array.from({ length: n * 5 }, () => r.uniform(-3, 3));
  const y = Int32Array.from({ length: n }, (_, i) => (x[i * 5] > 0 ? 1 : 0));
  return [{ data: x, shape: [n, 5] }, { data: y, shape: [n] }] as const;
}

const LR = 0.5;
const model = (backend: 'cpu' | 'webgpu' | WebGPUBackend, optimizer: OptimizerConfig) =>
  sequential([dense(8, { activation: 'relu', inputShape: [5] }), dense(2, { activation: 'softmax' })], { seed: 2 }).compile({ optimizer, loss: 'sparseCategoricalCrossentropy', backend });

/** Each weight's change in one SGD step on the same batch from the same weights. */
async function oneStep(backend: 'cpu' | 'webgpu', optimizer: OptimizerConfig): Promise<Float64Array[]> {
  const m = model(backend, optimizer);
  const [x, y] = data(16);
  await m.predict(x); // places the weights on the backend
  const before = await m.getWeights();
  await m.fit(x, y, { epochs: 1, batchSize: 16, shuffle: false, verbose: 0 });
  const after = await m.getWeights();
  m.dispose();
  return after.map((w, i) => Float64Array.from(w, (v, j) => v - before[i][j]));
}

const norm = (xs: Float64Array[]) => Math.sqrt(xs.reduce((s, x) => s + x.reduce((t, v) => t + v * v, 0), 0));
// The clipped step against the unclipped one scaled on the host: the same float32 gradients, then one
// scale (≤ 16u) and an update of a few roundings; steps are O(0.1–1), so 1e-6 absolute and 1e-5 relative.
const SCALED = { atol: 1e-6, rtol: 1e-5, why: 'the same float32 gradients, one scale (≤ 16u) and one update apart' };

describe.each(backends)('one training step with clipping on %s', (name) => {
  it('globalClipnorm scales every gradient by c/‖g‖ (the norm over all weights); clipnorm each by its own; clipvalue clamps', async () => {
    const plain = await oneStep(name, { type: 'sgd', learningRate: LR });
    const g = plain.map((d) => d.map((v) => -v / LR)); // the gradients: Δp = −lr·g
    const total = norm(g);
    const c = total / 4; // bites: the step is a quarter of the unclipped one
    const global = await oneStep(name, { type: 'sgd', learningRate: LR, globalClipnorm: c });
    global.forEach((d, i) => expectClose(d, plain[i].map((v) => (v * c) / total), SCALED, `globalClipnorm, weight ${i}`));
    const each = await oneStep(name, { type: 'sgd', learningRate: LR, clipnorm: c / 2 });
    each.forEach((d, i) => expectClose(d, plain[i].map((v) => (v * (c / 2)) / Math.max(norm([g[i]]), c / 2)), SCALED, `clipnorm, weight ${i}`));
    const at = Math.max(...g.map((w) => Math.max(...w.map(Math.abs)))) / 3;
    const value = await oneStep(name, { type: 'sgd', learningRate: LR, clipvalue: at });
    value.forEach((d, i) => expectClose(d, g[i].map((v) => -LR * Math.min(Math.max(v, -at), at)), SCALED, `clipvalue, weight ${i}`));
  });

  it('AdamW decays every weight but those excluded (the biases here)', async () => {
    const adamw = { type: 'adamw', learningRate: 0.01, weightDecay: 0.5 } as const;
    const all = await oneStep(name, adamw);
    const none = await oneStep(name, { ...adamw, weightDecay: 0 });
    const biases = await oneStep(name, { ...adamw, excludeFromWeightDecay: ['bias'] });
    const names = model('cpu', adamw).paramSpecs().map((p) => p.name);
    biases.forEach((d, i) => expectClose(d, (names[i].includes('bias') ? none : all)[i], SCALED, `${names[i]}`));
    // The decay moves the kernels: lr·wd·p, about 0.005·|p|.
    expect(Math.max(...all[0].map((v, j) => Math.abs(v - none[0][j])))).toBeGreaterThan(1e-4);
  });
});

describe('the options saved with the model', () => {
  const optimizer: OptimizerConfig = {
    type: 'adamw',
    learningRate: { type: 'cosineDecay', initialLearningRate: 0, decaySteps: 20, alpha: 0.1, warmupTarget: 0.01, warmupSteps: 3 },
    weightDecay: 0.1,
    globalClipnorm: 0.5,
    excludeFromWeightDecay: ['bias'],
  };

  it('round-trip, and train on from the file as the model would have (its step, schedule, clip and exclusions)', async () => {
    const m = model('cpu', optimizer);
    const [x, y] = data(32);
    await m.fit(x, y, { epochs: 2, batchSize: 8, shuffle: false, verbose: 0 });
    const back = modelFromBytes(await m.toBytes(), 'gpt-ish.safetensors');
    expect(back.compileOptions!.optimizer).toEqual(optimizer);
    back.compile({ ...back.compileOptions!, backend: 'cpu' });
    for (const n of [m, back]) await n.fit(x, y, { epochs: 1, batchSize: 8, shuffle: false, verbose: 0 });
    const [want, got] = [await m.getWeights(), await back.getWeights()];
    got.forEach((w, i) => expectClose(w, want[i], { atol: 0, rtol: 0, why: 'the same float32 steps from the same state' }, `weight ${i}`));
    m.dispose();
    back.dispose();
  });

  it("are checked when read from a file: two clips, or an exclusion list that is not one, refused naming the file", async () => {
    const m = model('cpu', optimizer);
    await m.predict(data(1)[0]);
    const { tensors, metadata } = decodeSafetensors(await m.toBytes());
    m.dispose();
    const tampered = (change: object) => {
      const compile = JSON.parse(metadata.compile);
      return encodeSafetensors(tensors, { ...metadata, compile: JSON.stringify({ ...compile, optimizer: { ...compile.optimizer, ...change } }) });
    };
    expect(() => modelFromBytes(tampered({ clipnorm: 1 }), 'm.safetensors')).toThrow(/^m\.safetensors: .*only one of clipnorm, globalClipnorm and clipvalue/);
    expect(() => modelFromBytes(tampered({ excludeFromWeightDecay: 'bias' }), 'm.safetensors')).toThrow(/^m\.safetensors: .*excludeFromWeightDecay must be a list of non-empty strings/);
    expect(() => modelFromBytes(tampered({ learningRate: { type: 'cosineDecay', initialLearningRate: 0, decaySteps: 5, warmupSteps: 2 } }), 'm.safetensors')).toThrow(/^m\.safetensors: .*warmupSteps 2 needs warmupTarget/);
  });
});

describe.runIf(backends.some(([n]) => n === 'webgpu'))('launches per step on WebGPU', () => {
  it('globalClipnorm adds one (the sum of squares of the packed gradients), exclusion none; clipnorm unpacks', async () => {
    const launches = async (optimizer: OptimizerConfig) => {
      const be = await WebGPUBackend.create();
      const m = model(be, optimizer);
      const [x, y] = data(64);
      await m.fit(x, y, { epochs: 1, batchSize: 32, verbose: 0 });
      const before = be.counters.dispatches;
      await m.fit(x, y, { epochs: 1, batchSize: 32, verbose: 0 });
      m.dispose();
      return (be.counters.dispatches - before) / 2;
    };
    const base = await launches({ type: 'adamw' });
    expect(await launches({ type: 'adamw', globalClipnorm: 1 })).toBe(base + 1);
    expect(await launches({ type: 'adamw', excludeFromWeightDecay: ['bias'] })).toBe(base);
    // Four weights: an update each instead of one packed, and a sum of squares each.
    expect(await launches({ type: 'adamw', clipnorm: 1 })).toBe(base - 1 + 4 + 4);
  });

  it('past 2^22 packed values (what one workgroup sums), the global norm adds a sum of squares per weight, and clips as before', async () => {
    // 2048·1024 + 1024 + 1024·2048 + 2048 + 2048·2 + 2 weights: more than 2^22 packed, each under it.
    const big = (be: WebGPUBackend, optimizer: OptimizerConfig) =>
      sequential([dense(1024, { activation: 'relu', inputShape: [2048] }), dense(2048, { activation: 'relu' }), dense(2, { activation: 'softmax' })], { seed: 2 }).compile({ optimizer, loss: 'sparseCategoricalCrossentropy', backend: be });
    const r = new Random(3);
    const x = { data: Float32Array.from({ length: 8 * 2048 }, () => r.uniform(-1, 1)), shape: [8, 2048] };
    const y = { data: Int32Array.from({ length: 8 }, (_, i) => i % 2), shape: [8] };
    const step = async (optimizer: OptimizerConfig) => {
      const be = await WebGPUBackend.create();
      const m = big(be, optimizer);
      await m.predict(x);
      const before = await m.getWeights();
      const launched = be.counters.dispatches;
      await m.fit(x, y, { epochs: 1, batchSize: 8, shuffle: false, verbose: 0 });
      const moved = (await m.getWeights()).map((w, i) => Float64Array.from(w, (v, j) => v - before[i][j]));
      m.dispose();
      return { moved, launches: be.counters.dispatches - launched };
    };
    const plain = await step({ type: 'sgd', learningRate: LR });
    const c = norm(plain.moved) / LR / 4;
    const clipped = await step({ type: 'sgd', learningRate: LR, globalClipnorm: c });
    // Six sums of squares and five adds, where a smaller model has one sum.
    expect(clipped.launches).toBe(plain.launches + 11);
    clipped.moved.forEach((d, i) => expectClose(d, plain.moved[i].map((v) => v / 4), SCALED, `globalClipnorm past 2^22, weight ${i}`));
  }, 60_000);
});
