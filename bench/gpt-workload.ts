// W7, the (#27) small GPT: its spec, its FLOP count, and the
// corpus as windows of character ids. Browser-safe (bench/lib/corpus.ts reads
// the corpus's files in Node).
import type { Functional } from '../src/index.js';
import { gpt, Random } from '../src/index.js';
import { textDataset } from '../src/data/text.js';
// Types only from workloads.ts, which imports W7 from here.
import type { Digits, TrainWorkload } from './workloads.js';

/**
 * W7's GPT (src/nn/gpt.ts, nanoGPT's shape): `context` characters a sample,
 * predicted at every step; the vocabulary is the corpus's characters, known
 * once it is read (0 until then: bench/lib/corpus.ts fills it in).
 */
export interface GptSpec {
  readonly context: number;
  readonly width: number;
  readonly blocks: number;
  readonly heads: number;
  readonly vocabulary: number;
}

/** Tokens a W7 sample trains on: every step of its window predicts the next character. */
export const tokensPerSample = (w: Pick<TrainWorkload, 'gpt'>): number => w.gpt?.context ?? 1;

/**
 * W7, the issue's (#27) 'W6' (W6 was #26's LSTM by then): a small GPT, 4
 * blocks of 4 heads, width 128, context 64, batch 32, on the built-in corpus
 * (webgrad's README and docs, the CLI's webgrad-docs) as character ids, in
 * windows of 64 in the text's order; Adam 1e-3, sparse cross-entropy at every
 * step. 1,024 windows (32 steps) a timed run, 128 (4 steps) with --quick.
 */
export function W7(quick: boolean): TrainWorkload {
  const samples = quick ? 128 : 1024;
  return {
    id: 'W7', title: `GPT 4 blocks × 4 heads, width 128, context 64, batch 32, ${samples} windows of the built-in corpus (${samples / 32} steps)`,
    layers: [], gpt: { context: 64, width: 128, blocks: 4, heads: 4, vocabulary: 0 }, batch: 32, samples,
  };
}

/**
 * Multiply-adds ×2 per W7 sample (a window of T tokens), forward and both
 * backward matmuls (the embeddings need dX too): per block the q, k, v and
 * output projections (4D²) and the 4× MLP (8D²) a token, the head (D·V) a
 * token, and causal attention's q·k and p·v over the T(T+1)/2 pairs it keeps
 * (its backward: two products for each). Norms, GELU and softmax not counted.
 */
export function gptFlopsPerSample(g: GptSpec): number {
  const { context: T, width: D, blocks: L, vocabulary: V } = g;
  const matmuls = T * (L * 12 * D * D + D * V);
  const attention = L * 2 * ((T * (T + 1)) / 2) * D;
  return 2 * 3 * (matmuls + attention);
}


/** W7's samples: the corpus's first 90% (textDataset's training part) in windows of `context` ids, labelled with the next id at every step. */
export interface CorpusWindows {
  readonly data: Digits;
  /** The corpus's characters: the GPT's vocabulary. */
  readonly vocabulary: number;
  /** Characters in the whole corpus. */
  readonly characters: number;
}

export function corpusWindows(text: string, context: number): CorpusWindows {
  const { train, vocabulary } = textDataset(text, { context, source: 'the bench corpus' });
  const n = train.xShape[0];
  return { data: { x: train.x, y: train.y as Int32Array, n, features: context, labels: context }, vocabulary: vocabulary.length, characters: Array.from(text).length };
}

/** The workload with its vocabulary filled in from the corpus. */
export function withVocabulary(w: TrainWorkload, vocabulary: number): TrainWorkload {
  return w.gpt ? { ...w, gpt: { ...w.gpt, vocabulary } } : w;
}

/** W7's GPT in webgrad: src/nn/gpt.ts at the workload's sizes, no dropout. */
export function gptModel(w: TrainWorkload): Functional {
  const g = w.gpt;
  if (!g?.vocabulary) throw new Error(`${w.id}: the GPT's vocabulary is not known yet; fill it in from the corpus (withVocabulary) before building the model`);
  return gpt({ vocabularySize: g.vocabulary, contextLength: g.context, width: g.width, blocks: g.blocks, heads: g.heads, seed: 1 });
}

/** One of W7's initial weights, under webgrad's name for it (block1_attention/query/kernel, final_ln/gamma, ...). */
export interface NamedWeight {
  readonly name: string;
  readonly shape: number[];
  readonly data: Float32Array;
}

/**
 * W7's initial weights, drawn once from `seed` (the bench's INIT_SEED) by each weight's own initializer
 * in webgrad's order, so that webgrad and torch-cpu start from the same
 * arrays as on the other workloads.
 */
export function gptInitialWeights(w: TrainWorkload, seed: number): NamedWeight[] {
  const m = gptModel(w);
  const rng = new Random(seed);
  const out = m.paramSpecs().map((p) => ({ name: p.name, shape: [...p.shape], data: p.init(rng) }));
  m.dispose();
  return out;
}
