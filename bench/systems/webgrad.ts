// webgrad through its public API only: sequential / conv2d / maxPooling2d / flatten / lstm / dense / gpt / compile / fit.
import type { DeviceDescription, Layer, Model } from '../../src/index.js';
import { conv2d, createWebGPUBackend, dense, flatten, lstm, maxPooling2d, sequential } from '../../src/index.js';
import type { WebGPUBackend } from '../../src/index.js';
import type { Digits, TrainWorkload } from '../workloads.js';
import { INIT_SEED, initialWeights, LEARNING_RATE, PLAYGROUND, sampleShape } from '../workloads.js';
import { gptInitialWeights, gptModel } from '../gpt-workload.js';
import type { Trainer } from './trainer.js';

export type WebgradKind = 'webgpu' | 'cpu';

export interface WebgradTrainer extends Trainer {
  /** The device the model ran on (known after the first train()). */
  device(): DeviceDescription | null;
}

/**
 * The workload's network: its convolution blocks (ReLU, max pool) and a
 * flatten, if any, or W6's LSTM (Keras' defaults, its last state), then
 * Dense layers, ReLU between, softmax last; for W5 (playground) tanh between
 * and at the output, as the Playground.
 */
export function webgradLayers(w: TrainWorkload): Layer[] {
  const out: Layer[] = [];
  w.conv?.blocks.forEach((b, i) => {
    out.push(conv2d(b.filters, b.kernel, { activation: 'relu', inputShape: i === 0 ? [...w.conv!.input] : undefined }), maxPooling2d(b.pool));
  });
  if (w.conv) out.push(flatten());
  if (w.lstm) out.push(lstm(w.lstm.units, { inputShape: sampleShape(w) }));
  const widths = w.layers.slice(1);
  widths.forEach((units, i) => {
    const activation = w.playground ? 'tanh' : i === widths.length - 1 ? 'softmax' : 'relu';
    out.push(dense(units, { activation, inputShape: i === 0 && !w.conv && !w.lstm ? [w.layers[0]] : undefined }));
  });
  return out;
}

/** The workload's network (webgradLayers), sparse cross-entropy and Adam (W5: squared error and SGD), the bench's initial weights. */
export function webgradTrainer(kind: WebgradKind, w: TrainWorkload): WebgradTrainer {
  let model: Model | null = null;
  // On WebGPU the trainer owns the backend, so that it can count the command-buffer submits and dispatches of each run.
  let gpu: WebGPUBackend | null = null;
  let counts = { submits: 0, dispatches: 0 };
  const ready = async (): Promise<Model> => {
    if (model) return model;
    if (kind === 'webgpu') gpu = await createWebGPUBackend();
    const m = w.gpt ? gptModel(w) : sequential(webgradLayers(w), { seed: 1 });
    // A WebGPU backend or the CPU, never 'auto': a bench must not fall back to the CPU behind our back.
    // ε where TensorFlow.js puts it (on √v̂; webgrad's default is Keras' ε̂ on √v), so that every system does the same arithmetic.
    const backend = gpu ?? 'cpu';
    if (w.playground) m.compile({ optimizer: { type: 'sgd', learningRate: PLAYGROUND.learningRate }, loss: 'meanSquaredError', backend });
    else m.compile({ optimizer: { type: 'adam', learningRate: LEARNING_RATE, epsilonHat: false }, loss: 'sparseCategoricalCrossentropy', backend });
    if (w.gpt) m.setWeights(gptInitialWeights(w, INIT_SEED).map((p) => p.data));
    else {
      const { kernels, biases, lstm: rnn } = initialWeights(w);
      // The LSTM's kernel, recurrent kernel and bias come first, in the layer's order.
      m.setWeights([...(rnn ? [rnn.kernel, rnn.recurrentKernel, rnn.bias] : []), ...kernels.flatMap((k, i) => [k, biases[i]])]);
    }
    return (model = m);
  };
  return {
    async train(d: Digits, epochs = 1) {
      const m = await ready();
      const before = gpu ? { ...gpu.counters } : null;
      const sample = sampleShape(w);
      // W5's targets are ±1 values [n, 1]; the digits' are class indices [n]; W7's the next character's id at every step [n, context].
      const y = { data: d.y, shape: w.playground ? [d.n, 1] : w.gpt ? [d.n, w.gpt.context] : [d.n] };
      const h = await m.fit({ data: d.x, shape: [d.n, ...sample] }, y, { epochs, batchSize: w.batch, shuffle: false, verbose: 0 });
      if (gpu && before) counts = { submits: gpu.counters.submits - before.submits, dispatches: gpu.counters.dispatches - before.dispatches };
      // Every epoch has as many samples: the mean of the epochs' means is the run's per-sample mean.
      return h.history.loss.reduce((a, b) => a + b, 0) / h.history.loss.length;
    },
    counts: () => (gpu ? counts : undefined),
    device: () => model?.device() ?? null,
    dispose: () => {
      model?.dispose();
      gpu?.dispose();
    },
  };
}
