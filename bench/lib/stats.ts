/** Median, min and max of repeated timings: the figure, and how far it moved. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: number;
}

export function spread(values: readonly number[]): Spread {
  if (values.length === 0) throw new Error('spread: no values');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1], runs: s.length };
}

/** Rates (samples/s, GFLOP/s) from the seconds each run took for `work` units. */
export function rates(seconds: readonly number[], work: number): Spread {
  return spread(seconds.map((t) => work / t));
}

export const now = (): number => performance.now() / 1000;

/**
 * CPU seconds used by this process, all threads (llvmpipe's included). On a
 * machine shared with other work, GFLOP per CPU-second ranks kernels more
 * steadily than wall time; the figures reported are wall-time figures.
 */
export function cpuSeconds(): number {
  if (typeof process === 'undefined' || !process.cpuUsage) return NaN;
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** A lab cell's figures: seconds and CPU-seconds per launch, one per round, and launches per timed run. */
export interface TimedCell {
  reps: number;
  readonly seconds: number[];
  readonly cpu: number[];
}

/**
 * One round of a lab cell: an untimed run first (the operands' upload and the
 * pipelines are not timed), then `reps` launches in one timed run, `reps` set
 * in round 0 to last about 0.15 s. The timer is freed whatever happens.
 */
export async function timeRound(cell: TimedCell, timer: { run(reps: number): Promise<number>; free(): void }, round: number): Promise<void> {
  try {
    const first = await timer.run(1);
    if (round === 0) cell.reps = Math.max(1, Math.min(64, Math.round(0.15 / Math.max(first, 1e-5))));
    const cpu0 = cpuSeconds();
    cell.seconds.push((await timer.run(cell.reps)) / cell.reps);
    cell.cpu.push((cpuSeconds() - cpu0) / cell.reps);
  } finally {
    timer.free();
  }
}

