// Fuzzing PNG files through what `webgrad predict model digit.png` runs on
// each picture: decodePng (readPng's bytes), blankImageNotice, toMnistInput.
// Mutations are raw (most end at a chunk's checksum) or made inside a chunk
// with its CRC recomputed, so that they reach the decoder: IHDR's size,
// depth, colour type and interlace; the compressed image data; chunks cut,
// removed, repeated or added. The contract: the intact picture, as 28×28
// values in [0, 1] (every byte is under a CRC and the pixels under zlib's
// Adler-32 too, so no change can honestly give another picture), or a
// one-line WebgradError naming the file; memory bounded by the image the
// header declares.
import { crc32 } from 'node:zlib';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { decodePng } from '../../src/cli/png.js';
import { blankImageNotice, toMnistInput } from '../../src/data/image.js';
import type { Failure } from './mutate.js';
import { concat, EDGE_U32, expectNoFailures, mutateBytes, pick, Random, attempt } from './mutate.js';

const SOURCE = 'fuzz/digit.png';
const CASES = 1500;
const SEED = 1996;

/** A 14×12 digit-like picture (dark bar on light paper) in a colour type pngjs writes. */
function picture(colorType: 0 | 2 | 4 | 6): Uint8Array {
  const png = new PNG({ width: 14, height: 12, colorType, inputHasAlpha: true });
  for (let y = 0; y < 12; y++) {
    for (let x = 0; x < 14; x++) {
      const v = x >= 5 && x < 9 && y >= 2 && y < 10 ? 20 : 230;
      png.data.set([v, v, v, 255], (y * 14 + x) * 4);
    }
  }
  return new Uint8Array(PNG.sync.write(png, { colorType }));
}

interface Chunk {
  type: string;
  data: Uint8Array;
}

function chunks(bytes: Uint8Array): Chunk[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset);
  const out: Chunk[] = [];
  for (let at = 8; at < bytes.length; ) {
    const n = v.getUint32(at);
    out.push({ type: String.fromCharCode(...bytes.subarray(at + 4, at + 8)), data: bytes.slice(at + 8, at + 8 + n) });
    at += 12 + n;
  }
  return out;
}

/** A PNG of these chunks, each with its CRC computed. */
function build(list: Chunk[]): Uint8Array {
  const parts: Uint8Array[] = [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])];
  for (const c of list) {
    const body = concat(new TextEncoder().encode(c.type), c.data);
    const head = new Uint8Array(4);
    new DataView(head.buffer).setUint32(0, c.data.length);
    const crc = new Uint8Array(4);
    new DataView(crc.buffer).setUint32(0, crc32(body));
    parts.push(head, body, crc);
  }
  return concat(...parts);
}

