import { describe, expect, it } from 'vitest';
import { WebGPUBackend } from '../../src/backend/webgpu/backend.js';
import { Random } from '../../src/core/random.js';
import { dense } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import { modelFromBytes, modelToBytes } from '../../src/nn/saving.js';
import { encodeSafetensors } from '../../src/interop/safetensors.js';
import { backends } from '../helpers/backends.js';

function data(n: number) {
  const r = new Random(1);
  const x = Float32Array.from({ length: n * 5 }, () => r.uniform(-1, 1));
  const y = Int32Array.from({ length: n }, (_, i) => (x[i * 5] > 0 ? 1 : 0));
  return [{ data: x, shape: [n, 5] }, { data: y, shape: [n] }] as const;
}

const tiny = (backend: 'cpu' | 'webgpu' | WebGPUBackend, optimizer = 'adam') =>
  sequential([dense(8, { activation: 'relu', inputShape: [5] }), dense(2, { activation: 'softmax' })], { seed: 2 }).compile({
    optimizer: optimizer as 'adam',
    loss: 'sparseCategoricalCrossentropy',
    metrics: ['accuracy'],
    backend,
  });

describe.runIf(backends.some(([n]) => n === 'webgpu'))('the training loop on WebGPU', () => {
  it.each(['adam', 'sgd'])('%s: a few submits per epoch and no readback until the epoch ends', async (optimizer) => {
    const be = await WebGPUBackend.create();
    const model = tiny(be, optimizer);
    const [x, y] = data(320);
    await model.fit(x, y, { epochs: 1, batchSize: 32, verbose: 0 }); // builds and compiles
    const before = { ...be.counters };
    await model.fit(x, y, { epochs: 2, batchSize: 32, verbose: 0 });
    const reads = be.counters.reads - before.reads;
    const submits = be.counters.submits - before.submits;
    // 20 steps of 13 launches each: two Dense forwards, the loss with its gradient and seed, the loss and
    // accuracy into their sums (3), the backward (5), and one optimizer update for all four weights.
    expect(be.counters.dispatches - before.dispatches).toBe(20 * 13);
    // Per epoch: the loss sum and the accuracy sum, read once at its end.
    expect(reads).toBe(2 * 2);
    // 10 steps an epoch, fewer than one 16-step queue window: the batches and the optimizer's step count
    // are written in order inside the command buffer, so an epoch submits only around its read at the end.
    expect(submits).toBeLessThanOrEqual(2 * 2);
    model.dispose();
  });
});

describe.each(backends)('callbacks on %s', (name) => {
  it('calls the batch and epoch hooks in order, and a callback can stop training', async () => {
    const model = tiny(name);
    const [x, y] = data(100);
    const seen: string[] = [];
    const h = await model.fit(x, y, {
      epochs: 5,
      batchSize: 32,
      verbose: 0,
      callbacks: [
        {
          onEpochBegin: (e) => void seen.push(`begin ${e}`),
          onBatchEnd: (b, { size }) => void seen.push(`batch ${b}:${size}`),
          onEpochEnd: (e, logs, m) => {
            seen.push(`end ${e} ${Object.keys(logs).join(',')}`);
            if (e === 1) m.stopTraining = true;
          },
        },
      ],
    });
    expect(seen).toEqual(['begin 0', 'batch 0:32', 'batch 1:32', 'batch 2:32', 'batch 3:4', 'end 0 loss,accuracy', 'begin 1', 'batch 0:32', 'batch 1:32', 'batch 2:32', 'batch 3:4', 'end 1 loss,accuracy']);
    expect(h.epoch).toEqual([0, 1]);
    model.dispose();
  });
});

