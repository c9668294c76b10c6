// Recurrent layers on sequences [steps, features]: SimpleRNN, LSTM and GRU,
// with Keras' names, options and defaults. Each records the input
// projections of every step as one matmul, then the whole sequence, forward
// (and backward, through its gradient rule) in one launch of the cell's
// sequence kernel (src/ops/recurrent.ts).
import { ValueError } from '../core/errors.js';
import type { OptionsOf } from '../core/options.js';
import { defineOptions, opt } from '../core/options.js';
import type { Graph, Value } from '../graph/graph.js';
import { biasAdd } from '../ops/bias.js';
import { dropout as dropoutOp, pcg, rateProblem, seedProblem } from '../ops/dropout.js';
import { fill } from '../ops/elementwise.js';
import { matmul } from '../ops/matmul.js';
import type { RecurrentCell } from '../ops/recurrent.js';
import { lastStep, RECURRENT_GATES, recurrentSequence } from '../ops/recurrent.js';
import { reshape } from '../ops/reshape.js';
import type { InitializerName } from './initializers.js';
import { checkInitializer, initialize, INITIALIZERS } from './initializers.js';
import type { ForwardContext, Layer, LayerDefinition, ParamSpec } from './layer-base.js';
import { autoName, checkRegularizers, initializerProblem, layerCommon, regularizerOptions } from './layer-base.js';
import type { Regularizer } from './regularizers.js';
import { addPenalties, regularizerOpt, resolveRegularizer } from './regularizers.js';

export type RecurrentType = 'simpleRNN' | 'lstm' | 'gru';

/** What every recurrent kind's config holds. */
interface RecurrentBase<T extends RecurrentType> {
  type: T;
  name: string;
  units: number;
  /** The cell's activation (Keras' default tanh; the only one supported). Not an activation applied after the layer. */
  activation: 'tanh';
  useBias: boolean;
  returnSequences: boolean;
  goBackwards: boolean;
  kernelInitializer: InitializerName;
  recurrentInitializer: InitializerName;
  biasInitializer: InitializerName;
  /** Keras' dropout: the fraction of input features dropped in training, one mask per sample for every step. */
  dropout: number;
  /** Keras' recurrent_dropout: the fraction of state units dropped where h_prev enters the recurrent matmul, one mask per sample for every step. */
  recurrentDropout: number;
  /** The masks' seed (Keras' seed); absent: from the model's seed and the layer's position. */
  seed?: number;
  kernelRegularizer?: Regularizer;
  recurrentRegularizer?: Regularizer;
  biasRegularizer?: Regularizer;
  inputShape?: number[];
}

export type SimpleRnnConfig = RecurrentBase<'simpleRNN'>;
export type LstmConfig = RecurrentBase<'lstm'> & { recurrentActivation: 'sigmoid'; unitForgetBias: boolean };
export type GruConfig = RecurrentBase<'gru'> & { recurrentActivation: 'sigmoid'; resetAfter: boolean };
export type RecurrentConfig = SimpleRnnConfig | LstmConfig | GruConfig;

/** Keras' defaults, for the builders and for files that leave a field out. */
export const RECURRENT_DEFAULTS = {
  activation: 'tanh',
  useBias: true,
  returnSequences: false,
  goBackwards: false,
  kernelInitializer: 'glorotUniform',
  recurrentInitializer: 'orthogonal',
  biasInitializer: 'zeros',
  dropout: 0,
  recurrentDropout: 0,
} as const;
export const LSTM_DEFAULTS = { ...RECURRENT_DEFAULTS, recurrentActivation: 'sigmoid', unitForgetBias: true } as const;
export const GRU_DEFAULTS = { ...RECURRENT_DEFAULTS, recurrentActivation: 'sigmoid', resetAfter: true } as const;

const initializerOpt = (what: string, dflt: string) => opt.custom<string>('initializer', `${what} (default ${dflt}): ${INITIALIZERS.join(', ')}`, initializerProblem);
const rateOpt = (help: string) => opt.number(help, { min: 0, max: 1, maxExclusive: true });

