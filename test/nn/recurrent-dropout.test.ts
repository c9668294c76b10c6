import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, DeviceTensor } from '../../src/backend/backend.js';
import { sizeOf } from '../../src/core/shape.js';
import { gradients } from '../../src/graph/autodiff.js';
import { compileGraph } from '../../src/graph/executor.js';
import type { Value } from '../../src/graph/graph.js';
import { Graph } from '../../src/graph/graph.js';
import { Random } from '../../src/core/random.js';
import type { Layer } from '../../src/nn/layers.js';
import { dense, gru, layerFromConfig, lstm, simpleRNN } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import { modelFromBytes } from '../../src/nn/saving.js';
import type { HostArray } from '../../src/ops/kernel.js';
import { newHostArray } from '../../src/ops/kernel.js';
import { matmul } from '../../src/ops/matmul.js';
import { reshape } from '../../src/ops/reshape.js';
import { backends } from '../helpers/backends.js';
import { expectClose, numericGradient, randn, rng } from '../helpers/check.js';

/*
 * Keras' dropout and recurrent_dropout inside the recurrent layers, in the
 * graph a layer records: one input mask per (sample, feature) and one
 * recurrent mask per (sample, unit), drawn per training step and kept for
 * every time step; none in inference. The whole layer is checked with its
 * masks fixed (a fixed step number) against float64 finite differences of
 * the same graph run through the CPU references.
 */

const SEED = 1234;

/** A layer's forward graph on x [B, T, F], as a model records it, and L = ⟨out, G⟩ for gradients. */
function layerGraph(layer: Layer, [B, T, F]: number[], training: boolean) {
  const g = new Graph();
  const x = g.param('x', [B, T, F]);
  const weights = layer.params([T, F]).map((p) => g.param(p.name, p.shape));
  const step = g.input('step', [1], 'i32');
  const ctx = { skipActivation: false, training, seed: SEED, step: () => step, addLoss: () => {} };
  const out = layer.forward(g, x, weights, ctx);
  const n = sizeOf(out.shape);
  const G = g.input('G', [n, 1]);
  const L = g.op(matmul, [g.op(reshape, [out], { shape: [1, n] }), G], {}, 'L');
  const forwardNodes = g.nodes.length;
  return { g, x, weights, step, out, G, L, forwardNodes };
}

/** Runs the first `upto` nodes of a graph on the CPU references in float64. */
function runF64(g: Graph, upto: number, given: Map<Value, HostArray>): Map<Value, HostArray> {
  const vals = new Map(given);
  for (const node of g.nodes.slice(0, upto)) {
    const outs = node.outputs.map((o) => newHostArray(o.dtype, sizeOf(o.shape), 'f64'));
    node.kernel.cpu(node.inputs.map((v) => vals.get(v)!), outs, node.inputs, node.attrs);
    node.outputs.forEach((o, i) => vals.set(o, outs[i]));
  }
  return vals;
}

/** The layer's dropout launches: the input mask's (with a noise shape) first, then the recurrent mask's. */
const dropNodes = (g: Graph) => {
  const drops = g.nodes.filter((n) => n.kernel.name === 'dropout');
  return [...drops.filter((n) => n.attrs.noiseShape), ...drops.filter((n) => !n.attrs.noiseShape)];
};
const zeros = (a: ArrayLike<number>) => Array.from(a, (v) => (v === 0 ? 1 : 0));

const CASES: [string, Layer][] = [
  ['lstm', lstm(5, { dropout: 0.3, recurrentDropout: 0.4, returnSequences: true })],
  ['gru', gru(4, { dropout: 0.5, recurrentDropout: 0.3, goBackwards: true })],
  ['gru resetAfter false', gru(3, { dropout: 0.2, recurrentDropout: 0.5, resetAfter: false, returnSequences: true })],
  ['simpleRNN', simpleRNN(4, { dropout: 0.4, recurrentDropout: 0.4 })],
];

