// W6's LSTM on TensorFlow.js as tfjs-layers runs it (tfjs-layers is not a
// dependency; this is its code path written with the same tfjs-core ops).
// tfjs-layers' rnn() (src/backend/tfjs_backend.ts) transposes the batch to
// time-major, unstacks it, and loops over time in JavaScript, each step in a
// tidy() of LSTMCell.call (src/layers/recurrent.ts): x_t·kernel +
// h·recurrentKernel, the bias, a split into the gates i, f, c, o, their
// activations and the state update; the gradient is tfjs' tape run back
// through every step's ops. Those per-step launches, forward and back, are
// the cost #26 points at. One difference from tfjs-layers' defaults: the gates
// use sigmoid (Keras' and webgrad's default) instead of tfjs-layers'
// hardSigmoid, so that every system computes the same function.
// Browser-safe: the caller hands in the `tf` namespace.
import type * as TF from '@tensorflow/tfjs-core';
import type { InitialWeights, LstmSpec } from '../workloads.js';

export interface TfjsLstm {
  /** [batch, steps, features] → the state after the last step, [batch, units]. */
  lastState(x: TF.Tensor3D): TF.Tensor2D;
  dispose(): void;
}

export function tfjsLstm(tf: typeof TF, spec: LstmSpec, init: NonNullable<InitialWeights['lstm']>): TfjsLstm {
  const { features: F, units: U } = spec;
  const kernel = tf.variable(tf.tensor2d(init.kernel, [F, 4 * U]));
  const recurrentKernel = tf.variable(tf.tensor2d(init.recurrentKernel, [U, 4 * U]));
  const bias = tf.variable(tf.tensor1d(init.bias));
  const cell = (xt: TF.Tensor2D, h: TF.Tensor2D, c: TF.Tensor2D): [TF.Tensor2D, TF.Tensor2D] => {
    let z = tf.matMul(xt, kernel);
    z = tf.add(z, tf.matMul(h, recurrentKernel));
    z = tf.add(z, bias);
    const [z0, z1, z2, z3] = tf.split(z, 4, 1);
    const i = tf.sigmoid(z0);
    const f = tf.sigmoid(z1);
    const cNext = tf.add(tf.mul(f, c), tf.mul(i, tf.tanh(z2))) as TF.Tensor2D;
    const o = tf.sigmoid(z3);
    return [tf.mul(o, tf.tanh(cNext)) as TF.Tensor2D, cNext];
  };
  return {
    lastState(x) {
      const steps = tf.unstack(tf.transpose(x, [1, 0, 2])) as TF.Tensor2D[];
      // Keras' initial state: zeros.
      let h = tf.zeros([x.shape[0], U]) as TF.Tensor2D;
      let c = h;
      for (const xt of steps) [h, c] = tf.tidy(() => cell(xt, h, c));
      return h;
    },
    dispose: () => tf.dispose([kernel, recurrentKernel, bias]),
  };
}
