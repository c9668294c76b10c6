// The architectures the form offers, and how a list of layer choices becomes
// webgrad layers. Pure: the form, the trainer (page or worker) and the tests
// share it.
import type { Layer } from '../../index.js';
import { batchNormalization, conv2d, dense, dropout, flatten, l2, maxPooling2d, ops, reshape, ValueError } from '../../index.js';
import type { LayerChoice, LayerExtras } from './protocol.js';

export interface Architecture {
  /** What the form's menu says; stackText spells the layers out. */
  label: string;
  /** The layers before the Dense ones the user types. */
  layers: LayerChoice[];
  /** What the Dense layers field is set to when this one is picked. */
  dense: string;
}

const conv = (filters: number): LayerChoice[] => [
  { type: 'conv2d', filters, kernelSize: 3 },
  { type: 'maxPooling2d', poolSize: 2 },
];

/**
 * The small CNN trains at about the MLP's speed on a software adapter (about
 * as many multiply-adds per digit as 784-128-10); the larger one is the
 * README's W4 network (Keras' MNIST convnet example plus a Dense 128), about
 * 30× the work: for a real GPU.
 */
export const ARCHITECTURES = {
  mlp: { label: 'MLP (Dense layers only)', layers: [], dense: '128' },
  'small-cnn': { label: 'Small CNN (Conv2D 8, 16)', layers: [...conv(8), ...conv(16), { type: 'flatten' }], dense: '' },
  cnn: { label: 'CNN (Conv2D 32, 64)', layers: [...conv(32), ...conv(64), { type: 'flatten' }], dense: '128' },
} satisfies Record<string, Architecture>;

export type ArchitectureName = keyof typeof ARCHITECTURES;
export const ARCHITECTURE_NAMES = Object.keys(ARCHITECTURES) as ArchitectureName[];

/** The named architecture's layers followed by Dense layers of these sizes; an unknown name is refused with the known ones. */
export function architectureLayers(name: string, dense: readonly number[]): LayerChoice[] {
  if (!Object.hasOwn(ARCHITECTURES, name)) throw new ValueError(`unknown architecture '${name}' (known: ${ARCHITECTURE_NAMES.join(', ')})`);
  return [...ARCHITECTURES[name as ArchitectureName].layers, ...dense.map((units): LayerChoice => ({ type: 'dense', units }))];
}

const isImageLayer = (c: LayerChoice) => c.type === 'conv2d' || c.type === 'maxPooling2d';

/** Whether the choices hold a convolution or pooling layer (so the model views each digit as an image). */
export const isConvolutional = (choices: readonly LayerChoice[]) => choices.some(isImageLayer);

/**
 * Refuses extras webgrad would refuse, with its own checks (the Dropout
 * layer's rate, the regularizer's factor): a rate of 1.5 is an error on the
 * page, never a run with something else. Checked whether or not a layer
 * takes them (softmax regression has no hidden Dense layer to drop after).
 */
export function checkExtras(x: LayerExtras): LayerExtras {
  const rate = ops.rateProblem(x.dropout);
  if (rate) throw new ValueError(`Dropout rate ${rate}`);
  const factor = ops.factorProblem(x.l2);
  if (factor) throw new ValueError(`L2 factor ${factor}`);
  if (typeof x.batchNorm !== 'boolean') throw new ValueError(`batch normalization must be true or false, got ${JSON.stringify(x.batchNorm)}`);
  return x;
}

type Follower = 'batchNormalization' | 'dropout';

/**
 * What follows a hidden layer, as the CLI's --batch-norm and --dropout place
 * it (layersFromSpec): BatchNormalization after every Dense and Conv2D,
 * then Dropout after every Dense.
 */
function followers(c: LayerChoice, x: LayerExtras): Follower[] {
  const after: Follower[] = [];
  if (x.batchNorm && (c.type === 'dense' || c.type === 'conv2d')) after.push('batchNormalization');
  if (x.dropout > 0 && c.type === 'dense') after.push('dropout');
  return after;
}

/** The kernel penalty of a Dense or Conv2D layer, the softmax one included, as the CLI's --l2 gives it: none for 0. */
export const kernelPenalty = (x: LayerExtras) => (x.l2 > 0 ? { kernelRegularizer: l2(x.l2) } : {});

