// The training form: filled with webgrad's choices, read back as a checked TrainConfig.
import { LAYER_ACTIVATIONS, OPTIMIZERS, ValueError } from '../../index.js';
import { ARCHITECTURE_NAMES, ARCHITECTURES, architectureLayers, checkExtras, stackText } from '../train/architecture.js';
import type { BackendName, LayerExtras, TrainConfig } from '../train/protocol.js';
import { $, h } from './dom.js';

/** Activations that make sense between hidden layers (softmax belongs on the output). */
const HIDDEN_ACTIVATIONS = LAYER_ACTIVATIONS.filter((a) => a !== 'softmax' && a !== 'logSoftmax');
/** Keras' default learning rates, set when the optimizer changes. */
const DEFAULT_LR: Record<string, number> = { sgd: 0.01, momentum: 0.01, rmsprop: 0.001, adam: 0.001, adamw: 0.001 };

export function setUpForm(): void {
  const arch = $<HTMLSelectElement>('architecture');
  for (const a of ARCHITECTURE_NAMES) arch.append(h('option', a === 'mlp' ? { value: a, selected: '' } : { value: a }, ARCHITECTURES[a].label));
  // Each architecture comes with its own Dense layers (none for the small CNN), which the user may then change.
  arch.addEventListener('change', () => {
    $<HTMLInputElement>('hidden').value = ARCHITECTURES[arch.value as keyof typeof ARCHITECTURES]?.dense ?? '';
    showStack();
  });
  for (const id of ['hidden', 'dropout', 'l2']) $<HTMLInputElement>(id).addEventListener('input', showStack);
  $<HTMLInputElement>('batch-norm').addEventListener('change', showStack);
  showStack();
  const act = $<HTMLSelectElement>('activation');
  for (const a of HIDDEN_ACTIVATIONS) act.append(h('option', a === 'relu' ? { value: a, selected: '' } : { value: a }, a));
  const opt = $<HTMLSelectElement>('optimizer');
  for (const o of OPTIMIZERS) opt.append(h('option', o === 'adam' ? { value: o, selected: '' } : { value: o }, o));
  opt.addEventListener('change', () => ($<HTMLInputElement>('lr').value = String(DEFAULT_LR[opt.value] ?? 0.001)));
}

/** The model the form describes, layer by layer; while a field does not parse, what is wrong with it. */
function showStack(): void {
  let text;
  try {
    text = stackText(architectureLayers($<HTMLSelectElement>('architecture').value, denseSizes()), 10, readExtras());
  } catch (e) {
    text = (e as Error).message;
  }
  $('architecture-note').textContent = text;
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

/** The Dense layers field: sizes separated by commas, or empty. */
function denseSizes(): number[] {
  const raw = $<HTMLInputElement>('hidden').value.trim();
  const sizes = raw === '' ? [] : raw.split(/[\s,]+/).map(Number);
  if (sizes.some((u) => !Number.isInteger(u) || u < 1 || u > 4096)) {
    throw new ValueError(`Dense layers must be sizes from 1 to 4096 separated by commas (e.g. 256,128), or empty; got '${raw}'`);
  }
  if (sizes.length > 8) throw new ValueError(`at most 8 Dense layers, got ${sizes.length}`);
  return sizes;
}

/**
 * A number field where empty means 0 (off). What the browser cannot read as
 * a number (its value is then '') is refused rather than taken as 0.
 */
function offOrNumber(id: string, label: string): number {
  const input = $<HTMLInputElement>(id);
  if (input.validity.badInput) throw new ValueError(`${label} must be a number (0 for none)`);
  return Number(input.value.trim());
}

/** Dropout, batch normalization and L2, checked by webgrad's own rules. */
function readExtras(): LayerExtras {
  return checkExtras({ dropout: offOrNumber('dropout', 'Dropout rate'), batchNorm: $<HTMLInputElement>('batch-norm').checked, l2: offOrNumber('l2', 'L2 factor') });
}

/** The validation split field: the last fraction of the training digits held out, from 0 (none) to 0.5. */
function validationSplit(): number {
  const input = $<HTMLInputElement>('validation-split');
  const v = Number(input.value.trim());
  if (input.validity.badInput || !(v >= 0 && v <= 0.5)) throw new ValueError(`validation split must be a fraction from 0 (none) to 0.5, got '${input.value}'`);
  return v;
}

/** The form as a TrainConfig; a bad field throws a message naming it. */
export function readConfig(): TrainConfig {
  const hidden = denseSizes();
  const lrRaw = $<HTMLInputElement>('lr').value.trim();
  const learningRate = Number(lrRaw);
  if (!(learningRate > 0 && learningRate <= 10)) throw new ValueError(`learning rate must be a number above 0 (at most 10), got '${lrRaw}'`);
  return {
    layers: architectureLayers($<HTMLSelectElement>('architecture').value, hidden),
    activation: $<HTMLSelectElement>('activation').value,
    optimizer: $<HTMLSelectElement>('optimizer').value,
    learningRate,
    batchSize: intField('batch', 'batch size', 1, 4096),
    epochs: intField('epochs', 'epochs', 1, 200),
    ...readExtras(),
    backend: selectedBackend(),
    validationSplit: validationSplit(),
    seed: 1,
  };
}
