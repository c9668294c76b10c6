import { f32, i32 } from '../core/shape.js';
import { activation, activationBackward, activationBackwardFromOutput, ACTIVATIONS, gradFromOutput } from '../ops/activation.js';
import { biasAdd, biasGrad } from '../ops/bias.js';
import { accumulate, add, fill, scale } from '../ops/elementwise.js';
import { losses, softmaxCrossEntropyWithGrad } from '../ops/loss.js';
import { matmul } from '../ops/matmul.js';
import { matmulActivationGrad, matmulBiasActivation } from '../ops/matmul-epilogue.js';
import { argmaxAccuracy, binaryAccuracy } from '../ops/metrics.js';
import { adam, adamw, momentum, rmsprop, sgd } from '../ops/optimizer.js';
import { conv2d, conv2dBackwardFilter, conv2dBackwardInput } from '../ops/conv.js';
import { avgPool2d, avgPool2dBackward, globalAvgPool2d, globalAvgPool2dBackward, maxPool2d } from '../ops/pool.js';
import { broadcastScalar, reduceMean, reduceSum, reduceSumInto } from '../ops/reduce.js';
import { logSoftmax, logSoftmaxBackward, softmax, softmaxBackward } from '../ops/softmax.js';
import type { Case } from './selfcheck.js';

const B = 67;
const C = 13;
const x = f32([B, C]);
const convCase = { strides: [2, 2], padding: 'same', dilation: [1, 1] } as const;
const poolCase = { poolSize: [3, 2], strides: [2, 2], padding: 'same' } as const;
// maxPool2dBackward is left out: it reads y = maxPool2d(x), which random inputs are not (test/ops/pool.test.ts covers it).

