import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { onnxExport } from '../../src/interop/export-onnx.js';
import type { Layer } from '../../src/nn/layers.js';
import {
  activationLayer,
  averagePooling2d,
  batchNormalization,
  conv2d,
  dense,
  dropout,
  flatten,
  globalAveragePooling2d,
  LAYER_ACTIVATIONS,
  layerNormalization,
  maxPooling2d,
  randomTranslation,
  reshape,
} from '../../src/nn/layers.js';
import type { Sequential } from '../../src/nn/model.js';
import { sequential } from '../../src/nn/model.js';
import { expectClose } from '../helpers/check.js';
import { loadOnnxruntime, ONNXRUNTIME_VERSION } from '../helpers/onnxruntime.js';

/*
 * Export to ONNX: onnxruntime-node (its CPU binary) runs the exported graph
 * and predicts what webgrad's predict does on the CPU backend. In CI these
 * tests fail when onnxruntime-node cannot be loaded; elsewhere they are
 * skipped, saying why (test/helpers/onnxruntime.ts).
 */
const { ort, why } = await loadOnnxruntime();
if (!ort) console.warn(`skipping the ONNX interop tests: ${why}`);

/** Runs the exported model in onnxruntime on x; returns y and its shape. */
async function ortPredict(bytes: Uint8Array, x: { data: Float32Array; shape: number[] }): Promise<{ data: Float32Array; shape: number[] }> {
  const session = await ort!.InferenceSession.create(bytes);
  try {
    const out = await session.run({ x: new ort!.Tensor('float32', x.data, x.shape) });
    expect(session.inputNames).toEqual(['x']);
    expect(session.outputNames).toEqual(['y']);
    return { data: out.y.data as Float32Array, shape: out.y.dims.map(Number) };
  } finally {
    await session.release();
  }
}

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function samples(n: number, shape: number[], seed: number, low = 0, high = 1) {
  return { data: new Random(seed).fill(new Float32Array(n * sizeOf(shape)), low, high), shape: [n, ...shape] };
}

/** Fits the model briefly (3 epochs, so batch normalization's moving statistics move off 0 and 1), on the CPU. */
async function briefFit(m: Sequential, shape: number[]): Promise<void> {
  const softmax = m.layers[m.layers.length - 1].activation === 'softmax';
  m.compile({ optimizer: 'adam', loss: softmax ? 'sparseCategoricalCrossentropy' : 'meanSquaredError', backend: 'cpu' });
  const x = samples(40, shape, 1);
  const out = m.layers.reduce((s, l) => l.outputShape(s), shape);
  const y = softmax
    ? { data: Int32Array.from({ length: 40 }, (_, i) => (x.data[i * sizeOf(shape)] > 0.5 ? 1 : 0) + (i % 2)), shape: [40] }
    : samples(40, out, 2, -1, 1);
  await m.fit(x, y, { epochs: 3, batchSize: 8, verbose: 0 });
}

/** Exports m, runs it in onnxruntime and in webgrad on the same x, and compares. */
async function expectSamePredictions(m: Sequential, x: { data: Float32Array; shape: number[] }, label: string): Promise<void> {
  const want = await m.predict(x);
  const got = await ortPredict(await onnxExport(m), x);
  expect(got.shape, `${label}: output shape`).toEqual(want.shape);
  // Both float32, but webgrad's CPU backend sums in float64 and rounds once,
  // while onnxruntime sums in float32 in its own order: about √K·2⁻²⁴ relative
  // for a sum of K ≤ 48 terms, K·2⁻²⁴ ≈ 3e-6 at worst, through a few layers.
  // Seen here: at most 1e-6 on outputs of order 1 and 4e-6 on |y| ≈ 60 (log
  // softmax of ±30); rtol 1e-5 leaves room for other CPUs' kernels, atol 2e-6
  // for outputs near 0 (sigmoid(−30), softmax's small probabilities).
  expectClose(got.data, want.data, { atol: 2e-6, rtol: 1e-5, why: 'float32 sums in onnxruntime vs float64 sums in the CPU reference' }, `${label}: onnxruntime vs webgrad`);
}

