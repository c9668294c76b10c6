import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import type { RunResult } from '../../src/experiments/index.js';
import { curvesChart, formatRefit, formatRun, formatTable, meanCurves, summarize, sweep } from '../../src/experiments/index.js';
import { renderChart } from '../../src/plot/index.js';
import { blobs, line } from './data.js';

const cpu = new CpuBackend();

function fakeRun(setting: number, fold: number, valLoss: number, valAcc: number, history: number[] = [1], divergedIn?: number): RunResult {
  const diverged = divergedIn === undefined ? null : { epoch: divergedIn, batch: null, loss: 1e30, start: 1, rule: 'growth' as const, reason: 'the loss reached 1.000e+30' };
  return {
    diverged,
    setting, name: `s${setting}`, params: { s: String(setting) }, fold, settings: { layers: [], activation: 'relu', optimizer: 'sgd', batchSize: 1, epochs: history.length },
    history: { epoch: history.map((_, i) => i), history: { loss: history, val_loss: history.map((v) => v * 2) }, samplesPerSecond: 100 },
    validation: { loss: valLoss, accuracy: valAcc }, train: { loss: valLoss, accuracy: valAcc }, epochs: history.length, seconds: 1, samplesPerSecond: 100, scaler: null,
  };
}

describe('summarize', () => {
  it('ranks by validation accuracy, then loss; a diverged setting goes last', () => {
    const s = summarize([fakeRun(0, 0, NaN, 0.33), fakeRun(1, 0, 0.5, 0.9), fakeRun(2, 0, 0.4, 0.9), fakeRun(3, 0, 0.1, 0.95)], 'accuracy');
    expect(s.map((x) => x.setting)).toEqual([3, 2, 1, 0]);
    const r = summarize([fakeRun(0, 0, Infinity, 0), fakeRun(1, 0, NaN, 0), fakeRun(2, 0, 0.3, 0), fakeRun(3, 0, 0.2, 0)], 'mae');
    expect(r.map((x) => x.setting)).toEqual([3, 2, 0, 1]);
  });

  it('a setting that diverged on any fold ranks last whatever its scores, with how many folds and the earliest epoch', () => {
    const s = summarize([fakeRun(0, 0, 0.1, 0.99, [1, 2], 1), fakeRun(0, 1, 0.1, 0.99, [1]), fakeRun(1, 0, 0.5, 0.5), fakeRun(1, 1, 0.5, 0.5), fakeRun(2, 0, NaN, 0.3, [1], 0), fakeRun(2, 1, NaN, 0.3, [1], 0)], 'accuracy');
    expect(s.map((x) => [x.setting, x.diverged])).toEqual([[1, null], [0, { runs: 1, epoch: 1 }], [2, { runs: 2, epoch: 0 }]]);
  });

  it('averages learning curves over the folds that reached each epoch', () => {
    const c = meanCurves([fakeRun(0, 0, 1, 1, [4, 2, 1]), fakeRun(0, 1, 1, 1, [2, 1])]);
    expect(c.loss).toEqual([[1, 3], [2, 1.5], [3, 1]]);
    expect(c.val_loss).toEqual([[1, 6], [2, 3], [3, 2]]);
  });
});

