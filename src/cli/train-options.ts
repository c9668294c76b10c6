import { ValueError } from '../core/errors.js';
import { LAYER_ACTIVATIONS } from '../nn/layers.js';
import { GPT_DEFAULTS } from '../nn/gpt.js';
import type { LayerToken } from '../nn/spec.js';
import { parseSpec } from '../nn/spec.js';
import { didYouMean } from '../core/options.js';
import { OPTIMIZER_OPTIONS, OPTIMIZERS } from '../optim/optimizers.js';
import type { OptimizerType } from '../optim/optimizers.js';
import type { Args } from './args.js';
import { oneOf } from './args.js';
import type { Task, ToyFlags } from './data.js';
import { isTextData } from './data.js';
import type { PointFeature } from '../ops/features.js';
import { featuresProblem } from '../ops/features.js';
import { isToyName } from '../data/toy.js';

export const TRAIN_FLAGS = [
  'data', 'test-data', 'label-column', 'task', 'layers', 'activation', 'loss', 'optimizer', 'lr', 'momentum', 'epochs',
  'batch-size', 'validation-split', 'early-stopping', 'seed', 'backend', 'save', 'plot', 'lr-schedule', 'dropout', 'l1', 'l2',
  'noise', 'points', 'test-percent', 'features', 'context', 'clipnorm', 'global-clipnorm', 'clipvalue', 'weight-decay',
  'exclude-from-weight-decay', 'warmup-steps',
] as const;
export const TRAIN_BOOLEANS = ['standardize', 'json', 'batch-norm'] as const;
/** Booleans of `train` alone (sweep compares runs by their validation scores without them). */
export const TRAIN_ONLY_BOOLEANS = ['no-bn-recompute'] as const;

export interface TrainOptions {
  data?: string;
  testData?: string;
  labelColumn?: string;
  task?: Task;
  layers: LayerToken[];
  /** `--layers gpt` or `gptW:B:H`: a GPT of that width, blocks and heads instead of a --layers chain (then `layers` is empty). */
  gpt?: { width: number; blocks: number; heads: number };
  /** The Playground's input features of (x, y), put first in the model (a PointFeatures layer); absent: the data's features as they are. */
  features?: PointFeature[];
  /** --noise, --points, --test-percent, for the Playground's data sets. */
  toy: ToyFlags;
  /** --context: characters per window of text data. */
  context?: number;
  /** Dropout of this rate after every hidden dense layer (0: none). */
  dropout: number;
  /** Batch normalization after every hidden dense and conv layer. */
  batchNorm: boolean;
  /**
   * fit's recomputeBatchNormStatistics, on unless --no-bn-recompute: after a
   * short run the moving averages (momentum 0.99) are still far from the
   * data's, and a one-epoch CNN tested at 50% with them.
   */
  bnRecompute: boolean;
  /** Kernel penalties on every dense and conv layer (0: none). */
  l1: number;
  l2: number;
  activation: string;
  loss?: string;
  optimizer: OptimizerType;
  lr?: number;
  /** 'cosine': decay to 0 over the whole run (Keras' CosineDecay over epochs × batches). */
  lrSchedule: 'constant' | 'cosine';
  momentum?: number;
  /** Keras' optimizer arguments (--clipnorm, --global-clipnorm, --clipvalue: at most one; --weight-decay, --exclude-from-weight-decay). */
  clipnorm?: number;
  globalClipnorm?: number;
  clipvalue?: number;
  weightDecay?: number;
  excludeFromWeightDecay?: string[];
  /** With --lr-schedule cosine: a linear warmup from 0 to the rate over these steps, then the cosine over the rest of the run. */
  warmupSteps?: number;
  epochs: number;
  batchSize: number;
  validationSplit: number;
  earlyStopping?: number;
  standardize: boolean;
  seed: number;
  backend?: 'webgpu' | 'cpu';
  save?: string;
  plot?: string;
  json: boolean;
}