const COMMON_OPTIONS = {
  activation: opt.oneOf(['tanh'] as const, "the cell's activation: 'tanh' (Keras' default, the only one supported)"),
  useBias: opt.boolean('add biases (default true)'),
  returnSequences: opt.boolean('give the state after every step [steps, units] (true) or after the last [units] (false, the default)'),
  goBackwards: opt.boolean('read the sequence from its last step to its first (default false); with returnSequences the states come in that order, as in Keras'),
  kernelInitializer: initializerOpt("the input kernel's initializer", 'glorotUniform'),
  recurrentInitializer: initializerOpt("the recurrent kernel's initializer", 'orthogonal'),
  biasInitializer: initializerOpt("the bias' initializer", 'zeros'),
  dropout: rateOpt("the fraction of input features dropped while training, one mask per sample kept for every step (default 0; Keras' dropout)"),
  recurrentDropout: rateOpt("the fraction of state units dropped where the previous state enters the recurrent matmul while training, one mask per sample kept for every step (default 0; Keras' recurrent_dropout)"),
  seed: opt.custom<number>('integer', "the dropout masks' seed, an integer in [0, 2^32) (default: from the model's seed and the layer's position)", seedProblem),
  ...regularizerOptions,
  recurrentRegularizer: regularizerOpt('recurrent kernel'),
  inputShape: layerCommon.inputShape,
  name: layerCommon.name,
};
const KERAS_NAMES = {
  units: 'the first argument: lstm(units, options)', return_sequences: 'returnSequences', go_backwards: 'goBackwards', use_bias: 'useBias',
  kernel_initializer: 'kernelInitializer', recurrent_initializer: 'recurrentInitializer', bias_initializer: 'biasInitializer',
  recurrent_dropout: 'recurrentDropout', kernel_regularizer: 'kernelRegularizer', recurrent_regularizer: 'recurrentRegularizer', bias_regularizer: 'biasRegularizer',
  input_shape: 'inputShape', unit_forget_bias: 'unitForgetBias', reset_after: 'resetAfter', recurrent_activation: 'recurrentActivation',
  return_state: 'not supported: the layer gives its output only', stateful: 'not supported: every batch starts from a zero state',
};
const recurrentActivationOpt = opt.oneOf(['sigmoid'] as const, "the gates' activation: 'sigmoid' (Keras' default, the only one supported)");

const SIMPLE_RNN_OPTIONS = defineOptions('simpleRNN', COMMON_OPTIONS, KERAS_NAMES);
const LSTM_OPTIONS = defineOptions('lstm', { ...COMMON_OPTIONS, recurrentActivation: recurrentActivationOpt, unitForgetBias: opt.boolean("add 1 to the forget gate's bias at initialization (default true, as Keras)") }, KERAS_NAMES);
const GRU_OPTIONS = defineOptions('gru', { ...COMMON_OPTIONS, recurrentActivation: recurrentActivationOpt, resetAfter: opt.boolean("apply the reset gate after the recurrent matmul, with a separate recurrent bias (default true, Keras 2's and cuDNN's form)") }, KERAS_NAMES);

type CommonOptions = OptionsOf<typeof SIMPLE_RNN_OPTIONS.spec>;

function baseConfig<T extends RecurrentType>(type: T, units: number, o: CommonOptions): RecurrentBase<T> {
  const kernelRegularizer = resolveRegularizer(o.kernelRegularizer, `${type}: kernelRegularizer`);
  const recurrentRegularizer = resolveRegularizer(o.recurrentRegularizer, `${type}: recurrentRegularizer`);
  const biasRegularizer = resolveRegularizer(o.biasRegularizer, `${type}: biasRegularizer`);
  return {
    type,
    name: o.name ?? autoName(type === 'simpleRNN' ? 'simple_rnn' : type),
    units,
    ...RECURRENT_DEFAULTS,
    ...definedOnly({ activation: o.activation, useBias: o.useBias, returnSequences: o.returnSequences, goBackwards: o.goBackwards, dropout: o.dropout, recurrentDropout: o.recurrentDropout }),
    kernelInitializer: checkInitializer(o.kernelInitializer ?? RECURRENT_DEFAULTS.kernelInitializer),
    recurrentInitializer: checkInitializer(o.recurrentInitializer ?? RECURRENT_DEFAULTS.recurrentInitializer),
    biasInitializer: checkInitializer(o.biasInitializer ?? RECURRENT_DEFAULTS.biasInitializer),
    ...(kernelRegularizer ? { kernelRegularizer } : {}),
    ...(recurrentRegularizer ? { recurrentRegularizer } : {}),
    ...(biasRegularizer ? { biasRegularizer } : {}),
    ...(o.seed === undefined ? {} : { seed: o.seed }),
    inputShape: o.inputShape,
  };
}

const definedOnly = <O extends object>(o: O): Partial<O> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<O>;

