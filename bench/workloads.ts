// The workloads of the bench, the same for every system: layer sizes, batch,
// samples per timed run, data order and initial weights. Browser-safe.
import { Random, toyPoints } from '../src/index.js';
import type { GptSpec } from './gpt-workload.js';
import { gptFlopsPerSample, W7 } from './gpt-workload.js';
// Not in the public API: Keras' orthogonal initializer, drawn here once so that every system starts from the same recurrent kernel.
import { orthogonal } from '../src/nn/initializers.js';

export const FEATURES = 784;
export const CLASSES = 10;
export const LEARNING_RATE = 1e-3;
/** Seeds the initial weights, shared by every system so that their losses can be compared. */
export const INIT_SEED = 2024;

/** One block of a CNN workload: a 'valid' k×k convolution with bias and ReLU, then a pool×pool max pool of stride pool. */
export interface ConvBlock {
  readonly filters: number;
  readonly kernel: number;
  readonly pool: number;
}

/** The recurrent front of a sequence workload (W6): an LSTM over `steps` steps of `features` values, its last state into the dense layers. */
export interface LstmSpec {
  readonly steps: number;
  readonly features: number;
  readonly units: number;
}

/** The convolutional front of a CNN workload: the sample shape [h, w, c] (NHWC) and its blocks, then a flatten. */
export interface ConvStack {
  readonly input: readonly [number, number, number];
  readonly blocks: readonly ConvBlock[];
}

export interface TrainWorkload {
  readonly id: string;
  readonly title: string;
  /**
   * Dense widths from input to output, e.g. [784, 128, 10]: ReLU between, softmax
   * cross-entropy at the end. After a conv stack the first width is its flattened output.
   */
  readonly layers: readonly number[];
  /** A CNN's convolutions before the dense layers (W4); absent for an MLP. */
  readonly conv?: ConvStack;
  /** An LSTM before the dense layers (W6), whose units are the first width; absent for an MLP. */
  readonly lstm?: LstmSpec;
  /** W7's GPT instead of layers (then empty): a window of characters in, the next character at every step out. */
  readonly gpt?: GptSpec;
  readonly batch: number;
  /** Samples per epoch of a timed run (an epoch, or a fixed number of steps where an epoch would take minutes). */
  readonly samples: number;
  /** Epochs per timed run, one fit() call (W5: 20); 1 when absent. */
  readonly epochs?: number;
  /**
   * W5's recipe instead of the digits' (absent): TensorFlow Playground's circle
   * points, tanh between and at the output, mean squared error on ±1 labels, SGD.
   */
  readonly playground?: true;
}

/** Epochs per timed run. */
export const epochsOf = (w: Pick<TrainWorkload, 'epochs'>): number => w.epochs ?? 1;

/**
 * Warm-up samples: one full batch plus the epoch's last partial batch, so every
 * step shape is compiled before timing. A workload of several epochs a run
 * (W5) warms up on one whole epoch: its figure is the per-epoch path, whose
 * end (the loss read back) must have run once too.
 */
export function warmupSamples(w: TrainWorkload): number {
  if (epochsOf(w) > 1) return w.samples;
  return Math.min(w.samples, w.batch + (w.samples % w.batch));
}

/** One convolution of a conv stack with its sizes: input h×w×cin, output oh×ow×cout (before the pool). */
export interface ConvGeometry {
  readonly h: number; readonly w: number; readonly cin: number;
  readonly k: number; readonly cout: number;
  readonly oh: number; readonly ow: number;
}

/** Each convolution's sizes, and the flattened size after the last pool (the first dense layer's input). */
export function convGeometry(stack: ConvStack): { convs: ConvGeometry[]; flat: number } {
  let [h, w, c] = stack.input;
  const convs = stack.blocks.map((b) => {
    const g = { h, w, cin: c, k: b.kernel, cout: b.filters, oh: h - b.kernel + 1, ow: w - b.kernel + 1 };
    [h, w, c] = [Math.floor(g.oh / b.pool), Math.floor(g.ow / b.pool), b.filters];
    return g;
  });
  return { convs, flat: h * w * c };
}

/** Values per sample of the workload's input: 784 for the digits, as flat pixels, [28, 28, 1] or 28 steps of 28. */
export function inputSize(w: Pick<TrainWorkload, 'layers' | 'conv' | 'lstm' | 'gpt'>): number {
  return sampleShape(w).reduce((a, b) => a * b, 1);
}

