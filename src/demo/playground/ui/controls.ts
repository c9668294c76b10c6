// The controls above and beside the network, each named by its key in the
// link (its element id), filled from the state and read back as text, the
// way a link gives it, so one check (state.ts) serves both.
import { OPTIMIZERS } from '../../../index.js';
import type { LinkKey, PlaygroundState } from '../state.js';
import { HIDDEN_ACTIVATIONS, LEARNING_RATES, REGULARIZATION_RATES } from '../state.js';

export const CONTROL_KEYS = ['learningRate', 'activation', 'regularization', 'regularizationRate', 'problem', 'optimizer', 'loss', 'dropout', 'batchNorm', 'percTrainData', 'noise', 'batchSize', 'showTestData', 'discretize', 'backend'] as const satisfies readonly LinkKey[];
export type ControlKey = (typeof CONTROL_KEYS)[number];

const element = (key: ControlKey) => document.getElementById(key) as HTMLInputElement | HTMLSelectElement;

/** Fills the menus and calls `changed` with a control's key and text whenever the user changes it. */
export function setUpControls(changed: (key: ControlKey, raw: string) => void): void {
  const fill = (id: string, values: readonly (string | number)[]) => (document.getElementById(id) as HTMLSelectElement).append(...values.map((v) => new Option(String(v), String(v))));
  fill('learningRate', LEARNING_RATES);
  fill('regularizationRate', REGULARIZATION_RATES);
  fill('activation', HIDDEN_ACTIVATIONS);
  fill('optimizer', OPTIMIZERS);
  for (const key of CONTROL_KEYS) {
    const el = element(key);
    const read = () => (el instanceof HTMLInputElement && el.type === 'checkbox' ? String(el.checked) : el.value);
    el.addEventListener('change', () => changed(key, read()));
    if (el instanceof HTMLInputElement && el.type === 'range') el.addEventListener('input', () => (document.getElementById(`${key}-value`)!.textContent = el.value));
  }
}

/** Shows the state in every control; a link's value that a menu lacks (a learning rate of 0.05) joins the menu. */
export function showControls(s: PlaygroundState): void {
  for (const key of CONTROL_KEYS) {
    const el = element(key);
    const value = String(s[key]);
    if (el instanceof HTMLInputElement && el.type === 'checkbox') el.checked = s[key] === true;
    else if (el instanceof HTMLSelectElement) {
      if (!Array.from(el.options).some((o) => o.value === value)) el.append(new Option(value, value));
      el.value = value;
    } else {
      if (el.type === 'range' && Number(value) > Number(el.max)) el.max = value;
      el.value = value;
    }
    const shown = document.getElementById(`${key}-value`);
    if (shown) shown.textContent = value;
  }
  // Cross-entropy is a classification loss: regression always uses squared error.
  (element('loss') as HTMLSelectElement).disabled = s.problem === 'regression';
}
