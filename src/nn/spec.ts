// A model's hidden layers in one line, as the CLI and sweeps take them:
// `conv32:3,maxpool2,conv64:3,maxpool2,flatten,128`. Browser-safe.
import { ValueError } from '../core/errors.js';
import { didYouMean } from '../core/options.js';
import { averagePooling2d, conv2d, globalAveragePooling2d, maxPooling2d } from './conv-layers.js';
import type { Layer } from './layer-base.js';
import { dense, flatten, reshape } from './layers.js';

/** One layer: a number is a dense layer's width; a string one of the image tokens, as written. */
export type LayerToken = number | string;

export const SPEC_HELP = [
  'N           a dense layer of N units (the hidden activation)',
  'convN:K     a conv2d layer: N filters of K×K, stride 1, valid padding, the hidden activation;',
  '            convN:K:sS strides S, convN:K:same same padding (both may follow, e.g. conv32:3:s2:same)',
  'maxpoolP    max pooling P×P, strides P; avgpoolP average pooling',
  'gap         global average pooling ([h, w, c] → [c]);  flatten: [h, w, c] → [h·w·c]',
].join('\n');

const CONV = /^conv(\d+):(\d+)((?::s\d+|:same|:valid)*)$/;
const POOL = /^(max|avg)pool(\d+)$/;
const WORDS = ['conv32:3', 'maxpool2', 'avgpool2', 'flatten', 'gap'];

/** Checks one token; returns it (numbers as numbers) or throws naming it. */
export function parseToken(raw: string, where = '--layers'): LayerToken {
  const t = raw.trim();
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    if (n < 1) throw new ValueError(`${where}: a dense layer needs at least 1 unit, got '${raw}'`);
    return n;
  }
  if (t === 'flatten' || t === 'gap') return t;
  const conv = CONV.exec(t);
  if (conv) {
    if (Number(conv[1]) < 1 || Number(conv[2]) < 1) throw new ValueError(`${where}: '${raw}' needs at least 1 filter of size at least 1`);
    for (const s of conv[3].split(':').filter(Boolean)) if (s.startsWith('s') && Number(s.slice(1)) < 1) throw new ValueError(`${where}: '${raw}': strides must be at least 1`);
    return t;
  }
  const pool = POOL.exec(t);
  if (pool && Number(pool[2]) >= 1) return t;
  throw new ValueError(
    `${where}: unknown layer '${raw}'${didYouMean(t.replace(/\d+/g, ''), ['conv:', 'maxpool', 'avgpool', 'flatten', 'gap'])} (a number for dense, or ${WORDS.join(', ')}; see webgrad help)`,
  );
}

/** `128,64` or `conv32:3,maxpool2,flatten,128`; '' or 'none' for no hidden layer. */
export function parseSpec(text: string, where = '--layers'): LayerToken[] {
  if (text === '' || text === 'none') return [];
  return text.split(',').map((t) => parseToken(t, where));
}

export const specText = (tokens: readonly LayerToken[]) => (tokens.length ? tokens.join(',') : 'none');

/** Whether the tokens need images [h, w, c] (a conv or pooling layer before any dense one). */
export const needsImages = (tokens: readonly LayerToken[]) => typeof tokens[0] === 'string' && tokens[0] !== 'flatten';

/**
 * The layers of a spec. `inputShape` is the data's sample shape: flat data
 * that a convolution needs as images is viewed as [s, s, 1] when it has s²
 * features (MNIST's 784 = 28²); a dense layer after images gets a flatten.
 */
export function layersFromSpec(tokens: readonly LayerToken[], o: { activation: string; inputShape: number[] }): Layer[] {
  const layers: Layer[] = [];
  let rank = o.inputShape.length;
  if (needsImages(tokens) && rank === 1) {
    const side = Math.round(Math.sqrt(o.inputShape[0]));
    if (side * side !== o.inputShape[0]) throw new ValueError(`--layers ${specText(tokens)}: convolution and pooling need images; this data has ${o.inputShape[0]} features per sample, not a square image`);
    layers.push(reshape([side, side, 1], { name: 'image' }));
    rank = 3;
  }
  tokens.forEach((t, i) => {
    const name = `hidden_${i + 1}`;
    if (typeof t === 'number') {
      if (rank > 1) layers.push(flatten({ name: `flatten_${i + 1}` }));
      layers.push(dense(t, { activation: o.activation, name }));
      rank = 1;
      return;
    }
    if (t === 'flatten') {
      if (rank > 1) layers.push(flatten({ name }));
      rank = 1;
      return;
    }
    if (rank !== 3) throw new ValueError(`--layers: '${t}' needs images, but the layers before it give flat vectors`);
    if (t === 'gap') {
      layers.push(globalAveragePooling2d({ name }));
      rank = 1;
      return;
    }
    const conv = CONV.exec(t);
    if (conv) {
      const opts = conv[3].split(':').filter(Boolean);
      const stride = opts.find((s) => s.startsWith('s'));
      layers.push(conv2d(Number(conv[1]), Number(conv[2]), { activation: o.activation, padding: opts.includes('same') ? 'same' : 'valid', strides: stride ? Number(stride.slice(1)) : 1, name }));
      return;
    }
    const [, kind, size] = POOL.exec(t)!;
    layers.push((kind === 'max' ? maxPooling2d : averagePooling2d)(Number(size), { name }));
  });
  if (rank > 1) layers.push(flatten({ name: 'flatten' }));
  return layers;
}
