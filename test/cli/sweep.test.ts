import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readPng } from '../../src/cli/png.js';
import { Random } from '../../src/core/random.js';
import { backends } from '../helpers/backends.js';
import { runCli } from '../helpers/cli.js';

const run = runCli;

const progress = (out: string) => out.split('\n').filter((l) => l.startsWith('run '));
const table = (out: string) => out.split('\n').filter((l) => l.startsWith('| '));
/** The table without its last two columns (seconds per run, samples/s): everything else must repeat exactly. */
const numbersOf = (out: string) => table(out).map((l) => l.split('|').slice(0, -3).join('|'));

let dir: string;
let blobs: string;
let linear: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'webgrad-sweep-'));
  const r = new Random(3);
  // Three classes in 2-D, 30 / 20 / 10 samples: imbalanced, so 10 folds is the most the smallest class allows (8 after the 80/20 split).
  const rows = ['a,b,label'];
  [30, 20, 10].forEach((n, c) => {
    for (let i = 0; i < n; i++) rows.push(`${r.normal(c === 1 ? 3 : 0, 0.7)},${r.normal(c === 2 ? 3 : 0, 0.7)},${'xyz'[c]}`);
  });
  blobs = join(dir, 'blobs.csv');
  writeFileSync(blobs, rows.join('\n'));
  const lines = ['x,y'];
  for (let i = 0; i < 100; i++) {
    const x = r.uniform(0, 1);
    lines.push(`${x},${2 * x + 1 + r.normal(0, 0.1)}`);
  }
  linear = join(dir, 'linear.csv');
  writeFileSync(linear, lines.join('\n'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const small = ['--epochs', '3', '--batch-size', '8', '--backend', 'cpu'];

describe('webgrad sweep', () => {
  it('trains every combination on every fold, prints a line per run and a table best first, refits the best, writes the plot and JSON', async () => {
    const plot = join(dir, 'curves.png');
    const json = join(dir, 'runs.json');
    const { code, out, err } = await run(['sweep', '--data', blobs, '--lr', '0.05,0.0001', '--layers', '8:none', '--folds', '3', ...small, '--plot', plot, '--json', json]);
    expect(code, err).toBe(0);
    expect(out).toMatch(/^sweep: 4 settings × 3 folds = 12 runs, 3-fold cross-validation \(stratified\); fixed: batch-size=8 optimizer=adam activation=relu epochs=3$/m);
    const lines = progress(out);
    expect(lines).toHaveLength(12);
    expect(lines[0]).toMatch(/^run 1\/12  lr=0\.05 layers=8  fold 1\/3  val_loss [\d.]+  val_accuracy [\d.]+%  train_accuracy [\d.]+%  [\d.]+s  [\d,]+ samples\/s$/);
    const t = table(out);
    expect(t[0]).toMatch(/^\| rank \| lr +\| layers \| val loss +\| val accuracy +\| train accuracy +\| folds \| s\/run \| samples\/s +\|$/);
    expect(t).toHaveLength(5);
    const acc = t.slice(1).map((l) => Number(l.split('|')[5].trim().split('%')[0]));
    expect(acc).toEqual([...acc].sort((a, b) => b - a));
    expect(t[1]).toMatch(/^\| 1 +\| 0\.05 /);
    expect(out).toMatch(/^best: lr=0\.05 layers=\S+, refitted on all 48 training samples \(3 epochs, [\d.]+s\): test loss [\d.]+, test accuracy [\d.]+%$/m);
    const png = readPng(plot);
    expect([png.width, png.height]).toEqual([1100, 800]);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    expect(report.runs).toHaveLength(12);
    expect(report.runs[0].history.val_loss).toHaveLength(3);
    expect(report.summary[0].name).toBe(report.refit.name);
    expect(report.backend).toBe('cpu');
  });

  it('is reproducible: the same command prints the same table (timings aside)', async () => {
    const args = ['sweep', '--data', linear, '--layers', 'none', '--optimizer', 'sgd', '--lr', '0.1,0.01', '--batch-size', '100,1', '--epochs', '2', '--seed', '9', '--backend', 'cpu'];
    const a = await run(args);
    const b = await run(args);
    expect(a.code, a.err).toBe(0);
    expect(numbersOf(a.out)).toHaveLength(5);
    expect(numbersOf(b.out)).toEqual(numbersOf(a.out));
    expect(a.out).toMatch(/validation on the last 20% of the training data \(16 samples\)/);
    expect(a.out).toMatch(/test R² /);
    const c = await run([...args.slice(0, -4), '--seed', '10', '--backend', 'cpu']);
    expect(numbersOf(c.out)).not.toEqual(numbersOf(a.out));
  });

  it('Ctrl-C stops after the current run and still prints the table of finished runs', async () => {
    const before = process.listeners('SIGINT');
    let pressed = false;
    const { code, out, err } = await run(['sweep', '--data', blobs, '--lr', '0.05,0.01', '--folds', '2', ...small], (line) => {
      if (!pressed && line.startsWith('run 1/4')) {
        pressed = true;
        // A real SIGINT to this worker, as Ctrl-C sends: safe only while the sweep's handler is installed (else Node would exit).
        expect(process.listenerCount('SIGINT')).toBe(before.length + 1);
        process.kill(process.pid, 'SIGINT');
      }
    });
    expect(code).toBe(130);
    expect(err).toMatch(/stopping after the current run \(Ctrl-C again to quit now\)/);
    expect(progress(out)).toHaveLength(1);
    expect(out).toMatch(/stopped after 1 of 4 runs; results/);
    expect(table(out)).toHaveLength(2);
    expect(table(out)[1]).toMatch(/\| 1\/2 +\|/);
    expect(out).toMatch(/refit skipped: the sweep was stopped/);
    expect(process.listeners('SIGINT')).toEqual(before);
  });

  it('marks a run that blows up "diverged" with its epoch in the progress, the table, the JSON and the plot, instead of a nan row', async () => {
    const json = join(dir, 'diverged.json');
    const plot = join(dir, 'diverged.png');
    const args = ['sweep', '--data', linear, '--layers', 'none', '--optimizer', 'sgd', '--batch-size', '8', '--epochs', '3', '--backend', 'cpu'];
    const { code, out, err } = await run([...args, '--lr', '0.1,1e30', '--json', json, '--plot', plot]);
    expect(code, err).toBe(0);
    expect(progress(out)[1]).toMatch(/^run 2\/2  lr=1e\+30  diverged: the loss (became (NaN|Infinity)|reached \S+) (in epoch 1, after batch 1|at the end of epoch 1) \(rule: /);
    const t = table(out);
    expect(t[2]).toMatch(/^\| 2 +\| 1e\+30 +\| diverged, epoch 1 +\| — +\| — +\|/);
    expect(t.join('\n')).not.toMatch(/nan/i);
    expect(out).toMatch(/^best: lr=0\.1, refitted/m);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    expect(report.runs[1].diverged).toMatchObject({ epoch: 1 });
    expect(report.runs[0].diverged).toBeNull();
    expect(report.summary[1]).toMatchObject({ name: 'lr=1e+30', diverged: { runs: 1, epoch: 1 } });
    expect(readPng(plot).width).toBe(1100);
    // Every setting diverged: nothing to refit, nothing saved, exit 1.
    const save = join(dir, 'kept.safetensors');
    writeFileSync(save, 'the good model');
    const all = await run([...args, '--lr', '1e20,1e30', '--save', save]);
    expect(all.code).toBe(1);
    expect(all.out).toContain('refit skipped: every setting diverged');
    expect(all.err).toMatch(/every setting diverged .* nothing was refitted or saved/);
    expect(readFileSync(save, 'utf8')).toBe('the good model');
  });

  it('above 24 runs without --yes, times one run and says how many it would run', async () => {
    const { code, out, err } = await run(['sweep', '--data', linear, '--layers', 'none', '--lr', '0.1,0.05,0.01,0.005,0.001', '--folds', '5', ...small]);
    expect(code).toBe(1);
    expect(progress(out)).toHaveLength(1);
    expect(err).toMatch(/this sweep would train 25 runs, more than 24 without --yes\. One run took [\d.]+ s on cpu \(.*\), so all of them would take about \d+ s, plus the refit\. Add --yes/);
  });

  it('refuses bad values before anything trains, naming the flag', async () => {
    for (const [args, msg] of [
      [['--lr', '0.1,-1'], /--lr must be a positive number; got '-1'/],
      [['--optimizer', 'adam,adamm'], /--optimizer must be one of sgd, momentum, rmsprop, adam, adamw; got 'adamm'/],
      [['--folds', '1'], /--folds must be a whole number >= 2; got '1'/],
      [['--folds', '9'], /folds = 9 but class 2 has only 8 samples in the training data; .* use at most 8 folds/],
      [['--lr', '0.1,0.1'], /--lr lists '0.1' twice/],
      [['--folds', '3', '--validation-split', '0.2'], /--folds and --validation-split are alternatives/],
      [['--validation-split', '0'], /--validation-split must be above 0 for a sweep/],
      [['--layers', '8:0'], /--layers: a dense layer needs at least 1 unit, got '0'/],
      [['extra'], /sweep takes flags only; got 'extra'/],
    ] as const) {
      const { code, out, err } = await run(['sweep', '--data', blobs, ...small, ...args]);
      expect(code, `${args.join(' ')}: ${err}`).toBe(1);
      expect(err).toMatch(msg);
      expect(progress(out)).toEqual([]);
    }
  });
});

describe.each(backends.filter(([n]) => n === 'webgpu'))('webgrad sweep on %s', () => {
  it('runs on the GPU backend, repeats its table from the seed, and saves the refitted best model', async () => {
    const save = join(dir, 'best.safetensors');
    const args = ['sweep', '--data', blobs, '--lr', '0.05,0.01', '--folds', '2', '--standardize', '--epochs', '2', '--backend', 'webgpu'];
    const { code, out, err } = await run([...args, '--save', save]);
    expect(code, err).toBe(0);
    expect(out).toMatch(/^backend: webgpu — /m);
    expect(progress(out)).toHaveLength(4);
    expect(existsSync(save)).toBe(true);
    const again = await run(args);
    expect(numbersOf(again.out)).toEqual(numbersOf(out));
  });
});