/** The config of a kind, for the builders below: layerFromConfig (in layers.ts) builds the layer from it. */
export function simpleRnnConfig(units: number, options: CommonOptions = {}): SimpleRnnConfig {
  return baseConfig('simpleRNN', units, SIMPLE_RNN_OPTIONS.check(options));
}
export function lstmConfig(units: number, options: OptionsOf<typeof LSTM_OPTIONS.spec> = {}): LstmConfig {
  const o = LSTM_OPTIONS.check(options);
  return { ...baseConfig('lstm', units, o), recurrentActivation: 'sigmoid', unitForgetBias: o.unitForgetBias ?? true };
}
export function gruConfig(units: number, options: OptionsOf<typeof GRU_OPTIONS.spec> = {}): GruConfig {
  const o = GRU_OPTIONS.check(options);
  return { ...baseConfig('gru', units, o), recurrentActivation: 'sigmoid', resetAfter: o.resetAfter ?? true };
}

export type SimpleRnnOptions = CommonOptions;
export type LstmOptions = OptionsOf<typeof LSTM_OPTIONS.spec>;
export type GruOptions = OptionsOf<typeof GRU_OPTIONS.spec>;

/** A config's fields checked as the builders check options: a file may hold anything. */
function checkConfig(c: RecurrentConfig): void {
  const at = (what: string) => `${c.name}: ${what}`;
  if (!Number.isInteger(c.units) || c.units < 1) throw new ValueError(at(`units must be a positive integer, got ${JSON.stringify(c.units)}`));
  if (c.activation !== 'tanh') throw new ValueError(at(`activation '${c.activation}' is not supported: the recurrent layers use tanh (Keras' default)`));
  if ('recurrentActivation' in c && c.recurrentActivation !== 'sigmoid') throw new ValueError(at(`recurrentActivation '${c.recurrentActivation}' is not supported: the gates use sigmoid (Keras' default)`));
  for (const k of ['useBias', 'returnSequences', 'goBackwards'] as const) if (typeof c[k] !== 'boolean') throw new ValueError(at(`${k} must be true or false, got ${JSON.stringify(c[k])}`));
  if (c.type === 'lstm' && typeof c.unitForgetBias !== 'boolean') throw new ValueError(at(`unitForgetBias must be true or false, got ${JSON.stringify(c.unitForgetBias)}`));
  if (c.type === 'gru' && typeof c.resetAfter !== 'boolean') throw new ValueError(at(`resetAfter must be true or false, got ${JSON.stringify(c.resetAfter)}`));
  for (const k of ['dropout', 'recurrentDropout'] as const) if (rateProblem(c[k])) throw new ValueError(at(`${k} ${rateProblem(c[k])}`));
  if (c.seed !== undefined && seedProblem(c.seed)) throw new ValueError(at(`seed ${seedProblem(c.seed)}`));
  for (const k of ['kernelInitializer', 'recurrentInitializer', 'biasInitializer'] as const) checkInitializer(c[k]);
  checkRegularizers(c, ['kernelRegularizer', 'recurrentRegularizer', 'biasRegularizer']);
}

const CELL: { readonly [T in RecurrentType]: RecurrentCell } = { simpleRNN: 'simpleRnn', lstm: 'lstm', gru: 'gru' };

