import type { Digits, TrainWorkload } from '../workloads.js';
import { epochsOf, firstDigits, flopsPerSample, warmupSamples } from '../workloads.js';
import { tokensPerSample } from '../gpt-workload.js';
import type { SystemName, TrainFigure } from '../lib/jobs.js';
import { cpuSeconds, now, rates } from '../lib/stats.js';

/** One system training one workload: the same steps on every system. */
export interface Trainer {
  /**
   * Trains `epochs` (default 1) passes over `d` in order, in batches of the
   * workload's size, in one call (webgrad: one fit()); returns the mean
   * per-sample training loss over them.
   */
  train(d: Digits, epochs?: number): Promise<number>;
  /** Command-buffer submits and kernel dispatches of the last train() call, where the system can count them (webgrad on WebGPU). */
  counts?(): GpuCounts | undefined;
  /**
   * Seconds and CPU seconds of the last train() call as measured inside the
   * system's own process, where it trains in another one (torch-cpu's Python
   * worker: this process's CPU clock would not see its threads); used instead
   * of this process's clocks.
   */
  measured?(): { seconds: number; cpuSeconds: number } | undefined;
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
  /** Samples trained per timed run: the workload's samples × its epochs. */
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
  const epochs = epochsOf(w);
  let t0 = now();
  await t.train(firstDigits(digits, warmupSamples(w)), 1);
  const warmupSeconds = now() - t0;
  const seconds: number[] = [];
  const cpu: number[] = [];
  const losses: number[] = [];
  const spent = () => seconds.reduce((a, b) => a + b, 0);
  while (seconds.length === 0 || (seconds.length < budget.maxRuns && spent() + Math.max(...seconds) <= budget.seconds)) {
    t0 = now();
    const c0 = cpuSeconds();
    losses.push(await t.train(data, epochs));
    const own = t.measured?.();
    seconds.push(own ? own.seconds : now() - t0);
    cpu.push(own ? own.cpuSeconds : cpuSeconds() - c0);
  }
  return { warmupSeconds, seconds, cpuSeconds: cpu, losses, samples: w.samples * epochs, counts: t.counts?.() };
}

/** A workload's figure from its timing (Node and the browser page alike); epochs and steps per second where a run is several epochs (W5). */
export function trainFigure(system: SystemName, w: TrainWorkload, t: TrainTiming): TrainFigure {
  const sps = rates(t.seconds, t.samples);
  const epochs = epochsOf(w);
  const perEpoch = epochs > 1 ? { epochs, epochsPerSecond: rates(t.seconds, epochs), stepsPerSecond: rates(t.seconds, epochs * Math.ceil(w.samples / w.batch)) } : {};
  const timed = t.cpuSeconds.every(Number.isFinite);
  const cpu = timed ? { samplesPerCpuSecond: rates(t.cpuSeconds, t.samples) } : {};
  const tokens = w.gpt ? { tokensPerSecond: rates(t.seconds, t.samples * tokensPerSample(w)), ...(timed ? { tokensPerCpuSecond: rates(t.cpuSeconds, t.samples * tokensPerSample(w)) } : {}), gpt: w.gpt } : {};
  return {
    system, workload: w.id, layers: w.layers, batch: w.batch, samples: w.samples, ...perEpoch, samplesPerSecond: sps, ...cpu, ...tokens,
    gflops: (sps.median * flopsPerSample(w)) / 1e9, warmupSeconds: t.warmupSeconds, losses: t.losses, ...t.counts,
  };
}
