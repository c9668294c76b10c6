// Reading a digit picture from a PNG file: damaged, oversized, foreign and
// blank files are named and refused (or noticed), never guessed at.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_PNG_PIXELS, readPng } from '../../src/cli/png.js';
import { ValueError } from '../../src/core/errors.js';
import { blankImageNotice, toMnistInput } from '../../src/data/image.js';

const dir = mkdtempSync(join(tmpdir(), 'webgrad-digit-png-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A w×h PNG file, gray `paper` with a `ink` bar in the middle (none when ink === paper). */
function pngFile(name: string, w: number, h: number, paper: number, ink: number): string {
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = x >= w / 3 && x < (2 * w) / 3 && y >= h / 4 && y < (3 * h) / 4 ? ink : paper;
      png.data.set([v, v, v, 255], (y * w + x) * 4);
    }
  }
  const path = join(dir, name);
  writeFileSync(path, PNG.sync.write(png));
  return path;
}

/** A PNG signature and IHDR chunk for a w×h RGBA image, and nothing else: enough to read the size. */
function header(w: number, h: number): Uint8Array {
  const b = Buffer.alloc(8 + 25);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b);
  b.writeUInt32BE(13, 8);
  b.write('IHDR', 12, 'latin1');
  b.writeUInt32BE(w, 16);
  b.writeUInt32BE(h, 20);
  b.set([8, 6, 0, 0, 0], 24); // 8-bit RGBA, no interlace; the CRC is left zero
  return b;
}

describe('readPng on damaged, huge and foreign files', () => {
  it('names a truncated file and says where it ends, at any cut', () => {
    const good = readFileSync(pngFile('good.png', 64, 64, 255, 0));
    for (const cut of [20, 40, good.length - 30, good.length - 5]) {
      const path = join(dir, 'digit.png');
      writeFileSync(path, good.subarray(0, cut));
      expect(() => readPng(path), `cut at ${cut}`).toThrow(/readPng: .*digit\.png is a damaged PNG file, not readable \(truncated or corrupt: .*the file ends/);
    }
    const path = join(dir, 'short.png');
    writeFileSync(path, good.subarray(0, good.length - 30));
    expect(() => readPng(path)).toThrow(`${path} is a damaged PNG file, not readable (truncated or corrupt: the file ends after ${good.length - 30} bytes, `);
  });

  it('names a corrupt file and the chunk whose checksum fails, not pngjs internals', () => {
    const bytes = Buffer.from(readFileSync(pngFile('ok.png', 64, 64, 255, 0)));
    expect(bytes.toString('latin1', 37, 41)).toBe('IDAT'); // the chunk after the signature (8) and IHDR (25)
    bytes[45] ^= 0xff;
    const path = join(dir, 'corrupt.png');
    writeFileSync(path, bytes);
    expect(() => readPng(path)).toThrow(new ValueError(`readPng: ${path} is a damaged PNG file, not readable (truncated or corrupt: the IDAT chunk at byte 33 fails its checksum)`));
  });

  it('refuses an image above the size cap from its header alone, naming file, size and cap', () => {
    expect(MAX_PNG_PIXELS).toBe(4096 * 4096);
    const path = join(dir, 'huge.png');
    writeFileSync(path, header(16000, 16000)); // no image data at all: decoding would fail, so a refusal proves none was tried
    const t0 = performance.now();
    expect(() => readPng(path)).toThrow(
      `readPng: ${path} is 16000×16000 pixels (256.0 M); readPng takes at most 16,777,216 pixels (4096×4096) and 16384 a side: scale the picture down first`,
    );
    expect(performance.now() - t0).toBeLessThan(100);
    const wide = join(dir, 'wide.png');
    writeFileSync(wide, header(20000, 2));
    expect(() => readPng(wide)).toThrow(/wide\.png is 20000×2 pixels .* and 16384 a side/);
    const zero = join(dir, 'zero.png');
    writeFileSync(zero, header(0, 5));
    expect(() => readPng(zero)).toThrow(/zero\.png is a damaged PNG file, not readable \(truncated or corrupt: the header gives a 0×5 image\)/);
  });

  it('refuses a file that is not a PNG, naming it and what it looks like', () => {
    const jpeg = join(dir, 'photo.png');
    writeFileSync(jpeg, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46]));
    expect(() => readPng(jpeg)).toThrow(/photo\.png is not a PNG file \(its first bytes are \[ff d8 ff e0 00 10 4a 46\], .*\); it looks like a JPEG: convert it to PNG first/);
    const empty = join(dir, 'empty.png');
    writeFileSync(empty, '');
    expect(() => readPng(empty)).toThrow(`readPng: ${empty} is empty, not a PNG file`);
  });
});

describe('blankImageNotice', () => {
  it('says a blank PNG is blank and its prediction means nothing; toMnistInput gives zeros, no NaN', () => {
    for (const paper of [0, 255, 140]) {
      const img = readPng(pngFile(`blank-${paper}.png`, 30, 20, paper, paper));
      const x = toMnistInput(img);
      expect(x.every((v) => v === 0)).toBe(true);
      expect(blankImageNotice(img, 'blank.png')).toBe(
        `blank.png is blank: every pixel has the same gray level (${(paper / 255).toFixed(2)} on 0..1), so there is no digit to centre; the prediction for it means nothing`,
      );
    }
  });

  it('names a faint smudge as blank too, and gives null for a real digit', () => {
    const faint = readPng(pngFile('faint.png', 40, 40, 255, 250));
    expect(blankImageNotice(faint)).toMatch(/^the image is blank: its strongest mark differs from the paper by 2% of full scale, under the 10% a stroke needs/);
    expect(toMnistInput(faint).every((v) => v === 0)).toBe(true);
    const digit = readPng(pngFile('one.png', 40, 40, 255, 0));
    expect(blankImageNotice(digit, 'one.png')).toBeNull();
    expect(toMnistInput(digit).some((v) => v > 0.5)).toBe(true);
  });
});