describe('the recurrent layers record their dropout masks', () => {
  it('in training: an input mask [B, 1, F] and a recurrent mask [B, U], both reading the step number, each its own seed; the mask the last input of the sequence kernel', () => {
    const { g, x, step } = layerGraph(lstm(6, { dropout: 0.2, recurrentDropout: 0.3 }), [4, 7, 3], true);
    const [input, recurrent] = dropNodes(g);
    expect(input.inputs).toEqual([x, step]);
    expect(input.attrs).toMatchObject({ rate: 0.2, seed: SEED, noiseShape: [4, 1, 3] });
    expect(recurrent.inputs[1]).toBe(step);
    expect(recurrent.outputs[0].shape).toEqual([4, 6]);
    expect(recurrent.attrs.rate).toBe(0.3);
    expect(recurrent.attrs.seed).not.toBe(SEED);
    const seq = g.nodes.find((n) => n.kernel.name === 'recurrentSequence')!;
    expect(seq.attrs.recurrentDropout).toBe(true);
    expect(seq.inputs.at(-1)).toBe(recurrent.outputs[0]);
    // The layer's seed option replaces the model's.
    expect(dropNodes(layerGraph(lstm(6, { dropout: 0.2, seed: 99 }), [4, 7, 3], true).g)[0].attrs.seed).toBe(99);
  });

  it('rate 0, and inference at any rate, record the graph of the layer without dropout', () => {
    const kinds = (layer: Layer, training: boolean) => layerGraph(layer, [2, 5, 3], training).g.nodes.map((n) => [n.kernel.name, n.attrs]);
    for (const make of [lstm, gru, simpleRNN]) {
      const plain = kinds(make(4), true);
      expect(kinds(make(4, { dropout: 0, recurrentDropout: 0 }), true)).toEqual(plain);
      expect(kinds(make(4, { dropout: 0.5, recurrentDropout: 0.5 }), false)).toEqual(kinds(make(4), false));
      expect(plain.some(([k]) => k === 'dropout')).toBe(false);
    }
    // One rate alone records its own mask only.
    expect(dropNodes(layerGraph(gru(4, { recurrentDropout: 0.1 }), [2, 5, 3], true).g).map((n) => n.outputs[0].shape)).toEqual([[2, 4]]);
    expect(dropNodes(layerGraph(gru(4, { dropout: 0.1 }), [2, 5, 3], true).g).map((n) => n.attrs.noiseShape)).toEqual([[2, 1, 3]]);
  });
});

describe('the masks (CPU reference)', () => {
  /** The input mask's output on x = 1 and the recurrent mask, at a step. */
  function masks(layer: Layer, shape: number[], stepNumber: number) {
    const t = layerGraph(layer, shape, true);
    const given = new Map<Value, HostArray>([[t.x, new Float64Array(sizeOf(shape)).fill(1)], [t.step, Int32Array.of(stepNumber)]]);
    t.weights.forEach((w) => given.set(w, new Float64Array(sizeOf(w.shape))));
    const [input, recurrent] = dropNodes(t.g);
    // Only the nodes up to the last mask: the sequence kernel need not run to read them.
    const vals = runF64(t.g, Math.max(t.g.nodes.indexOf(input), t.g.nodes.indexOf(recurrent)) + 1, given);
    return { input: vals.get(input.outputs[0])!, recurrent: vals.get(recurrent.outputs[0])! };
  }

  it('drop the expected fraction, 0 or 1/(1 − rate), the input mask the same at every step', () => {
    const [B, T, F, U] = [200, 3, 50, 40];
    const { input, recurrent } = masks(lstm(U, { dropout: 0.3, recurrentDropout: 0.25 }), [B, T, F], 7);
    for (let b = 0; b < B; b++) for (let t = 1; t < T; t++) for (let f = 0; f < F; f++) expect(input[(b * T + t) * F + f]).toBe(input[b * T * F + f]);
    const first = Array.from({ length: B * F }, (_, i) => input[Math.floor(i / F) * T * F + (i % F)]);
    for (const [m, rate, n] of [[first, 0.3, B * F], [Array.from(recurrent), 0.25, B * U]] as const) {
      expect(new Set(m)).toEqual(new Set([0, 1 / (1 - rate)]));
      // Binomial over n bits: within 5σ of the rate.
      expect(Math.abs(m.filter((v) => v === 0).length / n - rate)).toBeLessThan(5 * Math.sqrt((rate * (1 - rate)) / n));
    }
  });

  it('another step draws other masks, the same step the same', () => {
    const layer = gru(32, { dropout: 0.5, recurrentDropout: 0.5 });
    const [a, b, c] = [3, 4, 3].map((s) => masks(layer, [32, 2, 16], s));
    expect(Array.from(c.input)).toEqual(Array.from(a.input));
    expect(Array.from(c.recurrent)).toEqual(Array.from(a.recurrent));
    for (const k of ['input', 'recurrent'] as const) {
      const n = a[k].length;
      const differs = a[k].filter((v, i) => (v === 0) !== (b[k][i] === 0)).length / n;
      // Two independent masks at rate 0.5 disagree on half the bits (±5σ; input bits repeat over 2 steps).
      expect(Math.abs(differs - 0.5), k).toBeLessThan(5 * Math.sqrt(0.25 / (k === 'input' ? n / 2 : n)));
    }
    // The input and recurrent masks are not one draw: their bits disagree as two independent masks do.
    const firstInput = a.input.filter((_, i) => Math.floor(i / 16) % 2 === 0);
    const agree = firstInput.filter((v, i) => (v === 0) === (a.recurrent[i] === 0)).length / firstInput.length;
    expect(Math.abs(agree - 0.5)).toBeLessThan(5 * Math.sqrt(0.25 / firstInput.length));
  });
});

