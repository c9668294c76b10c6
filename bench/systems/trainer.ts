import type { Digits, TrainWorkload } from '../workloads.js';
import { firstDigits, warmupSamples } from '../workloads.js';
import { cpuSeconds, now } from '../lib/stats.js';

/** One system training one workload: the same steps on every system. */
export interface Trainer {
  /** Trains once over `d` in order, in batches of the workload's size; returns the mean per-sample training loss. */
  train(d: Digits): Promise<number>;
  /** Command-buffer submits and kernel dispatches of the last train() call, where the system can count them (webgrad on WebGPU). */
  counts?(): GpuCounts | undefined;
  dispose(): Promise<void> | void;
}

export interface GpuCounts {
  readonly submits: number;
  readonly dispatches: number;
}

export interface TrainTiming {
  readonly warmupSeconds: number;
  /** Seconds of each timed run of `samples` samples. */
  readonly seconds: number[];
  /** CPU seconds of each timed run, all threads of the process (NaN in a browser). */
  readonly cpuSeconds: number[];
  /** Mean training loss of each timed run (same start weights and data order on every system). */
  readonly losses: number[];
  readonly samples: number;
  /** Command-buffer submits and dispatches of the last timed run, where counted. */
  readonly counts?: GpuCounts;
}

export interface TimingBudget {
  /** Seconds the timed runs may take in all (at least one run is always made). */
  readonly seconds: number;
  readonly maxRuns: number;
}

/**
 * Warm-up (compiles every step shape), then timed runs while the budget
 * lasts: another run is made only if it should still fit, judged by the
 * slowest so far. At least one run is always made.
 */
export async function timeTraining(t: Trainer, w: TrainWorkload, digits: Digits, budget: TimingBudget): Promise<TrainTiming> {
  const data = firstDigits(digits, w.samples);
  let t0 = now();
  await t.train(firstDigits(digits, warmupSamples(w)));
  const warmupSeconds = now() - t0;
  const seconds: number[] = [];
  const cpu: number[] = [];
  const losses: number[] = [];
  const spent = () => seconds.reduce((a, b) => a + b, 0);
  while (seconds.length === 0 || (seconds.length < budget.maxRuns && spent() + Math.max(...seconds) <= budget.seconds)) {
    t0 = now();
    const c0 = cpuSeconds();
    losses.push(await t.train(data));
    seconds.push(now() - t0);
    cpu.push(cpuSeconds() - c0);
  }
  return { warmupSeconds, seconds, cpuSeconds: cpu, losses, samples: w.samples, counts: t.counts?.() };
}
