import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { CpuBackend } from '../../src/backend/cpu.js';
import type { WebGPUBackend } from '../../src/backend/webgpu/backend.js';
import { take } from '../../src/data/dataset.js';
import { standardScaler } from '../../src/data/transform.js';
import type { ModelSettings, SweepOptions } from '../../src/experiments/index.js';
import { crossValidate, gridCandidates, mlp, sweep } from '../../src/experiments/index.js';
import { backends } from '../helpers/backends.js';
import { blobs, line } from './data.js';

const cpu = new CpuBackend();
const counts = (y: ArrayLike<number>, idx: ArrayLike<number>) => {
  const c = [0, 0, 0];
  for (let i = 0; i < idx.length; i++) c[y[idx[i]]]++;
  return c;
};

describe('sweep on classification data', async () => {
  // 27 + 18 + 9 samples: imbalanced, so stratification shows.
  const train = blobs([27, 18, 9], 1);
  const test = blobs([10, 10, 10], 2);
  const options: SweepOptions = {
    train, test, backend: cpu, folds: 3, standardize: true, seed: 5,
    grid: { lr: [0.05, 0.0001], layers: [[8], []] }, fixed: { epochs: 4, batchSize: 8 },
  };
  const result = await sweep(options);

  it('trains every combination on every fold, in grid order', () => {
    expect(result.planned).toBe(12);
    expect(result.runs.map((r) => `${r.name} fold ${r.fold}`)).toEqual(
      ['lr=0.05 layers=8', 'lr=0.05 layers=none', 'lr=0.0001 layers=8', 'lr=0.0001 layers=none'].flatMap((n) => [0, 1, 2].map((f) => `${n} fold ${f}`)),
    );
    expect(result.stopped).toBeNull();
    for (const r of result.runs) expect(r.history.history.loss).toHaveLength(4);
  });

  it('folds are disjoint, cover every sample once and are stratified', () => {
    const seen = new Int32Array(54);
    for (const f of result.folds) for (const i of f.validation) seen[i]++;
    expect([...seen].every((c) => c === 1)).toBe(true);
    for (const f of result.folds) {
      expect(f.train.length + f.validation.length).toBe(54);
      // 18 per fold: exactly a third of each class (27, 18, 9 → 9, 6, 3).
      expect(counts(train.y, f.validation)).toEqual([9, 6, 3]);
    }
  });

  it('standardises each fold with statistics of its training part only', () => {
    for (const r of result.runs) {
      const fold = result.folds[r.fold];
      const own = standardScaler(take(train, fold.train)).params;
      const all = standardScaler(train).params;
      expect(r.scaler).toEqual(own);
      // Leaking the validation part would change the statistics: they differ here, so the check can fail.
      expect(Math.abs(r.scaler!.mean[0] - all.mean[0])).toBeGreaterThan(1e-4);
    }
  });

  it('summarises each setting by mean and population std over folds, best validation accuracy first', () => {
    expect(result.summary).toHaveLength(4);
    for (const s of result.summary) {
      const acc = result.runs.filter((r) => r.setting === s.setting).map((r) => r.validation.accuracy);
      const mean = acc.reduce((a, b) => a + b) / 3;
      expect(s.valMetric.mean).toBeCloseTo(mean, 12);
      expect(s.valMetric.std).toBeCloseTo(Math.sqrt(acc.reduce((a, v) => a + (v - mean) ** 2, 0) / 3), 12);
      expect(s.runs).toBe(3);
    }
    const acc = result.summary.map((s) => s.valMetric.mean);
    expect(acc).toEqual([...acc].sort((a, b) => b - a));
    // lr 0.05 separates the blobs in 4 epochs; 0.0001 barely moves: the ranking must put a 0.05 first.
    expect(result.summary[0].params.lr).toBe('0.05');
    expect(result.summary[0].valMetric.mean).toBeGreaterThan(0.9);
  });

  it('refits the best settings on all training samples and scores the test set', () => {
    expect(result.refit?.name).toBe(result.summary[0].name);
    expect(result.refit?.trainSamples).toBe(54);
    expect(result.refit?.epochs).toBe(4);
    expect(result.refit?.test.accuracy).toBeGreaterThan(0.85);
  });

  it('is reproducible from the seed: the same sweep gives the same numbers', async () => {
    const again = await sweep({ ...options, refit: false });
    expect(again.runs.map((r) => [r.validation, r.train, r.history.history])).toEqual(result.runs.map((r) => [r.validation, r.train, r.history.history]));
    const other = await sweep({ ...options, seed: 6, refit: false, limit: 1 });
    expect(other.folds).not.toEqual(result.folds);
  });
});

