// From the page's state to a webgrad model: which features, layers, output,
// loss and labels. The plan is plain data (it crosses to the CPU worker);
// modelLayers turns it into webgrad layers wherever the model lives. Pure.
import type { Layer, OptimizerSpec } from '../../index.js';
import { batchNormalization, dense, dropout, l1, l2, pointFeatures } from '../../index.js';
import type { Feature } from './features.js';
import type { OptimizerChoice, PlaygroundState } from './state.js';
import { chosenFeatures, seedNumber } from './state.js';

/**
 * How the labels and the output meet (the Playground's #175 asks for cross-entropy):
 * - signed: a tanh output on ±1 labels with mean squared error, as the original;
 * - binary: a sigmoid output on 0/1 labels with binary cross-entropy;
 * - regression: a linear output on real labels with mean squared error.
 */
export type Target = 'signed' | 'binary' | 'regression';

export interface ModelPlan {
  features: Feature[];
  hidden: { units: number; activation: string }[];
  target: Target;
  /** The kernel penalty on every Dense layer (the Playground's regularization of every link), or null. */
  penalty: { kind: 'L1' | 'L2'; rate: number } | null;
  dropout: number;
  batchNorm: boolean;
  optimizer: OptimizerChoice;
  learningRate: number;
  batchSize: number;
  seed: number;
}

export const OUTPUT: { readonly [T in Target]: { activation: 'tanh' | 'sigmoid' | 'linear'; loss: 'meanSquaredError' | 'binaryCrossentropy'; text: string } } = {
  signed: { activation: 'tanh', loss: 'meanSquaredError', text: 'tanh output, squared error on ±1 labels' },
  binary: { activation: 'sigmoid', loss: 'binaryCrossentropy', text: 'sigmoid output, cross-entropy on 0/1 labels' },
  regression: { activation: 'linear', loss: 'meanSquaredError', text: 'linear output, squared error' },
};

/** The plan for these points (an upload decides regression itself). */
export function planFrom(s: PlaygroundState, regression: boolean): ModelPlan {
  return {
    features: chosenFeatures(s),
    hidden: s.networkShape.map((units, i) => ({ units, activation: s.activations[i] ?? s.activation })),
    target: regression ? 'regression' : s.loss === 'crossentropy' ? 'binary' : 'signed',
    penalty: s.regularization === 'none' || s.regularizationRate === 0 ? null : { kind: s.regularization, rate: s.regularizationRate },
    dropout: s.dropout,
    batchNorm: s.batchNorm,
    optimizer: s.optimizer,
    learningRate: s.learningRate,
    batchSize: s.batchSize,
    seed: seedNumber(s.seed),
  };
}

/** Hidden Dense layers are named as the CLI names them (hidden_1, and hidden_1_bn, hidden_1_dropout after it); the output is 'output'. */
export const hiddenName = (i: number) => `hidden_${i + 1}`;

/**
 * pointFeatures, then per hidden layer Dense → BatchNormalization → Dropout
 * (where the CLI's --batch-norm and --dropout put them), then one output
 * unit; the penalty on every Dense kernel, the output's too.
 */
export function modelLayers(p: ModelPlan): Layer[] {
  const penalty = p.penalty ? { kernelRegularizer: p.penalty.kind === 'L1' ? l1(p.penalty.rate) : l2(p.penalty.rate) } : {};
  const layers: Layer[] = [pointFeatures(p.features, { name: 'features' })];
  p.hidden.forEach((h, i) => {
    layers.push(dense(h.units, { activation: h.activation as 'tanh', name: hiddenName(i), ...penalty }));
    if (p.batchNorm) layers.push(batchNormalization({ name: `${hiddenName(i)}_bn` }));
    if (p.dropout > 0) layers.push(dropout(p.dropout, { name: `${hiddenName(i)}_dropout` }));
  });
  layers.push(dense(1, { activation: OUTPUT[p.target].activation, name: 'output', ...penalty }));
  return layers;
}

export const optimizerSpec = (p: ModelPlan): OptimizerSpec => ({ type: p.optimizer, learningRate: p.learningRate }) as OptimizerSpec;

/** The labels as the loss takes them: ±1, 0/1, or the real values. */
export function targets(labels: ArrayLike<number>, target: Target): Float32Array {
  return Float32Array.from(labels as ArrayLike<number>, (l) => (target === 'regression' ? l : l > 0 ? 1 : target === 'signed' ? -1 : 0));
}

/** An output on the colour scale's [−1, 1]: a sigmoid's probability p becomes 2p − 1, so 0.5 is white. */
export const heat = (output: number, target: Target) => (target === 'binary' ? 2 * output - 1 : output);

/**
 * The mean data loss of outputs against targets, as the Playground shows it
 * (no penalty): mean squared error, or binary cross-entropy with p clamped
 * to [1e-7, 1 − 1e-7] (webgrad's loss works on the logits and needs no clamp;
 * the two agree wherever p is not within 1e-7 of 0 or 1).
 */
export function dataLoss(outputs: ArrayLike<number>, y: ArrayLike<number>, target: Target): number {
  let sum = 0;
  for (let i = 0; i < y.length; i++) {
    if (target === 'binary') {
      const p = Math.min(1 - 1e-7, Math.max(1e-7, outputs[i]));
      sum -= y[i] * Math.log(p) + (1 - y[i]) * Math.log(1 - p);
    } else {
      sum += (outputs[i] - y[i]) ** 2;
    }
  }
  return sum / y.length;
}

/** The share of points whose output falls on their label's side (0 for tanh, 0.5 for a sigmoid). */
export function accuracy(outputs: ArrayLike<number>, y: ArrayLike<number>, target: Target): number {
  let right = 0;
  for (let i = 0; i < y.length; i++) right += heat(outputs[i], target) >= 0 === y[i] > 0 ? 1 : 0;
  return right / y.length;
}

/** "x, y → 4 tanh → 2 tanh → 1 tanh", with the extras. */
export function planText(p: ModelPlan): string {
  const hidden = p.hidden.map((h) => `${h.units} ${h.activation}${p.batchNorm ? ' → bn' : ''}${p.dropout > 0 ? ` → dropout ${p.dropout}` : ''}`);
  const penalty = p.penalty ? `, ${p.penalty.kind} ${p.penalty.rate} on every kernel` : '';
  return `${[p.features.join(', '), ...hidden, `1 ${OUTPUT[p.target].activation}`].join(' → ')}${penalty}; ${OUTPUT[p.target].text}; ${p.optimizer} at ${p.learningRate}, batches of ${p.batchSize}`;
}
