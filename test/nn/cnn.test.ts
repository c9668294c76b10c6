import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { loadBuiltinMnist } from '../../src/data/mnist.js';
import { averagePooling2d, conv2d, dense, flatten, globalAveragePooling2d, maxPooling2d, reshape } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import { modelFromBytes } from '../../src/nn/saving.js';
import { backends } from '../helpers/backends.js';

const quiet = { verbose: 0 as const };

function smallImages(n: number, seed: number) {
  const r = new Random(seed);
  const x = Float32Array.from({ length: n * 7 * 7 * 2 }, () => r.normal(0, 1));
  const y = Int32Array.from({ length: n }, (_, i) => i % 3);
  return { x: { data: x, shape: [n, 7, 7, 2] }, y: { data: y, shape: [n] } };
}

const tinyCnn = (backend: 'cpu' | 'webgpu', seed = 1) =>
  sequential([
    conv2d(4, 3, { activation: 'relu', padding: 'same', inputShape: [7, 7, 2] }),
    maxPooling2d(2, { padding: 'same' }),
    conv2d(5, [2, 3], { strides: [1, 2], activation: 'tanh' }),
    averagePooling2d([2, 1], { strides: 1 }),
    flatten(),
    dense(3, { activation: 'softmax' }),
  ], { seed }).compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'], backend });

describe('convolutional layers', () => {
  it("summary() prints Keras' output shapes and parameter counts", () => {
    const lines: string[] = [];
    tinyCnn('cpu').summary((t) => lines.push(t));
    const text = lines.join('\n');
    expect(text).toMatch(/conv2d_\d+ \(Conv2D\) +\(None, 7, 7, 4\) +76\n/); // 3·3·2·4 + 4
    expect(text).toMatch(/max_pooling2d_\d+ \(MaxPooling2D\) +\(None, 4, 4, 4\) +0/);
    expect(text).toMatch(/conv2d_\d+ \(Conv2D\) +\(None, 3, 1, 5\) +125\n/); // 2·3·4·5 + 5; width ⌊(4−3)/2⌋+1 = 1
    expect(text).toMatch(/average_pooling2d_\d+ \(AveragePooling2D\) +\(None, 2, 1, 5\) +0/);
    expect(text).toMatch(/flatten_\d+ \(Flatten\) +\(None, 10\) +0/);
    expect(text).toMatch(/Total params: 234/); // 76 + 125 + 10·3 + 3
  });

  it('refuses what does not fit, by name', () => {
    expect(() => conv2d(4, 3, { stride: 2 } as never)).toThrow("conv2d: unknown option 'stride'; webgrad calls it strides");
    expect(() => conv2d(4, 0)).toThrow('conv2d: kernelSize must be a positive whole number or a pair');
    expect(() => maxPooling2d(2, { padding: 'full' as never })).toThrow("pooling: padding must be one of 'valid', 'same', got 'full'");
    const m = sequential([conv2d(2, 3, { inputShape: [784] })]);
    expect(() => m.summary(() => undefined)).toThrow(/conv2d_\d+: expects images \[height, width, channels\], got \[784\]; give inputShape: \[h, w, c\] or reshape\(\[h, w, c\]\) first/);
    const big = sequential([conv2d(2, 5, { inputShape: [3, 3, 1] })]);
    expect(() => big.summary(() => undefined)).toThrow(/conv2d_\d+: .*/);
  });
});

describe.each(backends)('a CNN on %s', (name) => {
  it('trains, and its predictions survive save and load', async () => {
    const { x, y } = smallImages(30, 2);
    const m = sequential([
      conv2d(4, 3, { activation: 'relu', padding: 'same', inputShape: [7, 7, 2] }),
      maxPooling2d(2, { padding: 'same' }),
      conv2d(5, 2, { activation: 'tanh' }),
      globalAveragePooling2d(),
      dense(3, { activation: 'softmax' }),
    ], { seed: 3 }).compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', backend: name });
    const h = await m.fit(x, y, { epochs: 30, batchSize: 10, ...quiet });
    expect(h.history.loss.at(-1)!).toBeLessThan(h.history.loss[0] * 0.8); // it learns: 30 random samples can be fitted
    const p = await m.predict(x);
    const back = modelFromBytes(await m.toBytes(), 'cnn.safetensors');
    back.compile({ ...back.compileOptions!, backend: name });
    expect((await back.predict(x)).data).toEqual(p.data);
    m.dispose();
    back.dispose();
  });

  it('GPU and CPU train the same CNN to the same weights', async () => {
    if (name === 'cpu') return;
    const { x, y } = smallImages(24, 4);
    const weights = async (b: 'cpu' | 'webgpu') => {
      const m = sequential([
        conv2d(3, 3, { activation: 'relu', padding: 'same', strides: 2, inputShape: [7, 7, 2] }),
        maxPooling2d(2, { strides: 1 }),
        flatten(),
        dense(3, { activation: 'softmax' }),
      ], { seed: 5 }).compile({ optimizer: { type: 'sgd', learningRate: 0.05 }, loss: 'sparseCategoricalCrossentropy', backend: b });
      await m.fit(x, y, { epochs: 3, batchSize: 8, shuffle: false, ...quiet });
      const w = await m.getWeights();
      m.dispose();
      return w;
    };
    const [g, c] = [await weights('webgpu'), await weights('cpu')];
    // 9 SGD steps in f32 on both sides, sums in different orders: weights of size ~0.5 agree to 1e-5.
    g.forEach((w, i) => w.forEach((v, j) => expect(Math.abs(v - c[i][j]), `weight ${i}[${j}]`).toBeLessThan(1e-5)));
  });

  it('a small CNN learns the built-in digits: at least 87% test accuracy after one epoch on 4,000 of them', async () => {
    const { train, test } = loadBuiltinMnist();
    const n = 4000;
    const m = sequential([
      conv2d(8, 3, { activation: 'relu', inputShape: [28, 28, 1] }),
      maxPooling2d(2),
      flatten(),
      dense(10, { activation: 'softmax' }),
    ], { seed: 1 }).compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'], backend: name });
    // Measured: 88.30% on both backends (seed 1; seed 2 gave 89.95%). With the convolution frozen (no gradient
    // through it) the dense layer alone reaches 86.05%, so the bound needs the conv layer to learn. Three epochs
    // on all 8,000 (92.90%) took six times as long.
    await m.fit({ data: train.x.subarray(0, n * 784), shape: [n, 28, 28, 1] }, { data: train.y.subarray(0, n), shape: [n] }, { epochs: 1, batchSize: 16, ...quiet });
    const { accuracy } = await m.evaluate({ data: test.x, shape: test.xShape }, { data: test.y, shape: test.yShape });
    console.log(`CNN conv8-pool-dense on the built-in digits, ${name}: test accuracy ${(accuracy * 100).toFixed(2)}%`);
    expect(accuracy).toBeGreaterThanOrEqual(0.87);
    m.dispose();
  }, 300_000);
});
