// Fuzzing IDX files (MNIST's format), plain and gzipped, through what
// loadIdxDir runs on each images / labels pair: decodeIdxFile, then
// idxToDataset. The contract: the intact data set, a different one the files
// honestly describe (a flipped pixel or label), or a one-line WebgradError
// naming the file; memory bounded by what the header may honestly declare.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { idxToDataset } from '../../src/data/idx-format.js';
import { decodeIdxFile } from '../../src/data/idx.js';
import type { Failure } from './mutate.js';
import { allocatedBy, concat, EDGE_U32, expectNoFailures, judgeError, mutateBytes, pick, Random } from './mutate.js';

const IMAGES = 'fuzz/train-images-idx3-ubyte';
const LABELS = 'fuzz/train-labels-idx1-ubyte';
const CASES = 3000;
const SEED = 1998;
/** Most a deflate stream can expand, 1032 to 1: what a gzipped file may honestly decompress to. */
const DEFLATE_RATIO = 1032;

/** An IDX file: type code, dims, then the data as given. */
function idx(type: number, dims: number[], data: Uint8Array): Uint8Array {
  const head = new Uint8Array(4 + 4 * dims.length);
  const v = new DataView(head.buffer);
  head[2] = type;
  head[3] = dims.length;
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  return concat(head, data);
}

const rngData = new Random(3);
const N = 6;
const intactImages = idx(0x08, [N, 5, 4], Uint8Array.from({ length: N * 20 }, () => rngData.int(256)));
const intactLabels = idx(0x08, [N], Uint8Array.from({ length: N }, () => rngData.int(10)));

/** A header field changed and the data made to match it (a consistent file with other dims or type), or left as it was (a header that lies). */
function reheader(rng: Random, bytes: Uint8Array): { input: Uint8Array; what: string } {
  const rank = bytes[3];
  const dims = Array.from({ length: rank }, (_, i) => new DataView(bytes.buffer, bytes.byteOffset).getUint32(4 + 4 * i, false));
  const data = bytes.subarray(4 + 4 * rank);
  const change = rng.int(3);
  let type = bytes[2];
  let newDims = dims;
  if (change === 0) newDims = dims.map((d, i) => (i === rng.int(rank) ? pick(rng, [0, 1, d + 1, d - 1, 2 * d, ...EDGE_U32]) : d));
  else if (change === 1) newDims = pick(rng, [[], dims.slice(1), [...dims, 1], [dims.reduce((a, b) => a * b, 1)], Array.from({ length: 255 }, () => 1)]);
  else type = pick(rng, [0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e, 0x00, 0x0a, 0xff]);
  const size = { 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 }[type] ?? 1;
  const count = newDims.reduce((a, b) => a * b, 1);
  const fits = count * size <= 1 << 16;
  const body = rng.int(2) && fits ? Uint8Array.from({ length: count * size }, (_, i) => data[i % data.length] ?? 0) : data;
  return { input: idx(type, newDims, body), what: `header type 0x${type.toString(16)} dims [${newDims.slice(0, 4)}${newDims.length > 4 ? ', ...' : ''}]${body === data ? ' (data unchanged)' : ' (data resized to match)'}` };
}

function mutate(rng: Random): { images: Uint8Array; labels: Uint8Array; gz: boolean; what: string } {
  const which = rng.int(2) ? 'images' : 'labels';
  const gz = rng.int(4) === 0;
  const intact = which === 'images' ? intactImages : intactLabels;
  let input: Uint8Array;
  let what: string;
  if (gz) ({ input, what } = mutateBytes(rng, gzipSync(intact)));
  else if (rng.int(2)) ({ input, what } = mutateBytes(rng, intact));
  else ({ input, what } = reheader(rng, intact));
  const other = which === 'images' ? intactLabels : intactImages;
  const pair = { [which]: input, [which === 'images' ? 'labels' : 'images']: gz ? gzipSync(other) : other } as { images: Uint8Array; labels: Uint8Array };
  return { ...pair, gz, what: `${which}${gz ? ' (gzipped)' : ''}: ${what}` };
}

