// The Playground's whole state, and its URL hash: the TensorFlow Playground's
// keys where it has one (dataset, learningRate, networkShape, ...), ours for
// the extras (optimizer, loss, dropout, batchNorm, activations). The keys
// are declared once, as an option set; that one declaration checks every
// value read from a link and names an unknown key with the nearest valid one.
// Pure: the page and the unit tests share it.
import { defineOptions, LAYER_ACTIVATIONS, opt, OPTIMIZERS, TOY_CLASSIFICATION, TOY_REGRESSION } from '../../index.js';
import type { Feature } from './features.js';
import { FEATURES } from './features.js';

export type ClassificationSet = (typeof TOY_CLASSIFICATION)[number];
export type RegressionSet = (typeof TOY_REGRESSION)[number];
export type Problem = 'classification' | 'regression';
export type Regularization = 'none' | 'L1' | 'L2';
export type LossChoice = 'mse' | 'crossentropy';
export type OptimizerChoice = (typeof OPTIMIZERS)[number];
/** Where the page trains: WebGPU on the page, or webgrad's CPU backend in a Web Worker. */
export type BackendChoice = 'webgpu' | 'cpu';

/** Hidden-layer activations: every elementwise one (a row-wise softmax means nothing on one hidden unit), the Playground's four first. */
export const HIDDEN_ACTIVATIONS: readonly string[] = (() => {
  const first = ['relu', 'tanh', 'sigmoid', 'linear'];
  const rest = LAYER_ACTIVATIONS.filter((a) => !first.includes(a) && a !== 'softmax' && a !== 'logSoftmax');
  return [...first, ...rest];
})();

/** More than the Playground's 6 layers × 8 neurons (its issue #63), still small enough to draw every neuron. */
export const MAX_LAYERS = 10;
export const MAX_NEURONS = 64;

/** The Playground's choices for its menus; a link may hold any value in range, which the menu then gains. */
export const LEARNING_RATES = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
export const REGULARIZATION_RATES = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];

/** The original's names of its regression sets (reg-plane, reg-gauss), read and written in links, and ours. */
const REG_NAMES: Record<string, RegressionSet> = { 'reg-plane': 'plane', 'reg-gauss': 'multigauss', plane: 'plane', multigauss: 'multigauss' };
const REG_KEY: Record<RegressionSet, string> = { plane: 'reg-plane', multigauss: 'reg-gauss' };

export type PlaygroundState = {
  dataset: ClassificationSet;
  regDataset: RegressionSet;
  problem: Problem;
  noise: number;
  percTrainData: number;
  batchSize: number;
  learningRate: number;
  activation: string;
  /** One activation per hidden layer (the Playground's issue #50); the link has them only when they differ from `activation`. */
  activations: string[];
  regularization: Regularization;
  regularizationRate: number;
  networkShape: number[];
  discretize: boolean;
  showTestData: boolean;
  seed: string;
  optimizer: OptimizerChoice;
  loss: LossChoice;
  dropout: number;
  batchNorm: boolean;
  /** WebGPU by default; the page falls back to cpu where the browser has no adapter. */
  backend: BackendChoice;
} & Record<Feature, boolean>;

/** The Playground's defaults (its state.ts), and SGD with its squared error for the extras. The seed is drawn when a link has none. */
export function defaultState(seed = '1'): PlaygroundState {
  return {
    dataset: 'circle', regDataset: 'plane', problem: 'classification', noise: 0, percTrainData: 50, batchSize: 10, learningRate: 0.03,
    activation: 'tanh', activations: ['tanh', 'tanh'], regularization: 'none', regularizationRate: 0, networkShape: [4, 2],
    x: true, y: true, xSquared: false, ySquared: false, xTimesY: false, sinX: false, sinY: false,
    discretize: false, showTestData: false, seed, optimizer: 'sgd', loss: 'mse', dropout: 0, batchNorm: false, backend: 'webgpu',
  };
}

const list = (problem: (v: unknown) => string | null) => (v: unknown) => (Array.isArray(v) ? problem(v) : `must be a comma-separated list, got ${JSON.stringify(v)}`);
const shapeProblem = list((v) => {
  const a = v as unknown[];
  if (a.length > MAX_LAYERS) return `must have at most ${MAX_LAYERS} hidden layers, got ${a.length}`;
  const bad = a.find((n) => typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_NEURONS);
  return bad === undefined ? null : `must list whole numbers of neurons from 1 to ${MAX_NEURONS}, got ${JSON.stringify(bad)}`;
});
const activationsProblem = list((v) => {
  const bad = (v as unknown[]).find((a) => !HIDDEN_ACTIVATIONS.includes(a as string));
  return bad === undefined ? null : `must list activations (${HIDDEN_ACTIVATIONS.join(', ')}), got ${JSON.stringify(bad)}`;
});

const flag = (what: string) => opt.boolean(what);
const featureOptions = Object.fromEntries(FEATURES.map((f) => [f, flag(`the input feature ${f} on or off`)])) as Record<Feature, ReturnType<typeof flag>>;

