// Inverted dropout: the op behind Keras' Dropout layer while it trains.
import { ValueError } from '../core/errors.js';
import type { TensorInfo } from '../core/shape.js';
import { fmt, sizeOf } from '../core/shape.js';
import hash from '../../shaders/hash.wgsl?raw';
import code from '../../shaders/dropout.wgsl?raw';
import { defineKernel, grid1d } from './kernel.js';

const shader = { name: 'dropout', code: `${hash}\n${code}` };
const WG = 256;

export interface DropoutAttrs {
  /** The fraction of elements zeroed, in [0, 1). */
  readonly rate: number;
  /** Which masks: an integer in [0, 2³²). The same seed and step draw the same mask. */
  readonly seed: number;
  /**
   * Keras' noise_shape: x's shape with 1 on the axes that share one mask bit
   * (x [B, T, F] with [B, 1, F]: one bit per sample and feature, the same at
   * every step, as a recurrent layer's input dropout). The shared axes must be
   * adjacent. Default: x's shape, a bit per element.
   */
  readonly noiseShape?: readonly number[];
}

/** PCG-RXS-M-XS (Jarzynski and Olano, JCGT 2020) on u32, as shaders/dropout.wgsl computes it. */
export function pcg(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** The mask's integer threshold: element i is kept when the top 24 bits of its hash reach it. */
export function dropoutThreshold(rate: number): number {
  return Math.round(rate * 2 ** 24);
}

/**
 * The seed of one step's draws: a hash of the op's seed and the step number,
 * which the op reads as data (input 1, i32[1]), so one compiled training step
 * draws new masks every step. Dropout and RandomTranslation both mix it so.
 */
export function stepSeed(seed: number, step: number): number {
  return pcg((pcg(seed) ^ step) >>> 0);
}

/** Whether mask bit i survives at a step: the mask the kernel draws. */
export function dropoutKeeps(seed: number, step: number, i: number, threshold: number): boolean {
  return pcg((stepSeed(seed, step) + i) >>> 0) >>> 8 >= threshold;
}

/**
 * How a noise shape folds x: x seen as [outer, shared, inner], where `shared`
 * is the run of axes the noise shape gives 1 and x does not, element i takes
 * mask bit ⌊i / (shared·inner)⌋·inner + i mod inner (with no shared axes, i
 * itself). `span` is shared·inner. Throws, naming the problem, when the noise
 * shape does not fit x.
 */
export function noiseFold(shape: readonly number[], noiseShape: readonly number[] | undefined): { inner: number; span: number } {
  if (noiseShape === undefined) return { inner: 1, span: 1 };
  const fits = Array.isArray(noiseShape) && noiseShape.length === shape.length && noiseShape.every((d, k) => d === shape[k] || d === 1);
  if (!fits) throw new ValueError(`dropout: noiseShape ${JSON.stringify(noiseShape)} does not fit x [${shape.join(', ')}]: give x's shape with 1 on the axes that share a mask bit, e.g. [${shape.map((d, k) => (k === 1 ? 1 : d)).join(', ')}]`);
  const shared = shape.map((d, k) => d !== 1 && noiseShape[k] === 1);
  const first = shared.indexOf(true);
  if (first < 0) return { inner: 1, span: 1 };
  const last = shared.lastIndexOf(true);
  if (shared.slice(first, last + 1).includes(false)) {
    throw new ValueError(`dropout: noiseShape ${JSON.stringify(noiseShape)} shares axes that are not adjacent (${shared.flatMap((s, k) => (s ? [k] : [])).join(', ')}); webgrad shares one run of adjacent axes: reshape x so that they are`);
  }
  const inner = shape.slice(last + 1).reduce((a, b) => a * b, 1);
  return { inner, span: inner * shape.slice(first, last + 1).reduce((a, b) => a * b, 1) };
}

/** The mask bit element i reads: noiseFold's rule, as the kernel computes it. */
export const maskIndex = (i: number, { inner, span }: { inner: number; span: number }) => Math.floor(i / span) * inner + (i % inner);

/** The step input of a seeded op: i32[1], the step number, which the training step writes before each step. */
export function checkStepInput(op: string, step: TensorInfo | undefined): void {
  if (!step || step.dtype !== 'i32' || step.shape.length !== 1 || step.shape[0] !== 1) {
    throw new ValueError(`${op}: input 1 must be the step number, i32[1], got ${step ? fmt(step) : 'nothing'}`);
  }
}

const shown = (v: unknown) => (typeof v === 'number' ? String(v) : JSON.stringify(v));

/** What is wrong with a dropout rate, or null: the kernel, the layer and its options say it alike. */
export function rateProblem(v: unknown): string | null {
  return typeof v === 'number' && v >= 0 && v < 1 ? null : `must be a number in [0, 1), got ${shown(v)}`;
}

/** What is wrong with a dropout seed, or null. */
export function seedProblem(v: unknown): string | null {
  return Number.isInteger(v) && (v as number) >= 0 && (v as number) < 2 ** 32 ? null : `must be an integer in [0, 2^32), got ${shown(v)}`;
}

function check({ rate, seed }: DropoutAttrs): void {
  const problem = rateProblem(rate) ? `rate ${rateProblem(rate)}` : seedProblem(seed) ? `seed ${seedProblem(seed)}` : null;
  if (problem) throw new ValueError(`dropout: ${problem}`);
}

/**
 * out = x / (1 − rate) where element i's mask bit keeps it, else 0: each
 * element dropped with probability `rate` (to 2⁻²⁴), the expectation kept.
 * Inputs (x, step). The mask is a hash of (seed, step, i), so the op is its
 * own gradient: d(x) is dropout of d(out) with the same seed and step (and
 * noise shape: i is then the mask bit the element shares, noiseFold).
 */
export const dropout = defineKernel<DropoutAttrs>({
  name: 'dropout',
  shader,
  outputs([x, step], attrs) {
    if (!x || x.dtype !== 'f32') throw new ValueError(`dropout: input 0 must be f32, got ${x ? fmt(x) : 'nothing'}`);
    checkStepInput('dropout', step);
    check(attrs);
    noiseFold(x.shape, attrs.noiseShape);
    return [x];
  },
  cpu([x, [step]], [out], [info], { rate, seed, noiseShape }) {
    const t = dropoutThreshold(rate);
    const fold = noiseFold(info.shape, noiseShape);
    for (let i = 0; i < x.length; i++) out[i] = dropoutKeeps(seed, step, maskIndex(i, fold), t) ? x[i] / (1 - rate) : 0;
  },
  gpu([x], { rate, seed, noiseShape }, ctx) {
    const n = sizeOf(x.shape);
    const { inner, span } = noiseFold(x.shape, noiseShape);
    return {
      entry: 'dropout',
      params: [['u32', n], ['u32', seed], ['u32', dropoutThreshold(rate)], ['f32', 1 / (1 - rate)], ['u32', inner], ['u32', span]],
      workgroups: grid1d(n, WG, ctx),
    };
  },
});
