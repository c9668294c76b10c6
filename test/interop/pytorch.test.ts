import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeExport } from '../../src/cli/export.js';
import { Random } from '../../src/core/random.js';
import { pytorchExport } from '../../src/interop/export-pytorch.js';
import { batchNormalization, conv2d, dense, dropout, flatten, globalAveragePooling2d, layerNormalization, maxPooling2d, randomTranslation } from '../../src/nn/layers.js';
import type { Layer } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import { l2 } from '../../src/nn/regularizers.js';
import { loadModel } from '../../src/nn/saving.js';
import type { OptimizerSpec } from '../../src/optim/optimizers.js';
import { expectClose } from '../helpers/check.js';
import { idxBytes } from '../helpers/idx.js';
import { runPython } from '../helpers/python.js';

/*
 * Export to PyTorch: the generated model.py, run by Debian's python3-torch,
 * predicts what webgrad predicts. CI installs python3-torch (.ci/run) and
 * there these tests fail without it; elsewhere they are skipped, saying why.
 */
const PYTHON = '/usr/bin/python3';
const torch = runPython(['-c', 'import torch, numpy']);
const hasTorch = torch.status === 0;
if (!hasTorch && process.env.CI) throw new Error(`CI needs python3-torch for the PyTorch interop tests (apt-get install python3-torch): ${torch.stderr || torch.error}`);

