// The workloads of the bench, the same for every system: layer sizes, batch,
// samples per timed run, data order and initial weights. Browser-safe.
import { Random } from '../src/index.js';

export const FEATURES = 784;
export const CLASSES = 10;
export const LEARNING_RATE = 1e-3;
/** Seeds the initial weights, shared by every system so that their losses can be compared. */
export const INIT_SEED = 2024;

export interface TrainWorkload {
  readonly id: string;
  readonly title: string;
  /** Layer widths from input to output, e.g. [784, 128, 10]: ReLU between, softmax cross-entropy at the end. */
  readonly layers: readonly number[];
  readonly batch: number;
  /** Samples per timed run (an epoch, or a fixed number of steps where an epoch would take minutes). */
  readonly samples: number;
}

/** Warm-up samples: one full batch plus the epoch's last partial batch, so every step shape is compiled before timing. */
export function warmupSamples(w: TrainWorkload): number {
  return Math.min(w.samples, w.batch + (w.samples % w.batch));
}

export function flopsPerSample(layers: readonly number[]): number {
  // Forward 2·in·out per layer; backward twice that (dX and dW), less the first layer's dX.
  let f = 0;
  for (let i = 1; i < layers.length; i++) f += 2 * layers[i - 1] * layers[i] * (i === 1 ? 2 : 3);
  return f;
}

export function mainWorkloads(quick: boolean): TrainWorkload[] {
  return [
    { id: 'W1', title: 'MLP 784-128-10, batch 128, one epoch', layers: [784, 128, 10], batch: 128, samples: 8000 },
    { id: 'W2', title: 'MLP 784-1000-100-10, batch 100, one epoch', layers: [784, 1000, 100, 10], batch: 100, samples: quick ? 2000 : 8000 },
    // An epoch of W3 is ~1 TFLOP, minutes on a CPU: it is timed one step (61 GFLOP) at a time.
    { id: 'W3', title: 'MLP 784-4096-4096-10, batch 512, one step', layers: [784, 4096, 4096, 10], batch: 512, samples: 512 },
  ];
}

/** S1: W1's network against batch size, and a one-hidden-layer MLP against width. */
export function scalingWorkloads(quick: boolean): { batch: TrainWorkload[]; width: TrainWorkload[] } {
  const batches = quick ? [1, 16, 128, 1024] : [1, 4, 16, 64, 256, 1024];
  const widths = quick ? [32, 512, 2048] : [32, 128, 512, 1024, 2048, 4096];
  return {
    batch: batches.map((b) => ({
      id: `S1-batch-${b}`, title: `784-128-10, batch ${b}`, layers: [784, 128, 10], batch: b,
      // Enough steps to time (per-step overhead shows at small batches), never more than the 8,000 digits.
      samples: Math.min(Math.floor(8000 / b) * b, Math.max(quick ? 256 : 512, 8 * b)),
    })),
    width: widths.map((h) => ({
      id: `S1-width-${h}`, title: `784-${h}-10, batch 128`, layers: [784, h, 10], batch: 128,
      samples: h >= 2048 ? 512 : h >= 512 ? 1024 : 2048,
    })),
  };
}

/** The digits in one fixed order (shuffled once, seeded), used unshuffled by every system. */
export interface Digits {
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly n: number;
}

export function shuffledDigits(x: Float32Array, y: Int32Array, seed = 7): Digits {
  const n = y.length;
  const order = new Random(seed).permutation(n);
  const xs = new Float32Array(n * FEATURES);
  const ys = new Int32Array(n);
  order.forEach((from, to) => {
    xs.set(x.subarray(from * FEATURES, (from + 1) * FEATURES), to * FEATURES);
    ys[to] = y[from];
  });
  return { x: xs, y: ys, n };
}

/** The first n digits, repeated if n exceeds the set (never the case for the standard workloads). */
export function firstDigits(d: Digits, n: number): Digits {
  if (n <= d.n) return { x: d.x.subarray(0, n * FEATURES), y: d.y.subarray(0, n), n };
  const x = new Float32Array(n * FEATURES);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    x.set(d.x.subarray((i % d.n) * FEATURES, (i % d.n + 1) * FEATURES), i * FEATURES);
    y[i] = d.y[i % d.n];
  }
  return { x, y, n };
}

/** Glorot-uniform kernels and zero biases (Keras' Dense defaults), [kernel, bias] per layer, seeded. */
export function initialWeights(layers: readonly number[], seed = INIT_SEED): { kernels: Float32Array[]; biases: Float32Array[] } {
  const rng = new Random(seed);
  const kernels: Float32Array[] = [];
  const biases: Float32Array[] = [];
  for (let i = 1; i < layers.length; i++) {
    const [fanIn, fanOut] = [layers[i - 1], layers[i]];
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const k = new Float32Array(fanIn * fanOut);
    for (let j = 0; j < k.length; j++) k[j] = rng.uniform(-limit, limit);
    kernels.push(k);
    biases.push(new Float32Array(fanOut));
  }
  return { kernels, biases };
}
