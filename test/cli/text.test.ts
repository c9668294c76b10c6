import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from '../../src/interop/safetensors.js';
import { showable } from '../../src/cli/generate.js';
import { lastJson, runCli } from '../helpers/cli.js';

/* The CLI on text: a character model trained on a file, evaluated, and generating. */

let dir: string;
let model: string;
let text: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'webgrad-text-'));
  text = join(dir, 'tiny.txt');
  // A repeated line with a newline and a tab: characters a saved vocabulary must keep.
  writeFileSync(text, 'the cat sat on the mat.\tthe dog sat on the log.\n'.repeat(40));
  model = join(dir, 'char.safetensors');
  const t = await runCli(['train', '--data', text, '--layers', 'embed8,lstm16', '--context', '16', '--epochs', '8', '--lr', '0.02', '--backend', 'cpu', '--save', model, '--json']);
  if (t.code !== 0) throw new Error(`training the character model failed: ${t.err}`);
  writeFileSync(join(dir, 'train.json'), t.out);
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('webgrad train --data FILE.txt', () => {
  it('trains a character model: the vocabulary in the file, the loss in nats per character, evaluate agreeing', async () => {
    const out = readFileSync(join(dir, 'train.json'), 'utf8');
    expect(out).toMatch(/data: .*tiny.txt: 1920 characters, 16 distinct, the last 10% to test, windows of 16/);
    expect(out).toMatch(/test loss: \d+\.\d{4} nats per character \(perplexity \d+\.\d\d\), next-character accuracy/);
    const r = lastJson(out);
    // A text this repetitive is learnt far below the uniform guess's ln 16 ≈ 2.8.
    expect(r.test_nats_per_char).toBeLessThan(1.5);
    const { metadata } = decodeSafetensors(readFileSync(model));
    expect(JSON.parse(metadata.vocabulary)).toContain(10);
    const e = await runCli(['evaluate', model, '--data', text, '--backend', 'cpu', '--json']);
    expect(e.code, e.err).toBe(0);
    expect(lastJson(e.out).test_loss).toBeCloseTo(r.test_loss as number, 5);
  });

  it('refuses text that cannot train one, and --context elsewhere', async () => {
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '');
    const refused = async (args: string[], message: RegExp) => {
      const r = await runCli(['train', ...args, '--backend', 'cpu']);
      expect(r.code, r.out).toBe(1);
      expect(r.err).toMatch(message);
    };
    await refused(['--data', empty], /empty.txt: the text is empty/);
    await refused(['--data', text, '--context', '0'], /--context must be a whole number >= 1/);
    await refused(['--data', text, '--context', '500'], /fewer than one window of 500/);
    await refused(['--context', '8'], /--context applies to text/);
    await refused(['--data', 'circle', '--context', '8'], /--context applies to text .*not to --data circle/);
    await refused(['--data', text, '--noise', '10'], /--noise applies to the Playground's data sets .*not to --data .*tiny.txt/);
  });
});

describe('webgrad generate', () => {
  it('samples text: the same seed gives the same text, another seed other text; temperature 0 the likeliest', async () => {
    const run = (...a: string[]) => runCli(['generate', model, '--length', '60', '--backend', 'cpu', '--json', ...a]);
    // One at a time: runCli captures the console of this process.
    const a = await run('--seed', '7', '--prompt', 'the ');
    const b = await run('--seed', '7', '--prompt', 'the ');
    const c = await run('--seed', '8', '--prompt', 'the ');
    for (const r of [a, b, c]) expect(r.code, r.err).toBe(0);
    const text = (r: { out: string }) => lastJson(r.out).text as string;
    expect(text(a)).toHaveLength(60);
    expect(text(a)).toBe(text(b));
    expect(text(a)).not.toBe(text(c));
    // Trained on two sentences, the greedy continuation is made of their words.
    const greedy = await run('--temperature', '0', '--prompt', 'the ');
    expect(text(greedy)).toMatch(/(cat|dog|sat|on|the|mat|log)/);
  });

  it("refuses a prompt character outside the vocabulary, by name, and a model that is not a character model", async () => {
    const bad = await runCli(['generate', model, '--prompt', 'the zebra', '--backend', 'cpu']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/--prompt: the character "z" \(U\+007A, at position 4\) is not in the model's vocabulary of 16 characters/);
  });

  it("shows a vocabulary's terminal controls as escapes: a model file cannot drive the terminal", async () => {
    expect(showable('a\u001b[31mred\u202e\tb\n')).toBe('a\\u{1b}[31mred\\u{202e}\tb\n');
    // A file whose vocabulary holds ESC where 'a' was: what it generates prints the escape as text.
    const { tensors, metadata } = decodeSafetensors(readFileSync(model));
    const chars = JSON.parse(metadata.vocabulary) as number[];
    const hostile = join(dir, 'hostile.safetensors');
    writeFileSync(hostile, encodeSafetensors(tensors, { ...metadata, vocabulary: JSON.stringify(chars.map((c) => (c === 97 ? 27 : c))) }));
    const g = await runCli(['generate', hostile, '--length', '200', '--backend', 'cpu', '--prompt', 'the c', '--temperature', '0']);
    expect(g.code, g.err).toBe(0);
    expect(g.out).not.toContain('\u001b');
    expect(g.out).toContain('\\u{1b}');
  });
});
