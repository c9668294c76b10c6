import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { loadModel } from '../../src/nn/saving.js';
import { lastJson, runCli } from '../helpers/cli.js';

// The CLI's checks do not depend on the backend; the CPU keeps these runs short.
let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'webgrad-cli-safety-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CLASSES = ['owl', 'cat', 'bee'];
/** Three well-separated clusters with features in the thousands: raw features make a poor fit, standardized ones a perfect one. */
function animals(path: string, n: number, seed: number, classes = CLASSES): string {
  const r = new Random(seed);
  const centres: Record<string, [number, number]> = { owl: [1000, 0], cat: [0, 1000], bee: [-1000, -1000] };
  const rows = ['weight,height,animal'];
  for (let i = 0; i < n; i++) {
    const c = classes[i % classes.length];
    rows.push(`${(5000 + centres[c][0] + r.normal(0, 100)).toFixed(1)},${(5000 + centres[c][1] + r.normal(0, 100)).toFixed(1)},${c}`);
  }
  writeFileSync(path, rows.join('\n') + '\n');
  return path;
}

describe('webgrad train refuses what it would otherwise ignore', () => {
  it('--momentum with an optimizer that has none is an error; with sgd it is SGD with momentum', async () => {
    const r = await runCli(['train', '--backend', 'cpu', '--momentum', '0.9']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('--momentum does not apply to --optimizer adam (the default); it applies to sgd, momentum, rmsprop');
    const csv = animals(join(dir, 'm.csv'), 60, 1);
    const ok = await runCli(['train', '--backend', 'cpu', '--data', csv, '--standardize', '--optimizer', 'sgd', '--momentum', '0.9', '--epochs', '1', '--layers', '4', '--save', join(dir, 'sgdm.safetensors')]);
    expect(ok.code, ok.err).toBe(0);
    const m = await loadModel(join(dir, 'sgdm.safetensors'));
    expect(m.compileOptions?.optimizer).toMatchObject({ type: 'sgd', momentum: 0.9 });
    expect((await m.optimizerState())?.slots[0]).toHaveLength(1); // the velocity: momentum was used
    m.dispose();
  });

  it('a file given as an argument is the data set; two are refused', async () => {
    const csv = animals(join(dir, 'pos.csv'), 60, 2);
    const r = await runCli(['train', csv, '--backend', 'cpu', '--epochs', '1', '--layers', '4']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`data: ${csv}`);
    const two = await runCli(['train', csv, csv, '--backend', 'cpu']);
    expect(two.err).toContain('train takes one data file or folder');
    const both = await runCli(['train', csv, '--data', 'mnist', '--backend', 'cpu']);
    expect(both.err).toContain(`got both --data mnist and the data argument '${csv}'`);
  });

  it('--save to a folder that does not exist fails before training', async () => {
    const r = await runCli(['train', '--backend', 'cpu', '--save', join(dir, 'no', 'such', 'm.safetensors')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/--save .*: the folder .*no[/\\]such does not exist; create it first/);
    expect(r.out).not.toContain('Epoch');
    const p = await runCli(['train', '--backend', 'cpu', '--plot', dir]);
    expect(p.err).toContain('is a folder; give a file name inside it');
  });

  it('a run that turns NaN or blows up stops, names the epoch, the loss and the rule, exits 1 and leaves the file at --save as it was', async () => {
    const rows = ['x1,x2,y'];
    for (let i = 0; i < 200; i++) rows.push(`${i * 50},${(i * 37) % 101},${i * 1e4}`);
    const csv = join(dir, 'houses.csv');
    writeFileSync(csv, rows.join('\n'));
    const save = join(dir, 'good.safetensors');
    const good = Buffer.from(Array.from({ length: 256 }, (_, i) => (i * 73) & 255));
    writeFileSync(save, good);
    const r = await runCli(['train', '--backend', 'cpu', '--data', csv, '--task', 'regression', '--optimizer', 'sgd', '--lr', '0.5', '--epochs', '20', '--save', save, '--json']);
    expect(r.code).toBe(1);
    const message = r.err.trim().split('\n').filter((l) => l.includes('diverged'));
    expect(message).toHaveLength(1);
    expect(message[0]).toMatch(/^webgrad train: training diverged: the loss (became (NaN|-?Infinity)|reached [\d.e+]+) (in epoch 1, after batch \d+|at the end of epoch 1) \(rule: /);
    expect(message[0]).toContain(`Nothing was saved; the model already at ${save} is unchanged`);
    expect(message[0]).toContain('Try a lower learning rate (--lr 0.05)');
    expect(readFileSync(save).equals(good)).toBe(true);
    expect(r.out).not.toContain('"train_loss"');
    expect(r.out).not.toContain('test R²');
  });

  it('a loss that explodes without turning NaN (sgd --lr 1e6 on the digits) is divergence too: exit 1, nothing saved', async () => {
    const save = join(dir, 'digits.safetensors');
    const good = Buffer.from('the good model that was here');
    writeFileSync(save, good);
    const r = await runCli(['train', '--backend', 'cpu', '--optimizer', 'sgd', '--lr', '1e6', '--epochs', '3', '--layers', '16', '--save', save]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/training diverged: the loss reached [\d.]+e\+\d+ (in epoch 1, after batch \d+|at the end of epoch 1) \(rule: more than 10 × the first batch's loss 2\.\d+\)\. Training stopped\. Nothing was saved/);
    expect(readFileSync(save).equals(good)).toBe(true);
    expect(r.out).not.toMatch(/test accuracy|Epoch 2\//);
  }, 60_000);
});

describe('a saved model carries what its predictions depend on', () => {
  it('class names: evaluate on a file that lacks a class scores by the names, and an unseen label is refused with file and line', async () => {
    const csv = animals(join(dir, 'animals.csv'), 150, 3);
    const model = join(dir, 'animals.safetensors');
    const t = await runCli(['train', '--backend', 'cpu', '--data', csv, '--standardize', '--epochs', '30', '--layers', '8', '--save', model, '--json']);
    expect(t.code, t.err).toBe(0);
    expect(lastJson(t.out).test_accuracy).toBe(1);
    const m = await loadModel(model);
    expect([...m.classNames!].sort()).toEqual([...CLASSES].sort());
    expect(m.scaler?.mean).toHaveLength(2);
    m.dispose();
    // Two classes only, raw (unscaled) features: the model maps 'cat' and 'bee' by name and scales them itself.
    const partial = animals(join(dir, 'two.csv'), 40, 4, ['cat', 'bee']);
    const e = await runCli(['evaluate', model, '--backend', 'cpu', '--data', partial, '--test-data', partial, '--json']);
    expect(e.code, e.err).toBe(0);
    expect(lastJson(e.out).test_accuracy).toBe(1);
    const unseen = join(dir, 'dog.csv');
    writeFileSync(unseen, 'weight,height,animal\n5000,5000,cat\n5000,5000,dog\n');
    const d = await runCli(['evaluate', model, '--backend', 'cpu', '--data', unseen, '--test-data', unseen]);
    expect(d.code).toBe(1);
    expect(d.err).toMatch(/dog\.csv.*line 3.*'dog'/);
  });

  it('evaluate splits a CSV with the seed the model was trained with, or --seed', async () => {
    const csv = animals(join(dir, 'seeded.csv'), 90, 5);
    const model = join(dir, 'seeded.safetensors');
    const t = await runCli(['train', '--backend', 'cpu', '--data', csv, '--standardize', '--epochs', '2', '--layers', '4', '--seed', '7', '--save', model, '--json']);
    expect(t.code, t.err).toBe(0);
    const e = await runCli(['evaluate', model, '--backend', 'cpu', '--data', csv, '--json']);
    expect(e.code, e.err).toBe(0);
    expect(e.out).toContain('80/20 split, seed 7');
    expect(lastJson(e.out).test_loss).toBeCloseTo(lastJson(t.out).test_loss, 5);
    const other = await runCli(['evaluate', model, '--backend', 'cpu', '--data', csv, '--seed', '8']);
    expect(other.out).toContain('80/20 split, seed 8');
    expect(existsSync(model)).toBe(true);
  });
});
