// A small GPT as nanoGPT builds one, in webgrad's functional API: token and
// learned position embeddings added, pre-norm Transformer blocks
// (x + attention(ln(x)), x + MLP(ln(x)), a 4× GELU MLP, causal self-attention),
// a final norm, and a class per step: the next character.
import { ValueError } from '../core/errors.js';
import type { OptionsOf } from '../core/options.js';
import { defineOptions, opt } from '../core/options.js';
import type { Functional, SymbolicTensor } from './functional.js';
import { input, model } from './functional.js';
import { add, dense, dropout, embedding, layerNormalization, multiHeadAttention, positionEmbedding } from './layers.js';

const GPT_OPTIONS = defineOptions('gpt', {
  vocabularySize: opt.integer('token ids the model reads and classes it predicts (required)', { min: 1 }),
  contextLength: opt.integer('the steps it reads, its longest context (required)', { min: 1 }),
  width: opt.integer("every step's features (nanoGPT's n_embd; default 128)", { min: 1 }),
  blocks: opt.integer('Transformer blocks (n_layer; default 4)', { min: 1 }),
  heads: opt.integer('attention heads per block, which share the width (n_head; default 4)', { min: 1 }),
  dropout: opt.number('dropout after the embeddings, in attention and after each block\'s branches, while training (default 0)', { min: 0, max: 1, maxExclusive: true }),
  useBias: opt.boolean("biases in the blocks' projections and β in their layer norms (nanoGPT's bias; default true)"),
  headBias: opt.boolean("a bias in the output layer (default true; nanoGPT's lm_head has none)"),
  seed: opt.integer('seeds the initial weights and the shuffling (default 42)', { min: 0 }),
  name: opt.string("the model's name (default 'gpt')"),
}, { n_embd: 'width', n_layer: 'blocks', n_head: 'heads', block_size: 'contextLength', vocab_size: 'vocabularySize', bias: 'useBias' });

export type GptOptions = OptionsOf<typeof GPT_OPTIONS.spec>;

/** The defaults of a GPT's size: the W6 configuration (width 128, 4 blocks of 4 heads). */
export const GPT_DEFAULTS = { width: 128, blocks: 4, heads: 4 } as const;

/**
 * A character-level GPT (nanoGPT's model.py in Keras layers): ids [context]
 * → probabilities [context, vocabulary], the next token at every step. Layer
 * norms use ε = 1e-5 as torch's and nanoGPT's do; the heads split the width
 * (keyDim = width / heads), which must divide.
 */
export function gpt(options: GptOptions): Functional {
  const o = GPT_OPTIONS.check(options);
  if (o.vocabularySize === undefined || o.contextLength === undefined) throw new ValueError('gpt: vocabularySize and contextLength are required, e.g. gpt({ vocabularySize: 65, contextLength: 64 })');
  const { width: D, blocks, heads: H } = { ...GPT_DEFAULTS, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) };
  if (D % H !== 0) throw new ValueError(`gpt: width ${D} is not a multiple of heads ${H}; each head takes width / heads features (keyDim), so the heads together give the width back`);
  const rate = o.dropout ?? 0;
  const drop = (x: SymbolicTensor, name: string) => (rate > 0 ? dropout(rate, { name }).apply(x) : x);
  const bias = o.useBias ?? true;
  const norm = (name: string) => layerNormalization({ epsilon: 1e-5, center: bias, name });
  const ids = input({ shape: [o.contextLength], dtype: 'int32', name: 'tokens' });
  const tokens = embedding(o.vocabularySize, D, { name: 'token_embedding' }).apply(ids);
  const positions = positionEmbedding({ sequenceLength: o.contextLength, name: 'position_embedding' }).apply(tokens);
  let x = drop(add({ name: 'embeddings' }).apply([tokens, positions]), 'embedding_dropout');
  for (let b = 1; b <= blocks; b++) {
    const h = norm(`block${b}_ln1`).apply(x);
    const attended = multiHeadAttention({ numHeads: H, keyDim: D / H, dropout: rate, useBias: bias, name: `block${b}_attention` }).apply([h, h], { useCausalMask: true });
    x = add({ name: `block${b}_residual1` }).apply([x, drop(attended, `block${b}_attention_dropout`)]);
    const m = dense(4 * D, { activation: 'gelu', useBias: bias, name: `block${b}_mlp_in` }).apply(norm(`block${b}_ln2`).apply(x));
    x = add({ name: `block${b}_residual2` }).apply([x, drop(dense(D, { useBias: bias, name: `block${b}_mlp_out` }).apply(m), `block${b}_mlp_dropout`)]);
  }
  const out = dense(o.vocabularySize, { activation: 'softmax', useBias: o.headBias ?? true, name: 'output' }).apply(norm('final_ln').apply(x));
  return model({ inputs: ids, outputs: out, name: o.name ?? 'gpt', seed: o.seed });
}
