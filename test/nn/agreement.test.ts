import { describe, expect, it } from 'vitest';
import { loadBuiltinMnist } from '../../src/data/mnist.js';
import { dense } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import { backends } from '../helpers/backends.js';

const gpu = backends.some(([n]) => n === 'webgpu');

/**
 * Same seed, same data, same steps: the WebGPU and CPU loss curves agree.
 * One full batch per epoch, so each epoch's loss is one step's loss; 50 steps
 * of Adam on a 784-32-10 MLP. float32 on both sides, summed in different
 * orders: agreement to 1e-3 relative is what the issue asks, and what
 * rounding (~1e-6 per step, growing slowly) comfortably allows.
 */
describe.runIf(gpu)('WebGPU and CPU training agree', () => {
  it('over the first 50 steps, to 1e-3 relative', async () => {
    const { train } = loadBuiltinMnist();
    const n = 512;
    const x = { data: train.x.subarray(0, n * 784), shape: [n, 784] };
    const y = { data: (train.y as Int32Array).subarray(0, n), shape: [n] };
    const curves: number[][] = [];
    for (const backend of ['webgpu', 'cpu'] as const) {
      const model = sequential([dense(32, { activation: 'relu', inputShape: [784] }), dense(10, { activation: 'softmax' })], { seed: 9 });
      model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'], backend });
      const h = await model.fit(x, y, { epochs: 50, batchSize: n, verbose: 0 });
      curves.push(h.history.loss);
      model.dispose();
    }
    const [g, c] = curves;
    expect(g[49]).toBeLessThan(g[0] * 0.5);
    let worst = 0;
    g.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - c[i]) / Math.abs(c[i]))));
    expect(worst, `largest relative difference ${worst.toExponential(2)}`).toBeLessThan(1e-3);
  });
});
