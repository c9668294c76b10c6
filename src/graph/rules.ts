import { activationBackward, activationBackwardFromOutput, gradFromOutput } from '../ops/activation.js';
import { attentionBackwardKV, attentionBackwardQ, attentionStats } from '../ops/attention.js';
import { biasGrad } from '../ops/bias.js';
import { broadcastRowsGrad } from '../ops/broadcast.js';
import { conv2dBackwardFilter, conv2dBackwardInput } from '../ops/conv.js';
import { translate } from '../ops/augment.js';
import { dropout } from '../ops/dropout.js';
import { pointFeaturesBackward } from '../ops/features.js';
import { embeddingBackward } from '../ops/embedding.js';
import { batchNormBackward, layerNormBackward, layerNormParamGrad } from '../ops/norm.js';
import { penaltyGrad } from '../ops/regularizer.js';
import { add, fill, multiply, scale } from '../ops/elementwise.js';
import { concatLast, splitLast } from '../ops/concat.js';
import { swapAxes } from '../ops/transpose.js';
import { reverse } from '../ops/reverse.js';
import { maskSteps } from '../ops/mask.js';
import { col2im } from '../ops/conv.js';
import { ValueError } from '../core/errors.js';
import type { Kernel } from '../ops/kernel.js';
import { avgPool2dBackward, globalAvgPool2dBackward, maxPool2dBackward } from '../ops/pool.js';
import { reshape } from '../ops/reshape.js';
import { lastStepBackward, recurrentSequenceBackward } from '../ops/recurrent.js';
import { losses } from '../ops/loss.js';
import { matmul } from '../ops/matmul.js';
import { broadcastScalar, reduceGradAttrs } from '../ops/reduce.js';
import { logSoftmaxBackward, softmaxBackward } from '../ops/softmax.js';
import type { AttrsOf, KernelName } from '../ops/table.js';
import type { GradRule } from './autodiff.js';
import type { Value } from './graph.js';

/** A per-sample loss: d(prediction) = backward(prediction, target, dLoss); targets get no gradient. */
function lossRule<A>([, backward]: readonly [Kernel<A>, Kernel<A>]): GradRule<A> {
  return (g, { inputs: [p, t], attrs }, [d]) => [d && g.op(backward, [p, t, d], attrs, `d(${p.name})`), null];
}

/**
 * The kernels no model differentiates through, each with the reason. With
 * GRADIENTS below they cover every kernel: a kernel in neither table, or in
 * both, is a compile error. autodiff gives the reason when a loss depends on one.
 */
export const NOT_DIFFERENTIABLE = {
  conv2dBackwardInput: "conv2d's gradient", conv2dBackwardFilter: "conv2d's gradient", col2im: "im2col's gradient",
  maxPool2dBackward: "maxPool2d's gradient", avgPool2dBackward: "avgPool2d's gradient", globalAvgPool2dBackward: "globalAvgPool2d's gradient",
  biasGrad: "biasAdd's gradient", activationBackward: "activation's gradient", activationBackwardFromOutput: "activation's gradient",
  softmaxBackward: "softmax's gradient", logSoftmaxBackward: "logSoftmax's gradient", broadcastScalar: 'the gradient of a reduction',
  softmaxCrossEntropyBackward: 'a loss gradient', sigmoidBinaryCrossEntropyBackward: 'a loss gradient', meanSquaredErrorBackward: 'a loss gradient',
  meanAbsoluteErrorBackward: 'a loss gradient', hingeBackward: 'a loss gradient', nllBackward: 'a loss gradient',
  matmulBiasActivation: 'a fusion graph/fuse.ts makes after autodiff', matmulActivationGrad: 'a fusion graph/fuse.ts makes after autodiff',
  matmulAdd: 'a fusion graph/fuse.ts makes after autodiff', matmulBiasActivationAdd: 'a fusion graph/fuse.ts makes after autodiff',
  layerNormBackwardAdd: 'a fusion graph/fuse.ts makes after autodiff', matmulActivationGradOfInput: 'a fusion graph/fuse.ts makes after autodiff',
  softmaxCrossEntropyWithGrad: 'a fusion graph/fuse.ts makes after autodiff', reduceSumInto: 'a fusion graph/fuse.ts makes after autodiff',
  argmaxAccuracy: 'a metric (piecewise constant)', binaryAccuracy: 'a metric (piecewise constant)',
  sgd: 'an optimizer update', momentum: 'an optimizer update', rmsprop: 'an optimizer update', adam: 'an optimizer update', adamw: 'an optimizer update',
  sumSquares: "what gradient clipping reads of the gradients (after autodiff)",
  fill: 'a constant', accumulate: 'an in-place running total', movingAverage: 'an in-place running average (batch normalization\'s moving statistics)',
  accumulateMoments: "an in-place running mean and variance (fit's recomputeBatchNormStatistics)",
  penaltyGrad: "penalty's gradient", pointFeaturesBackward: "pointFeatures' gradient", embeddingBackward: "embedding's gradient", batchNormBackward: "batchNorm's gradient", layerNormBackward: "layerNorm's gradient", layerNormParamGrad: "layerNorm's gradient",
  batchNormInference: 'batch normalization in inference, with its moving statistics (training records batchNorm)',
  recurrentSequenceBackward: "recurrentSequence's gradient", lastStepBackward: "lastStep's gradient",
  attentionStats: "attention's gradient", attentionBackwardKV: "attention's gradient", attentionBackwardQ: "attention's gradient",
  broadcastRowsGrad: "broadcastRows' gradient",
  paddingMask: 'a mask of padded steps, data', maskWeights: 'the weights of a mean over real steps, data',
} as const satisfies Partial<Record<KernelName, string>>;

