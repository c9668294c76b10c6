import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from '../../src/interop/safetensors.js';
import { torchrunCommand } from '../../src/cli/export.js';
import { showable } from '../../src/cli/generate.js';
import { trainOptions } from '../../src/cli/train-options.js';
import { bidirectional, dense, embedding, lstm } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import { loadModel } from '../../src/nn/saving.js';
import { lastJson, runCli } from '../helpers/cli.js';
import { runPython } from '../helpers/python.js';

/* The CLI on text: a character model trained on a file, evaluated, and generating. */

let dir: string;
let model: string;
let text: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'webgrad-text-'));
  text = join(dir, 'tiny.txt');
  // A repeated line with a newline and a tab: characters a saved vocabulary must keep.
  writeFileSync(text, 'the cat sat on the mat.\tthe dog sat on the log.\n'.repeat(40));
  model = join(dir, 'char.safetensors');
  const t = await runCli(['train', '--data', text, '--layers', 'embed8,lstm16', '--context', '16', '--epochs', '8', '--lr', '0.02', '--backend', 'cpu', '--save', model, '--json']);
  if (t.code !== 0) throw new Error(`training the character model failed: ${t.err}`);
  writeFileSync(join(dir, 'train.json'), t.out);
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('webgrad train --data FILE.txt', () => {
  it('trains a character model: the vocabulary in the file, the loss in nats per character, evaluate agreeing', async () => {
    const out = readFileSync(join(dir, 'train.json'), 'utf8');
    expect(out).toMatch(/data: .*tiny.txt: 1920 characters, 16 distinct, the last 10% to test, windows of 16/);
    expect(out).toMatch(/test loss: \d+\.\d{4} nats per character \(perplexity \d+\.\d\d\), next-character accuracy/);
    const r = lastJson(out);
    // A text this repetitive is learnt far below the uniform guess's ln 16 ≈ 2.8.
    expect(r.test_nats_per_char).toBeLessThan(1.5);
    const { metadata } = decodeSafetensors(readFileSync(model));
    expect(JSON.parse(metadata.vocabulary)).toContain(10);
    const e = await runCli(['evaluate', model, '--data', text, '--backend', 'cpu', '--json']);
    expect(e.code, e.err).toBe(0);
    expect(lastJson(e.out).test_loss).toBeCloseTo(r.test_loss as number, 5);
  });

  it("has text's own defaults: embed64,lstm128, 20 epochs, Adam at 0.005; a flag given wins", () => {
    const options = (flags: Record<string, string>) => trainOptions({ flags: new Map(Object.entries(flags)), positional: [] });
    expect(options({ data: 'webgrad-docs' })).toMatchObject({ epochs: 20, lr: 0.005, batchSize: 32, layers: ['embed64', 'lstm128'] });
    expect(options({ data: 'notes.txt', epochs: '3', lr: '0.01' })).toMatchObject({ epochs: 3, lr: 0.01 });
    // Another optimizer keeps its own Keras default; other data keep the general defaults.
    expect(options({ data: 'notes.md', optimizer: 'sgd' }).lr).toBeUndefined();
    expect(options({ data: 'mnist' })).toMatchObject({ epochs: 10, lr: 0.002 });
  });

  it('refuses text that cannot train one, and --context elsewhere', async () => {
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '');
    const refused = async (args: string[], message: RegExp) => {
      const r = await runCli(['train', ...args, '--backend', 'cpu']);
      expect(r.code, r.out).toBe(1);
      expect(r.err).toMatch(message);
    };
    await refused(['--data', empty], /empty.txt: the text is empty/);
    await refused(['--data', text, '--context', '0'], /--context must be a whole number >= 1/);
    await refused(['--data', text, '--context', '500'], /fewer than one window of 500/);
    await refused(['--context', '8'], /--context applies to text/);
    await refused(['--data', 'circle', '--context', '8'], /--context applies to text .*not to --data circle/);
    await refused(['--data', text, '--noise', '10'], /--noise applies to the Playground's data sets .*not to --data .*tiny.txt/);
  });
});

