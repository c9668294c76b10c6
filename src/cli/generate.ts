// `webgrad generate MODEL`: text sampled from a character model, one
// character at a time, each drawn from the model's prediction for the next.
import { ValueError } from '../core/errors.js';
import { Random } from '../core/random.js';
import { encodeText } from '../data/text.js';
import { characterModel, sampleToken as sample } from '../nn/sampling.js';
import { loadModel } from '../nn/saving.js';
import { oneOf, parseArgs } from './args.js';
import { num } from './train-options.js';
import { cliBackend } from './train.js';

export const GENERATE_HELP = `  webgrad generate MODEL [--length N] [--temperature T] [--prompt TEXT] [--seed S]
                                          text from a character model (trained with --data FILE.txt): N characters
                                          (default 200) after the prompt (default: a newline), each drawn from the
                                          model's next-character probabilities sharpened by 1/T (default 1; 0 takes the
                                          likeliest); the same seed (default 42) gives the same text. A prompt longer
                                          than the model's context is read from its last context characters (as nanoGPT
                                          crops it)`;

/**
 * Characters a terminal would act on rather than show (controls other than
 * newline and tab, line separators, bidirectional overrides), written as
 * escapes: a model file is data, and its vocabulary must not drive the
 * terminal that prints what it generates.
 */
const UNSHOWN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;
export const showable = (s: string) => s.replace(UNSHOWN, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);

export async function generate(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['length', 'temperature', 'prompt', 'seed', 'backend'], ['json']);
  const [path, ...extra] = args.positional;
  if (!path || extra.length) throw new ValueError(`generate takes one model file: ${GENERATE_HELP.trim()}`);
  const number = (flag: string, fallback: number, ok: (n: number) => boolean, need: string) => num(flag, args.flags.get(flag), ok, need) ?? fallback;
  const length = number('length', 200, (n) => Number.isInteger(n) && n >= 1 && n <= 100_000, 'a whole number of characters from 1 to 100,000');
  const temperature = number('temperature', 1, (n) => n >= 0 && n <= 100, 'a number from 0 (the likeliest character every time) to 100');
  const seed = number('seed', 42, (n) => Number.isInteger(n) && n >= 0 && n < 2 ** 32, 'a whole number in [0, 2^32)');
  const model = await loadModel(path);
  // A character model's vocabulary and context, or an error naming why this model writes no text.
  const { vocabulary: chars, contextLength: T } = characterModel(model, path);
  const prompt = args.flags.get('prompt') ?? (chars.includes('\n') ? '\n' : chars[0]);
  if (prompt === '') throw new ValueError('--prompt is empty; give at least one character (the default is a newline)');
  const ids = Array.from(encodeText(prompt, chars, '--prompt'));
  const backend = await cliBackend(args.flags.has('backend') ? oneOf('backend', args.flags.get('backend'), ['webgpu', 'cpu'] as const, 'webgpu') : undefined, (s) => console.error(s));
  try {
    model.compile({ ...(model.compileOptions ?? { loss: 'sparseCategoricalCrossentropy' }), backend });
    const r = new Random(seed);
    const out: string[] = [];
    const window = new Float32Array(T);
    for (let k = 0; k < length; k++) {
      // The last T characters at the window's start; its recurrent layers read forwards, so the
      // prediction at the last of them has seen only them (what follows in the window is ignored).
      const recent = ids.slice(-T);
      window.fill(0);
      window.set(recent);
      const { data } = await model.predict({ data: window, shape: [1, T] });
      const p = data.subarray((recent.length - 1) * chars.length, recent.length * chars.length);
      const next = sample(p, temperature, r);
      ids.push(next);
      out.push(chars[next]);
    }
    const text = out.join('');
    if (args.flags.get('json') === 'true') console.log(JSON.stringify({ prompt, text, length, temperature, seed }));
    else process.stdout.write(`${showable(prompt)}${showable(text)}\n`);
    return 0;
  } finally {
    model.dispose();
    backend.dispose();
  }
}
