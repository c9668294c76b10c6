// webgrad through its public API only: sequential / dense / compile / fit.
import type { DeviceDescription, Sequential } from '../../src/index.js';
import { dense, sequential, WebGPUBackend } from '../../src/index.js';
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
  let model: Sequential | null = null;
  // On WebGPU the trainer owns the backend, so that it can count the command-buffer submits and dispatches of each run.
  let gpu: WebGPUBackend | null = null;
  let counts = { submits: 0, dispatches: 0 };
  const ready = async (): Promise<Sequential> => {
    if (model) return model;
    if (kind === 'webgpu') gpu = await WebGPUBackend.create();
    const widths = w.layers.slice(1);
    const m = sequential(
      widths.map((units, i) =>
        dense(units, { activation: i === widths.length - 1 ? 'softmax' : 'relu', inputShape: i === 0 ? [FEATURES] : undefined }),
      ),
      { seed: 1 },
    );
    // A WebGPU backend or the CPU, never 'auto': a bench must not fall back to the CPU behind our back.
    // ε where TensorFlow.js puts it (on √v̂; webgrad's default is Keras' ε̂ on √v), so that every system does the same arithmetic.
    m.compile({ optimizer: { type: 'adam', learningRate: LEARNING_RATE, epsilonHat: false }, loss: 'sparseCategoricalCrossentropy', backend: gpu ?? 'cpu' });
    const { kernels, biases } = initialWeights(w.layers);
    m.setWeights(kernels.flatMap((k, i) => [k, biases[i]]));
    return (model = m);
  };
  return {
    async train(d: Digits) {
      const m = await ready();
      const before = gpu ? { ...gpu.counters } : null;
      const h = await m.fit({ data: d.x, shape: [d.n, FEATURES] }, { data: d.y, shape: [d.n] }, { epochs: 1, batchSize: w.batch, shuffle: false, verbose: 0 });
      if (gpu && before) counts = { submits: gpu.counters.submits - before.submits, dispatches: gpu.counters.dispatches - before.dispatches };
      return h.history.loss[0];
    },
    counts: () => (gpu ? counts : undefined),
    device: () => model?.device() ?? null,
    dispose: () => {
      model?.dispose();
      gpu?.dispose();
    },
  };
}
