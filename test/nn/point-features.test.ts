import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { toyDataset } from '../../src/data/toy.js';
import { dense, pointFeatures } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import { modelFromBytes } from '../../src/nn/saving.js';
import { backends } from '../helpers/backends.js';
import { expectClose } from '../helpers/check.js';

/* The PointFeatures layer: the Playground's input features, part of the model. */

const quiet = { verbose: 0 as const };
const input = (d: { x: Float32Array; xShape: number[] }) => ({ data: d.x, shape: d.xShape });

describe('pointFeatures', () => {
  it('gives the features named, in that order, from points [2]', async () => {
    const m = sequential([pointFeatures(['xTimesY', 'sinX', 'y', 'xSquared'])], { inputShape: [2] }).compile({ loss: 'mse', backend: 'cpu' });
    const got = (await m.predict({ data: Float32Array.of(2, -3, 0.5, 4), shape: [2, 2] })).data;
    expectClose(got, [-6, Math.sin(2), -3, 4, 2, Math.sin(0.5), 4, 0.25], { atol: 1e-6, rtol: 1e-6, why: 'float32 of exact values' });
    m.dispose();
  });

  it('refuses what it cannot take, naming it', () => {
    expect(() => pointFeatures(['x', 'cosX' as never])).toThrow(/features has unknown feature "cosX" .*\(known: x, y, xSquared, ySquared, xTimesY, sinX, sinY\)/);
    expect(() => pointFeatures([])).toThrow(/features must be a non-empty list/);
    expect(() => pointFeatures(['y', 'y'])).toThrow(/names 'y' twice/);
    expect(() => pointFeatures(['x'], { features: ['y'] } as never)).toThrow(/unknown option 'features'/);
    expect(() => sequential([pointFeatures(['x']), dense(1)], { inputShape: [3] }).summary(() => {})).toThrow(/pointFeatures takes points \[2\] \(x, y\), got \[3\]/);
  });

  it('is saved with the model: a loaded file predicts from x and y alone', async () => {
    const m = sequential([pointFeatures(['x', 'y', 'sinY']), dense(3, { activation: 'tanh' }), dense(1)], { inputShape: [2], seed: 3 }).compile({ loss: 'mse', backend: 'cpu' });
    const x = { data: Float32Array.of(1, 2, -3, 0.25, 5, -5), shape: [3, 2] };
    const before = (await m.predict(x)).data;
    const back = modelFromBytes(await m.toBytes(), 'toy.safetensors').compile({ loss: 'mse', backend: 'cpu' });
    expect(back.layers[0].config).toMatchObject({ type: 'pointFeatures', features: ['x', 'y', 'sinY'] });
    expect((await back.predict(x)).data).toEqual(before);
    m.dispose();
    back.dispose();
  });
});

describe.each(backends)('a model with pointFeatures on %s', (name) => {
  it('a feature cross solves xor with no hidden layer (the Playground\'s first lesson); x and y alone cannot', async () => {
    const { train, test } = toyDataset('xor', { seed: 4, labels: 'signed' });
    const accuracy = async (features: ('x' | 'y' | 'xTimesY')[]) => {
      const m = sequential([pointFeatures(features), dense(1, { activation: 'tanh' })], { inputShape: [2], seed: 1 });
      m.compile({ optimizer: { type: 'sgd', learningRate: 0.03 }, loss: 'mse', backend: name });
      await m.fit(input(train), { data: train.y, shape: train.yShape }, { epochs: 5, batchSize: 10, ...quiet });
      const p = (await m.predict(input(test))).data;
      const right = p.filter((v, i) => Math.sign(v) === test.y[i]).length;
      m.dispose();
      return right / p.length;
    };
    // The cross x·y has xor's sign: a single tanh unit on it is right wherever |x·y| is not tiny.
    expect(await accuracy(['xTimesY'])).toBeGreaterThan(0.95);
    // A line through x and y can be right on at most about three quadrants of four.
    expect(await accuracy(['x', 'y'])).toBeLessThan(0.8);
  });
});

describe('pointFeatures trains the same on both backends', () => {
  it.runIf(backends.length === 2)('after a dense layer (its gradient flows to the points): the same weights after 3 epochs', async () => {
    const { train } = toyDataset('spiral', { seed: 2, points: 120, labels: 'binary' });
    const weights: Float32Array[][] = [];
    let initial: Float32Array[] = [];
    for (const [name] of backends) {
      const m = sequential([dense(2, { activation: 'tanh' }), pointFeatures(['x', 'y', 'xSquared', 'ySquared', 'xTimesY', 'sinX', 'sinY']), dense(4, { activation: 'relu' }), dense(1, { activation: 'sigmoid' })], { inputShape: [2], seed: 9 });
      m.compile({ optimizer: { type: 'adam', learningRate: 0.01 }, loss: 'binaryCrossentropy', backend: name });
      initial = m.paramSpecs().map((p) => p.init(new Random(5)));
      m.setWeights(initial);
      await m.fit(input(train), { data: train.y, shape: train.yShape }, { epochs: 3, batchSize: 16, shuffle: false, ...quiet });
      weights.push(await m.getWeights());
      m.dispose();
    }
    // float32 on both, 24 Adam steps: differences from summation order and WGSL's sin/cos (2^-11 absolute), amplified a little by Adam's normalisation.
    weights[0].forEach((w, i) => expectClose(weights[1][i], w, { atol: 2e-3, rtol: 1e-3, why: "24 Adam steps of float32, WGSL's sin/cos within 2^-11" }, `weight ${i}`));
    // The first layer trained: its gradient came back through pointFeatures.
    const moved = Math.max(...weights[0][0].map((v, i) => Math.abs(v - initial[0][i])));
    expect(moved).toBeGreaterThan(0.01);
  });
});
