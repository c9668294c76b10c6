// Keras' MultiHeadAttention: query, key and value projected to numHeads
// heads, scaled dot-product attention per head (the fused op of
// src/ops/attention.ts), the heads projected back. Called in a functional
// model as Keras calls it: layer.apply([query, value, key?],
// { useCausalMask, attentionMask }); self-attention is the same tensor twice.
import { ValueError } from '../core/errors.js';
import type { OptionsOf } from '../core/options.js';
import { defineOptions, opt } from '../core/options.js';
import type { Graph, Value } from '../graph/graph.js';
import { attention, ATTENTION_HEAD_CAP } from '../ops/attention.js';
import { biasAdd } from '../ops/bias.js';
import { rateProblem, seedProblem } from '../ops/dropout.js';
import { multiply } from '../ops/elementwise.js';
import { matmul } from '../ops/matmul.js';
import { reshape } from '../ops/reshape.js';
import type { InitializerName } from './initializers.js';
import { checkInitializer, initialize, INITIALIZERS } from './initializers.js';
import type { CallArgs, LayerDefinition, MultiInput, ParamSpec } from './layer-base.js';
import { autoName, checkRegularizers, initializerProblem, layerCommon, regularizerOptions } from './layer-base.js';
import type { Regularizer } from './regularizers.js';
import { addPenalties, resolveRegularizer } from './regularizers.js';

export interface MultiHeadAttentionConfig {
  type: 'multiHeadAttention';
  name: string;
  activation: 'linear';
  numHeads: number;
  keyDim: number;
  /** Each head's value size (Keras' default: keyDim). */
  valueDim: number;
  /** The fraction of attention probabilities dropped while training. */
  dropout: number;
  useBias: boolean;
  /** The output's features; null: the query's (Keras' default). */
  outputShape: number | null;
  kernelInitializer: InitializerName;
  biasInitializer: InitializerName;
  kernelRegularizer?: Regularizer;
  biasRegularizer?: Regularizer;
  seed?: number;
  inputShape?: number[];
}

const MHA_OPTIONS = defineOptions('multiHeadAttention', {
  numHeads: opt.integer('the number of heads (required)', { min: 1 }),
  keyDim: opt.integer("each head's query and key size (required)", { min: 1 }),
  valueDim: opt.integer("each head's value size (default keyDim)", { min: 1 }),
  dropout: opt.number('the fraction of attention probabilities dropped while training (default 0)', { min: 0, max: 1, maxExclusive: true }),
  useBias: opt.boolean('biases in the four projections (default true)'),
  outputShape: opt.integer("the output's features (default: the query's)", { min: 1 }),
  kernelInitializer: opt.custom<string>('initializer', `the projections' initializer (default glorotUniform): ${INITIALIZERS.join(', ')}`, initializerProblem),
  biasInitializer: opt.custom<string>('initializer', `the biases' initializer (default zeros): ${INITIALIZERS.join(', ')}`, initializerProblem),
  ...regularizerOptions,
  seed: opt.custom<number>('integer', "the dropout masks' seed, an integer in [0, 2^32) (default: from the model's seed and the call's position)", seedProblem),
  name: layerCommon.name,
}, {
  num_heads: 'numHeads', key_dim: 'keyDim', value_dim: 'valueDim', use_bias: 'useBias', output_shape: 'outputShape', kernel_initializer: 'kernelInitializer', bias_initializer: 'biasInitializer',
  kernel_regularizer: 'kernelRegularizer', bias_regularizer: 'biasRegularizer', attention_axes: 'not supported: attention runs over the steps (the axis before the features)',
});

export type MultiHeadAttentionOptions = OptionsOf<typeof MHA_OPTIONS.spec>;