/** A sample's shape as the first layer takes it: [h, w, c] for a CNN, [steps, features] for W6, [context] ids for W7, [features] for an MLP. */
export function sampleShape(w: Pick<TrainWorkload, 'layers' | 'conv' | 'lstm' | 'gpt'>): number[] {
  if (w.gpt) return [w.gpt.context];
  if (w.conv) return [...w.conv.input];
  if (w.lstm) return [w.lstm.steps, w.lstm.features];
  return [w.layers[0]];
}

/**
 * Multiply-adds ×2 per training sample: forward, dX and dW of every matmul and
 * convolution, less the first layer's dX (nothing needs it). Pools, biases and
 * activations are not counted.
 */
export function flopsPerSample(w: Pick<TrainWorkload, 'layers' | 'conv' | 'lstm' | 'gpt'>): number {
  if (w.gpt) return gptFlopsPerSample(w.gpt);
  const convs = w.conv ? convGeometry(w.conv).convs : [];
  let f = 0;
  convs.forEach((g, i) => (f += 2 * g.oh * g.ow * g.k * g.k * g.cin * g.cout * (i === 0 ? 2 : 3)));
  // An LSTM's steps: the input projection (forward and dW) and the recurrent matmul (forward, dh and dW), 4 gates each.
  if (w.lstm) {
    const { steps: T, features: F, units: U } = w.lstm;
    f += T * (2 * F * 4 * U * 2 + 2 * U * 4 * U * 3);
  }
  const { layers } = w;
  for (let i = 1; i < layers.length; i++) f += 2 * layers[i - 1] * layers[i] * (i === 1 && !convs.length && !w.lstm ? 2 : 3);
  return f;
}

export function mainWorkloads(quick: boolean): TrainWorkload[] {
  return [
    { id: 'W1', title: 'MLP 784-128-10, batch 128, one epoch', layers: [784, 128, 10], batch: 128, samples: 8000 },
    { id: 'W2', title: 'MLP 784-1000-100-10, batch 100, one epoch', layers: [784, 1000, 100, 10], batch: 100, samples: quick ? 2000 : 8000 },
    // An epoch of W3 is ~1 TFLOP, minutes on a CPU: it is timed one step (61 GFLOP) at a time.
    { id: 'W3', title: 'MLP 784-4096-4096-10, batch 512, one step', layers: [784, 4096, 4096, 10], batch: 512, samples: 512 },
    W4(quick),
    W5,
    W6(quick),
    W7(quick),
  ];
}

/**
 * W6, the sequence model: each digit read as 28 steps of 28 pixels (its rows),
 * LSTM 128 (tanh, sigmoid gates, Keras' cell), its last state into Dense 10
 * softmax; Adam 1e-3, batch 64, one epoch (512 digits with --quick, as W4).
 * Keras' classic example, and the issue's (#26) 'W5': W5 was taken by #25's Playground.
 */
export function W6(quick: boolean): TrainWorkload {
  return { id: 'W6', title: 'LSTM 128 on 28 steps of 28 (rows), dense 10, batch 64, one epoch', layers: [128, 10], lstm: { steps: 28, features: 28, units: 128 }, batch: 64, samples: quick ? 512 : 8000 };
}

/** W5's constants: TensorFlow Playground's defaults (its state.ts) on the circle set. */
export const PLAYGROUND = { learningRate: 0.03, points: 500, seed: 1 } as const;

/**
 * W5, TensorFlow Playground's default network on its circle data: the x and y
 * of the first 250 of 500 points (its 50% training share), Dense 4 tanh,
 * Dense 2 tanh, Dense 1 tanh, mean squared error on ±1 labels, SGD 0.03, batch
 * 10 (25 steps an epoch), 20 epochs per timed run. Per-step overhead (JS,
 * submits, readbacks) is nearly all of its cost: the Playground page's situation.
 */
export const W5: TrainWorkload = { id: 'W5', title: 'Playground MLP 2-4-2-1 tanh, MSE, SGD 0.03, circle 250 points, batch 10, 20 epochs', layers: [2, 4, 2, 1], batch: 10, samples: 250, epochs: 20, playground: true };

/** W5's training points in the Playground's seeded order (toyPoints shuffles as it does), used unshuffled by every system: x, y and ±1 labels. */
export function playgroundPoints(seed: number = PLAYGROUND.seed): Digits {
  const points = toyPoints('circle', { points: PLAYGROUND.points, seed }).slice(0, W5.samples);
  const x = new Float32Array(points.length * 2);
  points.forEach((p, i) => x.set([p.x, p.y], 2 * i));
  return { x, y: Float32Array.from(points, (p) => p.label), n: points.length, features: 2 };
}

