import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeExport } from '../../src/cli/export.js';
import { Random } from '../../src/core/random.js';
import { pytorchExport } from '../../src/nn/export-pytorch.js';
import { batchNormalization, conv2d, dense, dropout, flatten, globalAveragePooling2d, layerNormalization, maxPooling2d, randomTranslation } from '../../src/nn/layers.js';
import type { Layer } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import { expectClose } from '../helpers/check.js';

/*
 * Export to PyTorch: the generated model.py, run by Debian's python3-torch,
 * predicts what webgrad predicts. CI installs python3-torch (.ci/run) and
 * there these tests fail without it; elsewhere they are skipped, saying why.
 */
const PYTHON = '/usr/bin/python3';
const torch = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
const hasTorch = torch.status === 0;
if (!hasTorch && process.env.CI) throw new Error(`CI needs python3-torch for the PyTorch interop tests (apt-get install python3-torch): ${torch.stderr || torch.error}`);

const dir = mkdtempSync(join(tmpdir(), 'webgrad-torch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the exported model in torch on x [n, ...shape]; returns its output. */
function torchPredict(folder: string, x: Float32Array, shape: number[]): Float32Array {
  writeFileSync(join(folder, 'x.f32'), x);
  const script = [
    'import sys, numpy as np, torch',
    `sys.path.insert(0, ${JSON.stringify(folder)})`,
    'from model import load_model, INPUT_SHAPE',
    `model = load_model(${JSON.stringify(folder)})`,
    `x = torch.from_numpy(np.fromfile(${JSON.stringify(join(folder, 'x.f32'))}, dtype='<f4').reshape(${shape[0]}, *INPUT_SHAPE))`,
    'with torch.no_grad():',
    '    y = model(x)',
    `y.numpy().astype('<f4').tofile(${JSON.stringify(join(folder, 'y.f32'))})`,
  ].join('\n');
  const r = spawnSync(PYTHON, ['-c', script], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  const bytes = readFileSync(join(folder, 'y.f32'));
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

function digits(n: number, shape: number[], classes: number, seed: number) {
  const r = new Random(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  const x = r.fill(new Float32Array(n * size), 0, 1);
  const y = Int32Array.from({ length: n }, (_, i) => (x[i * size] + x[i * size + 1] > 1 ? 1 : 0) + (i % (classes - 1)));
  return { x: { data: x, shape: [n, ...shape] }, y: { data: y, shape: [n] } };
}

const CASES: [string, number[], () => Layer[]][] = [
  [
    'an MLP with batch and layer normalization and dropout',
    [6, 6, 1],
    () => [flatten({ inputShape: [6, 6, 1] }), dense(16, { activation: 'relu' }), batchNormalization({ momentum: 0.5 }), dropout(0.3), dense(8, { activation: 'elu', useBias: false }), layerNormalization(), dense(3, { activation: 'softmax' })],
  ],
  [
    "a CNN with 'same' padding at stride 2 (TensorFlow's odd pixel after), batch normalization, pooling and a translation",
    [9, 8, 2],
    () => [
      randomTranslation(0.2, 0.2, { inputShape: [9, 8, 2] }),
      conv2d(4, 3, { activation: 'relu', padding: 'same', strides: 2 }),
      batchNormalization({ momentum: 0.5 }),
      conv2d(5, 2, { activation: 'tanh' }),
      maxPooling2d(2),
      layerNormalization(),
      flatten(),
      dense(3, { activation: 'softmax' }),
    ],
  ],
  ['a CNN ending in global average pooling and logits', [7, 7, 3], () => [conv2d(6, 3, { activation: 'leakyRelu', inputShape: [7, 7, 3] }), globalAveragePooling2d(), dense(4)]],
];

describe('export to PyTorch', () => {
  it.skipIf(!hasTorch).each(CASES)('%s: torch predicts what webgrad predicts', async (_label, shape, layers) => {
    const m = sequential(layers(), { seed: 3 });
    const last = m.layers[m.layers.length - 1].activation;
    m.compile({ optimizer: 'adam', loss: last === 'softmax' ? 'sparseCategoricalCrossentropy' : 'meanSquaredError', backend: 'cpu' });
    const { x, y } = digits(40, shape, 3, 1);
    const units = (m.layers[m.layers.length - 1].config as { units: number }).units;
    const targets = last === 'softmax' ? y : { data: new Random(2).fill(new Float32Array(40 * units), -1, 1), shape: [40, units] };
    await m.fit(x, targets, { epochs: 3, batchSize: 8, verbose: 0 });
    const folder = mkdtempSync(join(dir, 'model-'));
    await writeExport(folder, await pytorchExport(m));
    const want = (await m.predict(x)).data;
    const got = torchPredict(folder, x.data, x.shape);
    // float32 in both, sums in other orders (torch's conv and matmul kernels): a few ulps of O(1) values per layer.
    expectClose(got, want, { atol: 2e-6, rtol: 2e-5, why: 'float32 in both engines, sums in different orders' }, 'torch vs webgrad');
    m.dispose();
  }, 120_000);

  it('refuses what torch has no counterpart for, naming the layer', async () => {
    const m = sequential([conv2d(2, 3, { inputShape: [6, 6, 1] }), maxPooling2d(2, { padding: 'same' }), flatten(), dense(2)], { seed: 1 });
    m.compile({ optimizer: 'sgd', loss: 'meanSquaredError', backend: 'cpu' });
    await m.predict({ data: new Float32Array(36), shape: [1, 6, 6, 1] });
    await expect(pytorchExport(m)).rejects.toThrow(/export to PyTorch: max_pooling2d_1 has 'same' padding/);
    const half = sequential([dense(3, { inputShape: [4] }), batchNormalization({ center: false })], { seed: 1 });
    half.compile({ optimizer: 'sgd', loss: 'meanSquaredError', backend: 'cpu' });
    await half.predict({ data: new Float32Array(4), shape: [1, 4] });
    await expect(pytorchExport(half)).rejects.toThrow(/batch_normalization_1 has center false and scale true; torch's BatchNorm learns both or neither/);
    m.dispose();
    half.dispose();
  });
});