type Differentiable = Exclude<KernelName, keyof typeof NOT_DIFFERENTIABLE>;

/** Every differentiable kernel's gradient, in one table keyed by kernel name: a rule's attributes are its kernel's. */
export const GRADIENTS: { readonly [K in Differentiable]: GradRule<AttrsOf<K>> } = {
  // C = op(A)·op(B). Each case is the matmul whose result has A's (or B's) stored layout.
  matmul: (g, { inputs: [a, b], attrs }, [dc]) => {
    if (!dc) return [null, null];
    const { transA = false, transB = false, variant } = attrs;
    const mm = (x: Value, y: Value, tA: boolean, tB: boolean, name: string) => g.op(matmul, [x, y], { transA: tA, transB: tB, variant }, name);
    const da = transA ? mm(b, dc, transB, true, `d(${a.name})`) : mm(dc, b, false, !transB, `d(${a.name})`);
    const db = transB ? mm(dc, a, true, transA, `d(${b.name})`) : mm(a, dc, !transA, false, `d(${b.name})`);
    return [da, db];
  },
  // A view: the gradient is the output's gradient seen with the input's shape.
  reshape: (g, { inputs: [x] }, [d]) => [d && g.op(reshape, [d], { shape: x.shape }, `d(${x.name})`)],
  // Pooling: each input element gathers the gradients of the windows that hold it (max: only where it is the window's first max).
  maxPool2d: (g, { inputs: [x], outputs: [y], attrs }, [d]) => [d && g.op(maxPool2dBackward, [x, y, d], attrs, `d(${x.name})`)],
  avgPool2d: (g, { inputs: [x], attrs }, [d]) => [d && g.op(avgPool2dBackward, [d], { ...attrs, inputSize: [x.shape[1], x.shape[2]] }, `d(${x.name})`)],
  globalAvgPool2d: (g, { inputs: [x] }, [d]) => [d && g.op(globalAvgPool2dBackward, [d], { inputSize: [x.shape[1], x.shape[2]] }, `d(${x.name})`)],
  // y = conv2d(x, k): dx and dk are the same sum of x·k products, gathered by x's and by k's elements.
  conv2d: (g, { inputs: [x, k], attrs }, [d]) => [
    d && g.op(conv2dBackwardInput, [d, k], { ...attrs, inputShape: x.shape }, `d(${x.name})`),
    d && g.op(conv2dBackwardFilter, [x, d], { ...attrs, filterShape: k.shape }, `d(${k.name})`),
  ],
  // cols = im2col(x) copies x's elements: dx sums the gradients of the copies.
  im2col: (g, { inputs: [x], attrs }, [d]) => [d && g.op(col2im, [d], { ...attrs, inputShape: x.shape }, `d(${x.name})`)],
  // out = x·mask/(1 − rate): linear in x with the same mask, so d(x) is the same op on d(out), same seed.
  dropout: (g, { inputs: [x, step], attrs }, [d]) => [d && g.op(dropout, [d, step], attrs, `d(${x.name})`), null],
  // The statistics are outputs for the moving averages only: nothing differentiates through them.
  batchNorm: (g, { inputs: [x, gamma], outputs: [, mean, variance], attrs }, [d, dMean, dVar]) => {
    if (dMean || dVar) throw new ValueError("gradients: batchNorm's mean and variance outputs feed the moving averages; a loss may not depend on them");
    return d ? g.apply(batchNormBackward, [x, gamma, mean, variance, d], attrs, `d(${x.name})`) : [null, null, null];
  },
  layerNorm: (g, { inputs: [x, gamma], outputs: [, mean, rstd] }, [d, dMean, dRstd]) => {
    if (dMean || dRstd) throw new ValueError("gradients: layerNorm's mean and rstd outputs are for its gradient; a loss may not depend on them");
    if (!d) return [null, null, null];
    const [dgamma, dbeta] = g.apply(layerNormParamGrad, [x, mean, rstd, d], {}, `d(${gamma.name})`);
    return [g.op(layerNormBackward, [x, gamma, mean, rstd, d], {}, `d(${x.name})`), dgamma, dbeta];
  },
  // The ids are data, not differentiable; each table row gathers the gradients of the positions that read it.
  embedding: (g, { inputs: [ids, table] }, [d]) => {
    if (!d) return [null, null];
    const [V, D] = table.shape;
    const partial = g.op(embeddingBackward, [ids, d], { inputDim: V }, `d(${table.name})/chunks`);
    const chunks = g.op(reshape, [partial], { shape: [partial.shape[0], V * D] }, `d(${table.name})/rows`);
    return [null, g.op(reshape, [g.op(biasGrad, [chunks], {}, `d(${table.name})/sum`)], { shape: [V, D] }, `d(${table.name})`)];
  },
  // Through time in one launch: dxp and drec (the gradient of the recurrent pre-activations, in hprev's
  // row order), then dwhh = hprevᵀ·drec over the B·T rows as one matmul, and dbhh the column sums of drec.
  // The step mask and the recurrent dropout mask after them are data: no gradient.
  recurrentSequence: (g, { inputs, outputs: [hs, hprev, cache], attrs }, [dhs, dHprev, dCache]) => {
    if (dHprev || dCache) throw new ValueError("gradients: recurrentSequence's hprev and cache outputs are for its gradient; a loss may not depend on them");
    const [xp, whh] = inputs;
    const bhh = attrs.cell === 'gru' && attrs.resetAfter !== false ? inputs[2] : undefined;
    const masks = inputs.slice(bhh ? 3 : 2);
    if (!dhs) return inputs.map(() => null);
    const ins = [dhs, hs, ...(cache ? [cache] : []), whh, ...masks];
    const [dxp, drec = dxp] = g.apply(recurrentSequenceBackward, ins, attrs, `d(${xp.name})`);
    const rows = (v: Value, n: number) => g.op(reshape, [v], { shape: [-1, n] });
    const dwhh = g.op(matmul, [rows(hprev, attrs.units), rows(drec, whh.shape[1])], { transA: true }, `d(${whh.name})`);
    return [dxp, dwhh, ...(bhh ? [g.op(biasGrad, [drec], {}, `d(${bhh.name})`)] : []), ...masks.map(() => null)];
  },
  // FlashAttention-2's backward: the row statistics (lse, Σ dout·out), then dk and dv (packed, split after)
  // and dq, each recomputing the probabilities from q, k and lse. The mask and the step are data.
  attention: (g, { inputs, outputs: [out, lse], attrs }, [d, dLse]) => {
    if (dLse) throw new ValueError("gradients: attention's lse output is for its gradient; a loss may not depend on it");
    const [q, k, v, ...rest] = inputs;
    if (!d) return inputs.map(() => null);
    const stats = g.op(attentionStats, [lse, out, d], {}, `${out.name}/stats`);
    const ins = [q, k, v, d, stats, ...rest];
    const dkv = g.op(attentionBackwardKV, ins, attrs, `d(${k.name}‖${v.name})`);
    const [dk, dv] = g.apply(splitLast, [dkv], { sizes: [k.shape[3], v.shape[3]] }, `d(${k.name}‖${v.name})/split`);
    return [g.op(attentionBackwardQ, ins, attrs, `d(${q.name})`), dk, dv, ...rest.map(() => null)];
  },
  // Swapping the same two axes back.
  swapAxes: (g, { inputs: [x], attrs }, [d]) => [d && g.op(swapAxes, [d], attrs, `d(${x.name})`)],
  lastStep: (g, { inputs: [hs] }, [d]) => [d && g.op(lastStepBackward, [d], { steps: hs.shape[1] }, `d(${hs.name})`)],
  // Each point's gradient gathers its features' gradients through their partial derivatives.
  pointFeatures: (g, { inputs: [x], attrs }, [d]) => [d && g.op(pointFeaturesBackward, [x, d], attrs, `d(${x.name})`)],
  // A translation with zero fill is linear; its adjoint undoes the same moves (sign −1), filling with 0 again.
  translate: (g, { inputs: [x, step], attrs }, [d]) => [d && g.op(translate, [d, step], { ...attrs, sign: attrs.sign === -1 ? 1 : -1 }, `d(${x.name})`), null],
  // out = l1·Σ|w| + l2·Σw²
  penalty: (g, { inputs: [w], attrs }, [d]) => [d && g.op(penaltyGrad, [w, d], attrs, `d(${w.name})`)],
  // out = x + αy
  add: (g, { attrs: { alpha = 1 } }, [d]) => [d, d && (alpha === 1 ? d : g.op(scale, [d], { alpha }))],
  scale: (g, { attrs: { alpha } }, [d]) => [d && g.op(scale, [d], { alpha })],
  // out = x ⊙ y: each factor's gradient is d times the other.
  multiply: (g, { inputs: [x, y] }, [d]) => [d && g.op(multiply, [d, y], {}, `d(${x.name})`), d && g.op(multiply, [d, x], {}, `d(${y.name})`)],
  // A permutation of the values: its gradient is the same permutation undone, and reversing is its own inverse.
  reverse: (g, { inputs: [x], attrs }, [d]) => [d && g.op(reverse, [d], attrs, `d(${x.name})`)],
  // out = x · m per step: linear in x with the same mask; the mask is data (no gradient).
  maskSteps: (g, { inputs: [x, mask] }, [d]) => [d && g.op(maskSteps, [d, mask], {}, `d(${x.name})`), null],
  // Each part's gradient is its columns of d; and back, an unused part's gradient is zeros.
  concatLast: (g, { inputs: [x, y] }, [d]) => (d ? g.apply(splitLast, [d], { sizes: [x.shape[x.shape.length - 1], y.shape[y.shape.length - 1]] }, `d(${x.name}‖${y.name})`) : [null, null]),
  splitLast: (g, { inputs: [x], outputs }, ds) => {
    if (!ds[0] && !ds[1]) return [null];
    const part = (i: number) => ds[i] ?? g.op(fill, [], { shape: outputs[i].shape, value: 0 }, `d(${outputs[i].name})/zeros`);
    return [g.op(concatLast, [part(0), part(1)], {}, `d(${x.name})`)];
  },
  // out[b, t] = table[t]: each used row gathers its gradients over the batch, the rest get zero. The output
  // depends on `like` through its shape only: its gradient is zero (a fill that autodiff leaves out of a sum, and prunes where nothing else needs it).
  broadcastRows: (g, { inputs: [table, like] }, [d]) => [
    d && g.op(broadcastRowsGrad, [d], { rows: table.shape[0] }, `d(${table.name})`),
    d && g.op(fill, [], { shape: like.shape, value: 0 }, `d(${like.name})/zeros`),
  ],
  // y = x + b (rows): dx passes through, db sums the rows.
  biasAdd: (g, { inputs: [, b] }, [d]) => [d, d && g.op(biasGrad, [d], {}, `d(${b.name})`)],
  // From the output where f' is a function of it (relu, sigmoid, tanh, ...): the pre-activation then has
  // no other reader, and graph/fuse.ts can fold bias and activation into the matmul before them.
  activation: (g, { inputs: [x], outputs: [y], attrs }, [d]) => [
    d && (gradFromOutput(attrs) ? g.op(activationBackwardFromOutput, [y, d], attrs, `d(${x.name})`) : g.op(activationBackward, [x, d], attrs, `d(${x.name})`)),
  ],
  // The row-wise ones differentiate through their output y.
  softmax: (g, { inputs: [x], outputs: [y] }, [d]) => [d && g.op(softmaxBackward, [y, d], {}, `d(${x.name})`)],
  logSoftmax: (g, { inputs: [x], outputs: [y] }, [d]) => [d && g.op(logSoftmaxBackward, [y, d], {}, `d(${x.name})`)],
  reduceSum: (g, { inputs: [x] }, [d]) => [d && g.op(broadcastScalar, [d], reduceGradAttrs('sum', x.shape), `d(${x.name})`)],
  reduceMean: (g, { inputs: [x] }, [d]) => [d && g.op(broadcastScalar, [d], reduceGradAttrs('mean', x.shape), `d(${x.name})`)],
  softmaxCrossEntropy: lossRule(losses.softmaxCrossEntropy),
  sigmoidBinaryCrossEntropy: lossRule(losses.sigmoidBinaryCrossEntropy),
  meanSquaredError: lossRule(losses.meanSquaredError),
  meanAbsoluteError: lossRule(losses.meanAbsoluteError),
  hinge: lossRule(losses.hinge),
  nll: lossRule(losses.nll),
};