/** One small awkward-shaped launch of every kernel (67 rows, 13 or 129 columns: no tile divides them). */
export const SELFCHECKS: Case[] = [
  { name: 'matmul A·B 67×129×33 (register)', kernel: matmul, inputs: [f32([B, 129]), f32([129, 33])], attrs: { variant: 'register' } },
  { name: 'matmul A·B 67×129×33 (tiled)', kernel: matmul, inputs: [f32([B, 129]), f32([129, 33])], attrs: { variant: 'tiled' } },
  { name: 'matmul A·B 67×129×33 (tiled128)', kernel: matmul, inputs: [f32([B, 129]), f32([129, 33])], attrs: { variant: 'tiled128' } },
  { name: 'matmul Aᵀ·B 67×129×33', kernel: matmul, inputs: [f32([129, B]), f32([129, 33])], attrs: { transA: true } },
  { name: 'matmul A·Bᵀ 67×129×33', kernel: matmul, inputs: [f32([B, 129]), f32([33, 129])], attrs: { transB: true } },
  { name: 'matmulBiasActivation relu 67×129×33', kernel: matmulBiasActivation, inputs: [f32([B, 129]), f32([129, 33]), f32([33])], attrs: { activation: { kind: 'relu' } } },
  { name: 'matmulBiasActivation tanh 67×129×33 (tiled)', kernel: matmulBiasActivation, inputs: [f32([B, 129]), f32([129, 33]), f32([33])], attrs: { activation: { kind: 'tanh' }, variant: 'tiled' } },
  { name: 'matmulActivationGrad sigmoid A·Bᵀ 67×129×33', kernel: matmulActivationGrad, inputs: [f32([B, 129]), f32([33, 129]), f32([B, 33])], attrs: { transB: true, activation: { kind: 'sigmoid' } } },
  { name: 'biasAdd 67×13', kernel: biasAdd, inputs: [x, f32([C])], attrs: {} },
  // Images: 3 samples of 11×9, 5 channels, to 7 filters of 3×2 (stride 2, 'same', odd padding split).
  { name: 'conv2d 3×11×9×5 → 7, 3×2 stride 2 same', kernel: conv2d, inputs: [f32([3, 11, 9, 5]), f32([3, 2, 5, 7])], attrs: convCase },
  { name: 'conv2dBackwardInput', kernel: conv2dBackwardInput, inputs: [f32([3, 6, 5, 7]), f32([3, 2, 5, 7])], attrs: { ...convCase, inputShape: [3, 11, 9, 5] } },
  { name: 'conv2dBackwardFilter', kernel: conv2dBackwardFilter, inputs: [f32([3, 11, 9, 5]), f32([3, 6, 5, 7])], attrs: { ...convCase, filterShape: [3, 2, 5, 7] } },
  { name: 'conv2d dilation 2', kernel: conv2d, inputs: [f32([2, 9, 9, 3]), f32([3, 3, 3, 4])], attrs: { dilation: [2, 2] } },
  { name: 'maxPool2d 3×2 stride 2 same', kernel: maxPool2d, inputs: [f32([3, 11, 9, 5])], attrs: poolCase },
  { name: 'avgPool2d 3×2 stride 2 same', kernel: avgPool2d, inputs: [f32([3, 11, 9, 5])], attrs: poolCase },
  { name: 'avgPool2dBackward', kernel: avgPool2dBackward, inputs: [f32([3, 6, 5, 5])], attrs: { ...poolCase, inputSize: [11, 9] } },
  { name: 'globalAvgPool2d', kernel: globalAvgPool2d, inputs: [f32([3, 11, 9, 5])], attrs: {} },
  { name: 'globalAvgPool2dBackward', kernel: globalAvgPool2dBackward, inputs: [f32([3, 5])], attrs: { inputSize: [11, 9] } },
  { name: 'biasGrad 67×13', kernel: biasGrad, inputs: [x], attrs: {} },
  ...ACTIVATIONS.flatMap((kind) => [
    { name: `activation ${kind}`, kernel: activation, inputs: [x], attrs: { kind } },
    { name: `activationBackward ${kind}`, kernel: activationBackward, inputs: [x, x], attrs: { kind } },
    ...(gradFromOutput({ kind }) ? [{ name: `activationBackwardFromOutput ${kind}`, kernel: activationBackwardFromOutput, inputs: [x, x], attrs: { kind } }] : []),
  ]),
  { name: 'softmax 67×13', kernel: softmax, inputs: [x], attrs: {} },
  { name: 'softmaxBackward 67×13', kernel: softmaxBackward, inputs: [x, x], attrs: {} },
  { name: 'logSoftmax 67×13', kernel: logSoftmax, inputs: [x], attrs: {} },
  { name: 'logSoftmaxBackward 67×13', kernel: logSoftmaxBackward, inputs: [x, x], attrs: {} },
  { name: 'softmaxCrossEntropy (labels)', kernel: losses.softmaxCrossEntropy[0], inputs: [x, i32([B])], attrs: {}, classes: C },
  { name: 'softmaxCrossEntropyBackward (labels)', kernel: losses.softmaxCrossEntropy[1], inputs: [x, i32([B]), f32([B])], attrs: {}, classes: C },
  { name: 'softmaxCrossEntropyWithGrad (labels)', kernel: softmaxCrossEntropyWithGrad, inputs: [x, i32([B]), f32([B])], attrs: {}, classes: C },
  { name: 'softmaxCrossEntropy (targets)', kernel: losses.softmaxCrossEntropy[0], inputs: [x, x], attrs: {} },
  ...(['sigmoidBinaryCrossEntropy', 'meanSquaredError', 'meanAbsoluteError', 'hinge'] as const).flatMap((name) => [
    { name, kernel: losses[name][0], inputs: [x, x], attrs: {} },
    { name: `${name}Backward`, kernel: losses[name][1], inputs: [x, x, f32([B])], attrs: {} },
  ]),
  { name: 'nll', kernel: losses.nll[0], inputs: [x, i32([B])], attrs: {}, classes: C },
  { name: 'nllBackward', kernel: losses.nll[1], inputs: [x, i32([B]), f32([B])], attrs: {}, classes: C },
  { name: 'reduceSum 1031', kernel: reduceSum, inputs: [f32([1031])], attrs: {} },
  { name: 'reduceMean 1031', kernel: reduceMean, inputs: [f32([1031])], attrs: {} },
  { name: 'reduceSumInto 1031', kernel: reduceSumInto, inputs: [f32([1031])], attrs: { alpha: 0.5 } },
  { name: 'broadcastScalar 1031', kernel: broadcastScalar, inputs: [f32([1])], attrs: { shape: [1031], scale: 0.5 } },
  { name: 'argmaxAccuracy', kernel: argmaxAccuracy, inputs: [x, i32([B])], attrs: {}, classes: C },
  { name: 'binaryAccuracy', kernel: binaryAccuracy, inputs: [x, x], attrs: { threshold: 0 } },
  { name: 'sgd 1031', kernel: sgd, inputs: [f32([1031])], attrs: { lr: 0.1 } },
  { name: 'momentum (Nesterov) 1031', kernel: momentum, inputs: [f32([1031])], attrs: { lr: 0.1, momentum: 0.9, nesterov: true } },
  { name: 'rmsprop 1031', kernel: rmsprop, inputs: [f32([1031])], attrs: { lr: 0.01 } },
  { name: 'rmsprop centered, momentum 1031', kernel: rmsprop, inputs: [f32([1031])], attrs: { lr: 0.01, centered: true, momentum: 0.9 } },
  { name: 'adamw step 3 1031', kernel: adamw, inputs: [f32([1031])], attrs: { lr: 0.01, step: 3 } },
  { name: 'adam step 3 1031', kernel: adam, inputs: [f32([1031])], attrs: { lr: 0.01, step: 3 } },
  { name: 'fill 1031', kernel: fill, inputs: [], attrs: { shape: [1031], value: 3 } },
  { name: 'scale 1031', kernel: scale, inputs: [f32([1031])], attrs: { alpha: -0.5 } },
  { name: 'add 1031', kernel: add, inputs: [f32([1031]), f32([1031])], attrs: { alpha: 2 } },
  { name: 'accumulate 1031', kernel: accumulate, inputs: [f32([1031])], attrs: { alpha: 0.25 } },
];
