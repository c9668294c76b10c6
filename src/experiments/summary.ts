// Per-setting means and spreads over folds, and the ranking. Browser-safe.
import type { RunResult } from './run.js';
import type { ModelSettings } from './settings.js';

/** Mean and population standard deviation (numpy's default, ddof = 0) over folds. */
export interface Stat {
  mean: number;
  std: number;
}

/** One setting over its finished folds. */
export interface SettingSummary<S extends ModelSettings = ModelSettings> {
  setting: number;
  name: string;
  params: Record<string, string>;
  settings: S;
  /** Folds finished (fewer than planned when the sweep was stopped). */
  runs: number;
  valLoss: Stat;
  /** Validation accuracy (classification) or MAE (regression). */
  valMetric: Stat;
  trainLoss: Stat;
  trainMetric: Stat;
  epochs: Stat;
  seconds: Stat;
  samplesPerSecond: Stat;
  /** Set when any of its runs diverged: how many, and the earliest epoch (0-based) one did in. */
  diverged: { runs: number; epoch: number } | null;
}

export function stat(values: readonly number[]): Stat {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length);
  return { mean, std };
}

/**
 * One summary per setting that finished at least one run, best first:
 * highest validation accuracy for classification (then lowest validation
 * loss), lowest validation loss for regression. A setting with a diverged
 * run (RunResult.diverged), or a NaN or infinite score, ranks last; ties keep
 * the sweep's order.
 */
export function summarize<S extends ModelSettings>(runs: readonly RunResult<S>[], metric: 'accuracy' | 'mae'): SettingSummary<S>[] {
  const bySetting = new Map<number, RunResult<S>[]>();
  for (const r of runs) bySetting.set(r.setting, [...(bySetting.get(r.setting) ?? []), r]);
  const out = [...bySetting.values()].map((rs): SettingSummary<S> => {
    const of = (f: (r: RunResult<S>) => number) => stat(rs.map(f));
    return {
      setting: rs[0].setting,
      name: rs[0].name,
      params: rs[0].params,
      settings: rs[0].settings,
      runs: rs.length,
      valLoss: of((r) => r.validation.loss),
      valMetric: of((r) => r.validation[metric]),
      trainLoss: of((r) => r.train.loss),
      trainMetric: of((r) => r.train[metric]),
      epochs: of((r) => r.epochs),
      seconds: of((r) => r.seconds),
      samplesPerSecond: of((r) => r.samplesPerSecond),
      diverged: divergedRuns(rs),
    };
  });
  const low = (v: number) => (Number.isFinite(v) ? v : Infinity);
  const high = (v: number) => (Number.isFinite(v) ? v : -Infinity);
  const score = metric === 'accuracy'
    ? (a: SettingSummary<S>, b: SettingSummary<S>) => high(b.valMetric.mean) - high(a.valMetric.mean) || low(a.valLoss.mean) - low(b.valLoss.mean)
    : (a: SettingSummary<S>, b: SettingSummary<S>) => low(a.valLoss.mean) - low(b.valLoss.mean);
  // A setting that diverged on any fold goes last, whatever its other folds scored. Infinity − Infinity is NaN,
  // which `||` passes over: two settings with non-finite scores fall through to the sweep's order.
  return out.sort((a, b) => Number(a.diverged !== null) - Number(b.diverged !== null) || score(a, b) || a.setting - b.setting);
}

function divergedRuns(runs: readonly RunResult[]): SettingSummary['diverged'] {
  const epochs = runs.flatMap((r) => (r.diverged ? [r.diverged.epoch] : []));
  return epochs.length ? { runs: epochs.length, epoch: Math.min(...epochs) } : null;
}

/** A setting's learning curves averaged over its folds, epoch by epoch (over the folds that reached that epoch). */
export function meanCurves(runs: readonly RunResult[]): Record<string, [epoch: number, value: number][]> {
  const sums = new Map<string, Map<number, { total: number; count: number }>>();
  for (const r of runs) {
    for (const [key, values] of Object.entries(r.history.history)) {
      const perEpoch = sums.get(key) ?? new Map<number, { total: number; count: number }>();
      sums.set(key, perEpoch);
      values.forEach((v, i) => {
        const e = r.history.epoch[i] + 1;
        const s = perEpoch.get(e) ?? { total: 0, count: 0 };
        perEpoch.set(e, { total: s.total + v, count: s.count + 1 });
      });
    }
  }
  const out: Record<string, [number, number][]> = {};
  for (const [key, perEpoch] of sums) out[key] = [...perEpoch].sort((a, b) => a[0] - b[0]).map(([e, s]) => [e, s.total / s.count]);
  return out;
}