/** A number flag checked by `check` (`need` says what it must be), or undefined when absent. */
export function num(flag: string, v: string | undefined, check: (n: number) => boolean, need: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || !check(n)) throw new ValueError(`--${flag} must be ${need}; got '${v}'`);
  return n;
}

/** A whole-number flag of at least `min`, or undefined when absent. */
export const int = (flag: string, v: string | undefined, min: number) => num(flag, v, (n) => Number.isInteger(n) && n >= min, `a whole number >= ${min}`);

/** `--layers 128,64` or `conv32:3,maxpool2,flatten,128` (see SPEC_HELP); `--layers ''` or `none` for none (a linear or logistic model). */
export function parseLayers(v: string | undefined): LayerToken[] {
  if (v === undefined) return [128];
  return parseSpec(v);
}

/**
 * Defaults for the Playground's data sets (--data circle ...): its own batch
 * size, 10, and 100 epochs. At MNIST's 32 and 10, the 250 training points
 * give 80 steps, and --data circle --layers 8,8,8 --activation tanh tested
 * at 63%; at these, 100% (seeds 1 to 5).
 */
export const TOY_BATCH_SIZE = 10;

/**
 * `--layers gpt` (the defaults, GPT_DEFAULTS: width 128, 4 blocks, 4 heads) or
 * `gptW:B:H` (e.g. gpt64:2:2): a small GPT (src/nn/gpt.ts); undefined for any
 * other spec.
 */
export function parseGpt(v: string | undefined): TrainOptions['gpt'] {
  const m = v === undefined ? null : /^\s*gpt(?:(\d+):(\d+):(\d+))?\s*$/.exec(v);
  if (!m) {
    if (v !== undefined && /(^|,)\s*gpt/.test(v)) throw new ValueError(`--layers ${v}: gpt is a whole model, given alone: --layers gpt, or gptW:B:H for width W, B blocks and H heads (e.g. gpt64:2:2)`);
    return undefined;
  }
  const [width, blocks, heads] = m[1] === undefined ? [GPT_DEFAULTS.width, GPT_DEFAULTS.blocks, GPT_DEFAULTS.heads] : [Number(m[1]), Number(m[2]), Number(m[3])];
  if (![width, blocks, heads].every((n) => n >= 1)) throw new ValueError(`--layers ${m[0].trim()}: width, blocks and heads must be at least 1`);
  if (width % heads !== 0) throw new ValueError(`--layers ${m[0].trim()}: width ${width} is not a multiple of heads ${heads}; each head takes width / heads features`);
  return { width, blocks, heads };
}

/** The layers for text data without --layers: 64 values per character, an LSTM of 128 units, then the output. */
export const TEXT_LAYERS: LayerToken[] = ['embed64', 'lstm128'];

/**
 * Text's own recipe: 20 epochs, Adam at 0.005. An epoch of the built-in
 * corpus is only 49 steps of 32 windows; at the CLI's general 10 epochs and
 * 0.002 its test loss ended at 2.51 nats per character (seed 1), and
 * generated text had few words; at these, 1.86–1.88 (seeds 1–3,
 * examples/results/char-model.txt), and words.
 */
export const TEXT_EPOCHS = 20;
export const TEXT_ADAM_LR = 0.005;
export const TOY_EPOCHS = 100;

/** `--features x,y,xTimesY`: the Playground's names, each once. */
export function parseFeatures(v: string | undefined): PointFeature[] | undefined {
  if (v === undefined) return undefined;
  const list = v.split(',').map((s) => s.trim());
  const problem = featuresProblem(list);
  if (problem) throw new ValueError(`--features ${problem.replace(/^must be/, 'must be')}; e.g. --features x,y,xTimesY`);
  return list as PointFeature[];
}

