// The GPT page's logic without a browser, in `npm test`: the built-in corpus
// as the page bundles it, and the engine behind the page (here on the CPU
// backend, as in the page's worker): training lowers the loss, a long prompt
// is cropped to the context, and the file it saves is one `webgrad generate` reads.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { builtinText } from '../../src/cli/data.js';
import { builtinCorpus } from '../../src/demo/gpt/corpus.js';
import { GptEngine } from '../../src/demo/gpt/engine.js';
import { runCli } from '../helpers/cli.js';

/** A short text a small GPT learns in a few dozen steps: one sentence over and over (2,700 characters, 28 different). */
const TEXT = 'the quick brown fox jumps over the lazy dog. '.repeat(60);

describe('the built-in corpus', () => {
  test('is, character for character, what webgrad train --data webgrad-docs reads', async () => {
    const page = await builtinCorpus();
    expect(page.length).toBeGreaterThan(50_000);
    expect(page).toBe(builtinText());
  });
});

describe('the GPT engine on the CPU backend', () => {
  const engine = new GptEngine();
  const dir = mkdtempSync(join(tmpdir(), 'webgrad-gpt-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('splits the text as the CLI does and trains the small size: the loss falls well below knowing nothing', async () => {
    expect((await engine.open('cpu')).backend).toBe('cpu');
    const info = await engine.build(TEXT, 'small', 42);
    // 90% of 2,700 characters is 2,430: 75 windows of 32 and their next characters; the last 270 give 8.
    expect(info).toMatchObject({ vocabulary: 28, contextLength: 32, batchSize: 16, trainWindows: 75, testWindows: 8, trainCharacters: 2430, testCharacters: 270 });
    const first = await engine.train(1);
    expect(first.tokens).toBe(16 * 32);
    // An untrained model predicts near uniformly: ln 28 = 3.33.
    expect(first.loss).toBeGreaterThan(2.5);
    let last = first;
    for (let i = 0; i < 2; i++) last = await engine.train(10);
    expect(last.epochs).toBeCloseTo((21 * 16) / 75, 10);
    // The sentence repeats: after 21 steps of Adam at 3e-3 the loss is well below where it started (seen: 3.40 after 1 step, 0.86 after 20).
    expect(last.loss).toBeLessThan(first.loss / 2);
    expect(await engine.testLoss()).toBeLessThan(first.loss / 2);
  }, 120_000);

  test('writes from a prompt, reading only its last 32 characters (nanoGPT\'s crop), and refuses a character it does not know', async () => {
    const long = 'a fox over the dog jumps quick and brown and lazy. the lazy dog';
    const cropped = Array.from(long).slice(-32).join('');
    const w = await engine.write(long, 40, 0.8, 7);
    expect(w.cropped).toBe(long.length - 32);
    expect(w.read).toBe(cropped);
    expect(Array.from(w.text)).toHaveLength(40);
    // What was cut off changes nothing: the same seed writes the same text from the last 32 characters alone.
    expect((await engine.write(cropped, 40, 0.8, 7)).text).toBe(w.text);
    await expect(engine.write('the Quick fox', 5, 0.8, 7)).rejects.toThrow(/the prompt: the character "Q" \(U\+0051, at position 4\) is not in the model's vocabulary of 28 characters/);
  }, 60_000);

  test('saves a file that webgrad generate writes from', async () => {
    const file = join(dir, 'gpt.safetensors');
    writeFileSync(file, await engine.save());
    const { code, out, err } = await runCli(['generate', file, '--length', '50', '--prompt', 'the ', '--backend', 'cpu', '--json']);
    expect(err).not.toMatch(/error/i);
    expect(code).toBe(0);
    const result = JSON.parse(out.trim().split('\n').at(-1)!);
    expect(Array.from(result.text as string)).toHaveLength(50);
    expect(new Set(result.text)).not.toContain('Q');
  }, 60_000);
});
