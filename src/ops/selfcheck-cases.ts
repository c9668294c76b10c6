import type { TensorInfo } from '../core/shape.js';
import { f32, i32 } from '../core/shape.js';
import { ACTIVATIONS, gradFromOutput } from './activation.js';
import { POINT_FEATURES } from './features.js';
import type { FloatArray } from './kernel.js';
import { adamValues, rateValues } from './optimizer.js';
import { maxPool2d } from './pool.js';
import type { AttrsOf, KernelName } from './table.js';

/** One launch of a kernel on the device, compared with the CPU reference on the same random inputs. */
export interface Check<A> {
  readonly name: string;
  readonly inputs: readonly TensorInfo[];
  readonly attrs: A;
  /** Integer inputs are drawn from [0, classes). */
  readonly classes?: number;
  /** Overwrites inputs that must be functions of the others (drawn at random they would not be). */
  readonly derive?: (data: (Float32Array | Int32Array)[]) => void;
}

/** A kernel that launches nothing on its own says why instead. */
export interface NoCheck {
  readonly none: string;
}

/** An optimizer's step values (input 1): the learning rate, or Adam's [lr, 1 − β1³, 1 − β2³] from adamValues. */
const rate = (lr: number) => (d: (Float32Array | Int32Array)[]) => d[1].set(rateValues('selfcheck', lr));
const adamAt3 = (d: (Float32Array | Int32Array)[]) => d[1].set(adamValues('selfcheck', 0.01, 3));
/** Scales input k, a recurrent kernel of U units drawn in ±2, into ±1/√U. */
const recurrentWeights = (k: number, U: number) => (d: (Float32Array | Int32Array)[]) => d[k].forEach((e, i) => (d[k][i] = (e * 0.5) / Math.sqrt(U)));
/** Input k (drawn in ±2) made a step mask of 0s and 1s, about a third padding, as an embedding's maskZero gives. */
const stepMask = (k: number) => (d: (Float32Array | Int32Array)[]) => d[k].forEach((e, i) => (d[k][i] = Math.abs(e) < 1.3 ? 1 : 0));
/** Input k (drawn in ±2) made a recurrent dropout mask of rate 0.25: 0 or 1/0.75. */
const dropMask = (k: number) => (d: (Float32Array | Int32Array)[]) => d[k].forEach((e, i) => (d[k][i] = Math.abs(e) < 0.5 ? 0 : 1 / 0.75));

/** q [2, 3, T, 13], k [2, 3, S, 13], v [2, 3, S, 7]. */
const attentionInputs = (T: number, S: number) => [f32([2, 3, T, 13]), f32([2, 3, S, 13]), f32([2, 3, S, 7])];
/** The backward's q, k, v, dout, stats. */
const attentionBackwardInputs = (T: number, S: number) => [...attentionInputs(T, S), f32([2, 3, T, 7]), f32([2, 3, T, 2])];
/** stats' lse (input 4, every other value) made 2 + |v|: near the largest scores random q and k give (q·k/√13 has a spread of about 1.3), so exp(score − lse) is O(1). */
/** The layout multiHeadAttention uses ('bthd'): q [2, 17, 3, 13], k [2, 17, 3, 13], v [2, 17, 3, 7] (then dout and stats), the mask and the step. */
const attentionBthd = (backward: boolean) => [
  f32([2, 17, 3, 13]), f32([2, 17, 3, 13]), f32([2, 17, 3, 7]), ...(backward ? [f32([2, 17, 3, 7]), f32([2, 17, 3, 2])] : []), f32([2, 17, 17]), i32([1]),
];
const bthdAttrs = { causal: true, masked: true, dropout: 0.2, seed: 5, layout: 'bthd' } as const;
const attentionLse = (d: (Float32Array | Int32Array)[]) => d[4].forEach((e, i) => (d[4][i] = i % 2 === 0 ? 2 + Math.abs(e) : e));

/** Makes a drawn variance or rstd a positive one: 0.1 + |v|. */
const positive = (v: Float32Array | Int32Array) => v.forEach((e, i) => (v[i] = 0.1 + Math.abs(e)));
/** Random values made token ids in [0, vocabulary). */
const ids = (v: Float32Array | Int32Array, vocabulary: number) => v.forEach((e, i) => (v[i] = Math.floor(Math.abs(e) * 1000) % vocabulary));

