import { ShapeError, ValueError } from '../core/errors.js';
import type { TensorInfo } from '../core/shape.js';
import { expectRank, expectSame, f32, fmt } from '../core/shape.js';
import code from '../../shaders/metrics.wgsl?raw';
import type { HostArray } from './kernel.js';
import { defineKernel, grid1d } from './kernel.js';
import type { NoAttrs } from './reduce.js';

const shader = { name: 'metrics', code };
const WG = 256;

/** Index of the first largest value of a[base .. base+n): ties go to the lowest index, as np.argmax / tf.argmax / torch.argmax. */
function firstArgmax(a: HostArray, base: number, n: number): number {
  let best = 0;
  for (let c = 1; c < n; c++) if (a[base + c] > a[base + best]) best = c;
  return best;
}

/** Labels i32 [B], or one-hot / probability targets f32 [B, C]; returns which. */
function targetKind(pred: TensorInfo, target: TensorInfo | undefined): 'sparse' | 'dense' {
  const [B, C] = pred.shape;
  if (target?.dtype === 'i32' && target.shape.length === 1 && target.shape[0] === B) return 'sparse';
  if (target?.dtype === 'f32' && target.shape.length === 2 && target.shape[0] === B && target.shape[1] === C) return 'dense';
  throw new ShapeError(
    `argmaxAccuracy: targets must be i32[${B}] class labels or f32[${B}, ${C}] one-hot/probabilities ` +
      `to match predictions ${fmt(pred)}, got ${target ? fmt(target) : 'none'}`,
  );
}

/**
 * out[b] = 1 if argmax of predictions row b equals the target class, else 0:
 * Keras `sparse_categorical_accuracy` with i32 labels [B], `categorical_accuracy`
 * with f32 targets [B, C] (their argmax is the class). Predictions may be logits
 * or probabilities: softmax keeps the argmax. A label outside [0, C) counts as wrong.
 */
export const argmaxAccuracy = defineKernel<NoAttrs>({
  name: 'argmaxAccuracy',
  shader,
  outputs([pred, target]) {
    if (!pred) throw new ShapeError('argmaxAccuracy: expects predictions [B, C] and targets');
    expectRank(pred, 2, 'argmaxAccuracy', 'predictions');
    targetKind(pred, target);
    return [f32([pred.shape[0]])];
  },
  cpu([pred, target], [out], infos) {
    const [B, C] = infos[0].shape;
    const sparse = infos[1].dtype === 'i32';
    for (let b = 0; b < B; b++) {
      const truth = sparse ? target[b] : firstArgmax(target, b * C, C);
      out[b] = firstArgmax(pred, b * C, C) === truth ? 1 : 0;
    }
  },
  gpu([pred, target], _attrs, ctx) {
    const [B, C] = pred.shape;
    const entry = `argmax_accuracy_${targetKind(pred, target)}`;
    return { entry, params: [['u32', B], ['u32', C]], workgroups: grid1d(B, WG, ctx) };
  },
});

export interface BinaryAccuracyAttrs {
  /**
   * A prediction counts as 1 when it is strictly above this (Keras's `y_pred > threshold`).
   * Default 0.5, for probabilities; use 0 for logits (sigmoid(z) > 0.5 exactly when z > 0).
   * Like Keras, it is cast to the predictions' dtype (f32) before comparing.
   */
  readonly threshold?: number;
}

/**
 * out[b] = mean over d of ((pred[b, d] > threshold) == (target[b, d] > 0.5)):
 * Keras `binary_accuracy` (mean over the last axis), with targets in {0, 1}
 * read as "above one half" so that soft labels are counted sensibly too.
 */
export const binaryAccuracy = defineKernel<BinaryAccuracyAttrs>({
  name: 'binaryAccuracy',
  shader,
  outputs([pred, target], { threshold = 0.5 }) {
    if (!pred || !target) throw new ShapeError('binaryAccuracy: expects predictions [B, D] and targets [B, D]');
    expectRank(pred, 2, 'binaryAccuracy', 'predictions');
    expectSame(pred, target, 'binaryAccuracy', ['predictions', 'targets']);
    if (!Number.isFinite(threshold)) throw new ValueError(`binaryAccuracy: threshold must be a finite number, got ${threshold}`);
    return [f32([pred.shape[0]])];
  },
  cpu([pred, target], [out], infos, { threshold = 0.5 }) {
    const [B, D] = infos[0].shape;
    const t = Math.fround(threshold);
    for (let b = 0; b < B; b++) {
      let hits = 0;
      for (let d = 0; d < D; d++) {
        const i = b * D + d;
        if ((pred[i] > t) === (target[i] > 0.5)) hits++;
      }
      out[b] = hits / D;
    }
  },
  gpu([pred], { threshold = 0.5 }, ctx) {
    const [B, D] = pred.shape;
    const params = [['u32', B], ['u32', D], ['f32', threshold], ['f32', 1 / D]] as const;
    return { entry: 'binary_accuracy', params, workgroups: grid1d(B, WG, ctx) };
  },
});
