import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeExport } from '../../src/cli/export.js';
import { onnxExport } from '../../src/interop/export-onnx.js';
import { pytorchExport } from '../../src/interop/export-pytorch.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/interop/safetensors.js';
import { conv2d, dense, flatten, randomTranslation } from '../../src/nn/layers.js';
import type { Model } from '../../src/nn/model.js';
import { sequential } from '../../src/nn/model.js';
import { modelFromBytes, modelToBytes } from '../../src/nn/saving.js';
import { runCli } from '../helpers/cli.js';
import { loadOnnxruntime } from '../helpers/onnxruntime.js';
import { hostileValues, IMAGE, NEVER_LOADED } from '../helpers/hostile.js';
import { idxBytes } from '../helpers/idx.js';
import { runPython } from '../helpers/python.js';

/*
 * A model file is data, never code. Every string field of a model file gets
 * each hostile value (quotes, triple quotes, newlines, backslashes, Unicode
 * separators, controls, markup, very long, names of JavaScript properties
 * and of torch's own attributes). Either the load refuses it with one line
 * naming the field, or it survives as data: through summary(), the PyTorch
 * export (model.py imported and train.py run in python3-torch) and the ONNX
 * export (run in onnxruntime where installed). A payload that ran would
 * create the marker file; it must never exist.
 */
const PYTHON = '/usr/bin/python3';
const hasTorch = runPython(['-c', 'import torch, numpy']).status === 0;
if (!hasTorch && process.env.CI) throw new Error('CI needs python3-torch for the PyTorch interop tests (apt-get install python3-torch)');
const { ort, why } = await loadOnnxruntime();
if (!ort) console.warn(`hostile.test.ts: the ONNX files are not run: ${why}`);

