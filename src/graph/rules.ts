import type { ActivationAttrs } from '../ops/activation.js';
import { activation, activationBackward, activationBackwardFromOutput, gradFromOutput } from '../ops/activation.js';
import { biasAdd, biasGrad } from '../ops/bias.js';
import type { Conv2dAttrs } from '../ops/conv.js';
import { conv2d, conv2dBackwardFilter, conv2dBackwardInput } from '../ops/conv.js';
import { add, scale } from '../ops/elementwise.js';
import type { Im2colAttrs } from '../ops/im2col.js';
import { col2im, im2col } from '../ops/im2col.js';
import type { Kernel } from '../ops/kernel.js';
import type { Pool2dAttrs } from '../ops/pool.js';
import { avgPool2d, avgPool2dBackward, globalAvgPool2d, globalAvgPool2dBackward, maxPool2d, maxPool2dBackward } from '../ops/pool.js';
import type { ReshapeAttrs } from '../ops/reshape.js';
import { reshape } from '../ops/reshape.js';
import { losses } from '../ops/loss.js';
import type { MatmulAttrs } from '../ops/matmul.js';
import { matmul } from '../ops/matmul.js';
import { broadcastScalar, reduceGradAttrs, reduceMean, reduceSum } from '../ops/reduce.js';
import { logSoftmax, logSoftmaxBackward, softmax, softmaxBackward } from '../ops/softmax.js';
import type { GradRule } from './autodiff.js';
import type { Value } from './graph.js';

type Entry<A> = readonly [Kernel<A>, GradRule<A>];
const rule = <A>(kernel: Kernel<A>, r: GradRule<A>): Entry<A> => [kernel, r];

/** A per-sample loss: d(prediction) = backward(prediction, target, dLoss); targets get no gradient. */
function lossRule<A>([forward, backward]: readonly [Kernel<A>, Kernel<A>]): Entry<A> {
  return rule(forward, (g, { inputs: [p, t], attrs }, [d]) => [d && g.op(backward, [p, t, d], attrs, `d(${p.name})`), null]);
}

/**
 * Every differentiable kernel's gradient, in one table. `Differentiable`
 * names the kernels a model may put on the path to its loss; a name there
 * without an entry here is a compile error. Backward kernels, metrics and
 * optimizer updates are not differentiable: autodiff refuses them by name.
 */
type Differentiable =
  | 'matmul' | 'conv2d' | 'im2col' | 'reshape' | 'maxPool2d' | 'avgPool2d' | 'globalAvgPool2d' | 'add' | 'scale' | 'biasAdd' | 'activation' | 'softmax' | 'logSoftmax' | 'reduceSum' | 'reduceMean'
  | keyof typeof losses;