describe('model files', () => {
  it('refuses a file that is not a webgrad model, a newer version, or weights of the wrong shape, saying which', async () => {
    const model = tiny('cpu');
    await model.fit(...data(20), { epochs: 1, verbose: 0 });
    const good = await modelToBytes(model);
    expect(() => modelFromBytes(good)).not.toThrow();
    const meta = { format: 'webgrad-model', format_version: '1', topology: JSON.stringify(model.topology()), compile: 'null', optimizer_step: '0' };
    const w = (shape: number[]) => ({ dtype: 'F32' as const, shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
    const weights = { 'weights/dense_1/kernel': w([5, 8]), 'weights/dense_1/bias': w([8]), 'weights/dense_2/kernel': w([8, 2]), 'weights/dense_2/bias': w([2]) };
    const names = model.paramSpecs().map((p) => p.name);
    const renamed = Object.fromEntries(Object.values(weights).map((t, i) => [`weights/${names[i]}`, t]));
    expect(() => modelFromBytes(encodeSafetensors(renamed, meta))).not.toThrow();
    expect(() => modelFromBytes(encodeSafetensors(renamed, { ...meta, format: 'other' }))).toThrow(/not a webgrad model/);
    expect(() => modelFromBytes(encodeSafetensors(renamed, { ...meta, format_version: '2' }))).toThrow(/format version "2" is newer than this webgrad reads \(this webgrad reads version 1\); update webgrad to load it/);
    expect(() => modelFromBytes(encodeSafetensors(renamed, { ...meta, format_version: 'x' }))).toThrow(/format version "x" is not supported/);
    expect(() => modelFromBytes(encodeSafetensors(renamed, { ...meta, topology: '{' }))).toThrow(/topology is not valid JSON/);
    const wrong = { ...renamed, [`weights/${names[0]}`]: w([5, 9]) };
    expect(() => modelFromBytes(encodeSafetensors(wrong, meta))).toThrow(new RegExp(`'weights/${names[0]}' is F32\\[5, 9\\], the model needs F32\\[5, 8\\]`));
    const missing = { ...renamed };
    delete missing[`weights/${names[3]}`];
    expect(() => modelFromBytes(encodeSafetensors(missing, meta))).toThrow(new RegExp(`tensor 'weights/${names[3]}' is missing`));
    // A tensor the topology does not take: refused, naming it and the weights the model has.
    const extra = { ...renamed, 'weights/dense_9/kernel': w([2, 2]) };
    expect(() => modelFromBytes(encodeSafetensors(extra, meta))).toThrow(new RegExp(`tensor 'weights/dense_9/kernel' is not used by the model's topology \\(its weights: ${names[0]}`));
    // Left-out metadata and topology fields take Keras' defaults: no compile options loads uncompiled; a dense
    // layer without useBias has its bias (so its bias tensor is needed, and used).
    const { compile: _c, ...noCompile } = meta;
    expect(modelFromBytes(encodeSafetensors(renamed, noCompile)).compileOptions).toBeNull();
    const bare = { ...model.topology(), layers: model.topology().layers.map(({ type, name, units }: any) => ({ type, name, units })) };
    const loaded = modelFromBytes(encodeSafetensors(renamed, { ...meta, topology: JSON.stringify(bare) }));
    expect(loaded.layers[0].config).toMatchObject({ useBias: true, activation: 'linear', kernelInitializer: 'glorotUniform' });
    model.dispose();
  });
});

describe('stopping and running logs', () => {
  it('stops after the batch whose callback sets stopTraining, with the epoch means over what was trained', async () => {
    const model = tiny('cpu');
    const [x, y] = data(100);
    const running: (number | undefined)[] = [];
    const h = await model.fit(x, y, {
      epochs: 3,
      batchSize: 10,
      verbose: 0,
      logInterval: 0,
      callbacks: [{ onBatchEnd: (b, { logs }, m) => void (running.push(logs?.loss), b === 2 && (m.stopTraining = true)) }],
    });
    expect(h.epoch).toEqual([0]);
    expect(running).toHaveLength(3);
    // logInterval 0 reads every batch: each running loss is the mean over the batches so far.
    expect(running.every((l) => typeof l === 'number' && l > 0)).toBe(true);
    expect(h.history.loss[0]).toBeCloseTo(running[2]!, 5);
    model.dispose();
  });

  it('keeps error names through minification', async () => {
    const { ShapeError, ValueError } = await import('../../src/core/errors.js');
    expect(new ShapeError('x').name).toBe('ShapeError');
    expect(String(new ValueError('bad lr'))).toBe('ValueError: bad lr');
  });
});
