// The GPT page's logic without a browser, in `npm test`: the built-in corpus
// as the page bundles it, and the engine behind the page (here on the CPU
// backend, as in the page's worker): training lowers the loss, a long prompt
// is cropped to the context, and the file it saves is one `webgrad generate`
// reads and the page opens again; what the page opens and refuses, and how it
// describes an opened model.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { builtinText } from '../../src/cli/data.js';
import { builtinCorpus } from '../../src/demo/gpt/corpus.js';
import { describeOpened, visibleCharacters } from '../../src/demo/gpt/describe.js';
import { GptEngine } from '../../src/demo/gpt/engine.js';
import { decodeSafetensors, dense, embedding, lstm, sequential } from '../../src/index.js';
import { runCli } from '../helpers/cli.js';
import { fileOf } from '../helpers/model-file.js';

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

describe('opening a model file in the GPT engine', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webgrad-gpt-open-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const trained = new GptEngine();
  const opened = new GptEngine();

  test('a saved GPT opens with its name, size, characters and context, and writes what the engine that trained it writes', async () => {
    await trained.open('cpu');
    const built = await trained.build(TEXT, 'small', 42);
    await trained.train(5);
    const file = join(dir, 'gpt.safetensors');
    writeFileSync(file, await trained.save());
    await opened.open('cpu');
    const info = await opened.load(new Uint8Array(readFileSync(file)), 'gpt.safetensors');
    expect(info).toEqual({ name: 'demo_gpt', params: built.params, vocabulary: 28, characters: built.characters, contextLength: 32 });
    // Same weights and characters: the same seed draws the same characters, all of them the text's.
    const w = await opened.write('the quick ', 60, 0.8, 3);
    expect(w.text).toBe((await trained.write('the quick ', 60, 0.8, 3)).text);
    expect(Array.from(w.text).every((c) => built.characters.includes(c))).toBe(true);
    // It writes and saves, but has no text to train on.
    await expect(opened.train(1)).rejects.toThrow(/opened from a file, for writing and saving; press Train to train a new model/);
    // Saved again, it is the same file but for the order of keys in the topology's JSON.
    const content = (bytes: Uint8Array) => {
      const { tensors, metadata } = decodeSafetensors(bytes, 'saved');
      return { tensors, metadata: { ...metadata, topology: JSON.parse(metadata.topology) } };
    };
    expect(content(await opened.save())).toEqual(content(new Uint8Array(readFileSync(file))));
  }, 60_000);

  test('refuses by name what is not a character model, and keeps the model it had', async () => {
    // A PNG's first 8 bytes read as a safetensors header length are absurd.
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
    await expect(opened.load(png, 'digits.png')).rejects.toThrow(/^digits\.png: header length \d+ bytes is absurd .*this is not a safetensors file/);
    const mlp = () => sequential([dense(3, { inputShape: [4], activation: 'softmax', name: 'out' })], { name: 'mlp' });
    await expect(opened.load(await fileOf(mlp(), [4]), 'mlp.safetensors')).rejects.toThrow(/^mlp\.safetensors has no vocabulary, so it is not a character model; train a character model on text \(webgrad train --data FILE\.txt --save MODEL\)/);
    const withChars = mlp();
    withChars.setVocabulary(['a', 'b', 'c']);
    await expect(opened.load(await fileOf(withChars, [4]), 'floats.safetensors')).rejects.toThrow(/^floats\.safetensors's input goes to layer out \(dense\), so it is not a sequence of token ids; a character model reads one sequence of token ids/);
    // Token ids in, but one prediction for the whole window: no next character at every step.
    const last = sequential([embedding(3, 4, { inputShape: [8] }), lstm(4), dense(3, { activation: 'softmax' })]);
    last.setVocabulary(['a', 'b', 'c']);
    await expect(opened.load(await fileOf(last, [8]), 'last.safetensors')).rejects.toThrow(/^last\.safetensors gives an output of \[3\] per sample; a character model gives the next character's probabilities at every step, one output of \[8, 3\]/);
    // The GPT opened before still writes.
    expect(Array.from((await opened.write('the ', 5, 0.8, 1)).text)).toHaveLength(5);
  }, 60_000);
});

describe("what the page says of an opened model", () => {
  test('lists its characters, those that show nothing in words or as code points, and counts those past 200', () => {
    expect(visibleCharacters(['\n', '\t', ' ', '<', '>', '&', 'a', '\u00a0', '\u200b'])).toBe('newline, tab, space, U+00A0, U+200B, <>&a');
    expect(visibleCharacters([' '])).toBe('space');
    const many = Array.from({ length: 250 }, (_, i) => String.fromCodePoint(0x4e00 + i));
    expect(visibleCharacters(many)).toBe(`${many.slice(0, 200).join('')} … and 50 more`);
  });

  test('names the file and the model, its size, characters and context, and that Train starts a new model', () => {
    const info = { name: '<img src=x onerror=alert(1)>', params: 12345, vocabulary: 4, characters: ['\n', '<', '>', '&'], contextLength: 8 };
    expect(describeOpened(info, 'm.safetensors')).toBe('Opened m.safetensors: the model “<img src=x onerror=alert(1)>”, 12,345 parameters · 4 characters · context 8. It writes and saves here; Train starts a new model on the text. Its characters: newline, <>&');
  });
});
