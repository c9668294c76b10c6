// A model's hidden layers in one line, as the CLI and sweeps take them:
// `conv32:3,maxpool2,conv64:3,maxpool2,flatten,128`. Browser-safe.
import { ValueError } from '../core/errors.js';
import { didYouMean } from '../core/options.js';
import { averagePooling2d, conv2d, globalAveragePooling2d, maxPooling2d } from './conv-layers.js';
import type { Layer } from './layer-base.js';
import { dense, dropout, flatten, randomTranslation, reshape } from './layers.js';
import { batchNormalization, layerNormalization } from './norm-layers.js';
import type { Regularizer } from './regularizers.js';

/** One layer: a number is a dense layer's width; a string one of the image tokens, as written. */
export type LayerToken = number | string;

export const SPEC_HELP = [
  'N           a dense layer of N units (the hidden activation)',
  'convN:K     a conv2d layer: N filters of K×K, stride 1, valid padding, the hidden activation;',
  '            convN:K:sS strides S, convN:K:same same padding (both may follow, e.g. conv32:3:s2:same)',
  'maxpoolP    max pooling P×P, strides P; avgpoolP average pooling',
  'gap         global average pooling ([h, w, c] → [c]);  flatten: [h, w, c] → [h·w·c]',
  'bn          batch normalization (Keras\' defaults);  ln: layer normalization',
  'dropoutR    dropout of rate R, e.g. dropout0.5;  translateF: images moved by up to ⌊F·size⌋ pixels while training',
  'N:l2=F      a dense or conv layer with a kernel penalty: :l2=F, :l1=F (e.g. 128:l2=1e-4, conv32:3:l1=1e-5)',
].join('\n');

const REG = '(?::l[12]=[^:,]+)*';
const DENSE = new RegExp(`^(\\d+)(${REG})$`);
const CONV = new RegExp(`^conv(\\d+):(\\d+)((?::s\\d+|:same|:valid)*)(${REG})$`);
const POOL = /^(max|avg)pool(\d+)$/;
const DROPOUT = /^dropout(\d*\.?\d+)$/;
const TRANSLATE = /^translate(\d*\.?\d+)$/;
const WORDS = ['conv32:3', 'maxpool2', 'avgpool2', 'flatten', 'gap', 'bn', 'ln', 'dropout0.5', 'translate0.1'];

/** The kernel penalty of a token's `:l1=F:l2=F` suffix, checked; undefined without one. */
function tokenRegularizer(suffix: string, raw: string, where: string): Regularizer | undefined {
  if (!suffix) return undefined;
  const r = { l1: 0, l2: 0 };
  for (const part of suffix.split(':').filter(Boolean)) {
    const [key, text] = part.split('=') as ['l1' | 'l2', string];
    const f = Number(text);
    if (text.trim() === '' || !Number.isFinite(f) || f < 0) throw new ValueError(`${where}: '${raw}': ${key} must be a number >= 0, got '${text}'`);
    r[key] = f;
  }
  return r;
}

/** Checks one token; returns it (numbers as numbers) or throws naming it. */
export function parseToken(raw: string, where = '--layers'): LayerToken {
  const t = raw.trim();
  const dense = DENSE.exec(t);
  if (dense) {
    if (Number(dense[1]) < 1) throw new ValueError(`${where}: a dense layer needs at least 1 unit, got '${raw}'`);
    tokenRegularizer(dense[2], raw, where);
    return dense[2] ? t : Number(dense[1]);
  }
  if (t === 'flatten' || t === 'gap' || t === 'bn' || t === 'ln') return t;
  const drop = DROPOUT.exec(t);
  if (drop) {
    const rate = Number(drop[1]);
    if (!(rate >= 0 && rate < 1)) throw new ValueError(`${where}: '${raw}': the dropout rate must be in [0, 1)`);
    return t;
  }
  const shift = TRANSLATE.exec(t);
  if (shift) {
    if (!(Number(shift[1]) < 1)) throw new ValueError(`${where}: '${raw}': the translation must be a fraction in [0, 1) of the image's size`);
    return t;
  }
  const conv = CONV.exec(t);
  if (conv) {
    if (Number(conv[1]) < 1 || Number(conv[2]) < 1) throw new ValueError(`${where}: '${raw}' needs at least 1 filter of size at least 1`);
    for (const s of conv[3].split(':').filter(Boolean)) if (s.startsWith('s') && Number(s.slice(1)) < 1) throw new ValueError(`${where}: '${raw}': strides must be at least 1`);
    tokenRegularizer(conv[4], raw, where);
    return t;
  }
  const pool = POOL.exec(t);
  if (pool && Number(pool[2]) >= 1) return t;
  throw new ValueError(
    `${where}: unknown layer '${raw}'${didYouMean(t.replace(/[\d.]+/g, ''), ['conv:', 'maxpool', 'avgpool', 'flatten', 'gap', 'bn', 'ln', 'dropout', 'translate'])} (a number for dense, or ${WORDS.join(', ')}; see webgrad help)`,
  );
}