/** The config of multiHeadAttention(options), checked. */
export function multiHeadAttentionConfig(options: MultiHeadAttentionOptions): MultiHeadAttentionConfig {
  const o = MHA_OPTIONS.check(options);
  if (o.numHeads === undefined || o.keyDim === undefined) throw new ValueError('multiHeadAttention: numHeads and keyDim are required, e.g. multiHeadAttention({ numHeads: 4, keyDim: 32 })');
  const kernelRegularizer = resolveRegularizer(o.kernelRegularizer, 'multiHeadAttention: kernelRegularizer');
  const biasRegularizer = resolveRegularizer(o.biasRegularizer, 'multiHeadAttention: biasRegularizer');
  return {
    type: 'multiHeadAttention',
    name: o.name ?? autoName('multi_head_attention'),
    activation: 'linear',
    numHeads: o.numHeads,
    keyDim: o.keyDim,
    valueDim: o.valueDim ?? o.keyDim,
    dropout: o.dropout ?? 0,
    useBias: o.useBias ?? true,
    outputShape: o.outputShape ?? null,
    kernelInitializer: checkInitializer(o.kernelInitializer ?? 'glorotUniform'),
    biasInitializer: checkInitializer(o.biasInitializer ?? 'zeros'),
    ...(kernelRegularizer ? { kernelRegularizer } : {}),
    ...(biasRegularizer ? { biasRegularizer } : {}),
    ...(o.seed === undefined ? {} : { seed: o.seed }),
  };
}

const CALL_ARGS = defineOptions('multiHeadAttention call', {
  useCausalMask: opt.boolean('query t attends keys s ≤ t only (a decoder; query and value of one length). Default false'),
  attentionMask: opt.boolean('given a tensor [queries, keys] after the inputs: 1 where a query attends a key, 0 where not (Keras\' attention_mask)'),
}, { use_causal_mask: 'useCausalMask', attention_mask: 'attentionMask', return_attention_scores: 'not supported: the fused kernel never forms the scores' });

/** The tensors of a call: query, value, key (the value where not given) and the mask, by the call's arguments. */
function parts<T>(xs: readonly T[], args: CallArgs): { query: T; value: T; key: T; mask: T | null } {
  const masked = args.attentionMask === true;
  const tensors = masked ? xs.slice(0, -1) : xs;
  if (tensors.length < 2 || tensors.length > 3) throw new ValueError(`multiHeadAttention: takes [query, value] or [query, value, key]${masked ? ' and the attentionMask' : ''}, got ${tensors.length} tensor${tensors.length === 1 ? '' : 's'}`);
  return { query: tensors[0], value: tensors[1], key: tensors[2] ?? tensors[1], mask: masked ? xs[xs.length - 1] : null };
}

