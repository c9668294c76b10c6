import type { MatmulShape } from './jobs.js';
import type { Spread } from './stats.js';
import { rates } from './stats.js';

/** Runs `reps` matmuls and waits for them; returns the seconds taken. */
export type MatmulRunner = (reps: number) => Promise<number>;

/**
 * GFLOP/s of one shape: a warm-up call (pipelines, first allocation), then
 * timed runs of enough matmuls each to last ~0.2 s, so that the fixed cost of
 * waiting for the device is spread over many launches.
 */
export async function timeMatmul(shape: MatmulShape, run: MatmulRunner, budgetSeconds: number, maxRuns: number): Promise<Spread> {
  const flops = 2 * shape.M * shape.N * shape.K;
  const first = await run(1);
  const reps = Math.max(1, Math.min(256, Math.round(0.2 / Math.max(first, 1e-5))));
  const runs = Math.max(1, Math.min(maxRuns, Math.floor(budgetSeconds / Math.max(first * reps, 1e-3))));
  const seconds: number[] = [];
  for (let r = 0; r < runs; r++) seconds.push((await run(reps)) / reps);
  return rates(seconds, flops / 1e9);
}