describe('tables and charts', async () => {
  const r = await sweep({ train: line(40, 1), test: line(10, 2), backend: cpu, folds: 2, fixed: { layers: [], optimizer: 'sgd', epochs: 3, batchSize: 8 }, grid: { lr: [0.1, 0.01] } });

  it('formats one Markdown row per setting with mean ± std over folds', () => {
    const t = formatTable(r).split('\n');
    expect(t[0]).toMatch(/^\| rank \| lr +\| val loss +\| val mae +\| train mae +\| folds \| s\/run \| samples\/s \|$/);
    expect(t[1]).toMatch(/^\|-+\|/);
    expect(t).toHaveLength(4);
    expect(t[2]).toMatch(/^\| 1 +\| 0\.1 +\| \d\.\d{3}e?-?\d* ± [\d.e-]+ \|.*\| 2\/2 +\|/);
    expect(new Set(t.map((l) => l.length)).size).toBe(1);
    expect(formatRefit(r)).toMatch(/^best: lr=0\.1, refitted on all 40 training samples \(3 epochs, [\d.]+s\): test loss [\d.e-]+, test mae [\d.e-]+, test mse [\d.e-]+, test R² -?\d\.\d{4}$/);
  });

  it('draws training and validation panels, one colour and one legend entry per setting', () => {
    const spec = curvesChart(r);
    expect(spec.panels.map((p) => p.title)).toEqual(['training loss (mean of 2 folds)', 'validation loss (mean of 2 folds)', 'training mae (mean of 2 folds)', 'validation mae (mean of 2 folds)']);
    for (const p of spec.panels) {
      expect(p.series.map((s) => [s.name, s.color])).toEqual([['lr=0.1', 0], ['lr=0.01', 1]]);
      expect(p.series[0].points).toHaveLength(3);
    }
    const chart = renderChart(spec);
    // Encodes as a PNG of the asked size.
    const png = new PNG({ width: chart.width, height: chart.height });
    png.data = Buffer.from(chart.rgba);
    expect(PNG.sync.read(PNG.sync.write(png)).width).toBe(1100);
  });
});

describe('a sweep on a borrowed backend', () => {
  it('leaves it open', async () => {
    const be = new CpuBackend();
    await sweep({ train: blobs([6, 6, 6], 3), backend: be, folds: 2, fixed: { epochs: 1, layers: [2] } });
    const t = be.allocate([1]);
    be.write(t, [5]);
    expect(Array.from(await be.read(t))).toEqual([5]);
  });
});

describe('a diverged run in the progress line, the table and the chart', () => {
  const runs = [fakeRun(0, 0, 0.2, 0.9, [1, 0.5, 0.4]), fakeRun(0, 1, 0.2, 0.9, [1, 0.5, 0.4]), fakeRun(1, 0, 0.1, 0.95, [1, 0.8, 1e30], 2), fakeRun(1, 1, 0.1, 0.95, [1, 0.6, 0.5])];
  const result = {
    task: 'classification', metric: 'accuracy', validation: '2 folds', folds: [{}, {}], device: {}, planned: 4, runs, refit: null, stopped: null,
    candidates: [{ name: 's0', params: { s: '0' }, settings: runs[0].settings }, { name: 's1', params: { s: '1' }, settings: runs[2].settings }],
    summary: summarize(runs, 'accuracy'),
  } as unknown as Parameters<typeof formatTable>[0];

  it('says diverged, where and why, instead of NaN scores', () => {
    expect(formatRun(runs[2], 3, 4, 2, 'accuracy')).toMatch(/^run 3\/4  s1  fold 1\/2  diverged: the loss reached 1\.000e\+30  1\.0s  100 samples\/s$/);
    const t = formatTable(result).split('\n');
    expect(t[2]).toMatch(/^\| 1 +\| 0 +\| 0\.2000 ± 0\.0000 +\|/);
    expect(t[3]).toMatch(/^\| 2 +\| 1 +\| diverged, epoch 3 \(1 of 2 folds\) \| — +\| — +\| 2\/2 +\|/);
    expect(t.join('\n')).not.toMatch(/nan/i);
  });

  it('draws a diverged setting up to the epoch before, named so in the legend', () => {
    const spec = curvesChart(result);
    const loss = spec.panels[0].series;
    expect(loss.map((x) => x.name)).toEqual(['s0', 's1: diverged, epoch 3 (1 of 2 folds)']);
    // Fold 1 keeps epochs 1–2 (it blew up in 3), fold 2 all three: the mean's last point is fold 2's alone.
    expect(loss[1].points).toEqual([[1, 1], [2, 0.7], [3, 0.5]]);
    expect(renderChart(spec).width).toBe(1100);
  });
});