/** `128,64` or `conv32:3,maxpool2,flatten,128`; '' or 'none' for no hidden layer. */
export function parseSpec(text: string, where = '--layers'): LayerToken[] {
  if (text === '' || text === 'none') return [];
  return text.split(',').map((t) => parseToken(t, where));
}

export const specText = (tokens: readonly LayerToken[]) => (tokens.length ? tokens.join(',') : 'none');

/** Whether the tokens need images [h, w, c] (a conv or pooling layer before any dense one). */
export function needsImages(tokens: readonly LayerToken[]): boolean {
  const first = tokens.find((t) => !(typeof t === 'string' && (t === 'bn' || t === 'ln' || DROPOUT.test(t))));
  return typeof first === 'string' && first !== 'flatten' && !DENSE.test(first);
}

/** What every layer of a spec may get besides its token (the CLI's --batch-norm, --dropout, --l1, --l2). */
export interface SpecExtras {
  readonly activation: string;
  readonly inputShape: number[];
  /** Batch normalization after every hidden dense and conv layer. */
  readonly batchNorm?: boolean;
  /** Dropout of this rate after every hidden dense layer (0 or undefined: none). */
  readonly dropout?: number;
  /** A kernel penalty on every dense and conv layer that has none of its own. */
  readonly regularizer?: Regularizer;
}

/**
 * The layers of a spec. `inputShape` is the data's sample shape: flat data
 * that a convolution needs as images is viewed as [s, s, 1] when it has s²
 * features (MNIST's 784 = 28²); a dense layer after images gets a flatten.
 */
export function layersFromSpec(tokens: readonly LayerToken[], o: SpecExtras): Layer[] {
  const layers: Layer[] = [];
  let rank = o.inputShape.length;
  if (needsImages(tokens) && rank === 1) {
    const side = Math.round(Math.sqrt(o.inputShape[0]));
    if (side * side !== o.inputShape[0]) throw new ValueError(`--layers ${specText(tokens)}: convolution and pooling need images; this data has ${o.inputShape[0]} features per sample, not a square image`);
    layers.push(reshape([side, side, 1], { name: 'image' }));
    rank = 3;
  }
  tokens.forEach((token, i) => {
    const name = `hidden_${i + 1}`;
    const t = String(token);
    const denseToken = DENSE.exec(t);
    if (denseToken) {
      if (rank > 1) layers.push(flatten({ name: `flatten_${i + 1}` }));
      const kernelRegularizer = tokenRegularizer(denseToken[2], t, '--layers') ?? o.regularizer;
      layers.push(dense(Number(denseToken[1]), { activation: o.activation, name, ...(kernelRegularizer ? { kernelRegularizer } : {}) }));
      if (o.batchNorm) layers.push(batchNormalization({ name: `${name}_bn` }));
      if (o.dropout) layers.push(dropout(o.dropout, { name: `${name}_dropout` }));
      rank = 1;
      return;
    }
    if (t === 'bn' || t === 'ln') {
      layers.push(t === 'bn' ? batchNormalization({ name }) : layerNormalization({ name }));
      return;
    }
    const drop = DROPOUT.exec(t);
    if (drop) {
      layers.push(dropout(Number(drop[1]), { name }));
      return;
    }
    if (t === 'flatten') {
      if (rank > 1) layers.push(flatten({ name }));
      rank = 1;
      return;
    }
    if (rank !== 3) throw new ValueError(`--layers: '${t}' needs images, but the layers before it give flat vectors`);
    const shift = TRANSLATE.exec(t);
    if (shift) {
      layers.push(randomTranslation(Number(shift[1]), Number(shift[1]), { name }));
      return;
    }
    if (t === 'gap') {
      layers.push(globalAveragePooling2d({ name }));
      rank = 1;
      return;
    }
    const conv = CONV.exec(t);
    if (conv) {
      const opts = conv[3].split(':').filter(Boolean);
      // 's2', not 'same': both start with s.
      const stride = opts.find((s) => /^s\d+$/.test(s));
      const kernelRegularizer = tokenRegularizer(conv[4], t, '--layers') ?? o.regularizer;
      layers.push(
        conv2d(Number(conv[1]), Number(conv[2]), { activation: o.activation, padding: opts.includes('same') ? 'same' : 'valid', strides: stride ? Number(stride.slice(1)) : 1, name, ...(kernelRegularizer ? { kernelRegularizer } : {}) }),
      );
      if (o.batchNorm) layers.push(batchNormalization({ name: `${name}_bn` }));
      return;
    }
    const [, kind, size] = POOL.exec(t)!;
    layers.push((kind === 'max' ? maxPooling2d : averagePooling2d)(Number(size), { name }));
  });
  if (rank > 1) layers.push(flatten({ name: 'flatten' }));
  return layers;
}
