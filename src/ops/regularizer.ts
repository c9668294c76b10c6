// Weight penalties: the ops under Keras' kernel_regularizer and bias_regularizer.
import { ShapeError, ValueError } from '../core/errors.js';
import type { TensorInfo } from '../core/shape.js';
import { f32, fmt, sizeOf } from '../core/shape.js';
import code from '../../shaders/regularizer.wgsl?raw';
import { defineKernel, grid1d } from './kernel.js';

const shader = { name: 'regularizer', code };
const WG = 256;

/** Keras' L1L2: l1·Σ|w| + l2·Σw². l1(f) is { l1: f, l2: 0 }, l2(f) is { l1: 0, l2: f }. */
export interface PenaltyAttrs {
  readonly l1: number;
  readonly l2: number;
}

/** What is wrong with a regularization factor, or null. */
export function factorProblem(v: unknown): string | null {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? null : `must be a number >= 0, got ${typeof v === 'number' ? v : JSON.stringify(v)}`;
}

function check(op: string, w: TensorInfo | undefined, { l1, l2 }: PenaltyAttrs): void {
  if (!w || w.dtype !== 'f32') throw new ShapeError(`${op}: w must be an f32 tensor, got ${w ? fmt(w) : 'nothing'}`);
  const problem = factorProblem(l1) ? `l1 ${factorProblem(l1)}` : factorProblem(l2) ? `l2 ${factorProblem(l2)}` : null;
  if (problem) throw new ValueError(`${op}: ${problem}`);
}

/**
 * One workgroup sums the penalty, each invocation n/256 terms in order. On
 * llvmpipe a sum of 2^24 values this way came out wrong (about 1/128 of it),
 * while 2^22 was right, so larger weights are refused rather than summed
 * wrongly. (A 3×3×512×512 kernel has 2.4M values.)
 */
export const MAX_PENALTY_VALUES = 2 ** 22;

const params = (w: TensorInfo, { l1, l2 }: PenaltyAttrs) => [['u32', sizeOf(w.shape)], ['f32', l1], ['f32', l2]] as const;

/** out[0] = l1·Σ|w| + l2·Σw², a weight's penalty added to the loss (tf.keras.regularizers.L1L2). */
export const penalty = defineKernel<PenaltyAttrs>({
  name: 'penalty',
  shader,
  outputs([w], attrs) {
    check('penalty', w, attrs);
    if (sizeOf(w.shape) > MAX_PENALTY_VALUES) throw new ShapeError(`penalty: at most ${MAX_PENALTY_VALUES.toLocaleString('en-US')} values per weight, got ${fmt(w)}`);
    return [f32([1])];
  },
  cpu([w], [out], _infos, { l1, l2 }) {
    let s = 0;
    for (let i = 0; i < w.length; i++) s += l1 * Math.abs(w[i]) + l2 * w[i] * w[i];
    out[0] = s;
  },
  gpu([w], attrs) {
    return { entry: 'penalty', params: params(w, attrs), workgroups: [1, 1, 1] };
  },
});

/** dw = d[0]·(l1·sign(w) + 2·l2·w): penalty's gradient, sign(0) = 0 as TensorFlow's. Inputs w, d [1]. */
export const penaltyGrad = defineKernel<PenaltyAttrs>({
  name: 'penaltyGrad',
  shader,
  outputs([w, d], attrs) {
    check('penaltyGrad', w, attrs);
    if (!d || d.dtype !== 'f32' || sizeOf(d.shape) !== 1) throw new ShapeError(`penaltyGrad: d must be f32[1], got ${d ? fmt(d) : 'nothing'}`);
    return [w];
  },
  cpu([w, d], [dw], _infos, { l1, l2 }) {
    for (let i = 0; i < w.length; i++) dw[i] = d[0] * (l1 * Math.sign(w[i]) + 2 * l2 * w[i]);
  },
  gpu([w], attrs, ctx) {
    const n = sizeOf(w.shape);
    return { entry: 'penalty_grad', params: params(w, attrs), workgroups: grid1d(n, WG, ctx) };
  },
});
