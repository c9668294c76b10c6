import { defineOptions, opt } from '../core/options.js';

/**
 * Keras' learning-rate schedules, by step (one step per batch): cosineDecay
 * falls from the initial rate to alpha·initial over decaySteps along half a
 * cosine, or, with warmupTarget, first rises linearly from the initial rate
 * to warmupTarget over warmupSteps and then falls from warmupTarget to
 * alpha·warmupTarget over decaySteps (Keras 3's CosineDecay); exponentialDecay
 * multiplies by decayRate every decaySteps.
 */
export type LearningRateSchedule =
  | { type: 'cosineDecay'; initialLearningRate: number; decaySteps: number; alpha?: number; warmupTarget?: number; warmupSteps?: number }
  | { type: 'exponentialDecay'; initialLearningRate: number; decaySteps: number; decayRate: number; staircase?: boolean };

export type LearningRate = number | LearningRateSchedule;

/**
 * The learning rate for the update numbered `step` (the first is 1), as Keras
 * evaluates a schedule at iteration step − 1. Keras 3's CosineDecay.__call__:
 * with warmupTarget, t is capped at warmupSteps + decaySteps; below
 * warmupSteps the rate is initial + (target − initial)·t/warmupSteps, from
 * there target·((1 − alpha)·½(1 + cos(π·(t − warmupSteps)/decaySteps)) + alpha).
 */
export function learningRateAt(lr: LearningRate, step: number): number {
  if (typeof lr === 'number') return lr;
  const t = step - 1;
  if (lr.type === 'cosineDecay') {
    const alpha = lr.alpha ?? 0;
    const decayed = (s: number, from: number) => from * ((1 - alpha) * 0.5 * (1 + Math.cos((Math.PI * s) / lr.decaySteps)) + alpha);
    if (lr.warmupTarget === undefined) return decayed(Math.min(t, lr.decaySteps), lr.initialLearningRate);
    const warmup = lr.warmupSteps ?? 0;
    const s = Math.min(t, lr.decaySteps + warmup);
    if (s < warmup) return (lr.warmupTarget - lr.initialLearningRate) * (s / warmup) + lr.initialLearningRate;
    return decayed(s - warmup, lr.warmupTarget);
  }
  const p = t / lr.decaySteps;
  return lr.initialLearningRate * lr.decayRate ** (lr.staircase ? Math.floor(p) : p);
}

const SCHEDULE_OPTIONS = {
  cosineDecay: defineOptions('cosineDecay', {
    type: opt.oneOf(['cosineDecay'] as const, 'the schedule'),
    initialLearningRate: opt.number('the rate at step 1 (0 allowed with warmupTarget: a warmup from 0)', { min: 0 }),
    decaySteps: opt.integer('steps from the initial rate (or warmupTarget) to alpha times it', { min: 1 }),
    alpha: opt.number('the final rate as a fraction of the initial one, or of warmupTarget (default 0)', { min: 0, max: 1 }),
    warmupTarget: opt.number('the rate a linear warmup reaches after warmupSteps, where the cosine starts (default: no warmup)', { min: 0, minExclusive: true }),
    warmupSteps: opt.integer('steps of linear warmup from the initial rate to warmupTarget (default 0)', { min: 0 }),
  }),
  exponentialDecay: defineOptions('exponentialDecay', {
    type: opt.oneOf(['exponentialDecay'] as const, 'the schedule'),
    initialLearningRate: opt.number('the rate at step 1', { min: 0, minExclusive: true }),
    decaySteps: opt.integer('steps per factor of decayRate', { min: 1 }),
    decayRate: opt.number('the factor per decaySteps', { min: 0, minExclusive: true }),
    staircase: opt.boolean('decay in whole steps of decaySteps (default false)'),
  }),
};

const OPTIONAL = new Set(['alpha', 'staircase', 'warmupTarget', 'warmupSteps']);

/** Why `lr` is not a learning rate (a positive number or a schedule), or null. */
export function learningRateProblem(lr: unknown): string | null {
  if (typeof lr === 'number') return Number.isFinite(lr) && lr > 0 ? null : `must be a positive number, got ${lr}`;
  const type = (lr as { type?: unknown } | null)?.type;
  if (typeof lr !== 'object' || lr === null || (type !== 'cosineDecay' && type !== 'exponentialDecay')) {
    return `must be a number or a schedule { type: 'cosineDecay' | 'exponentialDecay', ... }, got ${JSON.stringify(lr)}`;
  }
  const set = SCHEDULE_OPTIONS[type];
  set.check(lr);
  const given = lr as Record<string, unknown>;
  const missing = set.keys.filter((k) => !OPTIONAL.has(k) && given[k] === undefined);
  if (missing.length) return `${type} needs ${missing.join(', ')}`;
  if (type === 'cosineDecay') {
    // Keras reads warmupSteps only with a warmup_target; a lone one would be ignored silently.
    if (given.warmupSteps !== undefined && given.warmupSteps !== 0 && given.warmupTarget === undefined) {
      return `cosineDecay: warmupSteps ${given.warmupSteps} needs warmupTarget, the rate the warmup reaches (Keras' warmup_target)`;
    }
    if (given.initialLearningRate === 0 && given.warmupTarget === undefined) return 'cosineDecay: initialLearningRate 0 trains nothing without warmupTarget; give a positive rate, or warmupTarget to warm up from 0';
  }
  return null;
}