export const GRADIENTS: { readonly [K in Differentiable]: Entry<any> } = {
  // C = op(A)·op(B). Each case is the matmul whose result has A's (or B's) stored layout.
  matmul: rule<MatmulAttrs>(matmul, (g, { inputs: [a, b], attrs }, [dc]) => {
    if (!dc) return [null, null];
    const { transA = false, transB = false, variant } = attrs;
    const mm = (x: Value, y: Value, tA: boolean, tB: boolean, name: string) => g.op(matmul, [x, y], { transA: tA, transB: tB, variant }, name);
    const da = transA ? mm(b, dc, transB, true, `d(${a.name})`) : mm(dc, b, false, !transB, `d(${a.name})`);
    const db = transB ? mm(dc, a, true, transA, `d(${b.name})`) : mm(a, dc, !transA, false, `d(${b.name})`);
    return [da, db];
  }),
  // A view: the gradient is the output's gradient seen with the input's shape.
  reshape: rule<ReshapeAttrs>(reshape, (g, { inputs: [x] }, [d]) => [d && g.op(reshape, [d], { shape: x.shape }, `d(${x.name})`)]),
  // Pooling: each input element gathers the gradients of the windows that hold it (max: only where it is the window's first max).
  maxPool2d: rule<Pool2dAttrs>(maxPool2d, (g, { inputs: [x], outputs: [y], attrs }, [d]) => [d && g.op(maxPool2dBackward, [x, y, d], attrs, `d(${x.name})`)]),
  avgPool2d: rule<Pool2dAttrs>(avgPool2d, (g, { inputs: [x], attrs }, [d]) => [d && g.op(avgPool2dBackward, [d], { ...attrs, inputSize: [x.shape[1], x.shape[2]] }, `d(${x.name})`)]),
  globalAvgPool2d: rule(globalAvgPool2d, (g, { inputs: [x] }, [d]) => [d && g.op(globalAvgPool2dBackward, [d], { inputSize: [x.shape[1], x.shape[2]] }, `d(${x.name})`)]),
  // y = conv2d(x, k): dx and dk are the same sum of x·k products, gathered by x's and by k's elements.
  conv2d: rule<Conv2dAttrs>(conv2d, (g, { inputs: [x, k], attrs }, [d]) => [
    d && g.op(conv2dBackwardInput, [d, k], { ...attrs, inputShape: x.shape }, `d(${x.name})`),
    d && g.op(conv2dBackwardFilter, [x, d], { ...attrs, filterShape: k.shape }, `d(${k.name})`),
  ]),
  // cols = im2col(x) copies x's elements: dx sums the gradients of the copies.
  im2col: rule<Im2colAttrs>(im2col, (g, { inputs: [x], attrs }, [d]) => [d && g.op(col2im, [d], { ...attrs, inputShape: x.shape }, `d(${x.name})`)]),
  // out = x + αy
  add: rule<{ alpha?: number }>(add, (g, { attrs: { alpha = 1 } }, [d]) => [d, d && (alpha === 1 ? d : g.op(scale, [d], { alpha }))]),
  scale: rule<{ alpha: number }>(scale, (g, { attrs: { alpha } }, [d]) => [d && g.op(scale, [d], { alpha })]),
  // y = x + b (rows): dx passes through, db sums the rows.
  biasAdd: rule(biasAdd, (g, { inputs: [, b] }, [d]) => [d, d && g.op(biasGrad, [d], {}, `d(${b.name})`)]),
  // From the output where f' is a function of it (relu, sigmoid, tanh, ...): the pre-activation then has
  // no other reader, and graph/fuse.ts can fold bias and activation into the matmul before them.
  activation: rule<ActivationAttrs>(activation, (g, { inputs: [x], outputs: [y], attrs }, [d]) => [
    d && (gradFromOutput(attrs) ? g.op(activationBackwardFromOutput, [y, d], attrs, `d(${x.name})`) : g.op(activationBackward, [x, d], attrs, `d(${x.name})`)),
  ]),
  // The row-wise ones differentiate through their output y.
  softmax: rule(softmax, (g, { inputs: [x], outputs: [y] }, [d]) => [d && g.op(softmaxBackward, [y, d], {}, `d(${x.name})`)]),
  logSoftmax: rule(logSoftmax, (g, { inputs: [x], outputs: [y] }, [d]) => [d && g.op(logSoftmaxBackward, [y, d], {}, `d(${x.name})`)]),
  reduceSum: rule(reduceSum, (g, { inputs: [x] }, [d]) => [d && g.op(broadcastScalar, [d], reduceGradAttrs('sum', x.shape), `d(${x.name})`)]),
  reduceMean: rule(reduceMean, (g, { inputs: [x] }, [d]) => [d && g.op(broadcastScalar, [d], reduceGradAttrs('mean', x.shape), `d(${x.name})`)]),
  softmaxCrossEntropy: lossRule(losses.softmaxCrossEntropy),
  sigmoidBinaryCrossEntropy: lossRule(losses.sigmoidBinaryCrossEntropy),
  meanSquaredError: lossRule(losses.meanSquaredError),
  meanAbsoluteError: lossRule(losses.meanAbsoluteError),
  hinge: lossRule(losses.hinge),
  nll: lossRule(losses.nll),
};
