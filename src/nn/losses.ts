import { ValueError } from '../core/errors.js';
import { didYouMean } from '../core/options.js';
import type { Kernel } from '../ops/kernel.js';
import { hinge, meanAbsoluteError, meanSquaredError, nll, sigmoidBinaryCrossEntropy, softmaxCrossEntropy } from '../ops/loss.js';
import { argmaxAccuracy, binaryAccuracy } from '../ops/metrics.js';
import type { LayerActivation } from './layers.js';

/** Loss names as Keras spells them, plus PyTorch's nll; short aliases map onto them. */
export const LOSSES = ['sparseCategoricalCrossentropy', 'categoricalCrossentropy', 'binaryCrossentropy', 'meanSquaredError', 'meanAbsoluteError', 'hinge', 'nll'] as const;
export type LossName = (typeof LOSSES)[number];
const ALIASES: Record<string, LossName> = { mse: 'meanSquaredError', mae: 'meanAbsoluteError', negativeLogLikelihood: 'nll', crossentropy: 'categoricalCrossentropy' };

/** How the targets of a loss are given. */
export type TargetKind = 'labels' | 'dense';

export interface ResolvedLoss {
  readonly name: LossName;
  /** Per-sample loss kernel: (predictions or logits, targets) → [B]. */
  readonly kernel: Kernel<any>;
  readonly attrs: object;
  readonly targets: TargetKind;
  /** The model's last activation is folded into the loss (softmax or sigmoid on logits). */
  readonly fused: boolean;
  readonly classification: boolean;
}

/**
 * Picks the kernel for a loss given the model's last activation. Cross-entropy
 * after softmax (or sigmoid) is computed from the logits in one fused kernel:
 * the same value, without log(0). A linear last layer means the model outputs logits.
 */
export function resolveLoss(name: string, last: LayerActivation, binaryTargets = false): ResolvedLoss {
  const loss = (ALIASES[name] ?? name) as LossName;
  const needs = (acts: LayerActivation[], what: string) => {
    if (!acts.includes(last)) throw new ValueError(`loss ${loss} expects the last layer's activation to be ${acts.map((a) => `'${a}'`).join(' or ')} (${what}); got '${last}'`);
  };
  switch (loss) {
    case 'sparseCategoricalCrossentropy':
    case 'categoricalCrossentropy':
      needs(['softmax', 'linear'], "'linear' means the outputs are logits");
      return { name: loss, kernel: softmaxCrossEntropy, attrs: {}, targets: loss === 'categoricalCrossentropy' ? 'dense' : 'labels', fused: last === 'softmax', classification: true };
    case 'binaryCrossentropy':
      needs(['sigmoid', 'linear'], "'linear' means the outputs are logits");
      return { name: loss, kernel: sigmoidBinaryCrossEntropy, attrs: {}, targets: 'dense', fused: last === 'sigmoid', classification: true };
    case 'nll':
      needs(['logSoftmax'], 'nll takes log-probabilities');
      return { name: loss, kernel: nll, attrs: {}, targets: 'labels', fused: false, classification: true };
    case 'meanSquaredError':
      return { name: loss, kernel: meanSquaredError, attrs: {}, targets: 'dense', fused: false, classification: false };
    case 'meanAbsoluteError':
      return { name: loss, kernel: meanAbsoluteError, attrs: {}, targets: 'dense', fused: false, classification: false };
    case 'hinge':
      return { name: loss, kernel: hinge, attrs: { binaryTargets }, targets: 'dense', fused: false, classification: true };
    default:
      throw new ValueError(`unknown loss '${name}'${didYouMean(name, [...LOSSES, ...Object.keys(ALIASES)])} (known: ${[...LOSSES, ...Object.keys(ALIASES)].join(', ')})`);
  }
}

export interface ResolvedMetric {
  /** The key in logs and history: the name the user gave. */
  readonly name: string;
  readonly kernel: Kernel<any>;
  readonly attrs: object;
  /** Reads the loss's input (logits when fused) rather than the activated output. */
  readonly onLogits: boolean;
}

/** Keras' metric names; 'accuracy' becomes the accuracy that fits the loss, as in Keras. */
export function resolveMetric(name: string, loss: ResolvedLoss): ResolvedMetric {
  const accuracy = (kind: 'argmax' | 'binary'): ResolvedMetric => {
    if (kind === 'argmax') return { name, kernel: argmaxAccuracy, attrs: {}, onLogits: true };
    // On logits the decision boundary is 0; on probabilities 0.5; hinge outputs are signed scores.
    const threshold = loss.fused || loss.name === 'hinge' ? 0 : 0.5;
    return { name, kernel: binaryAccuracy, attrs: { threshold }, onLogits: true };
  };
  switch (name) {
    case 'accuracy':
    case 'acc':
      if (!loss.classification) throw new ValueError(`metric '${name}' needs a classification loss; ${loss.name} is a regression loss (use 'mse' or 'mae')`);
      return accuracy(loss.name === 'binaryCrossentropy' || loss.name === 'hinge' ? 'binary' : 'argmax');
    case 'sparseCategoricalAccuracy':
    case 'categoricalAccuracy':
      return accuracy('argmax');
    case 'binaryAccuracy':
      return accuracy('binary');
    case 'mse':
    case 'meanSquaredError':
      return { name, kernel: meanSquaredError, attrs: {}, onLogits: false };
    case 'mae':
    case 'meanAbsoluteError':
      return { name, kernel: meanAbsoluteError, attrs: {}, onLogits: false };
    default:
      throw new ValueError(`unknown metric '${name}'${didYouMean(name, ['accuracy', 'acc', 'sparseCategoricalAccuracy', 'categoricalAccuracy', 'binaryAccuracy', 'mse', 'mae', 'meanSquaredError', 'meanAbsoluteError'])} (known: accuracy, acc, sparseCategoricalAccuracy, categoricalAccuracy, binaryAccuracy, mse, mae)`);
  }
}
