// Building the demo's model from the form, and describing models and devices to the page.
import type { Backend, DeviceDescription, Sequential } from '../../index.js';
import { dense, sequential, ValueError } from '../../index.js';
import type { DeviceInfo, ModelInfo, TrainConfig } from './protocol.js';

/** An MLP: the hidden Dense layers, then a softmax over the classes. */
export function buildModel(config: TrainConfig, inputs: number, classes: number, backend: Backend): Sequential {
  const layers = [...config.hidden.map((units) => dense(units, { activation: config.activation })), dense(classes, { activation: 'softmax' })];
  const model = sequential(layers, { name: 'mnist_mlp', inputShape: [inputs], seed: config.seed });
  model.compile({
    optimizer: { type: config.optimizer as 'adam', learningRate: config.learningRate },
    loss: 'sparseCategoricalCrossentropy',
    metrics: ['accuracy'],
    backend,
  });
  return model;
}

/** Output width of the whole stack. */
export function outputUnits(model: Sequential): number {
  let shape = model.inputShape ?? [];
  for (const l of model.layers) shape = l.outputShape(shape);
  return shape[0];
}

/** Refuses a loaded model that cannot read these images or name these classes. */
export function checkFits(model: Sequential, inputs: number, classes: number, source: string): void {
  const have = model.inputShape?.[0];
  if (have !== inputs) throw new ValueError(`${source}: the model takes ${have ?? 'an unknown number of'} inputs, these images have ${inputs} pixels`);
  const out = outputUnits(model);
  if (out !== classes) throw new ValueError(`${source}: the model has ${out} outputs, the data has ${classes} classes`);
  const last = model.layers[model.layers.length - 1];
  if (last.activation !== 'softmax') throw new ValueError(`${source}: the model's last layer is '${last.activation}', the demo needs a softmax classifier`);
}

export function describeModel(model: Sequential): ModelInfo {
  const parts = [String(model.inputShape?.[0] ?? '?')];
  for (const l of model.layers) {
    const c = l.config;
    parts.push(c.type === 'dense' ? `${c.units} ${c.activation}` : c.activation);
  }
  const params = model.paramSpecs().reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
  const opt = model.compileOptions?.optimizer;
  const optimizer = typeof opt === 'string' ? opt : opt ? `${opt.type}${typeof opt.learningRate === 'number' ? ` (lr ${opt.learningRate})` : ''}` : 'none';
  return { layers: parts.join(' → '), params, optimizer };
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
