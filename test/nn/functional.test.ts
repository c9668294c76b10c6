import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { input, model } from '../../src/nn/functional.js';
import { add, average, concatenate, dense, dropout, embedding, flatten, lstm, multiply } from '../../src/nn/layers.js';
import type { Model } from '../../src/nn/model.js';
import { sequential } from '../../src/nn/model.js';
import { loadModel, modelFromBytes, modelToBytes } from '../../src/nn/saving.js';
import { backends } from '../helpers/backends.js';
import { blobs } from '../helpers/blobs.js';

const quiet = { verbose: 0 as const };


/** A residual network: x → dense → (+ dense(dense(h))) → softmax, Keras' functional spelling. */
function residual(seed = 1) {
  const x = input({ shape: [4] });
  const h = dense(8, { activation: 'relu' }).apply(x);
  const f = dense(8).apply(dense(8, { activation: 'relu' }).apply(h));
  const out = dense(3, { activation: 'softmax' }).apply(add().apply([h, f]));
  return model({ inputs: x, outputs: out, seed, name: 'residual' });
}

describe.each(backends)('functional models on %s', (name) => {
  const models: Model[] = [];
  const track = <M extends Model>(m: M) => (models.push(m), m);
  afterAll(() => models.forEach((m) => m.dispose()));
  const compileOn = <M extends Model>(m: M) => track(m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'], backend: name === 'cpu' ? 'cpu' : 'webgpu' }));

  it('a chain written as a functional model trains exactly as the Sequential model of the same layers', async () => {
    const { x, y } = blobs(90, 3);
    const seq = compileOn(sequential([dense(6, { activation: 'relu', inputShape: [4] }), dropout(0.2), dense(3, { activation: 'softmax' })], { seed: 5 }));
    const i = input({ shape: [4] });
    const fun = compileOn(model({ inputs: i, outputs: dense(3, { activation: 'softmax' }).apply(dropout(0.2).apply(dense(6, { activation: 'relu' }).apply(i))), seed: 5 }));
    const [hs, hf] = [await seq.fit(x, y, { epochs: 2, batchSize: 32, ...quiet }), await fun.fit(x, y, { epochs: 2, batchSize: 32, ...quiet })];
    // The same graph of launches on the same weights, masks and batches: the same numbers, bit for bit.
    expect(hf.history.loss).toEqual(hs.history.loss);
    expect(await fun.getWeights()).toEqual(await seq.getWeights());
  });

  it('a residual network learns, and predicts the same after save and load', async () => {
    const { x, y } = blobs(150, 4);
    const m = compileOn(residual());
    const h = await m.fit(x, y, { epochs: 30, batchSize: 30, ...quiet });
    expect(h.history.loss[29]).toBeLessThan(h.history.loss[0]);
    expect(h.history.accuracy[29]).toBeGreaterThan(0.9);
    const dir = mkdtempSync(join(tmpdir(), 'webgrad-functional-'));
    try {
      await m.save(join(dir, 'r.safetensors'));
      const back = track(await loadModel(join(dir, 'r.safetensors')));
      back.compile({ ...back.compileOptions!, backend: name === 'cpu' ? 'cpu' : 'webgpu' });
      expect(back.topology()).toEqual(m.topology());
      expect((await back.predict(x)).data).toEqual((await m.predict(x)).data);
      // Training goes on from the same optimizer state: the next epoch is the same in both.
      const [a, b] = [await m.fit(x, y, { epochs: 1, batchSize: 30, shuffle: false, ...quiet }), await back.fit(x, y, { epochs: 1, batchSize: 30, shuffle: false, ...quiet })];
      expect(b.history.loss).toEqual(a.history.loss);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a layer applied twice shares one set of weights, which both calls train', async () => {
    const x = input({ shape: [4] });
    const shared = dense(4, { activation: 'tanh', name: 'shared' });
    const out = dense(3, { activation: 'softmax' }).apply(shared.apply(shared.apply(x)));
    const m = compileOn(model({ inputs: x, outputs: out }));
    expect(m.paramSpecs().map((p) => p.name)).toEqual(['shared/kernel', 'shared/bias', 'dense_1/kernel', 'dense_1/bias']);
    const { x: data, y } = blobs(60, 5);
    const before = (await m.getWeights())[0].slice();
    await m.fit(data, y, { epochs: 3, batchSize: 20, ...quiet });
    expect((await m.getWeights())[0]).not.toEqual(before);
    expect(m.summary(() => {})).toMatch(/shared \(Dense\)\s+\(None, 4\)\s+20\s+input_\d+; shared/);
  });

  it('a model with two inputs trains on both, and predicts the same after save and load', async () => {
    // Two views of the blobs: the first two features, and the last two; neither alone separates all three classes.
    const { x, y } = blobs(150, 8);
    const left = { data: new Float32Array(300), shape: [150, 2] };
    const right = { data: new Float32Array(300), shape: [150, 2] };
    for (let i = 0; i < 150; i++) {
      left.data.set(x.data.subarray(i * 4, i * 4 + 2), i * 2);
      right.data.set(x.data.subarray(i * 4 + 2, i * 4 + 4), i * 2);
    }
    const a = input({ shape: [2], name: 'left' });
    const b = input({ shape: [2], name: 'right' });
    const joined = concatenate().apply([dense(6, { activation: 'relu' }).apply(a), dense(6, { activation: 'relu' }).apply(b)]);
    const m = compileOn(model({ inputs: [a, b], outputs: dense(3, { activation: 'softmax' }).apply(joined) }));
    m.compile({ optimizer: { type: 'adam', learningRate: 0.01 }, loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'], backend: name === 'cpu' ? 'cpu' : 'webgpu' });
    const h = await m.fit([left, right], y, { epochs: 30, batchSize: 30, validationData: [[left, right], y], ...quiet });
    expect(h.history.accuracy[29]).toBeGreaterThan(0.9);
    expect(h.history.val_accuracy[29]).toBeGreaterThan(0.9);
    expect((await m.evaluate([left, right], y)).accuracy).toBeCloseTo(h.history.val_accuracy[29], 6);
    await expect(m.predict(left)).rejects.toThrow(/predict: the model has 2 inputs \(left, right\); give x as a list of 2 arrays/);
    const back = track(modelFromBytes(await modelToBytes(m)));
    back.compile({ ...back.compileOptions!, backend: name === 'cpu' ? 'cpu' : 'webgpu' });
    expect((await back.predict([left, right])).data).toEqual((await m.predict([left, right])).data);
  });

  it('a model with two heads trains each on its own targets, reports each, and gives both predictions', async () => {
    const { x, y } = blobs(150, 9);
    // The second head regresses the sum of the features.
    const sums = { data: Float32Array.from({ length: 150 }, (_, i) => x.data.subarray(i * 4, i * 4 + 4).reduce((p, q) => p + q, 0)), shape: [150, 1] };
    const i = input({ shape: [4] });
    const h = dense(16, { activation: 'relu' }).apply(i);
    const classes = dense(3, { activation: 'softmax', name: 'classes' }).apply(h);
    const total = dense(1, { name: 'total' }).apply(h);
    const m = compileOn(model({ inputs: i, outputs: [classes, total] }));
    m.compile({ optimizer: 'adam', loss: ['sparseCategoricalCrossentropy', 'meanSquaredError'], lossWeights: [1, 0.5], metrics: [['accuracy'], []], backend: name === 'cpu' ? 'cpu' : 'webgpu' });
    const hist = await m.fit(x, [y, sums], { epochs: 40, batchSize: 30, ...quiet });
    expect(Object.keys(hist.history).sort()).toEqual(['classes_accuracy', 'classes_loss', 'loss', 'total_loss']);
    const last = (k: string) => hist.history[k][39];
    // The reported loss is the weighted sum of the heads' (float32 sums of the same rows: to 1e-5 relative).
    expect(last('loss')).toBeCloseTo(last('classes_loss') + 0.5 * last('total_loss'), 4);
    expect(last('classes_accuracy')).toBeGreaterThan(0.9);
    expect(last('total_loss')).toBeLessThan(hist.history.total_loss[0] / 4);
    await expect(m.predict(x)).rejects.toThrow(/predict: the model has 2 outputs; predictOutputs\(x\) gives each of them/);
    const [p, q] = await m.predictOutputs(x);
    expect(p.shape).toEqual([150, 3]);
    expect(q.shape).toEqual([150, 1]);
    await expect(m.fit(x, y, quiet)).rejects.toThrow(/fit: the model has 2 outputs \(classes, total\); give y as a list of 2 arrays/);
  });

  it('concatenate, multiply and average of branches train, and their gradients reach every branch', async () => {
    const x = input({ shape: [4] });
    const a = dense(5, { activation: 'relu' }).apply(x);
    const b = dense(5, { activation: 'relu' }).apply(x);
    const joined = concatenate().apply([multiply().apply([a, b]), average().apply([a, b, dense(5).apply(x)]), x]);
    const m = compileOn(model({ inputs: x, outputs: dense(3, { activation: 'softmax' }).apply(joined) }));
    expect(m.outputShape).toEqual([3]);
    const { x: data, y } = blobs(90, 6);
    const before = await m.getWeights();
    const h = await m.fit(data, y, { epochs: 20, batchSize: 30, ...quiet });
    expect(h.history.loss[19]).toBeLessThan(h.history.loss[0]);
    const after = await m.getWeights();
    // Every kernel moved: the gradient flowed through each merge into each branch.
    before.forEach((w, i) => expect(after[i], m.paramSpecs()[i].name).not.toEqual(w));
  });
});

describe('the functional API refuses by name', () => {
  it('a model whose output is not connected to its input, an unused input, an input given twice', () => {
    const x = input({ shape: [4], name: 'x' });
    const other = input({ shape: [4], name: 'other' });
    expect(() => model({ inputs: x, outputs: dense(2).apply(other) })).toThrow(/not connected to the inputs: dense_\d+ reads other, an input\(\) that is not among the model's inputs \(x\)/);
    expect(() => model({ inputs: x, outputs: x })).toThrow(/outputs\[0\] is the input x itself/);
    expect(() => model({ inputs: [x, x], outputs: dense(2).apply(x) })).toThrow(/input x is given twice/);
    const d = dense(2).apply(x);
    expect(() => model({ inputs: d, outputs: dense(2).apply(d) })).toThrow(/inputs\[0\] \(dense_\d+\) is the output of dense_\d+, not a model input/);
    expect(() => model({ inputs: x, outputs: d, outptus: d } as never)).toThrow(/outptus.*outputs/);
  });

  it('shapes that do not fit, at apply time, naming the layer', () => {
    const x = input({ shape: [4] });
    const y = input({ shape: [3] });
    expect(() => add({ name: 'res' }).apply([x, y])).toThrow(/res: a add layer takes inputs of one shape, got \[4\], \[3\]/);
    expect(() => add({ name: 'res' }).apply([x])).toThrow(/res: a add layer takes 2 to any number of inputs, got 1/);
    expect(() => add({ name: 'res' }).apply(x)).toThrow(/res: a add layer takes 2 to any number of inputs, got 1/);
    expect(() => dense(2, { name: 'd' }).apply([x, x])).toThrow(/d: a dense layer takes one input, got a list of 2/);
    expect(() => concatenate({ axis: 0, name: 'c' }).apply([x, x])).toThrow(/c: axis 0 is not an axis of samples.*the batch axis cannot be joined/);
    const seq = input({ shape: [5, 4] });
    expect(() => concatenate({ axis: 1, name: 'c' }).apply([seq, input({ shape: [5, 3] })])).toThrow(/c: inputs \[5, 4\], \[5, 3\] must agree on every axis but the one joined \(axis 1\)/);
    expect(concatenate({ axis: 1 }).apply([seq, input({ shape: [2, 4] })]).shape).toEqual([null, 7, 4]);
    const shared = dense(2, { name: 'shared' });
    shared.apply(x);
    expect(() => shared.apply(y)).toThrow(/shared: called again on inputs \[3\] that need weights of other shapes/);
    expect(() => dense(2).apply({ shape: [4] } as never)).toThrow(/input 0 is not a symbolic tensor/);
  });

  it('a merge layer in a Sequential model, and a mask a layer cannot take', () => {
    expect(() => sequential([dense(4, { inputShape: [4] }), add({ name: 'res' })])).toThrow(/add: res \(Add\) takes 2 or more inputs, which a Sequential model cannot give; build a functional model/);
    const ids = input({ shape: [6] });
    const e = embedding(10, 4, { maskZero: true }).apply(ids);
    expect(() => flatten({ name: 'f' }).apply(e)).toThrow(/f: cannot take the mask of embedding_\d+ \(maskZero\)/);
    // The mask passes an add of two masked branches and is consumed by the LSTM.
    const m = model({ inputs: ids, outputs: dense(2).apply(lstm(3).apply(add().apply([e, dense(4).apply(e)]))) });
    expect(m.outputShape).toEqual([2]);
  });

  it('a file whose calls read a tensor not yet made, or name no layer', async () => {
    const m = residual();
    m.compile({ loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
    m.setWeights(m.paramSpecs().map((p) => new Float32Array(p.shape.reduce((a, b) => a * b, 1)).fill(0.1)));
    const bytes = await modelToBytes(m);
    m.dispose();
    const edit = (f: (t: { nodes: { layer: string; inputs: number[] }[]; outputs: number[] }) => void) => {
      const text = new TextDecoder().decode(bytes);
      const head = JSON.parse(text.slice(8, 8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true))));
      const t = JSON.parse(head.__metadata__.topology);
      f(t);
      head.__metadata__.topology = JSON.stringify(t);
      const json = new TextEncoder().encode(JSON.stringify(head));
      const out = new Uint8Array(8 + json.length + bytes.length - 8 - Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true)));
      new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
      out.set(json, 8);
      out.set(bytes.subarray(8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true))), 8 + json.length);
      return out;
    };
    expect(modelFromBytes(edit(() => {}), 'r.safetensors').topology().nodes).toHaveLength(5);
    expect(() => modelFromBytes(edit((t) => (t.nodes[1].inputs = [3])), 'r.safetensors')).toThrow(/node 1 \(dense_2\) reads \[3\]; each must be a tensor made before it \(0 to 1\)/);
    expect(() => modelFromBytes(edit((t) => (t.nodes[0].layer = 'nope')), 'r.safetensors')).toThrow(/node 0 calls 'nope', which is not one of the layers/);
    expect(() => modelFromBytes(edit((t) => (t.outputs = [0])), 'r.safetensors')).toThrow(/outputs \[0\] must each name a tensor a node makes/);
  });
});