const load = (images: Uint8Array, labels: Uint8Array) => idxToDataset(decodeIdxFile(images, IMAGES), decodeIdxFile(labels, LABELS), { images: IMAGES, labels: LABELS });

describe('fuzzing IDX files', () => {
  it(`${CASES} mutations of an images / labels pair give the intact data set, an honest different one, or a one-line error naming the file`, () => {
    const intact = load(intactImages, intactLabels);
    const rng = new Random(SEED);
    const failures: Failure[] = [];
    const outcomes = { same: 0, different: 0, error: 0 };
    for (let i = 0; i < CASES; i++) {
      const m = mutate(rng);
      const run = allocatedBy(() => load(m.images, m.labels));
      const length = m.images.length + m.labels.length;
      // u8 pixels become float32 (4 bytes each) and a copy is made on the way: 12 bytes a file byte; a gzipped file may hold 1032 times its size.
      const bound = 12 * (m.gz ? DEFLATE_RATIO : 1) * length + (1 << 20);
      if (run.bytes > bound) failures.push({ kind: 'memory past what the file needs', what: m.what, detail: `${run.bytes} bytes for ${length} bytes of files` });
      if (run.ms > 2000) failures.push({ kind: 'slow', what: m.what, detail: `${run.ms.toFixed(0)} ms` });
      if (run.error !== undefined) {
        outcomes.error++;
        const message = run.error instanceof Error ? run.error.message : '';
        // An error about the pair names both files; one about a file names it.
        const bad = judgeError(run.error, message.includes(LABELS) && !message.includes(IMAGES) ? LABELS : IMAGES);
        if (bad) failures.push({ ...bad, what: m.what });
        continue;
      }
      const ds = run.result!;
      const same = ds.xShape.join() === intact.xShape.join() && ds.x.every((v, j) => v === intact.x[j]) && (ds.y as Int32Array).every((v, j) => v === intact.y[j]) && ds.y.length === intact.y.length;
      if (same) {
        outcomes.same++;
        continue;
      }
      outcomes.different++;
      if (process.env.FUZZ_VERBOSE === '2') console.log(`different: ${m.what} -> x [${ds.xShape}]`);
      const n = ds.xShape[0];
      const pixels = ds.xShape.slice(1).reduce((a, b) => a * b, 1);
      if (ds.x.length !== n * pixels || ds.y.length !== n) failures.push({ kind: 'a data set whose arrays disagree with its shape', what: m.what, detail: `x [${ds.xShape}] holds ${ds.x.length}, y ${ds.y.length}` });
      else if (pixels === 0) failures.push({ kind: 'images without pixels accepted', what: m.what, detail: `x [${ds.xShape}]` });
      else if (!ds.x.every((v) => v >= 0 && v <= 1)) failures.push({ kind: 'pixels outside [0, 1]', what: m.what, detail: '' });
      else if (!(ds.y as Int32Array).every((v) => v >= 0 && v < ds.classes!)) failures.push({ kind: 'labels outside the classes', what: m.what, detail: '' });
    }
    expect(outcomes.same + outcomes.different + outcomes.error).toBe(CASES);
    expectNoFailures('IDX', CASES, failures, outcomes);
  }, 60_000);

  it('refuses a gzip bomb (a 9-byte IDX header, then 16 MB of zeros) without inflating it: memory stays within what the header declares', () => {
    const bomb = gzipSync(concat(idx(0x08, [1], new Uint8Array(1)), new Uint8Array(16 << 20)));
    const run = allocatedBy(() => decodeIdxFile(bomb, IMAGES));
    expect(judgeError(run.error, IMAGES)).toBe(null);
    expect((run.error as Error).message).toBe(`${IMAGES}: decompresses to more than the 9 bytes its IDX header declares (shape [1] of u8); the file is damaged or holds more than one array`);
    expect(run.bytes).toBeLessThan(1 << 20);
  });
});
