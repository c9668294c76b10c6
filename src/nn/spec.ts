// A model's hidden layers in one line, as the CLI and sweeps take them:
// `conv32:3,maxpool2,conv64:3,maxpool2,flatten,128`. Browser-safe.
//
// The grammar is declared once, in RULES: each rule is a word (or a number,
// for dense), its options after colons, its help line, and how its layers are
// built. parseToken is the only parser; the help, the suggestions for a typo
// and the builder all read the same rules.
import { ValueError } from '../core/errors.js';
import { didYouMean } from '../core/options.js';
import { averagePooling2d, conv2d, globalAveragePooling2d, maxPooling2d } from './conv-layers.js';
import type { Layer } from './layer-base.js';
import { outputShapeOf } from './layer-base.js';
import type { LayerType } from './layers.js';
import { dense, dropout, embedding, flatten, randomTranslation, reshape } from './layers.js';
import { batchNormalization, layerNormalization } from './norm-layers.js';
import { bidirectional, gru, lstm, positionEmbedding, simpleRNN } from './layers.js';
import type { Regularizer } from './regularizers.js';

/** One layer as written: a number is a dense layer's width; a string any other token. What settings and sweeps store. */
export type LayerToken = number | string;

/** A token's options after its colons, by option name. */
type Parts = { strides?: number; padding?: 'same' | 'valid'; l1?: number; l2?: number; returnSequences?: boolean; goBackwards?: boolean };

/** An option a token may take after a colon: `s2`, `same`, `l2=1e-4`. Options of one `slot` exclude each other. */
interface PartRule {
  readonly slot: keyof Parts;
  readonly pattern: RegExp;
  read(m: RegExpExecArray, raw: string, where: string): Parts[keyof Parts];
}

function penalty(key: 'l1' | 'l2'): PartRule {
  return {
    slot: key,
    pattern: new RegExp(`^${key}=(.*)$`),
    read(m, raw, where) {
      const f = Number(m[1]);
      if (m[1].trim() === '' || !Number.isFinite(f) || f < 0) throw new ValueError(`${where}: '${raw}': ${key} must be a number >= 0, got '${m[1]}'`);
      return f;
    },
  };
}
const PENALTIES = [penalty('l1'), penalty('l2')];
const flag = (slot: 'returnSequences' | 'goBackwards', word: string): PartRule => ({ slot, pattern: new RegExp(`^${word}$`), read: () => true });
const RECURRENT_PARTS: PartRule[] = [flag('returnSequences', 'seq'), flag('goBackwards', 'back'), ...PENALTIES];
// A bidirectional layer reads both ways already: no :back.
const BIDIRECTIONAL_PARTS: PartRule[] = [flag('returnSequences', 'seq'), ...PENALTIES];
const CONV_PARTS: PartRule[] = [
  {
    slot: 'strides',
    pattern: /^s(\d+)$/,
    read(m, raw, where) {
      if (Number(m[1]) < 1) throw new ValueError(`${where}: '${raw}': strides must be at least 1`);
      return Number(m[1]);
    },
  },
  { slot: 'padding', pattern: /^(same|valid)$/, read: (m) => m[1] as 'same' | 'valid' },
  ...PENALTIES,
];

/** A token parsed: the rule it matched, its numbers, its options. */
export interface SpecToken {
  readonly rule: TokenRule;
  /** The token as written, trimmed; dense widths without options as numbers. */
  readonly token: LayerToken;
  /** The numbers the rule's head captured (dense: units; conv: filters, size; pool: size; dropout: rate). */
  readonly values: readonly number[];
  readonly parts: Parts;
}

/** What the layers before a token give: flat vectors, images [h, w, c] or sequences [steps, features]. */
type Rank = 'flat' | 'images' | 'sequences';

/** How the spec builds layers, beyond the tokens: the CLI's --activation, --batch-norm, --dropout, --l1, --l2. */
export interface SpecExtras {
  readonly activation: string;
  readonly inputShape: number[];
  /** Batch normalization after every hidden dense and conv layer. */
  readonly batchNorm?: boolean;
  /** Dropout of this rate after every hidden dense layer (0 or undefined: none). */
  readonly dropout?: number;
  /** A kernel penalty on every dense and conv layer that has none of its own. */
  readonly regularizer?: Regularizer;
  /** The number of distinct token ids the data holds (a text's characters): what an embedding token's table is as long as. */
  readonly vocabulary?: number;
  /** The targets are per step (a character model's next character): the last recurrent layer gives every step. */
  readonly sequenceTargets?: boolean;
}

