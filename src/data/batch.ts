// Mini-batch index sets for one epoch. Browser-safe.
import { ValueError } from '../core/errors.js';
import { Random } from '../core/random.js';

export interface BatchOptions {
  /** A fresh random order of the samples (default false: 0, 1, 2, ... in order). */
  shuffle?: boolean;
  /** Draws the order; pass the same Random every epoch so each epoch gets a new order. Default: new Random(seed). */
  rng?: Random;
  /** Seed used when no rng is given. Default 42. */
  seed?: number;
}

function checkSizes(n: number, batchSize: number): void {
  if (!Number.isInteger(n) || n < 1) throw new ValueError(`batches: need a positive number of samples, got ${n}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ValueError(`batches: batchSize must be a positive integer, got ${batchSize}`);
}

/** Number of batches in an epoch: the last, partial batch counts. */
export function batchCount(n: number, batchSize: number): number {
  checkSizes(n, batchSize);
  return Math.ceil(n / batchSize);
}

/**
 * Yields the sample indices of each batch of one epoch: batches of
 * `batchSize` (a batchSize above n gives one batch of n) and a last partial
 * batch when n is not a multiple. Every sample appears exactly once.
 */
export function batches(n: number, batchSize: number, options: BatchOptions = {}): Generator<Int32Array> {
  // Checked and drawn here, not in the generator, so bad arguments throw at the call.
  checkSizes(n, batchSize);
  let order: Int32Array;
  if (options.shuffle) {
    order = (options.rng ?? new Random(options.seed ?? 42)).permutation(n);
  } else {
    order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
  }
  return slices(order, batchSize);
}

function* slices(order: Int32Array, batchSize: number): Generator<Int32Array> {
  for (let start = 0; start < order.length; start += batchSize) yield order.subarray(start, Math.min(order.length, start + batchSize));
}