describe.each(backends)('a recurrent layer with dropout in training on %s', (_name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  it.each(CASES)('%s, its masks fixed by the step: the masks bit for bit, the output, and the gradients of the whole layer against float64 finite differences', async (_label, layer) => {
    const shape = [3, 4, 5];
    const t = layerGraph(layer, shape, true);
    const wrt = [t.x, ...t.weights];
    const masks = dropNodes(t.g).map((n) => n.outputs[0]);
    const grads = gradients(t.g, t.L, wrt);
    const r = rng(41);
    // Recurrent kernels scaled to ±1/√U so that the states stay in tanh's steep part.
    const U = t.weights[1].shape[0];
    const host = new Map<Value, Float32Array>(wrt.map((w, i) => [w, randn(r, [...w.shape], i === 2 ? -1 / Math.sqrt(U) : -1, i === 2 ? 1 / Math.sqrt(U) : 1).data as Float32Array]));
    host.set(t.G, randn(r, [...t.G.shape]).data as Float32Array);
    const bound = new Map<Value, DeviceTensor>();
    for (const [v, d] of host) {
      const b = be.allocate(v.shape);
      be.write(b, d);
      bound.set(v, b);
    }
    const step = be.allocate([1], 'i32');
    be.write(step, Int32Array.of(5));
    bound.set(t.step, step);
    const compiled = await compileGraph(be, t.g, bound, [t.out, ...masks, ...wrt.map((w) => grads.get(w)!)]);
    compiled.program.run();

    const given = (over?: [Value, Float64Array]) => {
      const m = new Map<Value, HostArray>([...host].map(([v, d]) => [v, Float64Array.from(d)]));
      m.set(t.step, Int32Array.of(5));
      if (over) m.set(...over);
      return m;
    };
    const want = runF64(t.g, t.forwardNodes, given());
    for (const m of masks) expect(zeros(await be.read(compiled.tensor(m))), m.name).toEqual(zeros(want.get(m)!));
    expectClose(await be.read(compiled.tensor(t.out)), want.get(t.out)!, { atol: 5e-6, rtol: 5e-6, why: 'float32 sums over ≤ 5 features and units, 4 steps, against float64' }, 'output');
    for (const w of wrt) {
      const fd = numericGradient((v) => runF64(t.g, t.forwardNodes, given([w, v])).get(t.L)![0], Float64Array.from(host.get(w)!));
      expectClose(await be.read(compiled.tensor(grads.get(w)!)), fd, { atol: 1e-6, rtol: 1e-5, why: 'float32 forward and backward through 4 steps against float64 central differences' }, `d(${w.name})`);
    }
    // Dropped input features get no gradient at any step.
    const dx = await be.read(compiled.tensor(grads.get(t.x)!));
    want.get(masks[0])!.forEach((v, i) => v === 0 && expect(dx[i], `d(x)[${i}]`).toBe(0));
    compiled.dispose();
    for (const b of bound.values()) be.free(b);
  });
});

/** 64 sequences of 6 steps of 2 values; the class is whether the first value summed over the steps is positive. */
function sums(seed = 1) {
  const r = new Random(seed);
  const n = 64;
  const x = r.fill(new Float32Array(n * 6 * 2), -1, 1);
  const y = Int32Array.from({ length: n }, (_, i) => (Array.from({ length: 6 }, (_, t) => x[(i * 6 + t) * 2]).reduce((a, b) => a + b, 0) > 0 ? 1 : 0));
  return { x: { data: x, shape: [n, 6, 2] }, y: { data: y, shape: [n] } };
}
const quiet = { verbose: 0 as const };
const net = (o: { dropout?: number; recurrentDropout?: number }, make = lstm) => sequential([make(8, { inputShape: [6, 2], ...o }), dense(2, { activation: 'softmax' })], { seed: 3 });

