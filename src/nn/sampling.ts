// Drawing the next token from a model's prediction: what `webgrad generate`
// and the demo's GPT page both do, one character at a time, and which models
// can. Browser-safe.
import { ValueError } from '../core/errors.js';
import type { Random } from '../core/random.js';
import type { Model } from './model.js';

/** A class drawn from probabilities p sharpened by 1/temperature (0: the likeliest). */
export function sampleToken(p: ArrayLike<number>, temperature: number, r: Random): number {
  let best = 0;
  for (let i = 1; i < p.length; i++) if (p[i] > p[best]) best = i;
  if (temperature === 0) return best;
  // p^(1/T), scaled by the largest first so that a small T cannot overflow or underflow to all zeros.
  const w = Array.from(p, (v) => (v > 0 ? Math.exp((Math.log(v) - Math.log(p[best])) / temperature) : 0));
  let u = r.next() * w.reduce((a, b) => a + b, 0);
  for (let i = 0; i < w.length; i++) {
    u -= w[i];
    if (u < 0) return i;
  }
  return best;
}

/** What a model needs to write text: its characters and the steps it reads. */
export interface CharacterModel {
  vocabulary: string[];
  contextLength: number;
}

/**
 * The vocabulary and context of a model that can write text one character at
 * a time, or an error that names why this one cannot (`source` names it: a
 * path, a file name): no vocabulary, an input that is not one sequence of
 * token ids read by an embedding, an output that is not the next character's
 * probabilities at every step, or a layer that reads the steps backwards
 * (its prediction at a step would have seen the characters after it).
 */
export function characterModel(model: Model, source: string): CharacterModel {
  const vocabulary = model.vocabulary;
  if (!vocabulary) throw new ValueError(`${source} has no vocabulary, so it is not a character model; train a character model on text (webgrad train --data FILE.txt --save MODEL) and use that`);
  const g = model.graph();
  const shape = model.inputShape;
  const ids = `a character model reads one sequence of token ids ([context]) through an embedding, as webgrad train --data FILE.txt builds one`;
  if (g.inputs !== 1) throw new ValueError(`${source} takes ${g.inputs} inputs; ${ids}`);
  if (!shape || shape.length !== 1) throw new ValueError(`${source}'s input is ${shape ? `[${shape.join(', ')}]` : 'of unknown shape'} per sample, not a sequence of token ids; ${ids}`);
  const readers = g.nodes.filter((n) => n.inputs.some((t) => t < g.inputs)).map((n) => g.layers[n.layer]);
  const notEmbedding = readers.find((l) => l.config.type !== 'embedding');
  if (notEmbedding) throw new ValueError(`${source}'s input goes to layer ${notEmbedding.name} (${notEmbedding.config.type}), so it is not a sequence of token ids; ${ids}`);
  const T = shape[0];
  const out = model.outputShape;
  if (g.outputs.length !== 1 || !out || out.join() !== [T, vocabulary.length].join()) {
    const what = g.outputs.length !== 1 ? `${g.outputs.length} outputs` : `an output of [${out?.join(', ') ?? '?'}] per sample`;
    throw new ValueError(`${source} gives ${what}; a character model gives the next character's probabilities at every step, one output of [${T}, ${vocabulary.length}] (context, vocabulary)`);
  }
  const backwards = model.layers.find((l) => 'goBackwards' in l.config && l.config.goBackwards);
  if (backwards) throw new ValueError(`${source}'s layer ${backwards.name} reads its steps backwards, so each position's prediction has seen the characters after it; a model that generates text reads forwards`);
  const both = model.layers.find((l) => l.config.type === 'bidirectional');
  if (both) throw new ValueError(`${source}'s layer ${both.name} is bidirectional: half of it reads the steps backwards, so each position's prediction has seen the characters after it; a model that generates text reads forwards only`);
  return { vocabulary, contextLength: T };
}