const B = 67;
const C = 13;
const x = f32([B, C]);
const convCase = { strides: [2, 2], padding: 'same', dilation: [1, 1] } as const;
const poolCase = { poolSize: [3, 2], strides: [2, 2], padding: 'same' } as const;
const image = f32([3, 11, 9, 5]);
const pooled = f32([3, 6, 5, 5]);
const N = f32([1031]);
const lossPair = (name: string) => ({
  forward: [{ name, inputs: [x, x], attrs: {} }],
  backward: [{ name: `${name}Backward`, inputs: [x, x, f32([B])], attrs: {} }],
});
const [sbce, mse, mae, hingePair] = ['sigmoidBinaryCrossEntropy', 'meanSquaredError', 'meanAbsoluteError', 'hinge'].map(lossPair);

/**
 * Small awkward-shaped launches of every kernel (67 rows, 13 or 129 columns:
 * no tile divides them; images 11×9 with 5 channels, stride 2, 'same' with an
 * odd padding split). Keyed by kernel name and typed over every kernel
 * (src/ops/table.ts): a kernel without checks, or without a reason for none,
 * does not compile.
 */
export const SELFCHECKS: { readonly [K in KernelName]: readonly Check<AttrsOf<K>>[] | NoCheck } = {
  matmul: [
    { name: 'matmul A·B 67×129×33 (register)', inputs: [f32([B, 129]), f32([129, 33])], attrs: { variant: 'register' } },
    { name: 'matmul A·B 67×129×33 (tiled)', inputs: [f32([B, 129]), f32([129, 33])], attrs: { variant: 'tiled' } },
    { name: 'matmul A·B 67×129×33 (tiled128)', inputs: [f32([B, 129]), f32([129, 33])], attrs: { variant: 'tiled128' } },
    { name: 'matmul Aᵀ·B 67×129×33', inputs: [f32([129, B]), f32([129, 33])], attrs: { transA: true } },
    { name: 'matmul A·Bᵀ 67×129×33', inputs: [f32([B, 129]), f32([33, 129])], attrs: { transB: true } },
  ],
  matmulBiasActivation: [
    { name: 'matmulBiasActivation relu 67×129×33', inputs: [f32([B, 129]), f32([129, 33]), f32([33])], attrs: { activation: { kind: 'relu' } } },
    { name: 'matmulBiasActivation tanh 67×129×33 (tiled)', inputs: [f32([B, 129]), f32([129, 33]), f32([33])], attrs: { activation: { kind: 'tanh' }, variant: 'tiled' } },
  ],
  matmulActivationGrad: [
    { name: 'matmulActivationGrad sigmoid A·Bᵀ 67×129×33', inputs: [f32([B, 129]), f32([33, 129]), f32([B, 33])], attrs: { transB: true, activation: { kind: 'sigmoid' } } },
  ],
  matmulActivationGradOfInput: [
    { name: 'matmulActivationGradOfInput gelu A·Bᵀ 67×129×33', inputs: [f32([B, 129]), f32([33, 129]), f32([B, 33])], attrs: { transB: true, activation: { kind: 'gelu' } } },
  ],
  matmulAdd: [
    { name: 'matmulAdd A·Bᵀ 67×129×33', inputs: [f32([B, 129]), f32([33, 129]), f32([B, 33])], attrs: { transB: true, activation: { kind: 'linear' } } },
  ],
  matmulBiasActivationAdd: [
    { name: 'matmulBiasActivationAdd linear 67×129×33', inputs: [f32([B, 129]), f32([129, 33]), f32([33]), f32([B, 33])], attrs: { activation: { kind: 'linear' } } },
    { name: 'matmulBiasActivationAdd relu 67×129×33 (tiled)', inputs: [f32([B, 129]), f32([129, 33]), f32([33]), f32([B, 33])], attrs: { activation: { kind: 'relu' }, variant: 'tiled' } },
  ],
  biasAdd: [{ name: 'biasAdd 67×13', inputs: [x, f32([C])], attrs: {} }],
  biasGrad: [{ name: 'biasGrad 67×13', inputs: [x], attrs: {} }],
  conv2d: [
    { name: 'conv2d 3×11×9×5 → 7, 3×2 stride 2 same', inputs: [image, f32([3, 2, 5, 7])], attrs: convCase },
    { name: 'conv2d dilation 2', inputs: [f32([2, 9, 9, 3]), f32([3, 3, 3, 4])], attrs: { dilation: [2, 2] } },
  ],
  conv2dBackwardInput: [{ name: 'conv2dBackwardInput', inputs: [f32([3, 6, 5, 7]), f32([3, 2, 5, 7])], attrs: { ...convCase, inputShape: [3, 11, 9, 5] } }],
  conv2dBackwardFilter: [{ name: 'conv2dBackwardFilter', inputs: [image, f32([3, 6, 5, 7])], attrs: { ...convCase, filterShape: [3, 2, 5, 7] } }],
  im2col: [{ name: 'im2col 3×11×9×5, 3×2 stride 2 same', inputs: [image], attrs: { ...convCase, kernelSize: [3, 2] } }],
  col2im: [{ name: 'col2im', inputs: [f32([3 * 6 * 5, 3 * 2 * 5])], attrs: { ...convCase, kernelSize: [3, 2], inputShape: [3, 11, 9, 5] } }],
  reshape: { none: 'a view: the graph executor binds its input\'s storage and launches nothing' },
  maxPool2d: [{ name: 'maxPool2d 3×2 stride 2 same', inputs: [image], attrs: poolCase }],
  maxPool2dBackward: [
    {
      name: 'maxPool2dBackward 3×2 stride 2 same',
      inputs: [image, pooled, pooled],
      attrs: poolCase,
      // y must be maxPool2d(x): the backward finds each window's max by comparing with it.
      derive: ([xs, ys]) => maxPool2d.cpu([xs], [ys as FloatArray], [image], poolCase),
    },
    {
      name: 'maxPool2dBackward 2×2 stride 2 valid',
      inputs: [image, f32([3, 5, 4, 5]), f32([3, 5, 4, 5])],
      attrs: { poolSize: [2, 2] },
      derive: ([xs, ys]) => maxPool2d.cpu([xs], [ys as FloatArray], [image], { poolSize: [2, 2] }),
    },
  ],
  avgPool2d: [{ name: 'avgPool2d 3×2 stride 2 same', inputs: [image], attrs: poolCase }],
  avgPool2dBackward: [{ name: 'avgPool2dBackward', inputs: [pooled], attrs: { ...poolCase, inputSize: [11, 9] } }],
  globalAvgPool2d: [{ name: 'globalAvgPool2d', inputs: [image], attrs: {} }],
  globalAvgPool2dBackward: [{ name: 'globalAvgPool2dBackward', inputs: [f32([3, 5])], attrs: { inputSize: [11, 9] } }],
  activation: ACTIVATIONS.map((kind) => ({ name: `activation ${kind}`, inputs: [x], attrs: { kind } })),
  activationBackward: ACTIVATIONS.map((kind) => ({ name: `activationBackward ${kind}`, inputs: [x, x], attrs: { kind } })),
  activationBackwardFromOutput: ACTIVATIONS.filter((kind) => gradFromOutput({ kind })).map((kind) => ({ name: `activationBackwardFromOutput ${kind}`, inputs: [x, x], attrs: { kind } })),
  softmax: [{ name: 'softmax 67×13', inputs: [x], attrs: {} }],
  softmaxBackward: [{ name: 'softmaxBackward 67×13', inputs: [x, x], attrs: {} }],
  logSoftmax: [{ name: 'logSoftmax 67×13', inputs: [x], attrs: {} }],
  logSoftmaxBackward: [{ name: 'logSoftmaxBackward 67×13', inputs: [x, x], attrs: {} }],
  softmaxCrossEntropy: [
    { name: 'softmaxCrossEntropy (labels)', inputs: [x, i32([B])], attrs: {}, classes: C },
    { name: 'softmaxCrossEntropy (targets)', inputs: [x, x], attrs: {} },
  ],
  softmaxCrossEntropyBackward: [{ name: 'softmaxCrossEntropyBackward (labels)', inputs: [x, i32([B]), f32([B])], attrs: {}, classes: C }],
  softmaxCrossEntropyWithGrad: [{ name: 'softmaxCrossEntropyWithGrad (labels)', inputs: [x, i32([B]), f32([B])], attrs: {}, classes: C }],
  sigmoidBinaryCrossEntropy: sbce.forward,
  sigmoidBinaryCrossEntropyBackward: sbce.backward,
  meanSquaredError: mse.forward,
  meanSquaredErrorBackward: mse.backward,
  meanAbsoluteError: mae.forward,
  meanAbsoluteErrorBackward: mae.backward,
  hinge: hingePair.forward,
  hingeBackward: hingePair.backward,
  nll: [{ name: 'nll', inputs: [x, i32([B])], attrs: {}, classes: C }],
  nllBackward: [{ name: 'nllBackward', inputs: [x, i32([B]), f32([B])], attrs: {}, classes: C }],
  reduceSum: [{ name: 'reduceSum 1031', inputs: [N], attrs: {} }],
  reduceMean: [{ name: 'reduceMean 1031', inputs: [N], attrs: {} }],
  reduceSumInto: [{ name: 'reduceSumInto 1031', inputs: [N], attrs: { alpha: 0.5 } }],
  broadcastScalar: [{ name: 'broadcastScalar 1031', inputs: [f32([1])], attrs: { shape: [1031], scale: 0.5 } }],
  argmaxAccuracy: [{ name: 'argmaxAccuracy', inputs: [x, i32([B])], attrs: {}, classes: C }],
  binaryAccuracy: [{ name: 'binaryAccuracy', inputs: [x, x], attrs: { threshold: 0 } }],
  sgd: [{ name: 'sgd 1031', inputs: [N, f32([1])], attrs: {}, derive: rate(0.1) }],
  momentum: [{ name: 'momentum (Nesterov) 1031', inputs: [N, f32([1])], attrs: { momentum: 0.9, nesterov: true }, derive: rate(0.1) }],
  rmsprop: [
    { name: 'rmsprop 1031', inputs: [N, f32([1])], attrs: {}, derive: rate(0.01) },
    { name: 'rmsprop centered, momentum 1031', inputs: [N, f32([1])], attrs: { centered: true, momentum: 0.9 }, derive: rate(0.01) },
  ],
  adam: [{ name: 'adam step 3 1031', inputs: [N, f32([3])], attrs: {}, derive: adamAt3 }],
  adamw: [{ name: 'adamw step 3 1031', inputs: [N, f32([3])], attrs: {}, derive: adamAt3 }],
  sumSquares: [{ name: 'sumSquares 1031', inputs: [N], attrs: {} }],
  // The step number is drawn from [0, classes).
  dropout: [
    { name: 'dropout 0.3 1031', inputs: [N, i32([1])], attrs: { rate: 0.3, seed: 7 }, classes: 1000 },
    { name: 'dropout 0.5, seed 2^32 − 1, 67×13', inputs: [x, i32([1])], attrs: { rate: 0.5, seed: 2 ** 32 - 1 }, classes: 1000 },
    // A recurrent layer's input dropout: one bit per (sample, feature), shared over the steps.
    { name: 'dropout 0.25, noiseShape [67, 1, 13] on 67×9×13', inputs: [f32([B, 9, C]), i32([1])], attrs: { rate: 0.25, seed: 3, noiseShape: [B, 1, C] }, classes: 1000 },
  ],
  fill: [{ name: 'fill 1031', inputs: [], attrs: { shape: [1031], value: 3 } }],
  scale: [{ name: 'scale 1031', inputs: [N], attrs: { alpha: -0.5 } }],
  add: [{ name: 'add 1031', inputs: [N, N], attrs: { alpha: 2 } }],
  accumulate: [{ name: 'accumulate 1031', inputs: [N], attrs: { alpha: 0.25 } }],
  multiply: [{ name: 'multiply 1031', inputs: [N, N], attrs: {} }],
  // Rows of unequal parts, 67 sequences of 5 steps: a Bidirectional layer's merge and its gradient.
  concatLast: [{ name: 'concatLast 67×5×13 ‖ 67×5×7', inputs: [f32([B, 5, C]), f32([B, 5, 7])], attrs: {} }],
  splitLast: [{ name: 'splitLast 67×5×20 into 13, 7', inputs: [f32([B, 5, 20])], attrs: { sizes: [C, 7] } }],
  maskSteps: [{ name: 'maskSteps 67×5×13 by a 67×5 mask', inputs: [f32([B, 5, C]), f32([B, 5])], attrs: {}, derive: (d) => d[1].forEach((e, i) => (d[1][i] = e > 0 ? 1 : 0)) }],
  reverse: [
    { name: 'reverse 67×5×13 steps', inputs: [f32([B, 5, C])], attrs: { axis: 1 } },
    { name: 'reverse 1031 (axis -1)', inputs: [N], attrs: { axis: -1 } },
  ],
  swapAxes: [
    { name: 'swapAxes 67×5×3×13 (steps ↔ heads)', inputs: [f32([B, 5, 3, C])], attrs: {} },
    { name: 'swapAxes 67×13 (axis 0)', inputs: [x], attrs: { axis: 0 } },
  ],
  // 2 samples, 3 heads, 17 queries (no tile divides them), head dim 13, value dim 7; the mask about a third 0s.
  attention: [
    { name: 'attention 2×3×17 over 13 keys, D 13, Dv 7', inputs: attentionInputs(17, 13), attrs: {} },
    { name: 'attention causal masked dropout 0.2 2×3×17', inputs: [...attentionInputs(17, 17), f32([2, 17, 17]), i32([1])], attrs: { causal: true, masked: true, dropout: 0.2, seed: 5 }, derive: stepMask(3), classes: 1000 },
    { name: 'attention bthd causal masked dropout 0.2 2×17×3', inputs: attentionBthd(false), attrs: bthdAttrs, derive: stepMask(3), classes: 1000 },
    { name: 'attention a key mask [2, 13] 2×3×17', inputs: [...attentionInputs(17, 13), f32([2, 13])], attrs: { masked: true, keyMask: true }, derive: stepMask(3) },
  ],
  attentionStats: [{ name: 'attentionStats 2×3×17, Dv 7', inputs: [f32([2, 3, 17]), f32([2, 3, 17, 7]), f32([2, 3, 17, 7])], attrs: {} }],
  attentionBackwardKV: [
    { name: 'attentionBackwardKV 2×3×17 over 13 keys', inputs: attentionBackwardInputs(17, 13), attrs: {}, derive: attentionLse },
    { name: 'attentionBackwardKV causal masked dropout 0.2', inputs: [...attentionBackwardInputs(17, 17), f32([2, 17, 17]), i32([1])], attrs: { causal: true, masked: true, dropout: 0.2, seed: 5 }, derive: (d) => (attentionLse(d), stepMask(5)(d)), classes: 1000 },
    { name: 'attentionBackwardKV bthd causal masked dropout 0.2', inputs: attentionBthd(true), attrs: bthdAttrs, derive: (d) => (attentionLse(d), stepMask(5)(d)), classes: 1000 },
    { name: 'attentionBackwardKV a key mask [2, 13]', inputs: [...attentionBackwardInputs(17, 13), f32([2, 13])], attrs: { masked: true, keyMask: true }, derive: (d) => (attentionLse(d), stepMask(5)(d)) },
  ],
  attentionBackwardQ: [
    { name: 'attentionBackwardQ 2×3×17 over 13 keys', inputs: attentionBackwardInputs(17, 13), attrs: {}, derive: attentionLse },
    { name: 'attentionBackwardQ causal masked dropout 0.2', inputs: [...attentionBackwardInputs(17, 17), f32([2, 17, 17]), i32([1])], attrs: { causal: true, masked: true, dropout: 0.2, seed: 5 }, derive: (d) => (attentionLse(d), stepMask(5)(d)), classes: 1000 },
    { name: 'attentionBackwardQ bthd causal masked dropout 0.2', inputs: attentionBthd(true), attrs: bthdAttrs, derive: (d) => (attentionLse(d), stepMask(5)(d)), classes: 1000 },
    { name: 'attentionBackwardQ a key mask [2, 13]', inputs: [...attentionBackwardInputs(17, 13), f32([2, 13])], attrs: { masked: true, keyMask: true }, derive: (d) => (attentionLse(d), stepMask(5)(d)) },
  ],
  // 67 samples of 5 steps from a table of 9 rows (rows past 5 unused; their gradient zero), and all 9.
  broadcastRows: [
    { name: 'broadcastRows of a 9×13 table over 67×5×13', inputs: [f32([9, C]), f32([B, 5, C])], attrs: {} },
    { name: 'broadcastRows of a 9×13 table over 67×9×13', inputs: [f32([9, C]), f32([B, 9, C])], attrs: {} },
  ],
  broadcastRowsGrad: [{ name: 'broadcastRowsGrad of 67×5×13 into 9 rows', inputs: [f32([B, 5, C])], attrs: { rows: 9 } }],
  // Variances and rstd are positive: drawn at random they would not be.
  batchNorm: [
    { name: 'batchNorm 67×13', inputs: [x, f32([C]), f32([C])], attrs: { epsilon: 1e-3 } },
    { name: 'batchNorm 3×11×9×5', inputs: [image, f32([5]), f32([5])], attrs: { epsilon: 1e-3 } },
  ],
  batchNormBackward: [{ name: 'batchNormBackward 3×11×9×5', inputs: [image, f32([5]), f32([5]), f32([5]), image], attrs: { epsilon: 1e-3 }, derive: (d) => positive(d[3]) }],
  batchNormInference: [{ name: 'batchNormInference 67×13', inputs: [x, f32([C]), f32([C]), f32([C]), f32([C])], attrs: { epsilon: 1e-3 }, derive: (d) => positive(d[4]) }],
  penalty: [{ name: 'penalty l1 0.01 l2 0.1 1031', inputs: [N], attrs: { l1: 0.01, l2: 0.1 } }],
  penaltyGrad: [{ name: 'penaltyGrad l1 0.01 l2 0.1 67×13', inputs: [x, f32([1])], attrs: { l1: 0.01, l2: 0.1 } }],
  embedding: [{ name: 'embedding of 67×13 ids in a 29×17 table', inputs: [f32([B, 13]), f32([29, 17])], attrs: {}, derive: (d) => ids(d[0], 29) }],
  embeddingBackward: [{ name: 'embeddingBackward of 67×13 ids into 29×17', inputs: [f32([B, 13]), f32([B, 13, 17])], attrs: { inputDim: 29 }, derive: (d) => ids(d[0], 29) }],
  pointFeatures: [
    { name: 'pointFeatures all 7 of 67 points', inputs: [f32([B, 2])], attrs: { features: POINT_FEATURES } },
    { name: 'pointFeatures sinY, xTimesY of 67 points', inputs: [f32([B, 2])], attrs: { features: ['sinY', 'xTimesY'] } },
  ],
  pointFeaturesBackward: [{ name: 'pointFeaturesBackward all 7 of 67 points', inputs: [f32([B, 2]), f32([B, 7])], attrs: { features: POINT_FEATURES } }],
  translate: [
    { name: 'translate ±2, ±1 3×11×9×5', inputs: [image, i32([1])], attrs: { maxDy: 2, maxDx: 1, seed: 5 }, classes: 1000 },
    { name: 'translate undone ±3 3×11×9×5', inputs: [image, i32([1])], attrs: { maxDy: 3, maxDx: 3, seed: 2 ** 32 - 1, sign: -1 }, classes: 1000 },
  ],
  // 67 sequences of 5 steps of 13 units (37 for a GRU): primes, which no workgroup divides. whh is scaled
  // into ±1/√U, as a trained layer's would be: drawn in ±2 the gradients grow ~10× a step.
  recurrentSequence: [
    { name: 'recurrentSequence simpleRnn 67×5×13', inputs: [f32([B, 5, C]), f32([C, C])], attrs: { cell: 'simpleRnn', units: C }, derive: recurrentWeights(1, C) },
    { name: 'recurrentSequence lstm goBackwards 67×5×4·13', inputs: [f32([B, 5, 4 * C]), f32([C, 4 * C])], attrs: { cell: 'lstm', units: C, goBackwards: true }, derive: recurrentWeights(1, C) },
    { name: 'recurrentSequence gru resetAfter 67×5×3·37', inputs: [f32([B, 5, 3 * 37]), f32([37, 3 * 37]), f32([3 * 37])], attrs: { cell: 'gru', units: 37 }, derive: recurrentWeights(1, 37) },
    { name: 'recurrentSequence gru resetAfter false 67×5×3·13', inputs: [f32([B, 5, 3 * C]), f32([C, 3 * C])], attrs: { cell: 'gru', units: C, resetAfter: false }, derive: recurrentWeights(1, C) },
    {
      name: 'recurrentSequence simpleRnn masked, recurrent dropout 67×5×13',
      inputs: [f32([B, 5, C]), f32([C, C]), f32([B, 5]), f32([B, C])],
      attrs: { cell: 'simpleRnn', units: C, masked: true, recurrentDropout: true },
      derive: (d) => [recurrentWeights(1, C), stepMask(2), dropMask(3)].forEach((f) => f(d)),
    },
    {
      name: 'recurrentSequence gru resetAfter masked goBackwards 67×5×3·37',
      inputs: [f32([B, 5, 3 * 37]), f32([37, 3 * 37]), f32([3 * 37]), f32([B, 5])],
      attrs: { cell: 'gru', units: 37, masked: true, goBackwards: true },
      derive: (d) => [recurrentWeights(1, 37), stepMask(3)].forEach((f) => f(d)),
    },
  ],
  // The cache and states are drawn at random: the backward is algebra on them, whatever produced them.
  recurrentSequenceBackward: [
    { name: 'recurrentSequenceBackward simpleRnn 67×5×13', inputs: [f32([B, 5, C]), f32([B, 5, C]), f32([C, C])], attrs: { cell: 'simpleRnn', units: C }, derive: recurrentWeights(2, C) },
    { name: 'recurrentSequenceBackward lstm goBackwards 67×5×13', inputs: [f32([B, 5, C]), f32([B, 5, C]), f32([B, 5, 5 * C]), f32([C, 4 * C])], attrs: { cell: 'lstm', units: C, goBackwards: true }, derive: recurrentWeights(3, C) },
    { name: 'recurrentSequenceBackward gru resetAfter 67×5×37', inputs: [f32([B, 5, 37]), f32([B, 5, 37]), f32([B, 5, 4 * 37]), f32([37, 3 * 37])], attrs: { cell: 'gru', units: 37 }, derive: recurrentWeights(3, 37) },
    { name: 'recurrentSequenceBackward gru resetAfter false 67×5×13', inputs: [f32([B, 5, C]), f32([B, 5, C]), f32([B, 5, 3 * C]), f32([C, 3 * C])], attrs: { cell: 'gru', units: C, resetAfter: false }, derive: recurrentWeights(3, C) },
    {
      name: 'recurrentSequenceBackward lstm masked, recurrent dropout 67×5×13',
      inputs: [f32([B, 5, C]), f32([B, 5, C]), f32([B, 5, 5 * C]), f32([C, 4 * C]), f32([B, 5]), f32([B, C])],
      attrs: { cell: 'lstm', units: C, masked: true, recurrentDropout: true },
      derive: (d) => [recurrentWeights(3, C), stepMask(4), dropMask(5)].forEach((f) => f(d)),
    },
    {
      name: 'recurrentSequenceBackward gru resetAfter false masked, recurrent dropout 67×5×13',
      inputs: [f32([B, 5, C]), f32([B, 5, C]), f32([B, 5, 3 * C]), f32([C, 3 * C]), f32([B, 5]), f32([B, C])],
      attrs: { cell: 'gru', units: C, resetAfter: false, masked: true, recurrentDropout: true },
      derive: (d) => [recurrentWeights(3, C), stepMask(4), dropMask(5)].forEach((f) => f(d)),
    },
  ],
  lastStep: [{ name: 'lastStep 67×5×13', inputs: [f32([B, 5, C])], attrs: {} }],
  paddingMask: [{ name: 'paddingMask 67×13 ids', inputs: [x], attrs: {}, derive: (d) => ids(d[0], 3) }],
  maskWeights: [{ name: 'maskWeights 67×513', inputs: [f32([B, 513])], attrs: {}, derive: (d) => d[0].forEach((e, i) => (d[0][i] = e > 0 ? 1 : 0)) }],
  lastStepBackward: [{ name: 'lastStepBackward 67×13 into 5 steps', inputs: [x], attrs: { steps: 5 } }],
  movingAverage: [{ name: 'movingAverage 1031', inputs: [N], attrs: { momentum: 0.99 } }],
  // The running statistics start at 0.5 (the self-check's fill for outputs): 0.5 rows seen, mean and variance 0.5.
  accumulateMoments: [
    { name: 'accumulateMoments 67×13', inputs: [x], attrs: {} },
    { name: 'accumulateMoments 3×11×9×5', inputs: [image], attrs: {} },
  ],
  layerNorm: [{ name: 'layerNorm 67×13', inputs: [x, f32([C]), f32([C])], attrs: { epsilon: 1e-3 } }],
  layerNormBackward: [{ name: 'layerNormBackward 3×11×9×5', inputs: [image, f32([5]), f32([297]), f32([297]), image], attrs: {}, derive: (d) => positive(d[3]) }],
  layerNormBackwardAdd: [{ name: 'layerNormBackwardAdd 3×11×9×5', inputs: [image, f32([5]), f32([297]), f32([297]), image, image], attrs: {}, derive: (d) => positive(d[3]) }],
  layerNormParamGrad: [{ name: 'layerNormParamGrad 67×13', inputs: [x, f32([B]), f32([B]), x], attrs: {}, derive: (d) => positive(d[2]) }],
};