interface TokenRule {
  /** The layer kinds this token makes. */
  readonly kinds: readonly LayerType[];
  /** What the word looks like in help and suggestions. */
  readonly example: string;
  readonly help: readonly string[];
  /** The token's head, before any options: captures its numbers. */
  readonly head: RegExp;
  readonly parts?: readonly PartRule[];
  /** Checks the head's numbers; returns them. */
  check(values: number[], raw: string, where: string): void;
  /** What it takes: images only, sequences only, or anything. */
  readonly takes: 'images' | 'sequences' | 'any';
  /** What it gives: 'same' keeps the rank. */
  readonly gives: Rank | 'same';
  /** `before` gives the sample shape the token's layers take (the layers before it built). */
  build(t: SpecToken, name: string, o: SpecExtras, before: () => number[]): Layer[];
}

const kernelPenalty = (t: SpecToken, o: SpecExtras) => {
  const r = t.parts.l1 !== undefined || t.parts.l2 !== undefined ? { l1: t.parts.l1 ?? 0, l2: t.parts.l2 ?? 0 } : o.regularizer;
  return r ? { kernelRegularizer: r } : {};
};
const positive = (what: string) => (values: number[], raw: string, where: string) => {
  if (values.some((v) => v < 1)) throw new ValueError(`${where}: '${raw}' needs ${what}`);
};
const fraction = (what: string) => (values: number[], raw: string, where: string) => {
  if (!(values[0] >= 0 && values[0] < 1)) throw new ValueError(`${where}: '${raw}': ${what} must be in [0, 1)`);
};

