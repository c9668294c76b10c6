import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { earlyStopping, terminateOnNaN } from '../../src/nn/callbacks.js';
import { activationLayer, dense } from '../../src/nn/layers.js';
import { Sequential, sequential } from '../../src/nn/model.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/interop/safetensors.js';
import { loadModel, modelFromBytes, saveModel } from '../../src/nn/saving.js';
import type { OptimizerSpec } from '../../src/optim/optimizers.js';
import { backends } from '../helpers/backends.js';

const quiet = { verbose: 0 as const };
const dir = mkdtempSync(join(tmpdir(), 'webgrad-safety-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** 24 samples, 3 features, 2 classes: enough for a few deterministic steps. */
function data(seed = 3) {
  const r = new Random(seed);
  const x = Float32Array.from({ length: 24 * 3 }, () => r.normal(0, 1));
  const y = Int32Array.from({ length: 24 }, (_, i) => (x[i * 3] + x[i * 3 + 1] > 0 ? 1 : 0));
  return { x: { data: x, shape: [24, 3] }, y: { data: y, shape: [24] } };
}

const model = (backend: 'cpu' | 'webgpu', optimizer: OptimizerSpec = 'adam') =>
  sequential([dense(5, { activation: 'tanh', inputShape: [3] }), dense(2, { activation: 'softmax' })], { seed: 7 }).compile({ optimizer, loss: 'sparseCategoricalCrossentropy', backend });

async function trained(backend: 'cpu' | 'webgpu', optimizer: OptimizerSpec): Promise<Float32Array[]> {
  const m = model(backend, optimizer);
  const { x, y } = data();
  await m.fit(x, y, { epochs: 3, batchSize: 8, shuffle: false, ...quiet });
  const w = await m.getWeights();
  m.dispose();
  return w;
}

const maxDiff = (a: Float32Array[], b: Float32Array[]) => Math.max(...a.map((w, i) => Math.max(...w.map((v, j) => Math.abs(v - b[i][j])))));

describe('optimizer options mean what Keras means', () => {
  it("refuses PyTorch's spellings, typos and options of another optimizer, by name", () => {
    expect(() => model('cpu', { type: 'sgd', lr: 0.1 } as never)).toThrow("optimizer 'sgd': unknown option 'lr'; webgrad calls it learningRate");
    expect(() => model('cpu', { type: 'adam', learningrate: 0.5 } as never)).toThrow("optimizer 'adam': unknown option 'learningrate' (did you mean 'learningRate'?)");
    expect(() => model('cpu', { type: 'adam', momentum: 0.9 } as never)).toThrow("optimizer 'adam': momentum does not apply to adam (it is an option of sgd, momentum, rmsprop");
    expect(() => model('cpu', { type: 'adam', betas: [0.9, 0.99] } as never)).toThrow('webgrad calls it beta1 and beta2');
    expect(() => model('cpu', { type: 'adamw', weight_decay: 0.1 } as never)).toThrow('webgrad calls it weightDecay');
    expect(() => model('cpu', { type: 'adam', eps: 1e-8 } as never)).toThrow('webgrad calls it epsilon');
    expect(() => model('cpu', { type: 'adam', amsgrad: true })).toThrow("optimizer 'adam': amsgrad is not implemented");
    expect(() => model('cpu', { type: 'sgd', nesterov: true })).toThrow('nesterov needs momentum > 0');
    expect(() => model('cpu', 'adma' as never)).toThrow("unknown optimizer 'adma' (did you mean 'adam'?)");
  });
});

describe.each(backends)('options and safety on %s', (name) => {
  it("{ type: 'sgd', momentum: 0.9 } is SGD with momentum, the same as 'momentum', not plain SGD", async () => {
    const withMomentum = await trained(name, { type: 'sgd', learningRate: 0.1, momentum: 0.9 });
    const named = await trained(name, { type: 'momentum', learningRate: 0.1, momentum: 0.9 });
    const plain = await trained(name, { type: 'sgd', learningRate: 0.1 });
    expect(maxDiff(withMomentum, named)).toBe(0);
    expect(maxDiff(withMomentum, plain)).toBeGreaterThan(1e-3);
    const nesterov = await trained(name, { type: 'sgd', learningRate: 0.1, momentum: 0.9, nesterov: true });
    expect(maxDiff(nesterov, withMomentum)).toBeGreaterThan(1e-4);
  });

  it('the learning rate given is the one trained with', async () => {
    const a = await trained(name, { type: 'sgd', learningRate: 0.1 });
    const b = await trained(name, { type: 'sgd' }); // Keras' default 0.01
    expect(maxDiff(a, b)).toBeGreaterThan(1e-3);
  });

  it("rmsprop's momentum and centered change the update, and the GPU matches the CPU", async () => {
    const plain = await trained(name, { type: 'rmsprop', learningRate: 0.01 });
    const mom = await trained(name, { type: 'rmsprop', learningRate: 0.01, momentum: 0.9 });
    const centered = await trained(name, { type: 'rmsprop', learningRate: 0.01, centered: true, momentum: 0.5 });
    expect(maxDiff(plain, mom)).toBeGreaterThan(1e-3);
    expect(maxDiff(plain, centered)).toBeGreaterThan(1e-3);
    if (name === 'webgpu') {
      // 9 steps of f32 arithmetic on both sides, in different orders: agreement to 1e-4 of weights of size ~1.
      expect(maxDiff(mom, await trained('cpu', { type: 'rmsprop', learningRate: 0.01, momentum: 0.9 }))).toBeLessThan(1e-4);
      expect(maxDiff(centered, await trained('cpu', { type: 'rmsprop', learningRate: 0.01, centered: true, momentum: 0.5 }))).toBeLessThan(1e-4);
    }
  });

  it('compile, fit, evaluate and predict refuse options nobody reads', async () => {
    const m = sequential([dense(2, { activation: 'softmax', inputShape: [3] })]);
    expect(() => m.compile({ optimiser: 'sgd', loss: 'mse' } as never)).toThrow("compile: unknown option 'optimiser'; webgrad calls it optimizer");
    expect(() => m.compile({} as never)).toThrow("compile: no loss given; name one, e.g. compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' })");
    expect(() => m.compile({ loss: 'sparseCategoricalCrossentropi' })).toThrow("unknown loss 'sparseCategoricalCrossentropi' (did you mean 'sparseCategoricalCrossentropy'?)");
    m.compile({ loss: 'sparseCategoricalCrossentropy', backend: name });
    const { x, y } = data();
    await expect(m.fit(x, y, { epoch: 5 } as never)).rejects.toThrow("fit: unknown option 'epoch' (did you mean 'epochs'?)");
    await expect(m.evaluate(x, y, { batchsize: 4 } as never)).rejects.toThrow("evaluate: unknown option 'batchsize' (did you mean 'batchSize'?)");
    await expect(m.predict(x, { batch_size: 4 } as never)).rejects.toThrow("predict: unknown option 'batch_size' (did you mean 'batchSize'?)");
    expect(() => dense(3, { activaton: 'relu' } as never)).toThrow("dense: unknown option 'activaton' (did you mean 'activation'?)");
    expect(() => dense(3, { activation: 'rellu' })).toThrow('dense: activation "rellu" is unknown (did you mean \'relu\'?)');
    expect(() => activationLayer('relu', { alpah: 0.1 } as never)).toThrow("did you mean 'alpha'?");
    expect(() => earlyStopping({ patiance: 2 } as never)).toThrow("earlyStopping: unknown option 'patiance' (did you mean 'patience'?)");
    expect(() => new Sequential([], { sed: 1 } as never)).toThrow("sequential: unknown option 'sed' (did you mean 'seed'?)");
    m.dispose();
  });

  it('after dispose() every method throws, instead of running on fresh random weights', async () => {
    const m = model(name);
    const { x, y } = data();
    await m.fit(x, y, { epochs: 1, ...quiet });
    m.dispose();
    const gone = /was disposed and its weights are gone/;
    await expect(m.predict(x)).rejects.toThrow(gone);
    await expect(m.evaluate(x, y)).rejects.toThrow(gone);
    await expect(m.fit(x, y, quiet)).rejects.toThrow(gone);
    await expect(m.getWeights()).rejects.toThrow(gone);
    await expect(m.toBytes()).rejects.toThrow(gone);
    expect(() => m.setWeights([])).toThrow(gone);
    expect(() => m.summary(() => undefined)).toThrow(gone);
    expect(() => m.compile({ loss: 'mse' })).toThrow(gone);
    expect(() => m.add(dense(1))).toThrow(gone);
    expect(() => m.dispose()).not.toThrow();
  });

  it('hinge takes 0/1 labels as Keras does (mapped to -1/1), and refuses anything else', async () => {
    const m = sequential([dense(1, { inputShape: [3] })], { seed: 2 }).compile({ loss: 'hinge', backend: name });
    const { x, y } = data();
    const signed = Float32Array.from(y.data, (v) => 2 * v - 1);
    const binary = Float32Array.from(y.data);
    const a = await m.evaluate(x, { data: signed, shape: [24, 1] });
    const b = await m.evaluate(x, { data: binary, shape: [24, 1] });
    expect(b.loss).toBe(a.loss);
    await expect(m.evaluate(x, { data: binary.map((v) => v * 2), shape: [24, 1] })).rejects.toThrow(/hinge takes targets -1 or 1 \(or 0\/1 labels.*got 2 at index/);
    const mixed = Float32Array.from(signed);
    mixed[0] = 0;
    await expect(m.evaluate(x, { data: mixed, shape: [24, 1] })).rejects.toThrow(/hinge targets mix 0 \(index 0\) and -1/);
    m.dispose();
  });

  it('setWeights refuses NaN and Infinity, naming the weight', async () => {
    const m = model(name);
    const w = await m.getWeights().catch(() => null);
    expect(w).not.toBeNull();
    const bad = m.paramSpecs().map((p) => new Float32Array(p.shape.reduce((a, b) => a * b, 1)));
    bad[1][2] = NaN;
    expect(() => m.setWeights(bad)).toThrow(/setWeights: dense_\d+\/bias holds NaN at index 2; weights must be finite/);
    bad[1][2] = 0;
    bad[0][0] = -Infinity;
    expect(() => m.setWeights(bad)).toThrow(/kernel holds -Infinity at index 0/);
    m.dispose();
  });

  it('a diverging run stops with TerminateOnNaN, which says where; its weights cannot be saved', async () => {
    const m = sequential([dense(4, { activation: 'relu', inputShape: [3] }), dense(1)], { seed: 1 }).compile({ optimizer: { type: 'sgd', learningRate: 1e6 }, loss: 'mse', backend: name });
    const { x } = data();
    const y = { data: Float32Array.from({ length: 24 }, (_, i) => 1000 * i), shape: [24, 1] };
    const nan = terminateOnNaN();
    const h = await m.fit(x, y, { epochs: 50, batchSize: 4, callbacks: [nan], ...quiet });
    expect(nan.stopped).not.toBeNull();
    expect(Number.isFinite(nan.stopped!.loss)).toBe(false);
    expect(h.epoch.length).toBe(nan.stopped!.epoch + 1);
    expect(h.epoch.length).toBeLessThan(50);
    const path = join(dir, `diverged-${name}.safetensors`);
    writeFileSync(path, 'a good model was here');
    await expect(m.save(path)).rejects.toThrow(/save: weight 'dense_\d+\/kernel' holds (NaN|-?Infinity) at index \d+; model files never hold non-finite values/);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    m.dispose();
  });

  it('class names and the feature scaler are saved with the model and applied to every input', async () => {
    const m = model(name);
    const { x, y } = data();
    m.setScaler({ mean: [10, -5, 0], std: [2, 4, 1] });
    m.setClassNames(['owl', 'cat']);
    const shifted = { data: x.data.map((v, i) => [10, -5, 0][i % 3] + v * [2, 4, 1][i % 3]), shape: x.shape };
    await m.fit(shifted, y, { epochs: 2, ...quiet });
    const before = await m.predict(shifted);
    const back = modelFromBytes(await m.toBytes(), 'test.safetensors');
    expect(back.classNames).toEqual(['owl', 'cat']);
    expect(back.scaler).toEqual({ mean: [10, -5, 0], std: [2, 4, 1] });
    back.compile({ ...back.compileOptions!, backend: name });
    expect((await back.predict(shifted)).data).toEqual(before.data);
    expect(() => m.setClassNames(['a', 'b', 'c'])).toThrow('setClassNames: the model has 2 outputs, got 3 class names');
    // One sigmoid output: two classes; nothing else.
    const binary = sequential([dense(1, { activation: 'sigmoid', inputShape: [3] })], { seed: 1 });
    binary.setClassNames(['no', 'yes']);
    expect(binary.classNames).toEqual(['no', 'yes']);
    expect(() => binary.setClassNames(['a', 'b', 'c'])).toThrow('setClassNames: the model has 1 output (a binary classifier has 2 class names), got 3 class names');
    binary.dispose();
    expect(() => m.setScaler({ mean: [0, 0, 0], std: [1, 0, 1] })).toThrow('setScaler: feature 1 has mean 0 and std 0');
    m.dispose();
    back.dispose();
  });
});

describe('model files', () => {
  async function goodBytes(): Promise<Uint8Array> {
    const m = model('cpu');
    await m.fit(data().x, data().y, { epochs: 1, ...quiet });
    const b = await m.toBytes();
    m.dispose();
    return b;
  }

  it('a file whose weights hold NaN or Infinity is refused, naming the file and the tensor', async () => {
    const { tensors, metadata } = decodeSafetensors(await goodBytes());
    const name = Object.keys(tensors).find((k) => k.endsWith('/bias'))!;
    (tensors[name].data as Float32Array)[1] = Infinity;
    expect(() => modelFromBytes(encodeSafetensors(tensors, metadata), 'bad.safetensors')).toThrow(`bad.safetensors: tensor '${name}' holds Infinity at index 1`);
  });

  it('metadata errors name the file', async () => {
    const { tensors, metadata } = decodeSafetensors(await goodBytes());
    const topo = JSON.parse(metadata.topology);
    topo.layers[0].activation = 'rellu';
    expect(() => modelFromBytes(encodeSafetensors(tensors, { ...metadata, topology: JSON.stringify(topo) }), 'm.safetensors')).toThrow(/^m\.safetensors: topology: unknown activation 'rellu'/);
    expect(() => modelFromBytes(encodeSafetensors(tensors, { ...metadata, class_names: '["a"' }), 'm.safetensors')).toThrow(/m\.safetensors: metadata class_names is not valid JSON/);
  });

  it('temp files of an interrupted save are never loaded, and the next save removes them', async () => {
    const path = join(dir, 'm.safetensors');
    const stale = join(dir, '.m.safetensors.999999999.abcdef012345.tmp'); // no such process
    writeFileSync(stale, 'half a model');
    await expect(loadModel(path)).rejects.toThrow(/model file not found/);
    const m = model('cpu');
    await m.fit(data().x, data().y, { epochs: 1, ...quiet });
    await saveModel(m, path);
    m.dispose();
    expect(readdirSync(dir).filter((f) => f.startsWith('.m.safetensors'))).toEqual([]);
    (await loadModel(path)).dispose();
  });
});
