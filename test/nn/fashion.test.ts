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
 * Learning quality on the full Fashion-MNIST (60,000 / 10,000): an MLP
 * 784-256-128-10 (ReLU, softmax) with Adam 0.001 decayed along a cosine to 0,
 * batch 128, reaches at least 88% test accuracy in 15 epochs. Runs on WebGPU
 * only: on the CPU backend it takes about ten minutes here.
 */
describe('Fashion-MNIST', () => {
  it.runIf(run)('an MLP reaches at least 88% test accuracy in 15 epochs', async () => {
    const { train, test } = loadIdxDir(DEBIAN_FASHION_MNIST_DIR);
    const epochs = 15;
    const decaySteps = epochs * Math.ceil(train.xShape[0] / 128);
    const model = sequential([flatten({ inputShape: [28, 28, 1] }), dense(256, { activation: 'relu' }), dense(128, { activation: 'relu' }), dense(10, { activation: 'softmax' })], { seed: 42 });
    model.compile({
      optimizer: { type: 'adam', learningRate: { type: 'cosineDecay', initialLearningRate: 1e-3, decaySteps } },
      loss: 'sparseCategoricalCrossentropy',
      metrics: ['accuracy'],
      backend: 'webgpu',
    });
    await model.fit({ data: train.x, shape: train.xShape }, { data: train.y, shape: train.yShape }, { epochs, batchSize: 128, verbose: 0 });
    const { accuracy } = await model.evaluate({ data: test.x, shape: test.xShape }, { data: test.y, shape: test.yShape });
    model.dispose();
    expect(accuracy, `test accuracy ${accuracy}`).toBeGreaterThanOrEqual(0.88);
  }, 900_000);
  it.skipIf(run)(reason, () => {});
});