/** The grammar: every token the spec knows, in the order help lists them. */
const RULES = [
  {
    kinds: ['dense'], example: '128', head: /^(\d+)/, parts: PENALTIES, takes: 'any', gives: 'flat',
    help: ['N           a dense layer of N units (the hidden activation); after images, a flatten first'],
    check: (values, raw, where) => {
      if (values[0] < 1) throw new ValueError(`${where}: a dense layer needs at least 1 unit, got '${raw}'`);
    },
    build: (t, name, o) => [
      dense(t.values[0], { activation: o.activation, name, ...kernelPenalty(t, o) }),
      ...(o.batchNorm ? [batchNormalization({ name: `${name}_bn` })] : []),
      ...(o.dropout ? [dropout(o.dropout, { name: `${name}_dropout` })] : []),
    ],
  },
  {
    kinds: ['conv2d'], example: 'conv32:3', head: /^conv(\d+):(\d+)/, parts: CONV_PARTS, takes: 'images', gives: 'images',
    help: [
      'convN:K     a conv2d layer: N filters of K×K, stride 1, valid padding, the hidden activation;',
      '            convN:K:sS strides S, convN:K:same same padding (both may follow, e.g. conv32:3:s2:same)',
    ],
    check: positive('at least 1 filter of size at least 1'),
    build: (t, name, o) => [
      conv2d(t.values[0], t.values[1], { activation: o.activation, padding: t.parts.padding ?? 'valid', strides: t.parts.strides ?? 1, name, ...kernelPenalty(t, o) }),
      ...(o.batchNorm ? [batchNormalization({ name: `${name}_bn` })] : []),
    ],
  },
  {
    kinds: ['maxPooling2d'], example: 'maxpool2', head: /^maxpool(\d+)/, takes: 'images', gives: 'images',
    help: ['maxpoolP    max pooling P×P, strides P; avgpoolP average pooling'],
    check: positive('a pool size of at least 1'),
    build: (t, name) => [maxPooling2d(t.values[0], { name })],
  },
  {
    kinds: ['averagePooling2d'], example: 'avgpool2', head: /^avgpool(\d+)/, takes: 'images', gives: 'images', help: [],
    check: positive('a pool size of at least 1'),
    build: (t, name) => [averagePooling2d(t.values[0], { name })],
  },
  {
    kinds: ['globalAveragePooling2d'], example: 'gap', head: /^gap/, takes: 'images', gives: 'flat',
    help: ['gap         global average pooling ([h, w, c] → [c]);  flatten: [h, w, c] → [h·w·c]'],
    check: () => {},
    build: (_t, name) => [globalAveragePooling2d({ name })],
  },
  {
    kinds: ['flatten'], example: 'flatten', head: /^flatten/, takes: 'any', gives: 'flat', help: [],
    check: () => {},
    // Flat vectors are flat already: no layer.
    build: () => [],
  },
  {
    kinds: ['batchNormalization'], example: 'bn', head: /^bn/, takes: 'any', gives: 'same',
    help: ['bn          batch normalization (Keras\' defaults);  ln: layer normalization'],
    check: () => {},
    build: (_t, name) => [batchNormalization({ name })],
  },
  {
    kinds: ['layerNormalization'], example: 'ln', head: /^ln/, takes: 'any', gives: 'same', help: [],
    check: () => {},
    build: (_t, name) => [layerNormalization({ name })],
  },
  {
    kinds: ['dropout'], example: 'dropout0.5', head: /^dropout(\d*\.?\d+)/, takes: 'any', gives: 'same',
    help: ['dropoutR    dropout of rate R, e.g. dropout0.5;  translateF: images moved by up to ⌊F·size⌋ pixels while training'],
    check: fraction('the dropout rate'),
    build: (t, name) => [dropout(t.values[0], { name })],
  },
  ...(['simpleRNN', 'lstm', 'gru'] as const).map((kind) => {
    const word = kind === 'simpleRNN' ? 'rnn' : kind;
    const make = { simpleRNN, lstm, gru }[kind];
    return {
      kinds: [kind], example: `${word}64`, head: new RegExp(`^${word}(\\d+)`), parts: RECURRENT_PARTS, takes: 'sequences', gives: 'flat',
      help: kind === 'simpleRNN'
        ? [
          'rnnN        a SimpleRNN of N units (tanh); lstmN an LSTM, gruN a GRU (Keras\' defaults: sigmoid gates, orthogonal recurrent',
          '            kernel, GRU reset_after); flat square data (784 = 28²) is read as 28 steps of 28, images as rows; followed by',
          '            another recurrent layer it gives every step; :seq gives every step anyway, :back reads the steps backwards',
        ]
        : [],
      check: positive('at least 1 unit'),
      build: (t: SpecToken, name: string, o: SpecExtras) => {
        // A target at every step is the next token: a layer reading backwards would read it first.
        if (o.sequenceTargets && t.parts.goBackwards) throw new ValueError(`--layers: '${t.token}' reads the steps backwards, and here every step's target is the next token, which it would read before predicting it; drop :back`);
        return [make(t.values[0], { name, returnSequences: t.parts.returnSequences ?? false, goBackwards: t.parts.goBackwards ?? false, ...kernelPenalty(t, o) })];
      },
    } satisfies TokenRule;
  }),
  ...(['simpleRNN', 'lstm', 'gru'] as const).map((kind) => {
    const word = `bi${kind === 'simpleRNN' ? 'rnn' : kind}`;
    const make = { simpleRNN, lstm, gru }[kind];
    return {
      kinds: ['bidirectional'], example: `${word}64`, head: new RegExp(`^${word}(\\d+)`), parts: BIDIRECTIONAL_PARTS, takes: 'sequences', gives: 'flat',
      help: kind === 'simpleRNN'
        ? [
          'birnnN      a bidirectional SimpleRNN of N units a direction, the two outputs concatenated (2N values); bilstmN, bigruN',
          '            likewise; :seq gives every step (each the forward and backward states at that step)',
        ]
        : [],
      check: positive('at least 1 unit'),
      build: (t: SpecToken, name: string, o: SpecExtras) => {
        // A target at every step is the next token: the backward half would read it.
        if (o.sequenceTargets) throw new ValueError(`--layers: '${t.token}' reads the steps backwards too, and here every step's target is the next token, which the backward half would read before predicting it; use ${word.slice(2)}${t.values[0]} (one direction)`);
        return [bidirectional(make(t.values[0], { returnSequences: t.parts.returnSequences ?? false, ...kernelPenalty(t, o) }), { name })];
      },
    } satisfies TokenRule;
  }),
  {
    kinds: ['embedding'], example: 'embed64', head: /^embed(\d+)/, takes: 'any', gives: 'flat',
    help: ['embedN      an embedding of N values per token id (text data: the table has a row per character); gives sequences'],
    check: positive('at least 1 value per token'),
    build: (t, name, o) => {
      if (o.vocabulary === undefined) throw new ValueError(`--layers: '${t.token}' embeds token ids, which text data gives (--data FILE.txt); this data has no vocabulary`);
      return [embedding(o.vocabulary, t.values[0], { name })];
    },
  },
  {
    kinds: ['positionEmbedding'], example: 'posembed', head: /^posembed/, takes: 'sequences', gives: 'same',
    help: [
      "posembed    learned positions (keras-nlp's PositionEmbedding) as long as the sequences; in a --layers chain it gives the",
      '            positions alone, in place of its input (it does not add them to it)',
    ],
    check: () => {},
    build: (_t, name, _o, before) => [positionEmbedding({ sequenceLength: before()[0], name })],
  },
  {
    kinds: ['randomTranslation'], example: 'translate0.1', head: /^translate(\d*\.?\d+)/, takes: 'images', gives: 'images', help: [],
    check: fraction("the translation, a fraction of the image's size,"),
    build: (t, name) => [randomTranslation(t.values[0], t.values[0], { name })],
  },
] as const satisfies readonly TokenRule[];

