// TensorFlow.js on the same workloads: the same MLP, CNN or LSTM written with
// tfjs-core ops (tfjs-layers is not needed), the same initial weights, data
// order, batch, loss and Adam settings as webgrad. Convolutions are NHWC with
// kernels [kh, kw, cin, cout], webgrad's layout, so the same arrays go to both.
// W6's LSTM is tfjs-layers' own loop (tfjs-lstm.ts).
// Browser-safe: the caller imports the backends and hands in the `tf` namespace.
import type * as TF from '@tensorflow/tfjs-core';
import type { Digits, TrainWorkload } from '../workloads.js';
import { CLASSES, initialWeights, inputSize, LEARNING_RATE, PLAYGROUND, sampleShape } from '../workloads.js';
import { tfjsLstm } from './tfjs-lstm.js';
import type { Trainer } from './trainer.js';
import type { MatmulRunner } from '../lib/matmul-timing.js';

type Tf = typeof TF;

export function tfjsTrainer(tf: Tf, w: TrainWorkload): Trainer {
  const { kernels, shapes, biases, lstm: rnn } = initialWeights(w);
  const ws = kernels.map((k, i) => tf.variable(tf.tensor(k, shapes[i])));
  const bs = biases.map((b) => tf.variable(tf.tensor1d(b)));
  const recurrent = w.lstm && rnn ? tfjsLstm(tf, w.lstm, rnn) : null;
  // Keras' Adam defaults: β1 0.9, β2 0.999, ε 1e-7. tfjs adds ε to √v̂; the webgrad trainer asks for the same (epsilonHat: false).
  // W5: plain SGD, as the Playground.
  const optimizer = w.playground ? tf.train.sgd(PLAYGROUND.learningRate) : tf.train.adam(LEARNING_RATE, 0.9, 0.999, 1e-7);
  const blocks = w.conv?.blocks ?? [];
  const sample = sampleShape(w);
  // ReLU between the digits' layers; W5 has tanh between and at its output (no logits: the loss is squared error on it).
  const between = (h: TF.Tensor) => (w.playground ? tf.tanh(h) : tf.relu(h));
  const logits = (x: TF.Tensor): TF.Tensor2D => {
    // W6: the LSTM's last state is the dense layers' input.
    let h = recurrent ? recurrent.lastState(x as TF.Tensor3D) : x;
    // Conv blocks: 'valid' convolution, bias, ReLU, max pool; then flatten (row-major NHWC, as webgrad's flatten).
    blocks.forEach((b, i) => {
      const c = tf.relu(tf.add(tf.conv2d(h as TF.Tensor4D, ws[i] as TF.Tensor4D, 1, 'valid'), bs[i]));
      h = tf.maxPool(c as TF.Tensor4D, b.pool, b.pool, 'valid');
    });
    if (blocks.length) h = tf.reshape(h, [h.shape[0], -1]);
    for (let i = blocks.length; i < ws.length; i++) {
      h = tf.add(tf.matMul(h as TF.Tensor2D, ws[i] as TF.Tensor2D), bs[i]);
      if (i < ws.length - 1 || w.playground) h = between(h);
    }
    return h as TF.Tensor2D;
  };
  const loss = (x: TF.Tensor, y: TF.Tensor): TF.Scalar =>
    (w.playground ? tf.losses.meanSquaredError(y, logits(x)) : tf.losses.softmaxCrossEntropy(y, logits(x))) as TF.Scalar;
  const size = inputSize(w);
  return {
    async train(d: Digits, epochs = 1) {
      // The loss is summed on the device and read once per epoch, as webgrad's fit() does: no readback per step.
      let sum = 0;
      for (let e = 0; e < epochs; e++) {
        let total = tf.scalar(0);
        for (let b = 0; b < d.n; b += w.batch) {
          const m = Math.min(w.batch, d.n - b);
          const x = tf.tensor(d.x.subarray(b * size, (b + m) * size), [m, ...sample]);
          // The digits' class indices one-hot; W5's ±1 targets as they are, [m, 1].
          const labels = w.playground ? tf.tensor2d(d.y.subarray(b, b + m), [m, 1]) : tf.tensor1d(d.y.subarray(b, b + m), 'int32');
          const y = w.playground ? labels : tf.oneHot(labels as TF.Tensor1D, CLASSES);
          const cost = optimizer.minimize(() => loss(x, y), true)!;
          const next = tf.tidy(() => tf.add(total, tf.mul(cost, m)));
          tf.dispose([x, labels, y, cost, total]);
          total = next as TF.Scalar;
        }
        sum += (await total.data())[0];
        total.dispose();
      }
      return sum / (d.n * epochs);
    },
    dispose() {
      tf.dispose([...ws, ...bs]);
      recurrent?.dispose();
      optimizer.dispose();
    },
  };
}

/** A runner of `reps` matmuls C = op(A)·op(B) on fixed operands, ending in one readback: the seconds they took. */
export function tfjsMatmulRunner(tf: Tf, M: number, K: number, N: number, transA: boolean, transB: boolean): MatmulRunner & { dispose(): void } {
  const a = tf.randomNormal(transA ? [K, M] : [M, K]) as TF.Tensor2D;
  const b = tf.randomNormal(transB ? [N, K] : [K, N]) as TF.Tensor2D;
  const run = async (reps: number) => {
    const t0 = performance.now();
    let c: TF.Tensor | null = null;
    for (let i = 0; i < reps; i++) {
      c?.dispose();
      c = tf.matMul(a, b, transA, transB);
    }
    // Reading one element of the last result waits for every queued matmul
    // (one queue, in order) without timing a readback of the whole of C.
    const corner = tf.slice(c! as TF.Tensor2D, [0, 0], [1, 1]);
    await corner.data();
    corner.dispose();
    c!.dispose();
    return (performance.now() - t0) / 1000;
  };
  return Object.assign(run, { dispose: () => [a, b].forEach((t) => t.dispose()) });
}