/** The layer of a recurrent config: samples [steps, features] → [units], or [steps, units] with returnSequences. */
export function recurrentLayer(c: RecurrentConfig): LayerDefinition {
  checkConfig(c);
  const U = c.units;
  // The gates per unit, in Keras' order: SimpleRNN's one, LSTM's four (i, f, c, o), GRU's three (z, r, h).
  const G = RECURRENT_GATES[CELL[c.type]];
  const resetAfter = c.type === 'gru' && c.resetAfter;
  const check = (input: number[]) => {
    if (input.length !== 2) throw new ValueError(`${c.name}: a ${c.type} layer takes sequences [steps, features], got [${input.join(', ')}]${input.length === 1 ? '; for a sequence of single values give [steps, 1]' : input.length === 3 ? '; images are read as sequences of rows by a reshape to [height, width·channels] first' : ''}`);
  };
  return {
    name: c.name,
    config: c,
    activation: 'linear',
    // A mask of padded steps (an Embedding's maskZero) is taken: padded steps keep the state. Every step's
    // output hands it on; the last state alone consumes it (Keras' RNN.compute_mask).
    masking: c.returnSequences ? 'pass' : 'consume',
    outputShape(input) {
      check(input);
      return c.returnSequences ? [input[0], U] : [U];
    },
    params(input) {
      check(input);
      const F = input[1];
      const specs: ParamSpec[] = [
        { name: `${c.name}/kernel`, shape: [F, G * U], init: (r) => initialize(c.kernelInitializer, F * G * U, F, G * U, r) },
        { name: `${c.name}/recurrent_kernel`, shape: [U, G * U], init: (r) => initialize(c.recurrentInitializer, U * G * U, U, G * U, r) },
      ];
      if (c.useBias) {
        specs.push({
          name: `${c.name}/bias`,
          shape: [G * U],
          init: (r) => {
            const b = initialize(c.biasInitializer, G * U, G * U, G * U, r);
            // Keras' unit_forget_bias: the forget gate (the second block of i, f, c, o) starts at 1, whatever the initializer.
            if (c.type === 'lstm' && c.unitForgetBias) b.fill(1, U, 2 * U);
            return b;
          },
        });
        // GRU with resetAfter has a second bias, on the recurrent projection: Keras' bias [2, 3·units] as two rows, torch's bias_ih and bias_hh.
        if (resetAfter) specs.push({ name: `${c.name}/recurrent_bias`, shape: [G * U], init: (r) => initialize(c.biasInitializer, G * U, G * U, G * U, r) });
      }
      return specs;
    },
    forward(g, x, [kernel, recurrent, bias, recurrentBias], ctx) {
      addPenalties(g, ctx, c.name, [[kernel, c.kernelRegularizer, 'kernel'], [recurrent, c.recurrentRegularizer, 'recurrent_kernel'], [bias, c.biasRegularizer, 'bias'], [recurrentBias, c.biasRegularizer, 'recurrent_bias']]);
      const [B, T, F] = x.shape;
      const masks = dropoutMasks(g, c, B, F, ctx);
      // Every step's input projection at once: [B·T, F]·[F, G·U].
      let xp = g.op(matmul, [g.op(reshape, [masks.input(x)], { shape: [B * T, F] }, `${c.name}/rows`), kernel], {}, `${c.name}/input_projection`);
      if (bias) xp = g.op(biasAdd, [xp, bias], {}, `${c.name}/input_bias`);
      xp = g.op(reshape, [xp], { shape: [B, T, G * U] }, `${c.name}/projections`);
      const attrs = { cell: CELL[c.type], units: U, goBackwards: c.goBackwards, ...(c.type === 'gru' ? { resetAfter } : {}), ...(ctx.mask ? { masked: true } : {}), ...(masks.recurrent ? { recurrentDropout: true } : {}) };
      // Without biases a GRU with resetAfter still takes a recurrent bias input: zeros, a constant of the graph.
      const inputs = resetAfter ? [xp, recurrent, recurrentBias ?? zeros(g, G * U, c.name)] : [xp, recurrent];
      // The step mask, then the recurrent dropout mask last, after every other input the kernel takes.
      if (ctx.mask) inputs.push(ctx.mask);
      if (masks.recurrent) inputs.push(masks.recurrent);
      const [hs] = g.apply(recurrentSequence, inputs, attrs, `${c.name}/sequence`);
      return c.returnSequences ? hs : g.op(lastStep, [hs], {}, `${c.name}/last_step`);
    },
  };
}

/**
 * Keras' dropout and recurrent_dropout as its DropoutRNNCell draws them
 * (variational dropout, Gal and Ghahramani 2016): in training only, a mask per
 * sample drawn once per training step and kept for every time step. The
 * input's, over features: x ⊙ m[B, 1, F], a dropout with noise shape [B, 1, F]
 * (its gradient the same mask). The recurrent one, over units: 0 or
 * 1/(1 − rate) [B, U], dropout of ones, which the sequence kernel multiplies
 * h_prev by where it enters the recurrent matmul. Each mask has its own seed.
 * One mask serves every gate, as Keras 3's LSTMCell and SimpleRNNCell draw it;
 * Keras' GRUCell with recurrent_dropout draws one per gate (z, r, h), which
 * this is with the three equal.
 */
function dropoutMasks(g: Graph, c: RecurrentConfig, B: number, F: number, ctx: ForwardContext): { input(x: Value): Value; recurrent: Value | null } {
  const on = (rate: number) => ctx.training && rate > 0;
  const seed = c.seed ?? ctx.seed;
  const recurrent = on(c.recurrentDropout)
    ? g.op(dropoutOp, [g.op(fill, [], { shape: [B, c.units], value: 1 }, `${c.name}/state_ones`), ctx.step()], { rate: c.recurrentDropout, seed: pcg(seed ^ RECURRENT_SEED) }, `${c.name}/recurrent_dropout_mask`)
    : null;
  return {
    input: (x) => (on(c.dropout) ? g.op(dropoutOp, [x, ctx.step()], { rate: c.dropout, seed, noiseShape: [B, 1, F] }, `${c.name}/input_dropout`) : x),
    recurrent,
  };
}
/** Mixed into the layer's seed for the recurrent mask, so that it is not the input mask's. */
const RECURRENT_SEED = 0x52ec;

/** A zero vector recorded in the graph (a launch of fill): the recurrent bias of a GRU without biases. */
function zeros(g: Graph, n: number, name: string): Value {
  return g.op(fill, [], { shape: [n], value: 0 }, `${name}/no_recurrent_bias`);
}
