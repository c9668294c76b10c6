// The training form: filled with webgrad's choices, read back as a checked TrainConfig.
import { LAYER_ACTIVATIONS, OPTIMIZERS, ValueError } from '../../index.js';
import type { BackendName, TrainConfig } from '../train/protocol.js';
import { $, h } from './dom.js';

/** Activations that make sense between hidden layers (softmax belongs on the output). */
const HIDDEN_ACTIVATIONS = LAYER_ACTIVATIONS.filter((a) => a !== 'softmax' && a !== 'logSoftmax');
/** Keras' default learning rates, set when the optimizer changes. */
const DEFAULT_LR: Record<string, number> = { sgd: 0.01, momentum: 0.01, rmsprop: 0.001, adam: 0.001, adamw: 0.001 };

export function setUpForm(): void {
  const act = $<HTMLSelectElement>('activation');
  for (const a of HIDDEN_ACTIVATIONS) act.append(h('option', a === 'relu' ? { value: a, selected: '' } : { value: a }, a));
  const opt = $<HTMLSelectElement>('optimizer');
  for (const o of OPTIMIZERS) opt.append(h('option', o === 'adam' ? { value: o, selected: '' } : { value: o }, o));
  opt.addEventListener('change', () => ($<HTMLInputElement>('lr').value = String(DEFAULT_LR[opt.value] ?? 0.001)));
}

function intField(id: string, label: string, min: number, max: number): number {
  const raw = $<HTMLInputElement>(id).value.trim();
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) throw new ValueError(`${label} must be a whole number from ${min} to ${max}, got '${raw}'`);
  return v;
}

export function selectedBackend(): BackendName {
  return $<HTMLInputElement>('backend-cpu').checked ? 'cpu' : 'webgpu';
}

/** The form as a TrainConfig; a bad field throws a message naming it. */
export function readConfig(): TrainConfig {
  const rawHidden = $<HTMLInputElement>('hidden').value.trim();
  const hidden = rawHidden === '' ? [] : rawHidden.split(/[\s,]+/).map(Number);
  if (hidden.some((u) => !Number.isInteger(u) || u < 1 || u > 4096)) {
    throw new ValueError(`hidden layers must be sizes from 1 to 4096 separated by commas (e.g. 256,128), or empty; got '${rawHidden}'`);
  }
  if (hidden.length > 8) throw new ValueError(`at most 8 hidden layers, got ${hidden.length}`);
  const lrRaw = $<HTMLInputElement>('lr').value.trim();
  const learningRate = Number(lrRaw);
  if (!(learningRate > 0 && learningRate <= 10)) throw new ValueError(`learning rate must be a number above 0 (at most 10), got '${lrRaw}'`);
  return {
    hidden,
    activation: $<HTMLSelectElement>('activation').value,
    optimizer: $<HTMLSelectElement>('optimizer').value,
    learningRate,
    batchSize: intField('batch', 'batch size', 1, 4096),
    epochs: intField('epochs', 'epochs', 1, 200),
    backend: selectedBackend(),
    validationSplit: 0.1,
    seed: 1,
  };
}
