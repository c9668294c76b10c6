// What every optimizer update shares: the float32 checks of its scalars, the
// gradient clipping and weight-decay range it applies first (GradientAttrs),
// its shape rule, and sumSquares, the reduction clipping by norm reads. The
// kernels are in optimizer.ts; both use shaders/optimizer.wgsl.
import { ValueError } from '../core/errors.js';
import type { TensorInfo } from '../core/shape.js';
import { f32, fmt, sizeOf } from '../core/shape.js';
import code from '../../shaders/optimizer.wgsl?raw';
import { defineKernel } from './kernel.js';
import type { NoAttrs } from './reduce.js';
import { MAX_REDUCE_VALUES } from './reduce.js';

export const shader = { name: 'optimizer', code };
export const MIN_NORMAL_F32 = 2 ** -126;

/** Scalars travel as float32: one past its range would reach the GPU as infinity (and inf·0 = NaN). */
export function finite(op: string, name: string, v: number): void {
  if (typeof v !== 'number' || !Number.isFinite(Math.fround(v))) throw new ValueError(`${op}: ${name} must be a finite float32 number, got ${v}`);
}

export function nonNegative(op: string, name: string, v: number): void {
  finite(op, name, v);
  if (v < 0) throw new ValueError(`${op}: ${name} must be >= 0, got ${v}`);
}

/** Decay rates: 1 would freeze the state (and zero Adam's bias correction). */
export function decayRate(op: string, name: string, v: number): void {
  finite(op, name, v);
  if (v < 0 || v >= 1) throw new ValueError(`${op}: ${name} must be in [0, 1), got ${v}`);
}

/** The denominator's epsilon keeps 0/0 away (g = 0 with zero state): it must survive as a normal float32. */
export function epsilonOk(op: string, name: string, v: number): void {
  finite(op, name, v);
  if (Math.fround(v) < MIN_NORMAL_F32) throw new ValueError(`${op}: ${name} must be a normal positive float32 (>= 2^-126), got ${v}`);
}

/**
 * What any update may do before its rule, Keras' optimizer arguments: clip
 * the gradient, and leave some weights out of weight decay.
 */
export interface GradientAttrs {
  /**
   * g ← g·clipNorm / max(‖g‖, clipNorm), ‖g‖² read from input 2 (f32[1], the
   * sumSquares of the gradients clipped together): one weight's for Keras'
   * clipnorm, every weight's for global_clipnorm (clip_by_global_norm).
   */
  readonly clipNorm?: number;
  /** g ← clamp(g, −clipValue, clipValue) (Keras' clipvalue). */
  readonly clipValue?: number;
  /** Elements from this index on take no weight decay (excludeFromWeightDecay); default: every element takes it. */
  readonly decayEnd?: number;
}

/** The checked GradientAttrs: the clip to apply to one gradient element (its sum of squares given), and where decay stops. */
export function gradientChecked(op: string, { clipNorm, clipValue, decayEnd }: GradientAttrs) {
  if (clipNorm !== undefined && clipValue !== undefined) throw new ValueError(`${op}: clipNorm and clipValue cannot both be set (Keras allows one of clipnorm, clipvalue, global_clipnorm)`);
  for (const [name, v] of [['clipNorm', clipNorm], ['clipValue', clipValue]] as const) {
    if (v === undefined) continue;
    finite(op, name, v);
    if (v <= 0) throw new ValueError(`${op}: ${name} must be > 0, got ${v}`);
  }
  if (decayEnd !== undefined && !(Number.isInteger(decayEnd) && decayEnd >= 0 && decayEnd <= 0xffffffff)) {
    throw new ValueError(`${op}: decayEnd must be an element index (an integer >= 0), got ${decayEnd}`);
  }
  const end = decayEnd ?? Infinity;
  const clip: (g: number, sumSq?: number) => number =
    clipNorm !== undefined
      ? (g, sumSq) => g * (clipNorm / Math.max(Math.sqrt(sumSq!), clipNorm))
      : clipValue !== undefined
        ? (g) => Math.min(Math.max(g, -clipValue), clipValue)
        : (g) => g;
  return { clip, decays: (i: number) => i < end, byNorm: clipNorm !== undefined };
}

/** The override constants and extra binding GradientAttrs give a launch (none when unset, so those pipelines stay as they were). */
export function gradientLaunch({ clipNorm, clipValue, decayEnd }: GradientAttrs): { constants: Record<string, number>; extra: number[] } {
  const constants: Record<string, number> = {};
  if (clipNorm !== undefined) Object.assign(constants, { CLIP: 1, CLIP_AT: clipNorm });
  if (clipValue !== undefined) Object.assign(constants, { CLIP: 2, CLIP_AT: clipValue });
  if (decayEnd !== undefined) constants.DECAY_END = decayEnd;
  // Every entry reads a sum of squares after its uniform: without clipNorm it binds the step's values there, unread.
  return { constants, extra: [clipNorm !== undefined ? 2 : 1] };
}

/** The step's values must be f32[count] (and with clipNorm, input 2 the sum of squares f32[1]); outputs: the parameter and `outputs - 1` state tensors, all shaped like g. */
export function shapes(op: string, [g, values, sumSq]: readonly TensorInfo[], count: number, outputs: number, attrs: GradientAttrs): TensorInfo[] {
  if (!values || values.dtype !== 'f32' || values.shape.length !== 1 || values.shape[0] !== count) {
    const what = count === 1 ? '[lr]' : '[lr, 1 − beta1^step, 1 − beta2^step]';
    throw new ValueError(`${op}: input 1 must be the step's values, f32[${count}] ${what}, got ${values ? fmt(values) : 'nothing'}`);
  }
  if (g.dtype !== 'f32') throw new ValueError(`${op}: gradient must be f32, got ${fmt(g)}`);
  const { byNorm } = gradientChecked(op, attrs);
  if (byNorm && (!sumSq || sumSq.dtype !== 'f32' || sumSq.shape.length !== 1 || sumSq.shape[0] !== 1)) {
    throw new ValueError(`${op}: with clipNorm, input 2 must be the gradients' sum of squares, f32[1] (sumSquares), got ${sumSq ? fmt(sumSq) : 'nothing'}`);
  }
  if (!byNorm && sumSq) throw new ValueError(`${op}: input 2 (a sum of squares) is read only with clipNorm; got ${fmt(sumSq)} without it`);
  return Array.from({ length: outputs }, () => f32(g.shape));
}

/** Σ g², as f32[1]: what clipping by norm reads (one weight's gradient, or every weight's packed), on the device. */
export const sumSquares = defineKernel<NoAttrs>({
  name: 'sumSquares',
  shader,
  outputs([g]) {
    if (!g || g.dtype !== 'f32') throw new ValueError(`sumSquares: expects one f32 tensor, got ${g ? fmt(g) : 'nothing'}`);
    if (sizeOf(g.shape) > MAX_REDUCE_VALUES) throw new ValueError(`sumSquares: at most ${MAX_REDUCE_VALUES.toLocaleString('en-US')} values in one launch (one workgroup), got ${fmt(g)}; a weight this large cannot be clipped by norm yet`);
    return [f32([1])];
  },
  cpu([g], [out]) {
    let s = 0;
    for (let i = 0; i < g.length; i++) s += g[i] * g[i];
    out[0] = s;
  },
  gpu([g]) {
    return { entry: 'sum_squares', params: [['u32', sizeOf(g.shape)]], workgroups: [1, 1, 1] };
  },
});