/** The layer of a config (from multiHeadAttentionConfig or a file, so checked again). */
export function multiHeadAttentionLayer(config: MultiHeadAttentionConfig): LayerDefinition {
  const { name, numHeads: H, keyDim: dk, valueDim: dv, useBias } = config;
  for (const k of ['numHeads', 'keyDim', 'valueDim'] as const) if (!Number.isInteger(config[k]) || config[k] < 1) throw new ValueError(`${name}: ${k} must be a positive integer, got ${JSON.stringify(config[k])}`);
  if (dk > ATTENTION_HEAD_CAP || dv > ATTENTION_HEAD_CAP) throw new ValueError(`${name}: keyDim ${dk} and valueDim ${dv} must be at most ${ATTENTION_HEAD_CAP}, the widest head the attention kernels take; use more heads`);
  if (rateProblem(config.dropout)) throw new ValueError(`${name}: dropout ${rateProblem(config.dropout)}`);
  if (config.outputShape !== null && (!Number.isInteger(config.outputShape) || config.outputShape < 1)) throw new ValueError(`${name}: outputShape must be a positive integer or null, got ${JSON.stringify(config.outputShape)}`);
  if (config.seed !== undefined && seedProblem(config.seed)) throw new ValueError(`${name}: seed ${seedProblem(config.seed)}`);
  if (typeof useBias !== 'boolean') throw new ValueError(`${name}: useBias must be true or false, got ${JSON.stringify(useBias)}`);
  checkInitializer(config.kernelInitializer);
  checkInitializer(config.biasInitializer);
  checkRegularizers(config);
  const shapes = (inputs: number[][], args: CallArgs) => {
    const p = parts(inputs, args);
    for (const [what, s] of [['query', p.query], ['value', p.value], ['key', p.key]] as const) {
      if (s.length !== 2) throw new ValueError(`${name}: the ${what} must be sequences [steps, features], got [${s.join(', ')}]`);
    }
    const [T, S] = [p.query[0], p.value[0]];
    if (p.key[0] !== S) throw new ValueError(`${name}: the key has ${p.key[0]} steps and the value ${S}; they must be of one length`);
    if (args.useCausalMask && T !== S) throw new ValueError(`${name}: useCausalMask with a query of ${T} steps and a value of ${S}; a causal mask needs query and value of one length`);
    if (p.mask && (p.mask.length !== 2 || p.mask[0] !== T || p.mask[1] !== S)) throw new ValueError(`${name}: the attentionMask must be [queries, keys] = [${T}, ${S}] per sample, got [${p.mask.join(', ')}]`);
    return { T, S, Dq: p.query[1], Dv: p.value[1], Dk: p.key[1], out: config.outputShape ?? p.query[1] };
  };
  const multi: MultiInput = {
    min: 2,
    max: 4,
    checkArgs: (args) => CALL_ARGS.check(args) as CallArgs,
    maskProblem(masked, args) {
      const p = parts(masked, args);
      return p.mask !== null && (p.value || p.key) ? PADDED_AND_MASK : null;
    },
    outputShape(inputs, args) {
      const s = shapes(inputs, args);
      return [s.T, s.out];
    },
    params(inputs, args) {
      const s = shapes(inputs, args);
      // Keras' EinsumDense kernels [features, heads, headDim] and [heads, headDim, out], with Keras' fans for them
      // (compute_fans: the axes before the last two are a receptive field).
      const kernel = (part: string, shape: number[]): ParamSpec => {
        const field = shape.slice(0, -2).reduce((a, b) => a * b, 1);
        const [fanIn, fanOut] = [shape[shape.length - 2] * field, shape[shape.length - 1] * field];
        return { name: `${name}/${part}/kernel`, shape, init: (r) => initialize(config.kernelInitializer, shape.reduce((a, b) => a * b, 1), fanIn, fanOut, r) };
      };
      const bias = (part: string, shape: number[]): ParamSpec[] => (useBias ? [{ name: `${name}/${part}/bias`, shape, init: (r) => initialize(config.biasInitializer, shape.reduce((a, b) => a * b, 1), shape[0], shape[0], r) }] : []);
      return [
        kernel('query', [s.Dq, H, dk]), ...bias('query', [H, dk]),
        kernel('key', [s.Dk, H, dk]), ...bias('key', [H, dk]),
        kernel('value', [s.Dv, H, dv]), ...bias('value', [H, dv]),
        kernel('attention_output', [H, dv, s.out]), ...bias('attention_output', [s.out]),
      ];
    },
    forward(g, xs, weights, ctx) {
      const args = ctx.args ?? {};
      const p = parts(xs, args);
      const w = [...weights];
      const take = () => w.shift()!;
      const [wq, bq] = [take(), useBias ? take() : null];
      const [wk, bk] = [take(), useBias ? take() : null];
      const [wv, bv] = [take(), useBias ? take() : null];
      const [wo, bo] = [take(), useBias ? take() : null];
      addPenalties(g, ctx, name, [[wq, config.kernelRegularizer, 'query_kernel'], [wk, config.kernelRegularizer, 'key_kernel'], [wv, config.kernelRegularizer, 'value_kernel'], [wo, config.kernelRegularizer, 'output_kernel'],
        [bq ?? undefined, config.biasRegularizer, 'query_bias'], [bk ?? undefined, config.biasRegularizer, 'key_bias'], [bv ?? undefined, config.biasRegularizer, 'value_bias'], [bo ?? undefined, config.biasRegularizer, 'output_bias']]);
      const B = p.query.shape[0];
      const heads = (x: Value, kernel: Value, b: Value | null, size: number, part: string) => project(g, x, kernel, b, H, size, `${name}/${part}`);
      const q = heads(p.query, wq, bq, dk, 'query');
      const k = heads(p.key, wk, bk, dk, 'key');
      const v = heads(p.value, wv, bv, dv, 'value');
      const rate = ctx.training ? config.dropout : 0;
      // The padded steps of the value and key (an Embedding's maskZero): no query attends them (Keras' value_mask and key_mask).
      const padded = paddedKeys(g, parts(ctx.masks ?? xs.map(() => null), args), name);
      if (padded && p.mask) throw new ValueError(`${name}: ${PADDED_AND_MASK}`);
      const mask = padded ?? p.mask;
      const extra = [...(mask ? [mask] : []), ...(rate > 0 ? [ctx.step()] : [])];
      // 'bthd': the heads stay inside the steps, as the projections' rows hold them (no transposes, forward or backward).
      const attrs = { causal: args.useCausalMask === true, scale: 1 / Math.sqrt(dk), dropout: rate, seed: config.seed ?? ctx.seed, masked: mask !== null, keyMask: padded !== null, layout: 'bthd' as const };
      const [att] = g.apply(attention, [q, k, v, ...extra], attrs, `${name}/attention`);
      // [B, T, H, dv] is rows [B·T, H·dv] as it is: the output projection over the heads together.
      const T = p.query.shape[1];
      const merged = g.op(reshape, [att], { shape: [B * T, H * dv] }, `${name}/merged`);
      const out = (wo.shape[2] as number);
      let y = g.op(matmul, [merged, g.op(reshape, [wo], { shape: [H * dv, out] }, `${name}/attention_output/rows`)], {}, `${name}/attention_output`);
      if (bo) y = g.op(biasAdd, [y, bo], {}, `${name}/attention_output/bias_add`);
      return g.op(reshape, [y], { shape: [B, T, out] }, `${name}/output`);
    },
  };
  const single = (): never => {
    throw new ValueError(`${name}: multiHeadAttention takes [query, value] (the same tensor twice for self-attention); call it in a functional model: ${name}.apply([x, x], { useCausalMask: true })`);
  };
  // The output's steps are the query's: it hands on the query's mask (Keras' compute_mask).
  return { name, config, activation: 'linear', masking: 'query', multi, outputShape: single, params: single, forward: single };
}

