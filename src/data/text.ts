// Text as a character-level language model's data: a vocabulary of the
// text's characters (Unicode code points, sorted), and windows of `context`
// characters whose target at every position is the next character.
// Browser-safe; the CLI reads the file (src/cli/data.ts).
import { ValueError } from '../core/errors.js';
import type { Dataset } from './dataset.js';

export interface TextDataOptions {
  /** Characters per window: the steps the model reads (default 64). */
  context?: number;
  /** The share of the text, from its end, held out for testing (default 0.1, as nanoGPT splits). */
  testFraction?: number;
  /** What errors call the text (its path). */
  source?: string;
  /** A model's vocabulary to encode with (evaluate); default: the text's own characters. */
  vocabulary?: readonly string[];
}

export interface TextData {
  /** Windows [n, context] of character ids, with the next character's id at every position as labels [n, context]. */
  train: Dataset;
  test: Dataset;
  /** The characters, in id order. */
  vocabulary: string[];
  /** Characters in each part. */
  trainCharacters: number;
  testCharacters: number;
}

/** The characters of `text` (code points: a character outside the BMP is one character), sorted by code point. */
export function vocabularyOf(text: string): string[] {
  return [...new Set(Array.from(text))].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
}

/** A string's characters as ids of `vocabulary`; a character it lacks is refused, by name and position. */
export function encodeText(text: string, vocabulary: readonly string[], what = 'text'): Int32Array {
  const index = new Map(vocabulary.map((c, i) => [c, i]));
  const chars = Array.from(text);
  return Int32Array.from(chars, (c, i) => {
    const id = index.get(c);
    if (id === undefined) throw new ValueError(`${what}: the character ${JSON.stringify(c)} (U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}, at position ${i}) is not in the model's vocabulary of ${vocabulary.length} characters`);
    return id;
  });
}

/**
 * Non-overlapping windows of `context` ids and their next ids: an epoch over
 * them reads the text once, and every position of a window is a prediction.
 */
function windows(ids: Int32Array, context: number, vocabulary: string[]): Dataset {
  const n = Math.floor((ids.length - 1) / context);
  const x = new Float32Array(n * context);
  const y = new Int32Array(n * context);
  for (let w = 0; w < n; w++) {
    for (let t = 0; t < context; t++) {
      x[w * context + t] = ids[w * context + t];
      y[w * context + t] = ids[w * context + t + 1];
    }
  }
  return { x, xShape: [n, context], y, yShape: [n, context], classes: vocabulary.length };
}

/**
 * A character model's data from a text: the vocabulary from the whole text,
 * the first (1 − testFraction) of it to train on and the rest to test on,
 * each cut into windows of `context` characters.
 */
export function textDataset(text: string, options: TextDataOptions = {}): TextData {
  const { context = 64, testFraction = 0.1, source = 'text' } = options;
  if (!Number.isInteger(context) || context < 1) throw new ValueError(`${source}: the context must be a whole number of characters, at least 1; got ${context}`);
  if (!(testFraction > 0 && testFraction < 1)) throw new ValueError(`${source}: testFraction must be in (0, 1), got ${testFraction}`);
  if (typeof text !== 'string' || text.length === 0) throw new ValueError(`${source}: the text is empty; a character model needs text to read`);
  const vocabulary = options.vocabulary ? [...options.vocabulary] : vocabularyOf(text);
  const ids = encodeText(text, vocabulary, source);
  const cut = Math.floor(ids.length * (1 - testFraction));
  const [trainIds, testIds] = [ids.subarray(0, cut), ids.subarray(cut)];
  // Each part needs one window of `context` characters plus the one after it.
  for (const [part, chars] of [['training', trainIds.length], ['test', testIds.length]] as const) {
    if (chars < context + 1) {
      throw new ValueError(`${source}: ${ids.length} characters give ${part === 'training' ? `the first ${Math.round((1 - testFraction) * 100)}%` : `the last ${Math.round(testFraction * 100)}%`} (${part}) ${chars}, fewer than one window of ${context} and its next character; use a longer text or a smaller context (--context)`);
    }
  }
  return { train: windows(trainIds, context, vocabulary), test: windows(testIds, context, vocabulary), vocabulary, trainCharacters: trainIds.length, testCharacters: testIds.length };
}
