// The demo's trainer with batch normalization, without a browser: when a run
// ends, or is stopped, the moving statistics are recomputed over the digits
// trained on (fit's recomputeBatchNormStatistics), so the test accuracy, the
// test digits and the pad use them; the run's summary says over how many.
import { describe, expect, test } from 'vitest';
import { loadBuiltinMnist } from '../../src/data/mnist.js';
import { architectureLayers } from '../../src/demo/train/architecture.js';
import type { Digits, TrainConfig, TrainerEvent } from '../../src/demo/train/protocol.js';
import { Trainer } from '../../src/demo/train/trainer.js';
import { modelFromBytes } from '../../src/index.js';

function digits(ds: { x: Float32Array; y: Int32Array | Float32Array }, n: number): Digits {
  return { x: ds.x.slice(0, n * 784), y: Int32Array.from(ds.y.subarray(0, n)), n, side: 28, classes: 10 };
}

const mnist = loadBuiltinMnist();
const trainSet = digits(mnist.train, 1200);
const testSet = digits(mnist.test, 300);
/** Dense 32 → BatchNormalization → softmax; 10% held out, so 1,080 digits are trained on. */
const config: TrainConfig = { layers: architectureLayers('mlp', [32]), activation: 'relu', optimizer: 'adam', learningRate: 0.003, batchSize: 32, epochs: 1, backend: 'cpu', validationSplit: 0.1, seed: 1, dropout: 0, batchNorm: true, l2: 0 };
const TRAINED = 1080;

/**
 * The model the trainer holds, read back through its file: each channel's
 * moving mean and variance against the float64 mean and biased variance of
 * the first layer's outputs (relu(x·W + b)) over the digits trained on.
 */
async function expectRecomputed(trainer: Trainer): Promise<void> {
  const model = modelFromBytes(await trainer.save(), 'demo.safetensors');
  const [kernel, bias, , , mean, variance] = await model.getWeights();
  for (let c = 0; c < 32; c++) {
    let s = 0;
    let q = 0;
    const h = new Float64Array(TRAINED);
    for (let i = 0; i < TRAINED; i++) {
      let z = bias[c];
      for (let k = 0; k < 784; k++) z += trainSet.x[i * 784 + k] * kernel[k * 32 + c];
      h[i] = Math.max(0, z);
      s += h[i];
    }
    const m = s / TRAINED;
    for (let i = 0; i < TRAINED; i++) q += (h[i] - m) ** 2;
    // float32 sums of 1,080 values against float64.
    expect(Math.abs(mean[c] - m), `channel ${c} mean`).toBeLessThanOrEqual(1e-5 + 1e-4 * Math.abs(m));
    expect(Math.abs(variance[c] - q / TRAINED), `channel ${c} variance`).toBeLessThanOrEqual(1e-5 + 1e-4 * (q / TRAINED));
  }
  model.dispose();
}

describe('the demo trainer with batch normalization (CPU backend, as in the page’s worker)', () => {
  test('a finished run ends with the moving statistics of the digits trained on', async () => {
    const events: TrainerEvent[] = [];
    const trainer = new Trainer((e) => events.push(e));
    await trainer.setData(trainSet, testSet);
    const summary = await trainer.train(config);
    expect(summary, JSON.stringify(events.find((e) => e.type === 'error'))).not.toBeNull();
    expect(summary!.batchNormSamples).toBe(TRAINED);
    await expectRecomputed(trainer);
  });

  test('a stopped run has them recomputed too, and the page is told while it happens', async () => {
    const events: TrainerEvent[] = [];
    const trainer = new Trainer((e) => {
      events.push(e);
      if (e.type === 'progress' && e.progress.step >= 10) void trainer.stop();
    });
    await trainer.setData(trainSet, testSet);
    const summary = await trainer.train({ ...config, epochs: 3 });
    expect(summary!.stopped).toBe(true);
    expect(summary!.batchNormSamples).toBe(TRAINED);
    expect(events).toContainEqual({ type: 'phase', phase: 'evaluating', text: 'Recomputing the batch-normalization statistics over the 1,080 training digits…' });
    await expectRecomputed(trainer);
  });

  test('without batch normalization there is nothing to recompute', async () => {
    const trainer = new Trainer(() => {});
    await trainer.setData(trainSet, testSet);
    expect((await trainer.train({ ...config, batchNorm: false }))!.batchNormSamples).toBeNull();
  });
});
