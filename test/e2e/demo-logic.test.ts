// The demo's logic without a browser, in `npm test`: the MNIST asset the
// build writes, the reading of fit()'s progress line, and the trainer that
// runs behind the page (here on the CPU backend, as in the page's worker).
import { gunzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { loadBuiltinMnist } from '../../src/data/mnist.js';
import { BUILTIN_FILES } from '../../src/demo/data/files.js';
import { builtinMnistFiles } from '../../src/demo/mnist-asset.js';
import { argmaxRows } from '../../src/demo/train/insight.js';
import { liveLogSink } from '../../src/demo/train/live.js';
import type { Digits, TrainConfig, TrainerEvent } from '../../src/demo/train/protocol.js';
import { Trainer } from '../../src/demo/train/trainer.js';
import { confusionCounts } from '../../src/demo/ui/confusion.js';
import type { Dataset } from '../../src/index.js';
import { idxToDataset, parseIdx } from '../../src/index.js';
import { ProgressBar } from '../../src/nn/progress.js';

const mnist = loadBuiltinMnist();

describe('the built-in digits asset', () => {
  test('holds the CLI’s 8,000 / 2,000 split as gzipped IDX, pixel for pixel', () => {
    const files = builtinMnistFiles();
    const bytes = [...files.values()].reduce((s, f) => s + f.length, 0);
    expect(bytes).toBeLessThan(2_000_000);
    const read = (name: string) => parseIdx(gunzipSync(files.get(name)!), name);
    const sets = {
      train: idxToDataset(read(BUILTIN_FILES.trainImages), read(BUILTIN_FILES.trainLabels), 'train'),
      test: idxToDataset(read(BUILTIN_FILES.testImages), read(BUILTIN_FILES.testLabels), 'test'),
    };
    for (const [name, ds] of Object.entries(sets)) {
      const ref = mnist[name as 'train' | 'test'];
      expect(ds.xShape).toEqual(ref.xShape);
      expect(ds.y).toEqual(ref.y);
      // The asset stores MNIST's bytes k, read back as k/255; the npm package stores k/255 to 3 decimals.
      let worst = 0;
      for (let i = 0; i < ds.x.length; i++) worst = Math.max(worst, Math.abs(ds.x[i] - ref.x[i]));
      expect(worst).toBeLessThanOrEqual(0.0005 + 1e-6);
    }
  });
});

describe('liveLogSink', () => {
  test('reads the running logs off fit()’s progress line, and only those', () => {
    const seen: [number, number, Record<string, number>][] = [];
    const bar = new ProgressBar(liveLogSink((done, total, logs) => seen.push([done, total, logs])), 7200, 1);
    bar.epochBegin(0, 2);
    bar.update(32, {});
    bar.update(1024, { loss: 0.412345, accuracy: 0.88 });
    bar.update(1056, { loss: 0.412345, accuracy: 0.88 }); // unchanged: no new point
    bar.update(2048, { loss: 0.0000123, accuracy: 0.9 });
    bar.epochEnd(0, 2, { loss: 0.3, accuracy: 0.91 }); // onEpochEnd reports this one
    expect(seen).toEqual([
      [1024, 7200, { loss: 0.4123, accuracy: 0.88 }],
      [2048, 7200, { loss: 1.23e-5, accuracy: 0.9 }],
    ]);
  });
});

describe('prediction helpers', () => {
  test('argmaxRows and confusionCounts', () => {
    const probs = Float32Array.from([0.1, 0.7, 0.2, 0.5, 0.3, 0.2, 0.2, 0.2, 0.6]);
    const { predicted, confidence } = argmaxRows(probs, 3);
    expect([...predicted]).toEqual([1, 0, 2]);
    expect([...confidence].map((c) => +c.toFixed(3))).toEqual([0.7, 0.5, 0.6]);
    expect(confusionCounts(predicted, Int32Array.from([1, 2, 2]), 3)).toEqual([
      [0, 0, 0],
      [0, 1, 0],
      [1, 0, 1],
    ]);
  });
});

function digits(ds: Dataset, n: number): Digits {
  return { x: ds.x.slice(0, n * 784), y: (ds.y as Int32Array).slice(0, n), n, side: 28, classes: 10 };
}

async function until(what: string, cond: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const config: TrainConfig = { layers: [{ type: 'dense', units: 32 }], activation: 'relu', optimizer: 'adam', learningRate: 0.003, batchSize: 32, epochs: 2, backend: 'cpu', validationSplit: 0.1, seed: 1, dropout: 0, batchNorm: false, l2: 0 };

describe('Trainer on the CPU backend (the page’s worker, without the worker)', () => {
  const trainSet = digits(mnist.train, 1200);
  const testSet = digits(mnist.test, 300);

  test('trains, reports, pauses and resumes, answers predictions while paused', async () => {
    const events: TrainerEvent[] = [];
    const trainer = new Trainer((e) => events.push(e));
    await trainer.setData(trainSet, testSet);
    const phases = () => events.filter((e) => e.type === 'phase').map((e) => (e as { phase: string }).phase);
    const run = trainer.train(config);
    await until('training to start', () => phases().includes('training'));
    await trainer.pause();
    await until('the pause', () => phases().includes('paused'));
    const before = events.length;
    const probs = await trainer.predict(testSet.x.subarray(0, 3 * 784));
    expect(probs.length).toBe(30);
    for (let r = 0; r < 3; r++) expect(probs.subarray(10 * r, 10 * r + 10).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    await new Promise((r) => setTimeout(r, 150));
    expect(events.length, 'nothing happens while paused').toBe(before);
    await trainer.resume();
    const summary = await run;
    expect(summary).not.toBeNull();
    expect(summary!.stopped).toBe(false);
    expect(summary!.samples).toBe(2 * 1080);
    expect(phases()).toEqual(['preparing', 'compiling', 'training', 'paused', 'training', 'done']);
    const epochs = events.filter((e) => e.type === 'epoch') as Extract<TrainerEvent, { type: 'epoch' }>[];
    expect(epochs.map((e) => e.epoch)).toEqual([0, 1]);
    for (const k of ['loss', 'accuracy', 'val_loss', 'val_accuracy', 'test_loss', 'test_accuracy']) expect(Number.isFinite(epochs[1].logs[k])).toBe(true);
    // Far above chance (0.1) after two epochs on 1,080 digits: it learns.
    expect(epochs[1].logs.test_accuracy).toBeGreaterThan(0.75);
    const insight = (events.filter((e) => e.type === 'insight').pop() as Extract<TrainerEvent, { type: 'insight' }>).insight;
    expect(insight.predicted.length).toBe(300);
    expect(insight.kernelShape).toEqual([784, 32]);
    // The reported test accuracy is model.evaluate's; counting the predictions agrees.
    const right = insight.predicted.reduce((s, p, i) => s + (p === testSet.y[i] ? 1 : 0), 0);
    expect(insight.test!.accuracy).toBeCloseTo(right / 300, 6);
  });

  test('stops mid-epoch, evaluates what it has, and saves a model that loads back the same', async () => {
    const events: TrainerEvent[] = [];
    const trainer = new Trainer((e) => events.push(e));
    await trainer.setData(trainSet, testSet);
    const run = trainer.train({ ...config, epochs: 50 });
    await until('a few steps', () => events.some((e) => e.type === 'progress' && e.progress.step >= 3));
    await trainer.stop();
    const summary = await run;
    expect(summary!.stopped).toBe(true);
    expect(summary!.samples).toBeLessThan(50 * 1080);
    const last = (events.filter((e) => e.type === 'insight').pop() as Extract<TrainerEvent, { type: 'insight' }>).insight;
    expect(last.test).not.toBeNull();

    const loaded: TrainerEvent[] = [];
    const other = new Trainer((e) => loaded.push(e));
    await other.setData(trainSet, testSet);
    const info = await other.load(await trainer.save(), 'cpu', 'saved model');
    expect(info.layers).toBe('784 → 32 relu → 10 softmax');
    const again = (loaded.find((e) => e.type === 'insight') as Extract<TrainerEvent, { type: 'insight' }>).insight;
    expect(again.test).toEqual(last.test);
    await expect(other.train({ ...config, backend: 'nope' as 'cpu' })).resolves.toBeNull();
    expect(loaded.some((e) => e.type === 'error' && /unknown backend 'nope'/.test(e.message))).toBe(true);
  });
});
