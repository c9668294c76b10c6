import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGpt, trainOptions } from '../../src/cli/train-options.js';
import { loadModel } from '../../src/nn/saving.js';
import { lastJson, runCli } from '../helpers/cli.js';

/* `webgrad train --layers gpt` on text, and `webgrad generate` from the GPT it saves. */

let dir: string;
let text: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'webgrad-gpt-'));
  text = join(dir, 'tiny.txt');
  writeFileSync(text, 'the cat sat on the mat. the dog sat on the log.\n'.repeat(30));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('webgrad train --layers gpt', () => {
  it('trains a small GPT on a text file, which generate then samples from, cropping a long prompt to the context', async () => {
    const model = join(dir, 'gpt.safetensors');
    const t = await runCli(['train', '--data', text, '--layers', 'gpt16:1:2', '--context', '12', '--epochs', '12', '--lr', '0.01', '--backend', 'cpu', '--save', model, '--json']);
    expect(t.code, t.err).toBe(0);
    expect(t.out).toMatch(/block1_attention \(MultiHeadAttention\)/);
    // A text this repetitive falls far below the uniform guess's ln 15 ≈ 2.7 nats.
    expect(lastJson(t.out).test_nats_per_char).toBeLessThan(1.6);
    const m = await loadModel(model);
    expect(m.topology().nodes?.length).toBeGreaterThan(8);
    expect(m.vocabulary).toHaveLength(15);
    m.dispose();
    const g = await runCli(['generate', model, '--length', '30', '--seed', '3', '--backend', 'cpu', '--prompt', 'the dog sat on the log. the cat sat on the mat. the ']);
    expect(g.code, g.err).toBe(0);
    expect(g.out).toMatch(/^the dog sat on the log\. the cat sat on the mat\. the .{30}\n$/s);
  }, 300_000);

  it('reads gpt and gptW:B:H, and refuses a GPT on data that is not text, a width the heads do not divide, gpt inside a chain', () => {
    expect(parseGpt('gpt')).toEqual({ width: 128, blocks: 4, heads: 4 });
    expect(parseGpt('gpt64:2:4')).toEqual({ width: 64, blocks: 2, heads: 4 });
    expect(parseGpt('128,64')).toBeUndefined();
    expect(() => parseGpt('gpt30:2:4')).toThrow(/width 30 is not a multiple of heads 4/);
    expect(() => parseGpt('embed64,gpt')).toThrow(/gpt is a whole model, given alone/);
    expect(() => trainOptions({ flags: new Map([['layers', 'gpt']]), positional: [] })).toThrow(/a GPT is a character model; give it text/);
    expect(trainOptions({ flags: new Map([['layers', 'gpt'], ['data', 'webgrad-docs']]), positional: [] })).toMatchObject({ layers: [], gpt: { width: 128 } });
  });
});