const PADDED_AND_MASK = 'takes no attentionMask together with the mask of padded steps (maskZero) that its value or key carries; fold the padding into the attentionMask, or build the embedding without maskZero';

/**
 * The mask [B, S] of the keys any query may attend, from the masks the value
 * and key carry (the same tensor in self-attention), or null. A padded query
 * step attends as a real one; its output stays masked downstream (the loss
 * and the metrics skip it), where Keras' masked softmax would give it the
 * mean of the values: either is never read.
 */
function paddedKeys(g: Graph, masks: { value: Value | null; key: Value | null }, name: string): Value | null {
  const { value, key } = masks;
  if (value && key && value !== key) return g.op(multiply, [value, key], {}, `${name}/padded_keys`);
  return value ?? key;
}

/** x [B, T, F] projected by kernel [F, H, size] (+ bias [H, size]) to heads [B, T, H, size] (attention's layout 'bthd'). */
function project(g: Graph, x: Value, kernel: Value, bias: Value | null, H: number, size: number, name: string): Value {
  const [B, T, F] = x.shape;
  const rows = g.op(reshape, [x], { shape: [B * T, F] }, `${name}/rows`);
  // The bias' view is recorded before the matmul: fuse folds matmul → biasAdd only when nothing between them makes an operand.
  const b = bias ? g.op(reshape, [bias], { shape: [H * size] }, `${name}/bias_rows`) : null;
  let y = g.op(matmul, [rows, g.op(reshape, [kernel], { shape: [F, H * size] }, `${name}/kernel_rows`)], {}, name);
  if (b) y = g.op(biasAdd, [y, b], {}, `${name}/bias_add`);
  return g.op(reshape, [y], { shape: [B, T, H, size] }, `${name}/heads`);
}
