import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEBIAN_FASHION_MNIST_DIR, loadIdxDir } from '../../src/data/idx.js';
import { dense, flatten } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import { backends } from '../helpers/backends.js';

const present = existsSync(DEBIAN_FASHION_MNIST_DIR);
const gpu = backends.some(([n]) => n === 'webgpu');
// CI installs Debian's dataset-fashion-mnist: there the test must run. Elsewhere, say why it does not.
const run = present && gpu;
const reason = !present ? `SKIPPED: no ${DEBIAN_FASHION_MNIST_DIR} (apt-get install dataset-fashion-mnist)` : 'SKIPPED: needs the WebGPU backend';
if (process.env.CI && !run) throw new Error(`Fashion-MNIST learning test cannot run in CI: ${reason}`);

/**
 * Learning on the real Fashion-MNIST files (all 60,000 / 10,000 loaded): an
 * MLP 784-256-128-10 (ReLU, softmax), Adam 0.001, batch 32, one epoch on the
 * first 6,000 training images, reaches at least 75% on the whole test set.
 * Measured: 78.24% (seed 42; seeds 1 and 7 gave 79.17% and 77.82%); the
 * untrained model scores 12.12%. The 15-epoch claim (88% and more on all
 * 60,000; 89.72% recorded) takes minutes, so it lives in
 * examples/fashion-mlp.sh and examples/results/fashion-mlp.txt.
 */
describe('Fashion-MNIST', () => {
  it.runIf(run)('an MLP reaches at least 75% test accuracy after one epoch on 6,000 images', async () => {
    const { train, test } = loadIdxDir(DEBIAN_FASHION_MNIST_DIR);
    const n = 6000;
    const model = sequential([flatten({ inputShape: [28, 28, 1] }), dense(256, { activation: 'relu' }), dense(128, { activation: 'relu' }), dense(10, { activation: 'softmax' })], { seed: 42 });
    model.compile({ optimizer: { type: 'adam', learningRate: 1e-3 }, loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'], backend: 'webgpu' });
    const x = { data: train.x.subarray(0, n * 784), shape: [n, 28, 28, 1] };
    await model.fit(x, { data: train.y.subarray(0, n), shape: [n] }, { epochs: 1, batchSize: 32, verbose: 0 });
    const { accuracy } = await model.evaluate({ data: test.x, shape: test.xShape }, { data: test.y, shape: test.yShape });
    model.dispose();
    expect(accuracy, `test accuracy ${accuracy}`).toBeGreaterThanOrEqual(0.75);
  }, 300_000);
  it.skipIf(run)(reason, () => {});
});