const CASES: [string, number[], () => Layer[]][] = [
  [
    'an MLP with batch and layer normalization (with and without center and scale) and dropout',
    [6, 6, 1],
    () => [
      flatten({ inputShape: [6, 6, 1] }),
      dense(16, { activation: 'relu' }),
      batchNormalization({ momentum: 0.5 }),
      dropout(0.3),
      dense(8, { activation: 'elu', useBias: false }),
      batchNormalization({ momentum: 0.5, center: false }),
      layerNormalization(),
      dense(8),
      layerNormalization({ scale: false }),
      dense(3, { activation: 'softmax' }),
    ],
  ],
  [
    "a CNN with 'same' padding at stride 2 and with dilation, batch normalization, max and average pooling 'valid' and 'same', layer normalization",
    [16, 15, 2],
    () => [
      randomTranslation(0.2, 0.2, { inputShape: [16, 15, 2] }),
      // 16 → 8 pads 0 above and 1 below (TensorFlow's odd pixel after); 15 → 8 pads 1 and 1.
      conv2d(4, 3, { activation: 'relu', padding: 'same', strides: 2 }),
      batchNormalization({ momentum: 0.5 }),
      // 8 → 4 pads one row and column after: max ignores it.
      maxPooling2d(3, { strides: 2, padding: 'same' }),
      // 4 → 4 pads one after: the edge windows average their real elements only.
      averagePooling2d(2, { strides: 1, padding: 'same' }),
      conv2d(5, 2, { activation: 'tanh', padding: 'same', dilationRate: 2 }),
      averagePooling2d(2, { strides: 1 }),
      maxPooling2d(2, { strides: 1 }),
      layerNormalization(),
      flatten(),
      dense(3, { activation: 'softmax' }),
    ],
  ],
  ['a CNN ending in global average pooling and logits', [7, 7, 3], () => [conv2d(6, 3, { activation: 'leakyRelu', alpha: 0.1, inputShape: [7, 7, 3] }), globalAveragePooling2d(), dense(4)]],
  ['global average pooling straight on the (NHWC) input', [5, 4, 3], () => [globalAveragePooling2d({ inputShape: [5, 4, 3] }), dense(2, { activation: 'tanh' })]],
  [
    'reshapes between flat vectors and images, and normalization of [8, 4] samples',
    [6],
    () => [
      dense(48, { inputShape: [6], activation: 'gelu' }),
      reshape([4, 4, 3]),
      conv2d(2, 3, { padding: 'same', activation: 'sigmoid' }),
      batchNormalization({ momentum: 0.5 }),
      reshape([8, 4]),
      batchNormalization({ momentum: 0.5, scale: false }),
      layerNormalization(),
      flatten(),
      dense(2, { activation: 'softplus' }),
    ],
  ],
];

describe('onnxruntime-node for these tests', () => {
  it('.ci/run installs the version the tests name', () => {
    expect(readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8')).toContain(`onnxruntime-node@${ONNXRUNTIME_VERSION}`);
  });
});

describe.skipIf(!ort)('export to ONNX', () => {
  const models: Sequential[] = [];
  afterAll(() => models.forEach((m) => m.dispose()));

  it.each(CASES)('%s: onnxruntime predicts what webgrad predicts', async (label, shape, layers) => {
    const m = sequential(layers(), { seed: 3 });
    models.push(m);
    await briefFit(m, shape);
    await expectSamePredictions(m, samples(10, shape, 5), label);
  }, 120_000);

  it.each(LAYER_ACTIVATIONS.map((a) => [a]))('activation %s, fused in conv2d and dense and as a layer, on images and on wide-ranging values', async (a) => {
    // Random weights, no fit: softplus, elu, gelu and sigmoid see inputs far from 0 (±30) too.
    const alpha = a === 'leakyRelu' ? 0.3 : a === 'elu' ? 0.7 : undefined;
    // webgrad's softmax family takes flat rows only; the images get tanh there.
    const onImages = a === 'softmax' || a === 'logSoftmax' ? 'tanh' : a;
    const layered = sequential(
      [conv2d(3, 2, { activation: onImages, alpha, inputShape: [4, 4, 2] }), activationLayer(onImages, { alpha }), flatten(), activationLayer(a, { alpha }), dense(5, { activation: a, alpha })],
      { seed: 4 },
    );
    const wide = sequential([activationLayer(a, { inputShape: [50] })], { seed: 4 });
    for (const m of [layered, wide]) {
      models.push(m);
      m.compile({ optimizer: 'sgd', loss: 'meanSquaredError', backend: 'cpu' });
    }
    await expectSamePredictions(layered, samples(6, [4, 4, 2], 6, -3, 3), `${a} in layers`);
    await expectSamePredictions(wide, samples(4, [50], 7, -30, 30), `${a} on ±30`);
  }, 60_000);

  it("carries the input scaler: the graph standardizes as webgrad's predict does", async () => {
    const m = sequential([conv2d(2, 2, { activation: 'tanh', inputShape: [3, 3, 2] }), flatten(), dense(3, { activation: 'softmax' })], { seed: 8 });
    models.push(m);
    m.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
    const F = 18;
    m.setScaler({ mean: Array.from({ length: F }, (_, f) => 10 * f - 50), std: Array.from({ length: F }, (_, f) => 0.5 + f) });
    // Raw values around the means, so that only standardized inputs land in tanh's useful range.
    const x = samples(5, [3, 3, 2], 9, -60, 130);
    await expectSamePredictions(m, x, 'scaled inputs');
  });
});