/**
 * The layer kinds no token makes, and why: with the rules above, every kind is
 * accounted for (a new kind that is in neither does not compile).
 */
const NO_TOKEN = {
  activation: 'the hidden activation is --activation; the output activation follows from the loss',
  reshape: 'flat data that convolutions need is viewed as [s, s, 1] by the spec itself',
  pointFeatures: "the CLI's --features puts it first, ahead of --layers",
  add: 'a merge layer joins branches of a functional model; a --layers chain has none',
  multiply: 'a merge layer joins branches of a functional model; a --layers chain has none',
  average: 'a merge layer joins branches of a functional model; a --layers chain has none',
  concatenate: 'a merge layer joins branches of a functional model; a --layers chain has none',
  multiHeadAttention: 'attention takes a query and a value, and a Transformer block adds its input back: a functional model, which a --layers chain is not',
} as const;
type Covered = (typeof RULES)[number]['kinds'][number] | keyof typeof NO_TOKEN;
// A compile-time check: LayerType minus the kinds covered must be empty.
const everyKindCovered: [Exclude<LayerType, Covered>] extends [never] ? true : never = true;
void everyKindCovered;
export const LAYERS_WITHOUT_TOKEN: Readonly<Record<string, string>> = NO_TOKEN;

export const SPEC_HELP = [
  ...RULES.flatMap((r) => r.help),
  'N:l2=F      a dense or conv layer with a kernel penalty: :l2=F, :l1=F (e.g. 128:l2=1e-4, conv32:3:l1=1e-5)',
  'An option may appear once in a token: conv32:3:s2:s3 and conv32:3:same:valid are refused.',
].join('\n');

/** The token's options after its head, each checked, none repeated or in conflict. */
function readParts(rule: TokenRule, rest: string, raw: string, where: string): Parts | null {
  const parts: Parts = {};
  if (rest === '') return parts;
  if (!rest.startsWith(':')) return null;
  const seen = new Map<keyof Parts, string>();
  for (const p of rest.slice(1).split(':')) {
    const known = (rule.parts ?? []).map((pr) => ({ pr, m: pr.pattern.exec(p) })).find((x) => x.m);
    if (!known) {
      const options = rule.parts?.length ? `it takes ${[...new Set(rule.parts.map((pr) => pr.slot))].join(', ')}` : 'it takes no options';
      throw new ValueError(`${where}: '${raw}': unknown option '${p}' (${options}; see webgrad help)`);
    }
    const before = seen.get(known.pr.slot);
    if (before !== undefined) {
      throw new ValueError(before === p ? `${where}: '${raw}': '${p}' is given twice` : `${where}: '${raw}': '${before}' and '${p}' both set ${known.pr.slot}; give one`);
    }
    seen.set(known.pr.slot, p);
    (parts as Record<string, unknown>)[known.pr.slot] = known.pr.read(known.m!, raw, where);
  }
  return parts;
}

/** The one parser: a token checked against the grammar, or an error naming it and the nearest known token. */
export function parseToken(raw: LayerToken, where = '--layers'): SpecToken {
  const t = String(raw).trim();
  for (const rule of RULES as readonly TokenRule[]) {
    const m = rule.head.exec(t);
    if (!m) continue;
    const parts = readParts(rule, t.slice(m[0].length), String(raw), where);
    if (!parts) continue;
    const values = m.slice(1).map(Number);
    rule.check(values, String(raw), where);
    const plain = rule.kinds[0] === 'dense' && t === m[0];
    return { rule, token: plain ? values[0] : t, values, parts };
  }
  const words = RULES.map((r) => r.example);
  throw new ValueError(`${where}: unknown layer '${raw}'${didYouMean(t.replace(/[\d.]+/g, ''), words.map((w) => w.replace(/[\d.]+/g, '')).filter(Boolean))} (a number for dense, or ${words.slice(1).join(', ')}; see webgrad help)`);
}