/**
 * The CLI's own recipe for Adam: 0.002 rather than Keras' 0.001. Measured on
 * the built-in digits (8,000 samples, batch 32, 10 epochs, seeds 42, 7, 1),
 * 0.001 ended at 94.9–95.4% test accuracy, 0.002 at 95.2–95.7%.
 */
export const CLI_ADAM_LR = 0.002;

/** The optimizers that take --momentum (Keras' SGD and RMSprop, and our 'momentum'). */
const TAKES_MOMENTUM: readonly OptimizerType[] = OPTIMIZERS.filter((t) => 'momentum' in OPTIMIZER_OPTIONS[t]);

/**
 * `webgrad train FILE.csv`: a lone positional argument is the data set, as
 * --data; anything else positional is refused rather than ignored.
 */
function dataFlag(f: Map<string, string>, positional: readonly string[]): string | undefined {
  if (positional.length === 0) return f.get('data');
  if (positional.length > 1) throw new ValueError(`train takes one data file or folder; got ${positional.map((p) => `'${p}'`).join(', ')} (flags start with --)`);
  if (f.has('data')) throw new ValueError(`got both --data ${f.get('data')} and the data argument '${positional[0]}'; give one`);
  return positional[0];
}

/** --clipnorm, --global-clipnorm, --clipvalue, --weight-decay, --exclude-from-weight-decay, --warmup-steps: checked, and refused in combinations that mean nothing. */
function optimizerFlags(f: Map<string, string>, optimizer: OptimizerType, lrSchedule: string) {
  const positive = (flag: string) => num(flag, f.get(flag), (n) => n > 0, 'a positive number');
  const clips = ['clipnorm', 'global-clipnorm', 'clipvalue'].filter((k) => f.has(k));
  if (clips.length > 1) throw new ValueError(`--${clips.join(' and --')}: give one (Keras takes one of clipnorm, global_clipnorm and clipvalue)`);
  const exclude = f.get('exclude-from-weight-decay')?.split(',').map((s) => s.trim());
  if (exclude?.some((s) => s === '')) throw new ValueError(`--exclude-from-weight-decay takes parts of weight names separated by commas, e.g. bias,layer_normalization,embedding; got '${f.get('exclude-from-weight-decay')}'`);
  const weightDecay = num('weight-decay', f.get('weight-decay'), (n) => n >= 0, 'a number >= 0');
  // AdamW decays by default (0.004, Keras'); the others only with --weight-decay.
  if (exclude && !(weightDecay ?? (optimizer === 'adamw' ? 0.004 : 0))) {
    throw new ValueError(`--exclude-from-weight-decay needs weight decay: give --weight-decay W, or --optimizer adamw (which decays by default)`);
  }
  const warmupSteps = int('warmup-steps', f.get('warmup-steps'), 1);
  if (warmupSteps !== undefined && lrSchedule !== 'cosine') throw new ValueError(`--warmup-steps warms up into the cosine schedule: add --lr-schedule cosine`);
  return { clipnorm: positive('clipnorm'), globalClipnorm: positive('global-clipnorm'), clipvalue: positive('clipvalue'), weightDecay, excludeFromWeightDecay: exclude, warmupSteps };
}

/** --layers as a GPT or a chain of tokens (text without --layers: TEXT_LAYERS); a GPT needs text data. */
function gptOrLayers(f: Map<string, string>, text: boolean): Pick<TrainOptions, 'layers' | 'gpt'> {
  const gpt = parseGpt(f.get('layers'));
  if (gpt && !text) throw new ValueError(`--layers ${f.get('layers')}: a GPT is a character model; give it text (--data FILE.txt, FILE.md or webgrad-docs)`);
  if (gpt) return { layers: [], gpt };
  return { layers: f.has('layers') || !text ? parseLayers(f.get('layers')) : TEXT_LAYERS };
}

