// Building the demo's model from the form, and describing models and devices to the page.
import type { Backend, DeviceDescription, Regularizer, Model } from '../../index.js';
import { dense, sequential, ValueError } from '../../index.js';
import { hiddenLayers, isConvolutional, kernelPenalty } from './architecture.js';
import type { DeviceInfo, ModelInfo, TrainConfig } from './protocol.js';

/** The hidden layers of the form (an MLP or a CNN) with their extras, then a softmax over the classes (L2 on its kernel too, as the CLI's --l2). */
export function buildModel(config: TrainConfig, side: number, classes: number, backend: Backend): Model {
  const layers = [...hiddenLayers(config.layers, config.activation, side, config), dense(classes, { activation: 'softmax', ...kernelPenalty(config) })];
  const model = sequential(layers, { name: isConvolutional(config.layers) ? 'mnist_cnn' : 'mnist_mlp', inputShape: [side * side], seed: config.seed });
  model.compile({
    optimizer: { type: config.optimizer as 'adam', learningRate: config.learningRate },
    loss: 'sparseCategoricalCrossentropy',
    metrics: ['accuracy'],
    backend,
  });
  return model;
}


/**
 * The shape one side×side digit is given to the model in: [side²] (an MLP,
 * or a CNN that reshapes, as the demo and the CLI build them) or
 * [side, side, 1] (a Keras-style CNN written in code). Null for any other.
 */
export function digitShape(model: Model, side: number): number[] | null {
  const s = model.inputShape;
  if (s?.length === 1 && s[0] === side * side) return [side * side];
  if (s?.length === 3 && s[0] === side && s[1] === side && s[2] === 1) return [side, side, 1];
  return null;
}

/** Refuses a loaded model that cannot read these images or name these classes. */
export function checkFits(model: Model, side: number, classes: number, source: string): void {
  if (!digitShape(model, side)) {
    const have = model.inputShape ? `samples of shape [${model.inputShape.join(', ')}]` : 'samples of an unknown shape';
    throw new ValueError(`${source}: the model takes ${have}; these digits are ${side}×${side} grey images, which the demo gives as [${side * side}] or [${side}, ${side}, 1]`);
  }
  const out = model.outputShape ?? [];
  if (out.length !== 1 || out[0] !== classes) throw new ValueError(`${source}: the model's output has shape [${out.join(', ')}], the data has ${classes} classes`);
  const last = model.outputLayer;
  if (last.activation !== 'softmax') throw new ValueError(`${source}: the model's last layer is '${last.activation}', the demo needs a softmax classifier`);
}

/** " (L2 0.0001)", " (L1 1e-5, bias L2 0.01)": a layer's penalties as its config records them; '' for none. */
function penaltyText(c: { kernelRegularizer?: Regularizer; biasRegularizer?: Regularizer }): string {
  const terms = (what: string, r?: Regularizer) => (r ? [r.l1 > 0 && `${what}L1 ${r.l1}`, r.l2 > 0 && `${what}L2 ${r.l2}`] : []);
  const all = [...terms('', c.kernelRegularizer), ...terms('bias ', c.biasRegularizer)].filter(Boolean);
  return all.length ? ` (${all.join(', ')})` : '';
}

/** "784 → reshape 28×28×1 → conv 8 3×3 relu → maxpool 2×2 → flatten → 128 relu (L2 0.0001) → batchnorm → dropout 0.2 → 10 softmax". */
export function describeModel(model: Model): ModelInfo {
  const parts = [model.inputShape?.join('×') ?? '?'];
  for (const l of model.layers) {
    const c = l.config;
    if (c.type === 'dense') parts.push(`${c.units} ${c.activation}${penaltyText(c)}`);
    else if (c.type === 'conv2d') parts.push(`conv ${c.filters} ${c.kernelSize.join('×')} ${c.activation}${penaltyText(c)}`);
    else if (c.type === 'dropout') parts.push(`dropout ${c.rate}`);
    else if (c.type === 'batchNormalization') parts.push('batchnorm');
    else if (c.type === 'layerNormalization') parts.push('layernorm');
    else if (c.type === 'maxPooling2d' || c.type === 'averagePooling2d') parts.push(`${c.type === 'maxPooling2d' ? 'maxpool' : 'avgpool'} ${c.poolSize.join('×')}`);
    else if (c.type === 'reshape') parts.push(`reshape ${c.targetShape.join('×')}`);
    else if (c.type === 'flatten') parts.push('flatten');
    else if (c.type === 'globalAveragePooling2d') parts.push('global avgpool');
    else parts.push(c.activation);
  }
  const specs = model.paramSpecs();
  const size = (p: (typeof specs)[number]) => p.shape.reduce((a, b) => a * b, 1);
  const params = specs.reduce((s, p) => s + size(p), 0);
  // Batch normalization's moving mean and variance: weights that training updates but the optimizer never sees.
  const nonTrainable = specs.reduce((s, p) => s + (p.trainable === false ? size(p) : 0), 0);
  const opt = model.compileOptions?.optimizer;
  const optimizer = typeof opt === 'string' ? opt : opt ? `${opt.type}${typeof opt.learningRate === 'number' ? ` (lr ${opt.learningRate})` : ''}` : 'none';
  return { layers: parts.join(' → '), params, nonTrainable, optimizer };
}

export function deviceInfo(d: DeviceDescription): DeviceInfo {
  return {
    backend: d.backend,
    vendor: d.vendor,
    architecture: d.architecture,
    device: d.device,
    description: d.description,
    api: d.api,
    featureLevel: d.featureLevel,
    software: d.software,
  };
}

/** The message of anything thrown. Not the class name: a minified build renames classes. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
