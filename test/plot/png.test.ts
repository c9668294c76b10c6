import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { readPng, writePng } from '../../src/cli/png.js';
import { renderChart } from '../../src/plot/chart.js';

const dir = mkdtempSync(join(tmpdir(), 'webgrad-png-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const epochs = Array.from({ length: 10 }, (_, i) => i + 1);
const chart = () =>
  renderChart({
    width: 900,
    height: 400,
    panels: [
      { title: 'loss', xLabel: 'epoch', series: [{ name: 'train', points: epochs.map((e) => [e, 1 / e] as [number, number]) }] },
      { title: 'accuracy', xLabel: 'epoch', series: [{ name: 'train', points: epochs.map((e) => [e, 1 - 0.5 / e] as [number, number]) }] },
    ],
  });

describe('writePng / readPng', () => {
  it('writes a chart that pngjs decodes to the same size and pixels', () => {
    const img = chart();
    const path = join(dir, 'chart.png');
    writePng(path, img);
    const decoded = PNG.sync.read(readFileSync(path));
    expect([decoded.width, decoded.height]).toEqual([900, 400]);
    expect(Buffer.compare(decoded.data, Buffer.from(img.rgba))).toBe(0);
    const back = readPng(path);
    expect([back.width, back.height]).toEqual([900, 400]);
    expect(back.rgba).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(back.rgba).equals(Buffer.from(img.rgba))).toBe(true);
  });

  it('replaces an existing file atomically, leaving no temporary file, and creates missing folders', () => {
    const path = join(dir, 'nested', 'deeper', 'a.png');
    writePng(path, { width: 1, height: 1, rgba: new Uint8Array([255, 0, 0, 255]) });
    writePng(path, { width: 2, height: 1, rgba: new Uint8Array([0, 0, 255, 255, 0, 255, 0, 128]) });
    expect(readdirSync(join(dir, 'nested', 'deeper'))).toEqual(['a.png']);
    const back = readPng(path);
    expect([back.width, back.height, [...back.rgba]]).toEqual([2, 1, [0, 0, 255, 255, 0, 255, 0, 128]]);
  });

  it('keeps the old file and removes the temporary one when the rename fails', () => {
    const target = join(dir, 'is-a-folder.png');
    mkdirSync(join(target, 'inside'), { recursive: true });
    expect(() => writePng(target, { width: 1, height: 1, rgba: new Uint8Array(4) })).toThrow(/writePng: could not write .*is-a-folder\.png/);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(readdirSync(target)).toEqual(['inside']);
  });

  it('refuses a malformed image before touching the disk', () => {
    const path = join(dir, 'never.png');
    expect(() => writePng(path, { width: 2, height: 2, rgba: new Uint8Array(15) })).toThrow(/a 2×2 RGBA image needs 16 bytes, got 15/);
    expect(() => writePng(path, { width: 2, height: -1, rgba: new Uint8Array(0) })).toThrow(/height must be an integer in 1..16384, got -1/);
    expect(readdirSync(dir)).not.toContain('never.png');
  });

  it('reads grayscale PNGs as RGBA', () => {
    const png = new PNG({ width: 2, height: 1, colorType: 0, inputColorType: 6, bitDepth: 8 } as never);
    png.data = Buffer.from([10, 10, 10, 255, 200, 200, 200, 255]);
    const path = join(dir, 'gray.png');
    writeFileSync(path, PNG.sync.write(png, { colorType: 0, inputColorType: 6 } as never));
    expect([...readPng(path).rgba]).toEqual([10, 10, 10, 255, 200, 200, 200, 255]);
  });

  it('names the file and the problem: missing, not a PNG, damaged, a folder', () => {
    expect(() => readPng(join(dir, 'nope.png'))).toThrow(/readPng: no such file: .*nope\.png/);
    const text = join(dir, 'notes.png');
    writeFileSync(text, 'hello, world');
    expect(() => readPng(text)).toThrow(/notes\.png is not a PNG file \(its first bytes are \[68 65 6c 6c 6f 2c 20 77\]/);
    const good = join(dir, 'good.png');
    writePng(good, chart());
    const truncated = join(dir, 'truncated.png');
    writeFileSync(truncated, readFileSync(good).subarray(0, 200));
    expect(() => readPng(truncated)).toThrow(/truncated\.png is a damaged PNG file/);
    expect(() => readPng(dir)).toThrow(/is a directory, not a PNG file/);
  });
});