const dir = mkdtempSync(join(tmpdir(), 'webgrad-torch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs a Python script; fails with its stderr. */
function python(script: string, timeout = 120_000): string {
  const r = runPython(['-c', script], { timeout });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

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
  const r = runPython(['-c', script], { timeout: 120_000 });
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

const SAME_MODEL = { atol: 2e-6, rtol: 2e-5, why: 'float32 in both engines, sums in different orders: a few ulps of O(1) values per layer' };

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
    expectClose(got, want, SAME_MODEL, 'torch vs webgrad');
    m.dispose();
  }, 120_000);

  it.skipIf(!hasTorch)("carries the input scaler: torch standardizes as webgrad's predict does", async () => {
    const m = sequential([dense(6, { activation: 'tanh', inputShape: [4] }), dense(2, { activation: 'softmax' })], { seed: 5 });
    m.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
    m.setScaler({ mean: [10, -3, 0.5, 100], std: [2, 0.25, 1, 40] });
    const x = { data: Float32Array.from({ length: 20 }, (_, i) => [10, -3, 0.5, 100][i % 4] + ((i * 7) % 5) - 2), shape: [5, 4] };
    const want = (await m.predict(x)).data;
    const folder = mkdtempSync(join(dir, 'scaler-'));
    await writeExport(folder, await pytorchExport(m));
    expectClose(torchPredict(folder, x.data, x.shape), want, SAME_MODEL, 'scaled inputs');
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

/*
 * Continuing in torch: the optimizer's state moves with the weights, and where
 * the update rules coincide one step in torch equals one more step in webgrad.
 */
const CONTINUED: [string, OptimizerSpec][] = [
  ['Adam (epsilonHat false) with L2 weight decay', { type: 'adam', learningRate: 0.01, epsilonHat: false, weightDecay: 0.01 }],
  ['AdamW (epsilonHat false)', { type: 'adamw', learningRate: 0.01, epsilonHat: false }],
  ['SGD with Nesterov momentum and weight decay', { type: 'sgd', learningRate: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 }],
  ['plain SGD', { type: 'sgd', learningRate: 0.1 }],
];

describe('continuing training in torch', () => {
  it.skipIf(!hasTorch).each(CONTINUED)("%s: one step in torch equals one more step in webgrad, and webgrad goes on from torch's state", async (_label, optimizer) => {
    const make = () => sequential([dense(8, { activation: 'relu', inputShape: [5], kernelRegularizer: l2(1e-3) }), dense(3, { activation: 'softmax' })], { seed: 4 });
    const m = make();
    m.compile({ optimizer, loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
    const { x, y } = digits(40, [5], 3, 6);
    await m.fit(x, y, { epochs: 2, batchSize: 8, shuffle: false, verbose: 0 });
    const folder = mkdtempSync(join(dir, 'continue-'));
    await writeExport(folder, await pytorchExport(m));
    expect(existsSync(join(folder, 'optimizer.safetensors'))).toBe(true);
    const before = await m.getWeights();
    // The next step on one batch of 16, in torch and in webgrad.
    const batch = { x: { data: x.data.slice(0, 16 * 5), shape: [16, 5] }, y: { data: y.data.slice(0, 16), shape: [16] } };
    writeFileSync(join(folder, 'bx.f32'), batch.x.data);
    writeFileSync(join(folder, 'by.i32'), batch.y.data);
    const out = join(folder, 'stepped.safetensors');
    const f = JSON.stringify(folder);
    python(
      [
        'import sys, numpy as np, torch',
        `sys.path.insert(0, ${f})`,
        'from model import load_model, load_optimizer, loss_fn, save_webgrad, OPTIMIZER_STEP',
        `model = load_model(${f}).train()`,
        `opt = load_optimizer(model, ${f})`,
        `x = torch.from_numpy(np.fromfile(${JSON.stringify(join(folder, 'bx.f32'))}, dtype='<f4').reshape(16, 5))`,
        `y = torch.from_numpy(np.fromfile(${JSON.stringify(join(folder, 'by.i32'))}, dtype='<i4').astype('int64'))`,
        'opt.zero_grad()',
        '(loss_fn(model(x, logits=True), y) + model.penalty()).backward()',
        'opt.step()',
        `save_webgrad(model.eval(), ${JSON.stringify(out)}, ${f}, optimizer=opt, step=OPTIMIZER_STEP + 1)`,
      ].join('\n'),
    );
    await m.fit(batch.x, batch.y, { epochs: 1, batchSize: 16, shuffle: false, verbose: 0 });
    const want = await m.getWeights();
    const torchStepped = await loadModel(out);
    torchStepped.compile({ ...torchStepped.compileOptions!, backend: 'cpu' });
    const got = await torchStepped.getWeights();
    const moved = Math.max(...want.map((w, i) => Math.max(...w.map((v, j) => Math.abs(v - before[i][j])))));
    expect(moved, 'the step moves the weights').toBeGreaterThan(1e-4);
    // The same state and gradient up to float32 rounding in other orders: the step agrees far below its size.
    const stepTol = { atol: 1e-6, rtol: 1e-5, why: 'one update from the same state; gradients differ by float32 rounding only' };
    got.forEach((g, i) => expectClose(g, want[i], stepTol, `weight ${i}`));
    // Back in webgrad, with torch's optimizer state: the next step is the one webgrad would have taken.
    for (const model of [m, torchStepped]) await model.fit(batch.x, batch.y, { epochs: 1, batchSize: 16, shuffle: false, verbose: 0 });
    const [again, resumed] = [await m.getWeights(), await torchStepped.getWeights()];
    resumed.forEach((g, i) => expectClose(g, again[i], { ...stepTol, atol: 2e-6, why: 'two updates, each from the same state up to float32 rounding' }, `weight ${i} after one more webgrad step`));
    m.dispose();
    torchStepped.dispose();
  }, 120_000);

  it.skipIf(!hasTorch)("says where torch's rule differs: Keras' ε̂ in Adam, and RMSprop's ε inside the root", async () => {
    for (const [optimizer, differs] of [
      ['adam', /epsilonHat \(Keras' ε̂, added to √v\); torch adds ε to √v̂/],
      ['rmsprop', /divides by √\(s \+ ε\); torch's by √s \+ ε/],
    ] as const) {
      const m = sequential([dense(2, { inputShape: [3] })], { seed: 1 });
      m.compile({ optimizer, loss: 'meanSquaredError', backend: 'cpu' });
      await m.fit({ data: new Float32Array(12).fill(0.5), shape: [4, 3] }, { data: new Float32Array(8), shape: [4, 2] }, { epochs: 1, verbose: 0 });
      const folder = mkdtempSync(join(dir, 'differs-'));
      await writeExport(folder, await pytorchExport(m));
      // model.py holds it as an ASCII-escaped literal; Python reads it back as the text.
      const said = python(['import sys', `sys.path.insert(0, ${JSON.stringify(folder)})`, 'from model import OPTIMIZER_DIFFERS', "sys.stdout.buffer.write(OPTIMIZER_DIFFERS.encode('utf-8'))"].join('\n'));
      expect(said).toMatch(differs);
      m.dispose();
    }
  });
});

describe('save_webgrad', () => {
  it.skipIf(!hasTorch)('refuses to write NaN weights, naming the tensor, and leaves no file', async () => {
    const m = sequential([dense(3, { activation: 'relu', inputShape: [4] }), dense(2)], { seed: 1 });
    m.compile({ optimizer: 'sgd', loss: 'meanSquaredError', backend: 'cpu' });
    await m.predict({ data: new Float32Array(4), shape: [1, 4] });
    const folder = mkdtempSync(join(dir, 'nan-'));
    await writeExport(folder, await pytorchExport(m));
    const out = join(folder, 'nan.safetensors');
    const f = JSON.stringify(folder);
    const said = python(
      [
        'import sys, torch',
        `sys.path.insert(0, ${f})`,
        'from model import load_model, save_webgrad',
        `model = load_model(${f})`,
        'with torch.no_grad():',
        "    model.dense_2.weight[0, 1] = float('nan')",
        'try:',
        `    save_webgrad(model, ${JSON.stringify(out)}, ${f})`,
        "    print('written')",
        'except ValueError as e:',
        '    print(e)',
      ].join('\n'),
    );
    expect(said).toMatch(/dense_2\.weight: holds NaN or infinite values; not written/);
    expect(existsSync(out)).toBe(false);
    m.dispose();
  }, 60_000);
});

describe('train.py without torchrun', () => {
  it.skipIf(!hasTorch)('trains on a CSV in one process and writes a file webgrad loads; refuses a CSV of the wrong width, naming it', async () => {
    const m = sequential([dense(6, { activation: 'relu', inputShape: [3] }), dense(2, { activation: 'softmax' })], { seed: 3 });
    m.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
    const x = { data: new Random(4).fill(new Float32Array(30 * 3), -1, 1), shape: [30, 3] };
    const y = { data: Int32Array.from({ length: 30 }, (_, i) => (x.data[i * 3] > 0 ? 1 : 0)), shape: [30] };
    await m.fit(x, y, { epochs: 1, batchSize: 10, verbose: 0 });
    const folder = mkdtempSync(join(dir, 'csv-'));
    await writeExport(folder, await pytorchExport(m));
    const csv = join(folder, 'data.csv');
    writeFileSync(csv, ['a,b,c,label', ...Array.from({ length: 30 }, (_, i) => `${x.data[i * 3]},${x.data[i * 3 + 1]},${x.data[i * 3 + 2]},${y.data[i]}`)].join('\n'));
    const out = join(folder, 'out.safetensors');
    const run = runPython([join(folder, 'train.py'), '--data', csv, '--epochs', '2', '--batch-size', '10', '--out', out], { timeout: 120_000 });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/epoch 2\/2: loss [\d.]+ \(rank 0, 30 samples\)/);
    const back = await loadModel(out);
    expect((await back.predict(x)).shape).toEqual([30, 2]);
    back.dispose();
    const wide = join(folder, 'wide.csv');
    writeFileSync(wide, 'a,b,c,d,label\n1,2,3,4,0\n');
    const bad = runPython([join(folder, 'train.py'), '--data', wide, '--epochs', '1', '--out', join(folder, 'never.safetensors')], { timeout: 120_000 });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/wide\.csv: 4 values per sample; the model takes 3 \[3\]/);
    expect(existsSync(join(folder, 'never.safetensors'))).toBe(false);
    m.dispose();
  }, 120_000);
});

describe('train.py under torchrun', () => {
  it.skipIf(!hasTorch)('two processes (DistributedDataParallel over gloo) train on IDX files; webgrad loads the result and predicts as torch does', async () => {
    // 64 images of 4×4 in the MNIST layout, labels by which half is brighter.
    const n = 64;
    const r = new Random(9);
    const pixels = Uint8Array.from({ length: n * 16 }, () => Math.floor(r.uniform() * 256));
    const labels = Uint8Array.from({ length: n }, (_, i) => (pixels.slice(i * 16, i * 16 + 8).reduce((a, b) => a + b, 0) > pixels.slice(i * 16 + 8, i * 16 + 16).reduce((a, b) => a + b, 0) ? 1 : 0));
    const data = join(dir, 'idx');
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, 'train-images-idx3-ubyte'), idxBytes([n, 4, 4], pixels));
    writeFileSync(join(data, 'train-labels-idx1-ubyte'), idxBytes([n], labels));
    const x = { data: Float32Array.from(pixels, (p) => p / 255), shape: [n, 4, 4, 1] };
    const m = sequential([flatten({ inputShape: [4, 4, 1] }), dense(8, { activation: 'relu' }), dense(2, { activation: 'softmax' })], { seed: 2 });
    m.compile({ optimizer: { type: 'adam', epsilonHat: false }, loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
    await m.fit(x, { data: Int32Array.from(labels), shape: [n] }, { epochs: 1, batchSize: 16, verbose: 0 });
    const folder = mkdtempSync(join(dir, 'ddp-'));
    await writeExport(folder, await pytorchExport(m));
    const out = join(folder, 'continued.safetensors');
    // Debian's torch 1.13 on Python 3.11 reads torchrun's default '--redirects 0' as nothing and fails; 1 and 1 work.
    const run = spawnSync('torchrun', ['--standalone', '--nproc_per_node', '2', '--redirects', '1', '--tee', '1', join(folder, 'train.py'), '--data', data, '--epochs', '2', '--batch-size', '8', '--out', out], { encoding: 'utf8', timeout: 240_000 });
    if (run.status !== 0) throw new Error(`torchrun failed (${run.status}): ${run.stderr}`);
    expect(run.stdout).toMatch(/epoch 2\/2: loss [\d.]+ \(rank 0, 32 samples\)/); // each of the 2 processes sees half of the 64
    const continued = await loadModel(out);
    const [w0, w1] = [await m.getWeights(), await continued.getWeights()];
    expect(Math.max(...w1[1].map((v, j) => Math.abs(v - w0[1][j]))), 'torch trained the weights').toBeGreaterThan(1e-4);
    writeFileSync(join(folder, 'x.f32'), x.data);
    const f = JSON.stringify(folder);
    python(
      [
        'import sys, numpy as np, torch',
        `sys.path.insert(0, ${f})`,
        'from model import load_webgrad',
        `model = load_webgrad(${JSON.stringify(out)}, ${f})`,
        `x = torch.from_numpy(np.fromfile(${JSON.stringify(join(folder, 'x.f32'))}, dtype='<f4').reshape(${n}, 4, 4, 1))`,
        'with torch.no_grad():',
        `    model(x).numpy().astype('<f4').tofile(${JSON.stringify(join(folder, 'y.f32'))})`,
      ].join('\n'),
    );
    const bytes = readFileSync(join(folder, 'y.f32'));
    expectClose(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4), (await continued.predict(x)).data, SAME_MODEL, 'torch vs webgrad after DDP');
    // The file is a whole webgrad model: compiled as before, it trains on.
    await continued.fit(x, { data: Int32Array.from(labels), shape: [n] }, { epochs: 1, batchSize: 16, verbose: 0 });
    m.dispose();
    continued.dispose();
  }, 300_000);
});