describe('sweep on the linear regression y = 2x + 1 + noise', () => {
  const train = line(80, 3);
  const test = line(20, 4);
  const fixed: Partial<ModelSettings> = { layers: [], optimizer: 'sgd', epochs: 20 };

  it('ranks learning rates by validation loss and recovers the line', async () => {
    const r = await sweep({ train, test, backend: cpu, folds: 4, fixed: { ...fixed, batchSize: 8 }, grid: { lr: [0.0003, 0.1, 0.01] } });
    expect(r.task).toBe('regression');
    expect(r.metric).toBe('mae');
    const loss = r.summary.map((s) => s.valLoss.mean);
    expect(loss).toEqual([...loss].sort((a, b) => a - b));
    expect(r.summary.map((s) => s.params.lr)).toEqual(['0.1', '0.01', '0.0003']);
    // The noise is σ = 0.1, so the best possible MSE is 0.01; 20 epochs of lr 0.1 get close.
    expect(r.refit!.test.r2).toBeGreaterThan(0.9);
    expect(r.refit!.test.mse).toBeLessThan(0.02);
  });

  it('a learning rate that blows up is a run marked diverged with its epoch, stopped there, ranked last and never refitted', async () => {
    const r = await sweep({ train, test, backend: cpu, folds: 2, fixed: { ...fixed, batchSize: 8 }, grid: { lr: [1e6, 0.1] } });
    const bad = r.runs.filter((x) => x.params.lr === '1000000');
    expect(bad).toHaveLength(2);
    for (const run of bad) {
      expect(run.diverged).toMatchObject({ epoch: 0 });
      expect(run.history.epoch).toHaveLength(1);
      expect(run.history.stopped?.by).toBe('terminateOnDivergence');
    }
    expect(r.runs.filter((x) => x.params.lr === '0.1').every((x) => x.diverged === null && x.history.epoch.length === 20)).toBe(true);
    expect(r.summary.map((s) => [s.params.lr, s.diverged])).toEqual([['0.1', null], ['1000000', { runs: 2, epoch: 0 }]]);
    expect(r.refit?.params.lr).toBe('0.1');
    const all = await sweep({ train, test, backend: cpu, validationSplit: 0.2, fixed: { ...fixed, batchSize: 8 }, grid: { lr: [1e6, 1e30] } });
    expect(all.summary.every((s) => s.diverged)).toBe(true);
    expect(all.refit).toBeNull();
  });

  it('stochastic gradient descent takes more steps per epoch than full batch, and gets further in the same epochs', async () => {
    const r = await sweep({ train, backend: cpu, validationSplit: 0.2, fixed: { ...fixed, lr: 0.01 }, grid: { batchSize: [100, 1, 16] } });
    expect(r.validation).toMatch(/last 20% .*16 samples/);
    expect(r.summary.map((s) => s.params.batchSize)).toEqual(['1', '16', '100']);
    const [sgd, , full] = r.summary;
    expect(full.valLoss.mean / sgd.valLoss.mean).toBeGreaterThan(10);
    expect(r.refit).toBeNull();
  });
});

describe('early stopping', () => {
  it('scores the restored best epoch and refits for the mean best epoch count', async () => {
    // Stochastic steps of lr 0.5 jump around the minimum: validation loss stops improving within a few epochs.
    const r = await sweep({ train: line(40, 11), test: line(10, 12), backend: cpu, folds: 2, earlyStopping: 1, fixed: { layers: [], optimizer: 'sgd', lr: 0.5, epochs: 200, batchSize: 1 } });
    const [a, b] = r.runs;
    for (const run of [a, b]) {
      expect(run.history.epoch.length).toBeLessThan(200);
      // Weights of the best epoch were put back: its validation loss is what was scored.
      expect(run.validation.loss).toBeCloseTo(Math.min(...run.history.history.val_loss), 5);
      expect(run.epochs).toBe(run.history.history.val_loss.indexOf(Math.min(...run.history.history.val_loss)) + 1);
    }
    expect(r.refit!.epochs).toBe(Math.max(1, Math.round((a.epochs + b.epochs) / 2)));
  });
});