describe.each(backends)('a model with recurrent dropout on %s', (name) => {
  it('after an epoch of training, evaluate and predict are the layer without dropout, given the same weights (no 1/(1 − rate) left in inference)', async () => {
    const { x, y } = sums();
    const m = net({ dropout: 0.2, recurrentDropout: 0.2 }).compile({ optimizer: { type: 'adam', learningRate: 0.01 }, loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'], backend: name });
    const h = await m.fit(x, y, { epochs: 1, batchSize: 16, ...quiet });
    expect(Number.isFinite(h.history.loss[0])).toBe(true);
    const plain = net({}).compile({ loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'], backend: name });
    await plain.setWeights(await m.getWeights());
    const p = await m.predict(x);
    expect(Array.from(p.data)).toEqual(Array.from((await plain.predict(x)).data));
    expect(await m.evaluate(x, y)).toEqual(await plain.evaluate(x, y));
    // Probabilities that sum to 1, the same when asked again: no mask at inference.
    for (let i = 0; i < 64; i++) expect(p.data[2 * i] + p.data[2 * i + 1]).toBeCloseTo(1, 6);
    expect(Array.from((await m.predict(x)).data)).toEqual(Array.from(p.data));
    m.dispose();
    plain.dispose();
  });

  it('training with the rates differs from training without; rates 0 train exactly as the layer without them', async () => {
    const { x, y } = sums(2);
    const fit = async (o: { dropout?: number; recurrentDropout?: number }, make = gru) => {
      const m = net(o, make).compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', backend: name });
      const loss = (await m.fit(x, y, { epochs: 2, batchSize: 16, shuffle: false, ...quiet })).history.loss;
      m.dispose();
      return loss;
    };
    const plain = await fit({});
    expect(await fit({ dropout: 0, recurrentDropout: 0 })).toEqual(plain);
    for (const o of [{ dropout: 0.3 }, { recurrentDropout: 0.3 }]) expect(Math.abs((await fit(o))[1] - plain[1]), JSON.stringify(o)).toBeGreaterThan(1e-4);
  });
});

describe('recurrent dropout trains the same on both backends', () => {
  it.runIf(backends.length === 2)('the masks are the CPU reference\'s on WebGPU, step after step: the same losses', async () => {
    const { x, y } = sums(4);
    const losses: number[][] = [];
    for (const [name] of backends) {
      const m = net({ dropout: 0.3, recurrentDropout: 0.3 }).compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', backend: name });
      losses.push((await m.fit(x, y, { epochs: 4, batchSize: 16, shuffle: false, ...quiet })).history.loss);
      m.dispose();
    }
    // 16 steps of float32 sums in different orders: a mask that differed at one step would move the loss far more.
    expectClose(losses[1], losses[0], { atol: 0, rtol: 1e-4, why: 'float32, sums in different orders, over 16 steps' }, 'loss');
  });
});

describe('the rates in the options and the model file', () => {
  it('are kept by a save and load, with the seed where one was given', async () => {
    const m = sequential([lstm(3, { inputShape: [4, 2], dropout: 0.25, recurrentDropout: 0.5, seed: 7, name: 'rec', returnSequences: true }), gru(2, { recurrentDropout: 0.1 })], { seed: 1 });
    m.compile({ loss: 'meanSquaredError', backend: 'cpu' });
    await m.predict({ data: new Float32Array(8), shape: [1, 4, 2] }); // builds the weights
    const back = modelFromBytes(await m.toBytes(), 'rec.safetensors');
    expect(back.layers[0].config).toMatchObject({ dropout: 0.25, recurrentDropout: 0.5, seed: 7 });
    expect(back.layers[1].config).toMatchObject({ dropout: 0, recurrentDropout: 0.1 });
    expect('seed' in back.layers[1].config).toBe(false);
    expect(lstm(3).config).toMatchObject({ dropout: 0, recurrentDropout: 0 });
    m.dispose();
  });

  it('refuses a rate outside [0, 1) and a bad seed, naming them, from options and from a file', () => {
    expect(() => lstm(4, { dropout: 1 })).toThrow(/lstm: dropout must be a finite number >= 0 and < 1, got 1/);
    expect(() => gru(4, { recurrentDropout: -0.1 })).toThrow(/gru: recurrentDropout must be a finite number >= 0 and < 1, got -0.1/);
    expect(() => simpleRNN(4, { seed: 1.5 })).toThrow(/seed must be an integer in \[0, 2\^32\), got 1.5/);
    const config = { ...lstm(4, { name: 'l' }).config, recurrentDropout: 1 };
    expect(() => layerFromConfig(config)).toThrow(/l: recurrentDropout must be a number in \[0, 1\), got 1/);
  });
});