/** Every key a link may hold, with its range: the one declaration of the hash. */
export const LINK = defineOptions('link', {
  dataset: opt.oneOf([...TOY_CLASSIFICATION, ...TOY_REGRESSION], 'the data set (plane and multigauss mean problem=regression)'),
  regDataset: opt.oneOf(Object.keys(REG_NAMES), "the regression set, in the original's names (reg-plane, reg-gauss) or ours"),
  problem: opt.oneOf(['classification', 'regression'] as const, 'classification or regression'),
  noise: opt.integer('noise, in percent', { min: 0, max: 50 }),
  percTrainData: opt.integer('the share of points trained on, in percent', { min: 10, max: 90 }),
  batchSize: opt.integer('points per step', { min: 1, max: 1000 }),
  learningRate: opt.number('the learning rate', { min: 0, minExclusive: true, max: 100 }),
  activation: opt.oneOf(HIDDEN_ACTIVATIONS, 'the hidden layers\u2019 activation'),
  activations: opt.custom<string[]>('list', 'one activation per hidden layer', activationsProblem),
  regularization: opt.oneOf(['none', 'L1', 'L2'] as const, 'the kernel penalty'),
  regularizationRate: opt.number('its factor', { min: 0, max: 100 }),
  networkShape: opt.custom<number[]>('list', 'neurons per hidden layer, e.g. 4,2', shapeProblem),
  ...featureOptions,
  discretize: flag('show the output\u2019s sign only'),
  showTestData: flag('draw the test points'),
  seed: opt.custom<string>('seed', 'the seed of the points and the weights', (v) => (typeof v === 'string' && /^[A-Za-z0-9._-]{1,40}$/.test(v) ? null : `must be up to 40 letters, digits, '.', '_' or '-', got ${JSON.stringify(v)}`)),
  optimizer: opt.oneOf(OPTIMIZERS, 'the optimizer'),
  loss: opt.oneOf(['mse', 'crossentropy'] as const, 'mse (a tanh output on ±1 labels, as the original) or crossentropy (a sigmoid output on 0/1 labels)'),
  dropout: opt.number('dropout after every hidden layer', { min: 0, max: 1, maxExclusive: true }),
  batchNorm: flag('batch normalization after every hidden layer'),
  backend: opt.oneOf(['webgpu', 'cpu'] as const, 'webgpu (on the page) or cpu (webgrad\u2019s CPU backend in a Web Worker)'),
});

export type LinkKey = keyof typeof LINK.spec;

/** The original's keys this page has no use for: read without complaint while they hold its defaults. */
const IGNORED: Record<string, string> = { cosX: 'false', cosY: 'false', collectStats: 'false', initZero: 'false', hideText: 'false', tutorial: '' };

/** A value from a link, clipped for a message: a link can hold anything. */
const clip = (s: string) => JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s);

/** A raw hash value as the key's kind reads it: numbers, true/false, lists; what does not parse stays a string, for the check to refuse. */
function typed(key: LinkKey, raw: string): unknown {
  const kind = LINK.spec[key].kind;
  if (kind === 'number' || kind === 'integer') return raw.trim() === '' || Number.isNaN(Number(raw)) ? raw : Number(raw);
  if (kind === 'boolean') return raw === 'true' ? true : raw === 'false' ? false : raw;
  if (key === 'networkShape') return raw.trim() === '' ? [] : raw.split(',').map((s) => (s.trim() !== '' && !Number.isNaN(Number(s)) ? Number(s) : s));
  if (key === 'activations') return raw.split(',');
  return raw;
}

/** One thing a link got wrong, and the keys whose values the page chose instead (none for a key it ignored outright). */
export interface LinkProblem {
  text: string;
  keys: LinkKey[];
}

export interface ParsedLink {
  state: PlaygroundState;
  /** One per key that was refused, each naming the key, the value and what was used instead. */
  problems: LinkProblem[];
  /** The keys the link gave a valid value for. */
  named: LinkKey[];
  /** Whether the link named a seed (otherwise the caller's was kept). */
  hasSeed: boolean;
}