describe('stopping and refusing', () => {
  const train = blobs([12, 12, 12], 7);
  const grid = { lr: [0.01, 0.02], batchSize: [4, 8] };
  const fixed = { epochs: 1, layers: [4] };

  it('an aborted sweep stops after the current run, keeps what finished, and skips the refit', async () => {
    const stop = new AbortController();
    const seen: number[] = [];
    const r = await sweep({ train, test: train, backend: cpu, folds: 2, grid, fixed, signal: stop.signal, onRun: (_, done) => (seen.push(done), done === 3 && stop.abort()) });
    expect(seen).toEqual([1, 2, 3]);
    expect(r.stopped).toBe('signal');
    expect(r.runs).toHaveLength(3);
    expect(r.summary.map((s) => s.runs)).toEqual(expect.arrayContaining([2, 1]));
    expect(r.refit).toBeNull();
  });

  it('limit trains that many runs and says so', async () => {
    const r = await sweep({ train, backend: cpu, folds: 3, grid, fixed, limit: 1 });
    expect(r.runs).toHaveLength(1);
    expect(r.planned).toBe(12);
    expect(r.stopped).toBe('limit');
  });

  it('refuses bad values before anything is built', async () => {
    let built = 0;
    const model = (s: ModelSettings, be: Backend) => (built++, mlp(s, { features: 2, outputs: 3, task: 'classification' }, 1, be));
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ grid: { lr: [0.1, -1] } }, /setting 'lr=-1': lr must be a positive number; got -1/],
      [{ grid: { optimizer: ['adam', 'adamm'] } }, /setting 'optimizer=adamm': optimizer must be one of sgd, momentum, rmsprop, adam, adamw/],
      [{ grid: { batchSize: [0] } }, /batchSize must be a whole number >= 1/],
      [{ grid: { lr: [] } }, /grid: 'lr' needs a non-empty list/],
      [{ folds: 1 }, /folds must be a whole number >= 2/],
      [{ folds: 13 }, /folds = 13 but class 0 has only 12 samples in the training data; .* use at most 12 folds/],
      [{ validationSplit: 0 }, /validationSplit must lie strictly between 0 and 1/],
      [{ refit: true }, /refit needs test data/],
      [{ test: blobs([3, 3, 3], 1), grid: { epochs: [1] }, train: line(9, 1) }, /train samples have shape \[1\], test samples \[2\]/],
    ];
    for (const [o, msg] of cases) await expect(sweep({ train, backend: cpu, model, ...o } as never)).rejects.toThrow(msg);
    expect(built).toBe(0);
  });
});

describe('gridCandidates and crossValidate', () => {
  it('names each combination by the values that vary and fills the defaults', () => {
    const c = gridCandidates({ layers: [[64, 30], []], lr: [0.1] }, { epochs: 3 });
    expect(c.map((x) => x.name)).toEqual(['layers=64,30 lr=0.1', 'layers=none lr=0.1']);
    expect(c[1].settings).toEqual({ layers: [], activation: 'relu', optimizer: 'adam', batchSize: 32, epochs: 3, lr: 0.1 });
  });

  it('crossValidate scores one setting on k folds and refits it when given test data', async () => {
    const train = line(30, 9);
    const r = await crossValidate({ train, test: line(10, 10), backend: cpu, folds: 5, settings: { layers: [], optimizer: 'sgd', lr: 0.1, epochs: 5, batchSize: 4 } });
    expect(r.runs.map((x) => x.fold)).toEqual([0, 1, 2, 3, 4]);
    expect(r.runs.map((x) => x.validation.loss.toFixed(6))).toEqual([...new Set(r.runs.map((x) => x.validation.loss.toFixed(6)))]);
    expect(r.scores?.runs).toBe(5);
    expect(r.scores?.valLoss.mean).toBeLessThan(0.1);
    expect(r.refit?.trainSamples).toBe(30);
  });
});

describe.each(backends.filter(([n]) => n === 'webgpu'))('sweep on %s', (_, make) => {
  it('trains model after model on one device (pipelines kept, tensors freed) and agrees with the CPU', async () => {
    const be = await make();
    try {
      const o = { train: blobs([12, 12, 12], 4), test: blobs([4, 4, 4], 5), folds: 2, standardize: true, fixed: { epochs: 3, batchSize: 6 }, grid: { lr: [0.05, 0.01], layers: [[8], []] } };
      const gpu = await sweep({ ...o, backend: be });
      const pooled = (be as WebGPUBackend).bufferCount;
      // Freed tensors go back to the pool: the same sweep again must reuse them, not leak more.
      await sweep({ ...o, backend: be, refit: false });
      expect((be as WebGPUBackend).bufferCount).toBe(pooled);
      const ref = await sweep({ ...o, backend: cpu });
      expect(gpu.device.backend).toBe('webgpu');
      expect(gpu.runs).toHaveLength(8);
      // Both float32; only the order of sums differs (measured: 3e-7 on llvmpipe). The bound is the
      // agreement suite's (1e-3 over 50 steps): far below the gaps between settings that decide the ranking.
      const diff = Math.max(...gpu.runs.map((r, i) => Math.abs(r.validation.loss - ref.runs[i].validation.loss)));
      expect(diff, `largest validation-loss difference ${diff}`).toBeLessThan(1e-3);
      expect(gpu.summary.map((s) => s.name)).toEqual(ref.summary.map((s) => s.name));
      expect(gpu.refit!.test.loss).toBeCloseTo(ref.refit!.test.loss, 3);
      const t = be.allocate([1]);
      be.write(t, [7]);
      expect(Array.from(await be.read(t))).toEqual([7]);
    } finally {
      be.dispose();
    }
  });
});
