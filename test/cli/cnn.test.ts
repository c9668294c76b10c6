import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/nn/spec.js';
import { lastJson, runCli } from '../helpers/cli.js';

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'webgrad-cli-cnn-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the --layers spec', () => {
  it('reads dense widths and image tokens, and names a bad token', () => {
    expect(parseSpec('conv32:3,maxpool2,conv64:3:s2:same,avgpool2,gap,128')).toEqual(['conv32:3', 'maxpool2', 'conv64:3:s2:same', 'avgpool2', 'gap', 128]);
    expect(parseSpec('none')).toEqual([]);
    expect(() => parseSpec('conv32:3,maxpol2')).toThrow("--layers: unknown layer 'maxpol2' (did you mean 'maxpool'?)");
    expect(() => parseSpec('conv32')).toThrow("--layers: unknown layer 'conv32'");
    expect(() => parseSpec('0')).toThrow('--layers: a dense layer needs at least 1 unit');
  });

  it('a CNN trains from the command line, and evaluate and predict use the saved file', async () => {
    const model = join(dir, 'cnn.safetensors');
    const t = await runCli(['train', '--backend', 'cpu', '--layers', 'conv4:3:s2,maxpool2,16', '--epochs', '1', '--save', model, '--json']);
    expect(t.code, t.err).toBe(0);
    expect(t.out).toMatch(/hidden_1 \(Conv2D\) +\(None, 13, 13, 4\) +40/);
    expect(t.out).toMatch(/hidden_2 \(MaxPooling2D\) +\(None, 6, 6, 4\)/);
    expect(lastJson(t.out).test_accuracy).toBeGreaterThan(0.5);
    const e = await runCli(['evaluate', model, '--backend', 'cpu', '--json']);
    expect(e.code, e.err).toBe(0);
    expect(lastJson(e.out).test_accuracy).toBeCloseTo(lastJson(t.out).test_accuracy, 6);
    const bad = await runCli(['train', '--backend', 'cpu', '--layers', '32,conv8:3']);
    expect(bad.err).toContain("--layers: 'conv8:3' needs images, but the layers before it give flat vectors");
  }, 120_000);

  it('a sweep over CNN specs takes lists separated by /', async () => {
    const colon = await runCli(['sweep', '--backend', 'cpu', '--layers', 'conv4:3,16:conv8:3,16']);
    expect(colon.err).toContain("separate layer lists with '/' when they hold convolutions");
  });
});
