// webgrad through its public API only: sequential / dense / compile / fit.
import type { DeviceDescription } from '../../src/index.js';
import { dense, sequential } from '../../src/index.js';
import type { Digits, TrainWorkload } from '../workloads.js';
import { FEATURES, initialWeights, LEARNING_RATE } from '../workloads.js';
import type { Trainer } from './trainer.js';

export type WebgradKind = 'webgpu' | 'cpu';

export interface WebgradTrainer extends Trainer {
  /** The device the model ran on (known after the first train()). */
  device(): DeviceDescription | null;
}

/** An MLP of the workload's widths: ReLU hidden layers, softmax output, sparse cross-entropy, Adam. */
export function webgradTrainer(kind: WebgradKind, w: TrainWorkload): WebgradTrainer {
  const widths = w.layers.slice(1);
  const model = sequential(
    widths.map((units, i) =>
      dense(units, { activation: i === widths.length - 1 ? 'softmax' : 'relu', inputShape: i === 0 ? [FEATURES] : undefined }),
    ),
    { seed: 1 },
  );
  // 'webgpu', never 'auto': a bench must not fall back to the CPU behind our back.
  model.compile({ optimizer: { type: 'adam', learningRate: LEARNING_RATE }, loss: 'sparseCategoricalCrossentropy', backend: kind });
  const { kernels, biases } = initialWeights(w.layers);
  model.setWeights(kernels.flatMap((k, i) => [k, biases[i]]));
  return {
    async train(d: Digits) {
      const h = await model.fit({ data: d.x, shape: [d.n, FEATURES] }, { data: d.y, shape: [d.n] }, { epochs: 1, batchSize: w.batch, shuffle: false, verbose: 0 });
      return h.history.loss[0];
    },
    device: () => model.device(),
    dispose: () => model.dispose(),
  };
}
