import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { torchrunCommand } from '../../src/cli/export.js';
import { Random } from '../../src/core/random.js';
import { loadModel } from '../../src/nn/saving.js';
import { runCli } from '../helpers/cli.js';

/*
 * `webgrad export MODEL --to pytorch DIR`: what it prints runs as printed.
 * The torchrun line names the data the CLI trained on (recorded in the model
 * file) and carries the flags Debian's torch 1.13 needs; it is run here
 * exactly as printed, by bash. CI installs python3-torch (.ci/run) and there
 * the test fails without it; elsewhere it is skipped, saying why.
 */
const hasTorchrun = spawnSync('torchrun', ['--help'], { encoding: 'utf8' }).status === 0;
if (!hasTorchrun && process.env.CI) throw new Error('CI needs torchrun (apt-get install python3-torch) for the PyTorch export tests');
if (!hasTorchrun) console.warn('export-pytorch.test.ts: torchrun is not installed (apt-get install python3-torch): the printed line is not run');

const dir = mkdtempSync(join(tmpdir(), 'webgrad-cli-torch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A CSV of 40 rows whose label column ('kind', cat or dog) is not the last. */
function writeCsv(path: string): void {
  const r = new Random(5);
  const rows = Array.from({ length: 40 }, () => {
    const [a, b, c] = [r.uniform(), r.uniform(), r.uniform()];
    return `${a.toFixed(4)},${a + b > 1 ? 'dog' : 'cat'},${b.toFixed(4)},${c.toFixed(4)}`;
  });
  writeFileSync(path, ['a,kind,b,c', ...rows].join('\n'));
}

describe('webgrad export --to pytorch', () => {
  it.skipIf(!hasTorchrun)('prints a torchrun line that names the training data and its label column, and runs as printed', async () => {
    const csv = join(dir, 'pets.csv');
    writeCsv(csv);
    const file = join(dir, 'pets.safetensors');
    const t = await runCli(['train', csv, '--label-column', 'kind', '--layers', '8', '--epochs', '1', '--backend', 'cpu', '--save', file]);
    expect(t.code, t.err).toBe(0);
    const out = join(dir, 'export');
    const r = await runCli(['export', file, '--to', 'pytorch', out]);
    expect(r.code, r.err).toBe(0);
    const line = r.out.split('\n').find((l) => l.startsWith('to train on: '))!.slice('to train on: '.length);
    expect(line).toBe(`torchrun --standalone --nproc_per_node auto --redirects 1 --tee 1 ${join(out, 'train.py')} --data ${csv} --label-column kind --epochs 1 --out ${join(out, 'trained.safetensors')}`);
    expect(r.out, 'the data is found: no note').not.toContain('  (');
    const run = spawnSync('bash', ['-c', line], { encoding: 'utf8', timeout: 240_000 });
    expect(run.status, `${line}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(/epoch 1\/1: loss [\d.]+/);
    const trained = await loadModel(join(out, 'trained.safetensors'));
    expect(trained.classNames).toEqual(['cat', 'dog']);
    expect(trained.trainingData).toEqual({ data: csv, labelColumn: 'kind' });
    trained.dispose();
  }, 300_000);

  it('says when the data is unknown or is the built-in digits, with a placeholder to replace', () => {
    const unknown = torchrunCommand('out', null);
    expect(unknown.command).toContain('--data PATH_TO_DATA --epochs 1');
    expect(unknown.note).toBe('the model file does not say what it was trained on: replace PATH_TO_DATA with a folder of IDX files or a CSV file');
    const mnist = torchrunCommand('out', { data: 'mnist' });
    expect(mnist.command).toContain('--data PATH_TO_MNIST_IDX --epochs 1');
    expect(mnist.note).toMatch(/built-in MNIST digits, which train.py cannot read/);
    const flag = torchrunCommand('my out', { data: '-data.csv' });
    expect(flag.command).toContain("'my out/train.py' --data ./-data.csv");
    expect(existsSync('-data.csv')).toBe(false);
    expect(flag.note).toBe('the model was trained on -data.csv, which is not found from here: give --data its path');
  });
});