/** `128,64` or `conv32:3,maxpool2,flatten,128`, each token checked; '' or 'none' for no hidden layer. */
export function parseSpec(text: string, where = '--layers'): LayerToken[] {
  if (text === '' || text === 'none') return [];
  return text.split(',').map((t) => parseToken(t, where).token);
}

export const specText = (tokens: readonly LayerToken[]) => (tokens.length ? tokens.join(',') : 'none');

/** What the first token that changes the rank takes: images (a conv or pooling layer before any dense one), sequences (a recurrent layer), or anything. */
function firstTakes(tokens: readonly SpecToken[]): TokenRule['takes'] {
  return tokens.find((t) => t.rule.gives !== 'same')?.rule.takes ?? 'any';
}

/**
 * The layers of a spec. `inputShape` is the data's sample shape: flat data
 * that a convolution needs as images is viewed as [s, s, 1] when it has s²
 * features (MNIST's 784 = 28²); a dense layer after images gets a flatten.
 */
export function layersFromSpec(raw: readonly LayerToken[], o: SpecExtras): Layer[] {
  const tokens = raw.map((t) => parseToken(t));
  const layers: Layer[] = [];
  let rank: Rank = o.inputShape.length === 3 ? 'images' : o.inputShape.length === 2 ? 'sequences' : 'flat';
  const takes = firstTakes(tokens);
  if (takes === 'images' && rank === 'flat') {
    const side = Math.round(Math.sqrt(o.inputShape[0]));
    if (side * side !== o.inputShape[0]) throw new ValueError(`--layers ${specText(raw)}: convolution and pooling need images; this data has ${o.inputShape[0]} features per sample, not a square image`);
    layers.push(reshape([side, side, 1], { name: 'image' }));
    rank = 'images';
  }
  if (takes === 'sequences' && rank !== 'sequences') {
    // Keras' classic example: a digit read as 28 steps of its 28-pixel rows (an image [h, w, c] as h steps of w·c values).
    const [h, w, c] = o.inputShape;
    const side = Math.round(Math.sqrt(o.inputShape[0]));
    if (rank === 'flat' && side * side !== o.inputShape[0]) throw new ValueError(`--layers ${specText(raw)}: a recurrent layer reads sequences; this data has ${o.inputShape[0]} features per sample, not a square image to read row by row`);
    layers.push(reshape(rank === 'images' ? [h, w * c] : [side, side], { name: 'rows' }));
    rank = 'sequences';
  }
  tokens.forEach((t, i) => {
    if (t.rule.takes === 'images' && rank !== 'images') throw new ValueError(`--layers: '${t.token}' needs images, but the layers before it give ${rank === 'sequences' ? 'sequences' : 'flat vectors'}`);
    if (t.rule.takes === 'sequences' && rank !== 'sequences') throw new ValueError(`--layers: '${t.token}' needs sequences, but the layers before it give ${rank === 'images' ? 'images' : 'flat vectors'} (a recurrent layer after another one gets every step of it)`);
    // Dense layers take flat vectors: flatten images first (the flatten token is that layer itself).
    if (t.rule.gives === 'flat' && t.rule.takes === 'any' && rank === 'images') layers.push(flatten({ name: t.rule.kinds[0] === 'flatten' ? `hidden_${i + 1}` : `flatten_${i + 1}` }));
    // A recurrent layer followed by another gives every step (Keras needs return_sequences=True there).
    const later = tokens.slice(i + 1);
    const stacked = t.rule.takes === 'sequences' && (later.find((n) => n.rule.gives !== 'same')?.rule.takes === 'sequences' || (o.sequenceTargets === true && !later.some((n) => n.rule.takes === 'sequences')));
    const token = stacked ? { ...t, parts: { ...t.parts, returnSequences: true } } : t;
    layers.push(...t.rule.build(token, `hidden_${i + 1}`, o, () => outputShapeOf(layers, o.inputShape)));
    // A dense layer on sequences acts on every step, as Keras'; a recurrent one gives every step with :seq; an embedding makes sequences of its ids.
    if (token.parts.returnSequences || (t.rule.kinds[0] === 'dense' && rank === 'sequences') || t.rule.kinds[0] === 'embedding') rank = 'sequences';
    else if (t.rule.gives !== 'same') rank = t.rule.gives;
  });
  if (rank === 'images') layers.push(flatten({ name: 'flatten' }));
  return layers;
}
