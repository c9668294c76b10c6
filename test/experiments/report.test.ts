import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import type { RunResult } from '../../src/experiments/index.js';
import { curvesChart, formatRefit, formatTable, meanCurves, summarize, sweep } from '../../src/experiments/index.js';
import { renderChart } from '../../src/plot/index.js';
import { blobs, line } from './data.js';

const cpu = new CpuBackend();

function fakeRun(setting: number, fold: number, valLoss: number, valAcc: number, history: number[] = [1]): RunResult {
  return {
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