function mutate(rng: Random, intact: Uint8Array) {
  const list = chunks(intact);
  switch (rng.int(4)) {
    case 0:
      return mutateBytes(rng, intact);
    case 1: {
      // IHDR: width, height, bit depth, colour type, compression, filter, interlace; the CRC recomputed.
      const ihdr = list[0].data.slice();
      const v = new DataView(ihdr.buffer);
      const field = rng.int(4);
      let what: string;
      if (field < 2) {
        const n = pick(rng, [...EDGE_U32, 13, 15, 28, 4096, 4097, 16384]);
        v.setUint32(4 * field, n);
        what = `IHDR ${field ? 'height' : 'width'} set to ${n}`;
      } else {
        const at = 8 + rng.int(5);
        ihdr[at] = pick(rng, [0, 1, 2, 3, 4, 6, 8, 16, 7, 255]);
        what = `IHDR byte ${at} set to ${ihdr[at]}`;
      }
      return { input: build([{ type: 'IHDR', data: ihdr }, ...list.slice(1)]), what };
    }
    case 2: {
      // A chunk's data changed (the compressed image data, mostly), the CRC recomputed.
      const i = rng.int(list.length);
      const m = mutateBytes(rng, list[i].data.length ? list[i].data : new Uint8Array(1));
      return { input: build(list.map((c, j) => (j === i ? { ...c, data: m.input } : c))), what: `${list[i].type} data: ${m.what}` };
    }
    default: {
      // Chunks removed, repeated, reordered or added (PLTE without a palette image, an unknown critical chunk, tRNS).
      const i = rng.int(list.length);
      const extra = pick(rng, [{ type: 'PLTE', data: new Uint8Array(6) }, { type: 'tRNS', data: new Uint8Array(2) }, { type: 'ABCD', data: new Uint8Array(3) }, { type: 'gAMA', data: new Uint8Array(4) }, list[0]]);
      const how = rng.int(4);
      if (how === 0) return { input: build(list.filter((_, j) => j !== i)), what: `${list[i].type} chunk removed` };
      if (how === 1) return { input: build([...list.slice(0, i + 1), list[i], ...list.slice(i + 1)]), what: `${list[i].type} chunk repeated` };
      if (how === 2) return { input: build([...list.slice(0, i), ...list.slice(i + 1), list[i]]), what: `${list[i].type} chunk moved to the end` };
      return { input: build([...list.slice(0, Math.max(1, i)), extra, ...list.slice(Math.max(1, i))]), what: `${extra.type} chunk added at ${Math.max(1, i)}` };
    }
  }
}

/** The picture's 28×28 input, or the error; what predict runs per file. */
function predictInput(bytes: Uint8Array) {
  const img = decodePng(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), SOURCE);
  blankImageNotice(img, SOURCE);
  return { img, x: toMnistInput(img) };
}

describe('fuzzing PNG files', () => {
  it(`${CASES} mutations of a PNG give the intact picture or a one-line error naming the file`, () => {
    const files = ([0, 2, 4, 6] as const).map((t) => ({ bytes: picture(t), intact: predictInput(picture(t)) }));
    const rng = new Random(SEED);
    const failures: Failure[] = [];
    const outcomes = { same: 0, different: 0, error: 0 };
    for (let i = 0; i < CASES; i++) {
      const file = pick(rng, files);
      const m = mutate(rng, file.bytes);
      // The image the IHDR declares, at 24 bytes a pixel (inflated rows, RGBA, the gray planes), is what a file may ask for.
      const declared = m.input.length >= 24 ? new DataView(m.input.buffer, m.input.byteOffset).getUint32(16) * new DataView(m.input.buffer, m.input.byteOffset).getUint32(20) : 0;
      const bound = Math.min(declared * 24, 1032 * 24 * m.input.length) + (4 << 20);
      const loaded = attempt(() => predictInput(m.input), m, { failures, outcomes }, { source: SOURCE, bound, slowMs: 2000 });
      if (loaded === undefined) continue;
      const { img, x } = loaded;
      if (img.rgba.length !== img.width * img.height * 4) failures.push({ kind: 'RGBA length disagrees with the size', what: m.what, detail: `${img.width}×${img.height}, ${img.rgba.length} bytes` });
      if (x.length !== 784 || !x.every((v) => v >= 0 && v <= 1)) failures.push({ kind: 'input outside [0, 1] or not 784 values', what: m.what, detail: '' });
      const same = img.width === file.intact.img.width && img.height === file.intact.img.height && img.rgba.every((v, j) => v === file.intact.img.rgba[j]);
      if (same) outcomes.same++;
      else {
        // Every byte of a PNG is under a chunk CRC, and the pixels under zlib's Adler-32 too: a different picture is damage taken in silence.
        outcomes.different++;
        failures.push({ kind: 'a damaged file loads as another picture', what: m.what, detail: `${img.width}×${img.height}` });
      }
    }
    expect(outcomes.same + outcomes.different + outcomes.error).toBe(CASES);
    expectNoFailures('PNG', CASES, failures, outcomes);
  }, 60_000);
});
