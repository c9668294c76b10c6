import { describe, expect, it } from 'vitest';
import { loadBuiltinMnist } from '../../src/data/mnist.js';
import { dense } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import { backends } from '../helpers/backends.js';

/**
 * The main job's promise: the default MLP 784-128-10 (ReLU, softmax, Adam,
 * batch 32) reaches 95% test accuracy on the built-in 8,000 / 2,000 digits
 * within 10 epochs, on every backend. It stops as soon as it gets there.
 */
describe.each(backends)('learning quality on %s', (name) => {
  it('784-128-10 reaches 95% test accuracy on the built-in digits within 10 epochs', async () => {
    const { train, test } = loadBuiltinMnist();
    const model = sequential([dense(128, { activation: 'relu', inputShape: [784] }), dense(10, { activation: 'softmax' })], { seed: 1 });
    model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'], backend: name });
    const x = { data: train.x, shape: train.xShape };
    const y = { data: train.y, shape: train.yShape };
    const tx = { data: test.x, shape: test.xShape };
    const ty = { data: test.y, shape: test.yShape };
    const accuracies: number[] = [];
    for (let epoch = 0; epoch < 10; epoch++) {
      await model.fit(x, y, { epochs: 1, batchSize: 32, verbose: 0 });
      accuracies.push((await model.evaluate(tx, ty)).accuracy);
      if (accuracies.at(-1)! >= 0.95) break;
    }
    model.dispose();
    expect(Math.max(...accuracies), `test accuracy by epoch: ${accuracies.map((a) => a.toFixed(4)).join(', ')}`).toBeGreaterThanOrEqual(0.95);
  });
});