/** Turns the flags into checked options: every bad value is refused before anything loads or trains. */
export function trainOptions({ flags: f, positional }: Args): TrainOptions {
  const activation = f.get('activation') ?? 'relu';
  if (!(LAYER_ACTIVATIONS as readonly string[]).includes(activation)) throw new ValueError(`--activation: unknown activation '${activation}'${didYouMean(activation, LAYER_ACTIVATIONS)} (known: ${LAYER_ACTIVATIONS.join(', ')})`);
  const optimizer = oneOf('optimizer', f.get('optimizer'), OPTIMIZERS, 'adam');
  if (f.has('momentum') && !TAKES_MOMENTUM.includes(optimizer)) {
    throw new ValueError(`--momentum does not apply to --optimizer ${optimizer}${f.has('optimizer') ? '' : ' (the default)'}; it applies to ${TAKES_MOMENTUM.join(', ')} (e.g. --optimizer sgd --momentum 0.9)`);
  }
  const data = dataFlag(f, positional);
  // The Playground's sets are 250 training points: its batch size 10 and 100 epochs (2,500 steps) rather than MNIST's 32 and 10 (80 steps here).
  const toy = isToyName(data);
  const text = isTextData(data ?? '');
  const lrSchedule = oneOf('lr-schedule', f.get('lr-schedule'), ['constant', 'cosine'] as const, 'constant');
  return {
    data,
    testData: f.get('test-data'),
    labelColumn: f.get('label-column'),
    task: f.has('task') ? oneOf('task', f.get('task'), ['classification', 'regression'] as const, 'classification') : undefined,
    // Text: an embedding and an LSTM by default, the output Dense giving the next character at every step.
    ...gptOrLayers(f, text),
    context: int('context', f.get('context'), 1),
    features: parseFeatures(f.get('features')),
    toy: {
      noise: num('noise', f.get('noise'), (n) => n >= 0 && n <= 50, 'a percentage from 0 to 50 (the Playground\'s noise slider)'),
      points: int('points', f.get('points'), 2),
      testPercent: num('test-percent', f.get('test-percent'), (n) => n > 0 && n < 100, 'a percentage above 0 and below 100'),
    },
    dropout: num('dropout', f.get('dropout'), (n) => n >= 0 && n < 1, 'a rate in [0, 1)') ?? 0,
    batchNorm: f.get('batch-norm') === 'true',
    bnRecompute: f.get('no-bn-recompute') !== 'true',
    l1: num('l1', f.get('l1'), (n) => n >= 0, 'a number >= 0') ?? 0,
    l2: num('l2', f.get('l2'), (n) => n >= 0, 'a number >= 0') ?? 0,
    activation,
    loss: f.get('loss'),
    optimizer,
    lr: num('lr', f.get('lr'), (n) => n > 0, 'a positive number') ?? (optimizer === 'adam' ? (text ? TEXT_ADAM_LR : CLI_ADAM_LR) : undefined),
    lrSchedule,
    momentum: num('momentum', f.get('momentum'), (n) => n >= 0 && n < 1, 'in [0, 1)'),
    ...optimizerFlags(f, optimizer, lrSchedule),
    epochs: int('epochs', f.get('epochs'), 1) ?? (toy ? TOY_EPOCHS : text ? TEXT_EPOCHS : 10),
    batchSize: int('batch-size', f.get('batch-size'), 1) ?? (toy ? TOY_BATCH_SIZE : 32),
    validationSplit: num('validation-split', f.get('validation-split'), (n) => n >= 0 && n < 1, 'in [0, 1)') ?? 0,
    earlyStopping: int('early-stopping', f.get('early-stopping'), 0),
    standardize: f.get('standardize') === 'true',
    seed: int('seed', f.get('seed'), 0) ?? 42,
    backend: f.has('backend') ? oneOf('backend', f.get('backend'), ['webgpu', 'cpu'] as const, 'webgpu') : undefined,
    save: f.get('save'),
    plot: f.get('plot'),
    json: f.get('json') === 'true',
  };
}