/** A hash (with or without '#') read into a state; every bad key or value is named and falls back to its default. */
export function parseHash(hash: string, fallbackSeed = '1'): ParsedLink {
  const state = defaultState(fallbackSeed);
  const problems: LinkProblem[] = [];
  const say = (text: string, keys: LinkKey[] = []) => problems.push({ text, keys });
  const given: Partial<Record<LinkKey, unknown>> = {};
  const body = hash.startsWith('#') ? hash.slice(1) : hash;
  for (const part of body.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    let key: string;
    let raw: string;
    try {
      key = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
      raw = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1));
    } catch {
      say(`link: ${clip(part)} is not URL-encoded text; ignored`);
      continue;
    }
    if (key.endsWith('_hide') || IGNORED[key] === raw) continue;
    if (Object.hasOwn(IGNORED, key)) {
      say(`link: ${key}=${clip(raw)} is a TensorFlow Playground setting this page does not have; ignored`);
      continue;
    }
    if (!Object.hasOwn(LINK.spec, key)) {
      const text = unknownKeyText(key);
      // The nearest key is what the link most likely meant: setting it resolves this.
      const meant = /did you mean '(\w+)'\?/.exec(text)?.[1];
      say(text, meant && Object.hasOwn(LINK.spec, meant) ? [meant as LinkKey] : []);
      continue;
    }
    const k = key as LinkKey;
    const value = typed(k, raw);
    const problem = LINK.spec[k].problem(value);
    // The value is shown clipped, the nearest valid one kept: "must be one of 'relu', ..., got "tan" (did you mean 'tanh'?)".
    if (problem) say(`link: ${k} ${problem.replace(/, got .*?( \(did you mean [^)]*\?\))?$/s, (_m, dym?: string) => `, got ${clip(raw)}${dym ?? ''}`)}; using ${serializeValue(k, state)}`, [k]);
    else given[k] = value;
  }
  Object.assign(state, given);
  if (given.regDataset !== undefined) state.regDataset = REG_NAMES[given.regDataset as string];
  // dataset=plane is our short spelling of problem=regression&regDataset=reg-plane.
  if ((TOY_REGRESSION as readonly string[]).includes(state.dataset)) {
    if (given.problem === 'classification') say(`link: dataset=${state.dataset} is a regression set; problem=classification ignored`, ['problem', 'dataset']);
    state.regDataset = state.dataset as unknown as RegressionSet;
    state.problem = 'regression';
    state.dataset = 'circle';
  }
  fitActivations(state, given.activations as string[] | undefined, say);
  if (!FEATURES.some((f) => state[f])) {
    say('link: every input feature is off; the network needs at least one, so x and y are on', [...FEATURES]);
    state.x = state.y = true;
  }
  return { state, problems, named: Object.keys(given) as LinkKey[], hasSeed: given.seed !== undefined };
}

function unknownKeyText(key: string): string {
  try {
    LINK.check({ [key]: undefined });
    return `link: unknown key ${clip(key)}`;
  } catch (e) {
    // The option set's own message names the nearest key and lists the valid ones.
    return `${(e as Error).message.replace(`'${key}'`, clip(key))}; ignored`;
  }
}

/** Per-layer activations that match networkShape: the link's when they fit, else the global one for every layer. */
function fitActivations(state: PlaygroundState, given: string[] | undefined, say: (text: string, keys: LinkKey[]) => void): void {
  const n = state.networkShape.length;
  if (given !== undefined && given.length !== n) say(`link: activations lists ${given.length} activation${given.length === 1 ? '' : 's'} for ${n} hidden layer${n === 1 ? '' : 's'} (networkShape); using ${state.activation} for each`, ['activations', 'activation']);
  state.activations = given !== undefined && given.length === n ? [...given] : Array(n).fill(state.activation);
}

function serializeValue(key: LinkKey, s: PlaygroundState): string {
  if (key === 'regDataset') return REG_KEY[s.regDataset];
  const v = s[key as keyof PlaygroundState];
  return Array.isArray(v) ? v.join(',') : String(v);
}

/** The state as a hash (no '#'), every key in the Playground's order, then ours; per-layer activations only when they differ. */
export function serializeHash(s: PlaygroundState): string {
  const keys = LINK.keys.filter((k) => k !== 'activations' || s.activations.some((a) => a !== s.activation)) as LinkKey[];
  // Commas stay as they are (networkShape=4,2, as the Playground writes it).
  return keys.map((k) => `${k}=${encodeURIComponent(serializeValue(k, s)).replace(/%2C/g, ',')}`).join('&');
}

/** The seed as webgrad's seeds are (an integer in [0, 2^32)): a decimal integer as itself, anything else (the original's 0.12345) by FNV-1a. */
export function seedNumber(seed: string): number {
  if (/^\d{1,10}$/.test(seed) && Number(seed) < 2 ** 32) return Number(seed);
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The hidden layers' activations after a change of shape: kept where the layer stays, the global one for a new layer. */
export function reshapeActivations(s: PlaygroundState): string[] {
  return s.networkShape.map((_, i) => s.activations[i] ?? s.activation);
}

/** The features that are on, in the Playground's order. */
export const chosenFeatures = (s: PlaygroundState): Feature[] => FEATURES.filter((f) => s[f]);

/** Sets one key from a control's text (as a link would give it); returns what is wrong with it, or null when set. */
export function setFromText(s: PlaygroundState, key: LinkKey, raw: string): string | null {
  const value = typed(key, raw);
  const problem = LINK.spec[key].problem(value);
  if (problem) return `${key} ${problem}`;
  (s as Record<string, unknown>)[key] = key === 'regDataset' ? REG_NAMES[raw] : value;
  return null;
}