/**
 * The webgrad layers for these choices on flat side×side digits. A model
 * with image layers starts with reshape([side, side, 1]), as the CLI's does
 * for flat pixel data (a CSV of 784 columns): it takes the same 784 values per
 * digit as an MLP, `webgrad evaluate` and `webgrad predict` read its file (they
 * view the digits in the shape a model takes), and the drawing pad's digit
 * becomes [1, side, side, 1] inside it. A Dense layer after image layers
 * gets a Flatten first if the choices lack one.
 */
export function hiddenLayers(choices: readonly LayerChoice[], activation: string, side: number, extras: LayerExtras): Layer[] {
  checkExtras(extras);
  const penalty = kernelPenalty(extras);
  const layers: Layer[] = [];
  let images = false;
  if (choices.length > 0 && isImageLayer(choices[0])) {
    layers.push(reshape([side, side, 1], { name: 'image' }));
    images = true;
  }
  choices.forEach((c, i) => {
    // The CLI's names, which never meet the automatic ones (dense_1, ...) of the softmax layer after these.
    const name = `hidden_${i + 1}`;
    switch (c.type) {
      case 'conv2d':
      case 'maxPooling2d':
        if (!images) throw new ValueError(`layer ${i + 1} (${describeChoice(c)}) needs images, but the layers before it give flat vectors`);
        layers.push(c.type === 'conv2d' ? conv2d(c.filters, c.kernelSize, { activation, name, ...penalty }) : maxPooling2d(c.poolSize, { name }));
        break;
      case 'flatten':
        if (images) layers.push(flatten({ name }));
        images = false;
        break;
      case 'dense':
        if (images) layers.push(flatten({ name: `flatten_${i + 1}` }));
        images = false;
        layers.push(dense(c.units, { activation, name, ...penalty }));
        break;
      default:
        throw new ValueError(`unknown layer choice ${JSON.stringify(c)}`);
    }
    // The CLI's names for what --batch-norm and --dropout add.
    for (const f of followers(c, extras)) layers.push(f === 'batchNormalization' ? batchNormalization({ name: `${name}_bn` }) : dropout(extras.dropout, { name: `${name}_dropout` }));
  });
  if (images) layers.push(flatten({ name: 'flatten' }));
  return layers;
}

/** One choice as Keras writes it: Conv2D(8, 3), MaxPooling2D(2), Flatten, Dense(128). */
export function describeChoice(c: LayerChoice): string {
  switch (c.type) {
    case 'conv2d':
      return `Conv2D(${c.filters}, ${c.kernelSize})`;
    case 'maxPooling2d':
      return `MaxPooling2D(${c.poolSize})`;
    case 'flatten':
      return 'Flatten';
    case 'dense':
      return `Dense(${c.units})`;
  }
}

/**
 * The whole model as Keras writes it, the softmax over `classes` and the
 * extras included: "Dense(128) → BatchNormalization → Dropout(0.2) →
 * Dense(10, softmax), L2(0.0001) on every kernel".
 */
export function stackText(choices: readonly LayerChoice[], classes: number, extras: LayerExtras): string {
  const layers = choices.flatMap((c) => [describeChoice(c), ...followers(c, extras).map((f) => (f === 'dropout' ? `Dropout(${extras.dropout})` : 'BatchNormalization'))]);
  const text = [...layers, `Dense(${classes}, softmax)`].join(' → ');
  return extras.l2 > 0 ? `${text}, L2(${extras.l2}) on every kernel` : text;
}

/** The choices in the CLI's --layers spelling (conv8:3,maxpool2,flatten,128), which also keys the speed comparison; 'none' for none. */
export function layersSpec(choices: readonly LayerChoice[]): string {
  if (choices.length === 0) return 'none';
  return choices.map((c) => (c.type === 'conv2d' ? `conv${c.filters}:${c.kernelSize}` : c.type === 'maxPooling2d' ? `maxpool${c.poolSize}` : c.type === 'flatten' ? 'flatten' : String(c.units))).join(',');
}

/** The extras as the CLI's flags (--batch-norm --dropout 0.2 --l2 0.0001); '' for none. */
export function extrasFlags(x: LayerExtras): string {
  return [x.batchNorm && '--batch-norm', x.dropout > 0 && `--dropout ${x.dropout}`, x.l2 > 0 && `--l2 ${x.l2}`].filter(Boolean).join(' ');
}