/** W4, the CNN: conv 32 3×3 ReLU, max pool 2, conv 64 3×3 ReLU, max pool 2, flatten, dense 128 ReLU, dense 10; one epoch (512 digits with --quick). */
export function W4(quick: boolean): TrainWorkload {
  const conv: ConvStack = { input: [28, 28, 1], blocks: [{ filters: 32, kernel: 3, pool: 2 }, { filters: 64, kernel: 3, pool: 2 }] };
  return { id: 'W4', title: 'CNN conv32 3×3, pool 2, conv64 3×3, pool 2, dense 128-10, batch 64, one epoch', layers: [convGeometry(conv).flat, 128, 10], conv, batch: 64, samples: quick ? 512 : 8000 };
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

/**
 * A workload's samples in one fixed order, used unshuffled by every system: the
 * digits (shuffled once, seeded; y their classes) or W5's points (y ±1 targets).
 */
export interface Digits {
  readonly x: Float32Array;
  readonly y: Int32Array | Float32Array;
  readonly n: number;
  /** Values per sample: 784 (FEATURES) when absent, 2 for W5's points, 64 ids for W7's windows. */
  readonly features?: number;
  /** Labels per sample: 1 when absent, W7's context (the next character at every step). */
  readonly labels?: number;
}

/** x: the loader's pixels, [n, 784] or [n, 28, 28, 1] alike (the same row-major values); each workload views them in its own shape. */
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

/** The first n samples, repeated if n exceeds the set (never the case for the standard workloads). */
export function firstDigits(d: Digits, n: number): Digits {
  const f = d.features ?? FEATURES;
  const l = d.labels ?? 1;
  const shape = { features: d.features, ...(d.labels ? { labels: d.labels } : {}) };
  if (n <= d.n) return { x: d.x.subarray(0, n * f), y: d.y.subarray(0, n * l), n, ...shape };
  const x = new Float32Array(n * f);
  const y = d.y instanceof Int32Array ? new Int32Array(n * l) : new Float32Array(n * l);
  for (let i = 0; i < n; i++) {
    x.set(d.x.subarray((i % d.n) * f, (i % d.n + 1) * f), i * f);
    y.set(d.y.subarray((i % d.n) * l, (i % d.n + 1) * l), i * l);
  }
  return { x, y, n, ...shape };
}

export interface InitialWeights {
  /** Convolutions' kernels [k, k, cin, cout] first, then the dense kernels [in, out], row-major. */
  readonly kernels: Float32Array[];
  readonly shapes: number[][];
  readonly biases: Float32Array[];
  /**
   * W6's LSTM, in Keras' layout and gate order (i, f, c, o, each a block of
   * `units` columns): kernel [features, 4·units], recurrentKernel [units, 4·units], bias [4·units].
   */
  readonly lstm?: { readonly kernel: Float32Array; readonly recurrentKernel: Float32Array; readonly bias: Float32Array };
}

/**
 * Glorot-uniform kernels and zero biases (Keras' Conv2D and Dense defaults),
 * seeded, drawn in layer order. A conv kernel's fans are k·k·cin and k·k·cout, as Keras.
 */
export function initialWeights(w: Pick<TrainWorkload, 'layers' | 'conv' | 'lstm'>, seed = INIT_SEED): InitialWeights {
  const rng = new Random(seed);
  const out: { -readonly [K in keyof InitialWeights]: InitialWeights[K] } = { kernels: [], shapes: [], biases: [] };
  const glorot = (n: number, fanIn: number, fanOut: number) => {
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const k = new Float32Array(n);
    for (let j = 0; j < k.length; j++) k[j] = rng.uniform(-limit, limit);
    return k;
  };
  const add = (shape: number[], fanIn: number, fanOut: number) => {
    out.kernels.push(glorot(shape.reduce((a, b) => a * b, 1), fanIn, fanOut));
    out.shapes.push(shape);
    out.biases.push(new Float32Array(shape[shape.length - 1]));
  };
  // Keras' LSTM defaults: Glorot-uniform kernel (fans of the [F, 4U] matrix), orthogonal recurrent kernel, zero bias but the forget block at 1 (unitForgetBias).
  if (w.lstm) {
    const { features: F, units: U } = w.lstm;
    const kernel = glorot(F * 4 * U, F, 4 * U);
    const recurrentKernel = orthogonal(U, 4 * U, rng);
    const bias = new Float32Array(4 * U).fill(1, U, 2 * U);
    out.lstm = { kernel, recurrentKernel, bias };
  }
  for (const g of w.conv ? convGeometry(w.conv).convs : []) add([g.k, g.k, g.cin, g.cout], g.k * g.k * g.cin, g.k * g.k * g.cout);
  const { layers } = w;
  for (let i = 1; i < layers.length; i++) add([layers[i - 1], layers[i]], layers[i - 1], layers[i]);
  return out;
}