describe('webgrad generate', () => {
  it('samples text: the same seed gives the same text, another seed other text; temperature 0 the likeliest', async () => {
    const run = (...a: string[]) => runCli(['generate', model, '--length', '60', '--backend', 'cpu', '--json', ...a]);
    // One at a time: runCli captures the console of this process.
    const a = await run('--seed', '7', '--prompt', 'the ');
    const b = await run('--seed', '7', '--prompt', 'the ');
    const c = await run('--seed', '8', '--prompt', 'the ');
    for (const r of [a, b, c]) expect(r.code, r.err).toBe(0);
    const text = (r: { out: string }) => lastJson(r.out).text as string;
    expect(text(a)).toHaveLength(60);
    expect(text(a)).toBe(text(b));
    expect(text(a)).not.toBe(text(c));
    // Trained on two sentences, the greedy continuation is made of their words.
    const greedy = await run('--temperature', '0', '--prompt', 'the ');
    expect(text(greedy)).toMatch(/(cat|dog|sat|on|the|mat|log)/);
  });

  it("refuses a prompt character outside the vocabulary, by name, and a model that is not a character model", async () => {
    const bad = await runCli(['generate', model, '--prompt', 'the zebra', '--backend', 'cpu']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/--prompt: the character "z" \(U\+007A, at position 4\) is not in the model's vocabulary of 16 characters/);
  });

  it('refuses a model that reads the steps backwards, alone or as half of a bidirectional layer: it has seen the future', async () => {
    // train refuses to build one on text ...
    for (const [layers, message] of [
      ['embed8,lstm8:seq:back', /'lstm8:seq:back' reads the steps backwards, and here every step's target is the next token/],
      ['embed8,bilstm8:seq', /'bilstm8:seq' reads the steps backwards too/],
    ] as const) {
      const t = await runCli(['train', '--data', text, '--layers', layers, '--context', '16', '--epochs', '1', '--backend', 'cpu']);
      expect(t.code).toBe(1);
      expect(t.err).toMatch(message);
    }
    // ... and generate refuses one made from code.
    const chars = (await loadModel(model)).vocabulary!;
    for (const [recurrent, message] of [
      [lstm(4, { returnSequences: true, goBackwards: true, name: 'back' }), /layer back reads its steps backwards, so each position's prediction has seen the characters after it/],
      [bidirectional(lstm(4, { returnSequences: true }), { name: 'both' }), /layer both is bidirectional: half of it reads the steps backwards/],
    ] as const) {
      const m = sequential([embedding(chars.length, 4, { inputShape: [16] }), recurrent, dense(chars.length, { activation: 'softmax' })]);
      m.compile({ loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
      m.setVocabulary(chars);
      await m.predict({ data: new Float32Array(16), shape: [1, 16] }); // builds the weights
      const file = join(dir, `future-${recurrent.name}.safetensors`);
      await m.save(file);
      m.dispose();
      const g = await runCli(['generate', file, '--backend', 'cpu']);
      expect(g.code).toBe(1);
      expect(g.err).toMatch(message);
    }
  });

  it("shows a vocabulary's terminal controls as escapes: a model file cannot drive the terminal", async () => {
    expect(showable('a\u001b[31mred\u202e\tb\n')).toBe('a\\u{1b}[31mred\\u{202e}\tb\n');
    // A file whose vocabulary holds ESC where 'a' was: what it generates prints the escape as text.
    const { tensors, metadata } = decodeSafetensors(readFileSync(model));
    const chars = JSON.parse(metadata.vocabulary) as number[];
    const hostile = join(dir, 'hostile.safetensors');
    writeFileSync(hostile, encodeSafetensors(tensors, { ...metadata, vocabulary: JSON.stringify(chars.map((c) => (c === 97 ? 27 : c))) }));
    const g = await runCli(['generate', hostile, '--length', '200', '--backend', 'cpu', '--prompt', 'the c', '--temperature', '0']);
    expect(g.code, g.err).toBe(0);
    expect(g.out).not.toContain('\u001b');
    expect(g.out).toContain('\\u{1b}');
  });
});

const PYTHON = '/usr/bin/python3';
const probe = runPython(['-c', 'import torch, numpy']);
const hasTorch = probe.status === 0;
if (!hasTorch && process.env.CI) throw new Error(`CI needs python3-torch for the character model's export test (apt-get install python3-torch): ${probe.stderr || probe.error}`);
if (!hasTorch) console.warn(`text: the PyTorch cases are skipped: ${PYTHON} cannot import torch and numpy (apt-get install python3-torch)`);

describe("a character model's PyTorch export and train.py", () => {
  it.skipIf(!hasTorch)('reads the text as webgrad does (the same test loss at the same weights) and trains on it, writing a file webgrad loads', async () => {
    const out = join(dir, 'export');
    const r = await runCli(['export', model, '--to', 'pytorch', out]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`train.py --data ${text} --epochs 1`);
    // At the exported weights, torch's loss over train.py's test windows is webgrad's test loss: the same
    // characters, cut into the same windows, and the loss per step flattened as webgrad counts it.
    const py = runPython(['-c', [
      'import json, sys, torch',
      `sys.path.insert(0, ${JSON.stringify(out)})`,
      'import model, train',
      `vocabulary = json.load(open(${JSON.stringify(join(out, 'webgrad.json'))}))['metadata']['vocabulary']`,
      `(x, y), (xt, yt) = train.load_text(${JSON.stringify(text)}, json.loads(vocabulary))`,
      "print(json.dumps({'train': list(x.shape), 'test': list(xt.shape), 'loss': train.mean_loss(model.load_model(), xt, yt, torch.device('cpu'))}))",
    ].join('\n')], { timeout: 120_000 });
    expect(py.status, py.stderr).toBe(0);
    const torchSide = JSON.parse(py.stdout.trim().split('\n').at(-1)!);
    // 1,920 characters: the first 1,728 give 107 windows of 16, the last 192 give 11.
    expect(torchSide.train).toEqual([107, 16]);
    expect(torchSide.test).toEqual([11, 16]);
    const webgrad = lastJson(readFileSync(join(dir, 'train.json'), 'utf8'));
    // Both sum float32 logits of a 16-unit LSTM over 16 steps; 1e-5 is far above that rounding and far below any misread window.
    expect(Math.abs(torchSide.loss - (webgrad.test_loss as number))).toBeLessThan(1e-5);
    const trained = join(dir, 'torch-trained.safetensors');
    const run = runPython([join(out, 'train.py'), '--data', text, '--epochs', '2', '--batch-size', '8', '--out', trained], { timeout: 240_000 });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/epoch 2\/2: loss \d+\.\d{4} \(rank 0, 107 samples\), test loss \d+\.\d{4} nats\/char/);
    const back = await loadModel(trained);
    expect(back.vocabulary).toEqual((await loadModel(model)).vocabulary);
    back.dispose();
    const e = await runCli(['evaluate', trained, '--data', text, '--backend', 'cpu', '--json']);
    expect(e.code, e.err).toBe(0);
  }, 300_000);

  it("refuses a text with a character the model lacks, by name, and a folder", () => {
    const out = join(dir, 'export');
    const other = join(dir, 'other.txt');
    writeFileSync(other, 'the zebra sat.\n'.repeat(40));
    const run = runPython([join(out, 'train.py'), '--data', other, '--epochs', '1', '--out', join(dir, 'never.safetensors')], { timeout: 120_000 });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/other.txt: the character 'z' \(U\+007A, at position 4\) is not in the model's vocabulary of 16 characters/);
    const folder = runPython([join(out, 'train.py'), '--data', dir, '--epochs', '1', '--out', join(dir, 'never.safetensors')], { timeout: 120_000 });
    expect(folder.stderr).toMatch(/is a folder; this is a character model: give the text file it learns from/);
  });

  it('points train.py at the built-in corpus, which the export writes beside it', () => {
    const { command, note } = torchrunCommand('out', { data: 'webgrad-docs' });
    expect(command).toContain('train.py --data out/webgrad-docs.txt --epochs 1');
    expect(note).toBeNull();
  });
});