const dir = mkdtempSync(join(tmpdir(), 'webgrad-hostile-'));
const marker = join(dir, 'payload-ran');
const HOSTILE = hostileValues(marker);
let base: Uint8Array;
beforeAll(async () => {
  // The model every case starts from: a translation (a comment line in model.py), a convolution, dense softmax, class names.
  const m = sequential([randomTranslation(0.1, 0.1, { inputShape: IMAGE }), conv2d(2, 3, { activation: 'relu' }), flatten(), dense(2, { activation: 'softmax' })], { seed: 1 });
  m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
  m.setClassNames(['no', 'yes']);
  m.trainingData = { data: 'train.csv', labelColumn: 'label' };
  await m.predict({ data: new Float32Array(16), shape: [1, ...IMAGE] });
  base = await modelToBytes(m);
  m.dispose();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Meta = Record<string, string>;
type Tensors = ReturnType<typeof decodeSafetensors>['tensors'];

/** Every string field of the file, as a change to its metadata and tensors, and what a refusal must name. */
const FIELDS: [field: string, names: RegExp, put: (meta: Meta, tensors: Tensors, v: string) => void][] = [
  ["the model's name", /topology\.name/, (m, _t, v) => json(m, 'topology', (t) => (t.name = v))],
  ["a layer's name", /topology\.layers\[1\]\.name/, (m, t, v) => renameLayer(m, t, 1, v)],
  ['a class name', /class_names\[1\]/, (m, _t, v) => (m.class_names = JSON.stringify(['no', v]))],
  ['the training data', /metadata data/, (m, _t, v) => (m.data = v)],
  ['the label column', /metadata label_column/, (m, _t, v) => (m.label_column = v)],
  ['a layer type', /topology\.layers\[2\]\.type|unknown layer type/, (m, _t, v) => json(m, 'topology', (t) => (t.layers[2].type = v))],
  ['an activation', /topology\.layers\[1\]\.activation|unknown activation/, (m, _t, v) => json(m, 'topology', (t) => (t.layers[1].activation = v))],
  ['the loss', /compile\.loss|compile options/, (m, _t, v) => json(m, 'compile', (c) => (c.loss = v))],
  // defineProperty: an assignment to m.__proto__ would set the prototype, not a key.
  ['a metadata key', /metadata key/, (m, _t, v) => Object.defineProperty(m, v, { value: 'x', enumerable: true, writable: true, configurable: true })],
  ['a metadata value', /metadata note/, (m, _t, v) => (m.note = v)],
  ['a tensor name', /tensor name|is not used by the model's topology/, (_m, t, v) => (t[`weights/${v}`] = { dtype: 'F32', shape: [1], data: new Float32Array(1) })],
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function json(meta: Meta, key: string, change: (value: any) => void): void {
  const value = JSON.parse(meta[key]);
  change(value);
  meta[key] = JSON.stringify(value);
}

/** Renames layer `i` in the topology and its tensors, so that the file stays whole. */
function renameLayer(meta: Meta, tensors: Tensors, i: number, name: string): void {
  let old = '';
  json(meta, 'topology', (t) => {
    old = t.layers[i].name;
    t.layers[i].name = name;
  });
  for (const key of Object.keys(tensors)) {
    const renamed = key.replace(`/${old}/`, `/${name}/`);
    if (renamed !== key) [tensors[renamed], tensors[key]] = [tensors[key], undefined as never];
  }
  for (const key of Object.keys(tensors)) if (!tensors[key]) delete tensors[key];
}

function withValue(put: (meta: Meta, tensors: Tensors, v: string) => void, value: string): Uint8Array {
  const { tensors, metadata } = decodeSafetensors(base, 'base');
  const meta = { ...metadata };
  put(meta, tensors, value);
  return encodeSafetensors(tensors, meta);
}

const RAW = /[\p{Cc}\p{Zl}\p{Zp}\u0085\u202a-\u202e\u2066-\u2069]/u;

interface Accepted {
  readonly label: string;
  readonly model: Model;
  readonly value: string;
}
const accepted: Accepted[] = [];

describe('a hostile value in every string field of a model file', () => {
  it('is refused on load in one line naming the field, or loads as data and summary() shows no control character raw', () => {
    const outcomes: string[] = [];
    for (const [field, names, put] of FIELDS) {
      for (const [label, value] of HOSTILE) {
        const source = 'hostile.safetensors';
        let model: Model;
        try {
          model = modelFromBytes(withValue(put, value), source);
        } catch (e) {
          const message = (e as Error).message;
          const what = `${field} = ${label}: ${message.slice(0, 300)}`;
          expect(message.startsWith(`${source}: `), what).toBe(true);
          expect(message, what).toMatch(names);
          expect(RAW.test(message), `${what}: one line, no control characters`).toBe(false);
          expect(message.length, what).toBeLessThan(600);
          outcomes.push(`${field} / ${label}: refused`);
          continue;
        }
        let text = '';
        model.summary((s) => (text = s));
        expect(RAW.test(text.replace(/\n/g, '')), `${field} = ${label}: summary() prints no control character raw`).toBe(false);
        if (field === "the model's name") expect(model.name).toBe(value);
        if (field === "a layer's name") expect(model.layers[1].name).toBe(value);
        if (field === 'a class name') expect(model.classNames).toEqual(['no', value]);
        if (field === 'the training data') expect(model.trainingData?.data).toBe(value);
        accepted.push({ label: `${field} / ${label}`, model, value });
        outcomes.push(`${field} / ${label}: loaded`);
      }
    }
    // What the grammar (src/nn/names.ts) says, for the values meant to test it.
    for (const [label, value] of HOSTILE) {
      if (NEVER_LOADED.test(value) || value.length > 256 || value === '') expect(outcomes, label).not.toContain(`the model's name / ${label}: loaded`);
    }
    expect(outcomes).toContain("the model's name / triple double quotes on one line: loaded");
    expect(outcomes).toContain("a layer's name / a Python keyword: loaded");
    expect(outcomes).toContain("the model's name / triple double quotes and a newline: refused");
  });

  it('summary() of a model built in code (no load to refuse its names) shows their control characters as escapes', () => {
    const m = sequential([dense(2, { inputShape: [3], name: 'a\nb\u001b[2J\u202e' })], { name: 'red\u001b[31m\u2028x' });
    let text = '';
    m.summary((s) => (text = s));
    expect(text).toContain('Model: "red\\u001b[31m\\u2028x"');
    expect(text).toContain('a\\nb\\u001b[2J\\u202e (Dense)');
    expect(RAW.test(text.replace(/\n/g, ''))).toBe(false);
    m.dispose();
  });

  it.skipIf(!hasTorch)('survives the PyTorch export: every model.py imports, predicts and holds the names as data; no payload runs', async () => {
    const folders: { folder: string; a: Accepted }[] = [];
    for (const a of accepted) {
      const folder = mkdtempSync(join(dir, 'torch-'));
      await writeExport(folder, await pytorchExport(a.model));
      folders.push({ folder, a });
    }
    // Models built in code skip the load's grammar: the export alone must keep their names out of the code.
    for (const [label, value] of HOSTILE.filter(([, v]) => v !== '')) {
      const m = sequential([flatten({ inputShape: IMAGE, name: value }), dense(2, { activation: 'softmax', name: `${value}2` })], { name: value, seed: 2 });
      m.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
      await m.predict({ data: new Float32Array(16), shape: [1, ...IMAGE] });
      const folder = mkdtempSync(join(dir, 'code-'));
      await writeExport(folder, await pytorchExport(m));
      folders.push({ folder, a: { label: `built in code / ${label}`, model: m, value } });
    }
    const list = JSON.stringify(folders.map((f) => f.folder));
    const script = [
      'import importlib.util, json, os, sys, torch',
      `for i, folder in enumerate(${list}):`,
      "    spec = importlib.util.spec_from_file_location(f'exported_{i}', os.path.join(folder, 'model.py'))",
      '    module = importlib.util.module_from_spec(spec)',
      '    spec.loader.exec_module(module)',
      '    with torch.no_grad():',
      '        y = module.load_model(folder)(torch.zeros(1, *module.INPUT_SHAPE))',
      '    print(json.dumps({"name": module.MODEL_NAME, "layers": module.LAYER_NAMES, "shape": list(y.shape)}))',
    ].join('\n');
    const r = runPython(['-c', script], { timeout: 240_000 });
    expect(r.status, r.stderr).toBe(0);
    const said = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(said).toHaveLength(folders.length);
    folders.forEach(({ a }, i) => {
      expect(said[i].name, a.label).toBe(a.model.name);
      expect(said[i].layers, a.label).toEqual(a.model.layers.map((l) => l.name));
      expect(said[i].shape, a.label).toEqual([1, 2]);
    });
    expect(existsSync(marker), 'no payload ran').toBe(false);
  }, 300_000);

  it.skipIf(!hasTorch)("train.py trains a model whose every name is hostile, and the file it writes loads with the names intact", async () => {
    // The values every name field accepts, all at once: the model's and layers' names, a class name, the data path.
    const ok = HOSTILE.filter(([label]) => ['triple double quotes on one line', 'triple single quotes on one line', 'a quote and a comment', 'backslashes'].includes(label)).map(([, v]) => v);
    const m = sequential([randomTranslation(0.1, 0.1, { inputShape: IMAGE, name: ok[0] }), conv2d(2, 3, { name: ok[1] }), flatten({ name: ok[2] }), dense(2, { activation: 'softmax', name: ok[3] })], { name: ok[0], seed: 3 });
    m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
    m.setClassNames([ok[2], ok[3]]);
    await m.predict({ data: new Float32Array(16), shape: [1, ...IMAGE] });
    const loaded = modelFromBytes(await modelToBytes(m), 'every name hostile');
    const folder = mkdtempSync(join(dir, 'train-'));
    await writeExport(folder, await pytorchExport(loaded));
    const data = join(folder, 'idx');
    writeIdx(data, 8);
    const out = join(folder, 'out.safetensors');
    const run = runPython([join(folder, 'train.py'), '--data', data, '--epochs', '1', '--batch-size', '4', '--max-steps', '1', '--out', out], { timeout: 120_000 });
    expect(run.status, run.stderr).toBe(0);
    const back = modelFromBytes(readFileSync(out), out);
    expect([back.name, ...back.layers.map((l) => l.name), ...back.classNames!]).toEqual([ok[0], ...ok, ok[2], ok[3]]);
    expect(existsSync(marker), 'no payload ran').toBe(false);
    [m, loaded, back].forEach((x) => x.dispose());
  }, 120_000);

  it('survives the ONNX export: the file decodes and runs in onnxruntime, predicting what webgrad does', async () => {
    const x = { data: Float32Array.from({ length: 2 * 16 }, (_, i) => (i % 7) / 7), shape: [2, ...IMAGE] };
    for (const a of accepted) {
      const bytes = await onnxExport(a.model);
      if (!ort) continue;
      const session = await ort.InferenceSession.create(bytes);
      const got = (await session.run({ x: new ort.Tensor('float32', x.data, x.shape) })).y;
      await session.release();
      const want = await a.model.predict(x);
      expect(got.dims.map(Number), a.label).toEqual(want.shape);
      // As test/interop/onnx.test.ts: float32 sums in onnxruntime against float64 sums in the CPU reference.
      (got.data as Float32Array).forEach((v, i) => expect(Math.abs(v - want.data[i]), a.label).toBeLessThanOrEqual(2e-6 + 1e-5 * Math.abs(want.data[i])));
    }
  }, 120_000);

  it("webgrad export prints the data path as one shell word, whatever it holds, and says it is not found", async () => {
    const path = `d'; touch ${marker}; echo '$(touch ${marker}) \`touch ${marker}\` "x".csv`;
    const bytes = withValue((m) => (m.data = path), path);
    const file = join(dir, 'data-path.safetensors');
    writeFileSync(file, bytes);
    const r = await runCli(['export', file, '--to', 'pytorch', join(dir, 'cli-export')]);
    expect(r.code, r.err).toBe(0);
    const line = r.out.split('\n').find((l) => l.startsWith('to train on: torchrun '))!;
    expect(r.out).toContain('which is not found from here: give --data its path');
    // The shell reads the printed words; printf shows them one a line instead of running torchrun.
    const words = spawnSync('bash', ['-c', `printf '%s\\n' ${line.slice('to train on: torchrun '.length)}`], { encoding: 'utf8' });
    expect(words.status, words.stderr).toBe(0);
    const argv = words.stdout.split('\n');
    expect(argv[argv.indexOf('--data') + 1]).toBe(path);
    expect(existsSync(marker), 'no payload ran').toBe(false);
  });
});

afterAll(() => accepted.forEach((a) => a.model.dispose()));

/** n 4×4 images and their labels (0 or 1) in the MNIST IDX layout. */
function writeIdx(folder: string, n: number): void {
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'train-images-idx3-ubyte'), idxBytes([n, 4, 4], Uint8Array.from({ length: n * 16 }, (_, i) => (i * 37) % 256)));
  writeFileSync(join(folder, 'train-labels-idx1-ubyte'), idxBytes([n], Uint8Array.from({ length: n }, (_, i) => i % 2)));
}
