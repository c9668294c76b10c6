import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { ShapeError, ValueError } from '../../src/core/errors.js';
import { validateDataset } from '../../src/data/dataset.js';
import { DEBIAN_FASHION_MNIST_DIR, FASHION_MNIST_CLASS_NAMES, loadIdxDir, readIdx } from '../../src/data/idx.js';
import { idxToDataset, isGzip, parseIdx } from '../../src/data/idx-format.js';

const tmp = mkdtempSync(join(tmpdir(), 'webgrad-idx-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const CODES = { u8: 0x08, i8: 0x09, i16: 0x0b, i32: 0x0c, f32: 0x0d, f64: 0x0e } as const;
const SIZE = { u8: 1, i8: 1, i16: 2, i32: 4, f32: 4, f64: 8 } as const;

/** An IDX file's bytes, written big-endian by hand (independently of the reader). */
function idx(type: keyof typeof CODES, shape: number[], values: number[]): Uint8Array {
  const out = new Uint8Array(4 + 4 * shape.length + values.length * SIZE[type]);
  const v = new DataView(out.buffer);
  out.set([0, 0, CODES[type], shape.length]);
  shape.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  let at = 4 + 4 * shape.length;
  for (const x of values) {
    if (type === 'u8') v.setUint8(at, x);
    else if (type === 'i8') v.setInt8(at, x);
    else if (type === 'i16') v.setInt16(at, x, false);
    else if (type === 'i32') v.setInt32(at, x, false);
    else if (type === 'f32') v.setFloat32(at, x, false);
    else v.setFloat64(at, x, false);
    at += SIZE[type];
  }
  return out;
}

function write(name: string, bytes: Uint8Array, dir = tmp): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

describe('parseIdx / readIdx', () => {
  it.each([
    ['u8', [0, 1, 255, 128]],
    ['i8', [-128, -1, 0, 127]],
    ['i16', [-32768, -2, 300, 32767]],
    ['i32', [-2147483648, -70000, 70000, 2147483647]],
    ['f32', [-1.5, 0, 3.25, 2 ** 100]],
    ['f64', [-1e-300, 0.1, Math.PI, -2]],
  ] as const)('decodes big-endian %s', (type, values) => {
    const a = parseIdx(idx(type, [2, 2], [...values]), 'mem');
    expect(a.type).toBe(type);
    expect(a.shape).toEqual([2, 2]);
    expect(Array.from(a.data)).toEqual([...values]);
  });

  it('reads plain and gzip files alike, detecting gzip by its magic bytes', () => {
    const bytes = idx('u8', [3, 2], [1, 2, 3, 4, 5, 6]);
    const plain = readIdx(write('a-idx2-ubyte', bytes));
    const gz = readIdx(write('a-idx2-ubyte.gz', gzipSync(bytes)));
    const gzNoSuffix = readIdx(write('b-idx2-ubyte', gzipSync(bytes)));
    for (const r of [plain, gz, gzNoSuffix]) {
      expect(r.shape).toEqual([3, 2]);
      expect(Array.from(r.data)).toEqual([1, 2, 3, 4, 5, 6]);
    }
    expect(isGzip(gzipSync(bytes))).toBe(true);
    expect(isGzip(bytes)).toBe(false);
  });

  it('reports truncated and over-long data, naming the file', () => {
    const full = idx('u8', [3, 2, 2], new Array(12).fill(7));
    const p = write('trunc-idx3-ubyte', full.subarray(0, full.length - 1));
    expect(() => readIdx(p)).toThrow(new ValueError(`${p}: truncated: expected 12 bytes of data after the header (shape [3, 2, 2], u8), got 11`));
    const pz = write('trunc-idx3-ubyte.gz', gzipSync(full.subarray(0, full.length - 5)));
    expect(() => readIdx(pz)).toThrow(`${pz}: truncated: expected 12 bytes of data after the header (shape [3, 2, 2], u8), got 7`);
    const f32 = idx('f32', [2], [1, 2]);
    expect(() => parseIdx(f32.subarray(0, 10), 'x.idx')).toThrow('x.idx: truncated: expected 8 bytes of data after the header (shape [2], f32), got 2');
    const long = new Uint8Array([...full, 0, 0]);
    expect(() => parseIdx(long, 'long')).toThrow('long: 2 unexpected bytes after the data: shape [3, 2, 2] of u8 needs 12 bytes, got 14');
  });

  it('reports a bad magic number, unknown type, short header, missing file and broken gzip', () => {
    const p = write('magic', new Uint8Array([0x50, 0x4b, 3, 4, 0, 0, 0, 0]));
    expect(() => readIdx(p)).toThrow(new ValueError(`${p}: bad magic number: an IDX file starts with 0x00 0x00, a type code and a rank, got 0x50 0x4b 0x03 0x04`));
    expect(() => parseIdx(new Uint8Array([0, 0, 0x0a, 1, 0, 0, 0, 0]), 'm')).toThrow('m: unknown IDX type code 0x0a (known: 0x08 u8, 0x09 i8, 0x0b i16, 0x0c i32, 0x0d f32, 0x0e f64)');
    expect(() => parseIdx(new Uint8Array([0, 0]), 'm')).toThrow('m: 2 bytes is too short for an IDX header');
    expect(() => parseIdx(new Uint8Array([0, 0, 8, 3, 0, 0, 0, 1]), 'm')).toThrow('m: truncated header: rank 3 needs 16 header bytes, got 8');
    expect(() => parseIdx(new Uint8Array([0, 0, 8, 0]), 'm')).toThrow('IDX rank is 0');
    const missing = join(tmp, 'nope-idx1-ubyte');
    expect(() => readIdx(missing)).toThrow(`readIdx: no such file ${missing} (expected an IDX file, plain or .gz`);
    const bad = write('bad.gz', new Uint8Array([0x1f, 0x8b, 1, 2, 3]));
    expect(() => readIdx(bad)).toThrow(`readIdx: ${bad} starts like gzip but does not decompress`);
  });
});

/** An MNIST-layout directory of n train and m test 2×3 images; labels i % 10. */
function mnistDir(name: string, n: number, m: number, opts: { gz?: boolean; labels?: number[]; dotted?: boolean } = {}): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  const file = (base: string, bytes: Uint8Array) => {
    const b = opts.dotted ? base.replace(/-(idx\d)/, '.$1') : base;
    write(opts.gz ? `${b}.gz` : b, opts.gz ? gzipSync(bytes) : bytes, dir);
  };
  const pixels = (k: number) => Array.from({ length: k * 6 }, (_, i) => (i * 37) % 256);
  file('train-images-idx3-ubyte', idx('u8', [n, 2, 3], pixels(n)));
  file('train-labels-idx1-ubyte', idx('u8', [opts.labels?.length ?? n], opts.labels ?? Array.from({ length: n }, (_, i) => i % 10)));
  file('t10k-images-idx3-ubyte', idx('u8', [m, 2, 3], pixels(m)));
  file('t10k-labels-idx1-ubyte', idx('u8', [m], Array.from({ length: m }, (_, i) => (i + 3) % 10)));
  return dir;
}

describe('loadIdxDir', () => {
  it.each([false, true])('loads train and test sets, gz=%s', (gz) => {
    const { train, test } = loadIdxDir(mnistDir(`ok-${gz}`, 12, 4, { gz }));
    expect([train.xShape, train.yShape, test.xShape, test.yShape]).toEqual([[12, 2, 3, 1], [12], [4, 2, 3, 1], [4]]);
    expect(train.x).toBeInstanceOf(Float32Array);
    expect(train.y).toBeInstanceOf(Int32Array);
    expect(Array.from(train.x.subarray(0, 8))).toEqual([0, 37, 74, 111, 148, 185, 222, 3].map((v) => Math.fround(v / 255)));
    expect(Array.from(train.y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    expect(Array.from(test.y)).toEqual([3, 4, 5, 6]);
    expect([train.classes, test.classes]).toEqual([10, 10]);
    validateDataset(train, 'train');
    validateDataset(test, 'test');
  });

  it('finds the dotted names some mirrors use and attaches class names', () => {
    const { test } = loadIdxDir(mnistDir('dotted', 3, 2, { dotted: true }), { classNames: FASHION_MNIST_CLASS_NAMES });
    expect(test.classNames?.[9]).toBe('Ankle boot');
  });

  it('refuses an image/label count mismatch, a bad label, a missing file or directory', () => {
    const dir = mnistDir('mismatch', 3, 2, { labels: [1, 2] });
    expect(() => loadIdxDir(dir)).toThrow(`${join(dir, 'train-images-idx3-ubyte')} + ${join(dir, 'train-labels-idx1-ubyte')}: 3 images but 2 labels; the counts must agree`);
    const badLabel = mnistDir('badlabel', 3, 2, { labels: [1, 12, 2] });
    expect(() => loadIdxDir(badLabel)).toThrow('label 12 of sample 1 is outside [0, 10)');
    const partial = mnistDir('partial', 3, 2);
    rmSync(join(partial, 't10k-labels-idx1-ubyte'));
    expect(() => loadIdxDir(partial)).toThrow(
      new ValueError(`loadIdxDir: no t10k-labels-idx1-ubyte (or t10k-labels-idx1-ubyte.gz) in ${partial}; found: t10k-images-idx3-ubyte, train-images-idx3-ubyte, train-labels-idx1-ubyte`),
    );
    expect(() => loadIdxDir(join(tmp, 'absent'))).toThrow(`loadIdxDir: no directory ${join(tmp, 'absent')} (expected one holding train-images-idx3-ubyte`);
  });
});

describe('idxToDataset: a file in the wrong role', () => {
  it('says which file holds what (rank, dims, type) and what was expected, hinting at a swap', () => {
    const dir = mnistDir('swapped', 3, 2);
    const images = join(dir, 'train-images-idx3-ubyte');
    const labels = join(dir, 'train-labels-idx1-ubyte');
    write('train-images-idx3-ubyte', idx('u8', [3], [1, 2, 3]), dir);
    expect(() => loadIdxDir(dir)).toThrow(
      new ShapeError(
        `${images}: expected images, u8 [n, rows, cols] (rank 3); found rank 1 [3] of u8; ` +
          'it looks like a labels file (such as train-labels-idx1-ubyte): are the two swapped?',
      ),
    );
    write('train-images-idx3-ubyte', idx('u8', [3, 6], new Array(18).fill(1)), dir);
    expect(() => loadIdxDir(dir)).toThrow(
      `${images}: expected images, u8 [n, rows, cols] (rank 3); found rank 2 [3, 6] of u8; a 2-D [n, pixels] file has lost each image's rows and columns: write it as [n, rows, cols]`,
    );
    write('train-images-idx3-ubyte', idx('u8', [3, 2, 3], new Array(18).fill(1)), dir);
    write('train-labels-idx1-ubyte', idx('u8', [3, 2, 3], new Array(18).fill(1)), dir);
    expect(() => loadIdxDir(dir)).toThrow(
      `${labels}: expected labels, u8 [n] (rank 1); found rank 3 [3, 2, 3] of u8; it looks like an images file (such as train-images-idx3-ubyte): are the two swapped?`,
    );
    write('train-labels-idx1-ubyte', idx('i32', [3], [0, 1, 2]), dir);
    expect(() => loadIdxDir(dir)).toThrow(`${labels}: expected labels, u8 [n] (rank 1); found rank 1 [3] of i32; MNIST-style labels are unsigned bytes (type code 0x08)`);
  });

  it('names the role when given one name for the pair', () => {
    const labels = parseIdx(idx('u8', [2], [0, 1]), 'l');
    expect(() => idxToDataset(labels, labels, 'upload')).toThrow(/^upload \(images\): expected images, u8 \[n, rows, cols\] \(rank 3\); found rank 1 \[2\] of u8/);
  });
});

const haveFashion = existsSync(join(DEBIAN_FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'));
const fashionTitle = haveFashion
  ? `Debian Fashion-MNIST in ${DEBIAN_FASHION_MNIST_DIR}`
  : `Debian Fashion-MNIST (SKIPPED: ${DEBIAN_FASHION_MNIST_DIR} is absent; apt-get install dataset-fashion-mnist)`;
if (!haveFashion) console.warn(fashionTitle);

describe.skipIf(!haveFashion)(fashionTitle, () => {
  it('loads 60,000 train and 10,000 test images of 28×28 in [0, 1] with labels 0-9', () => {
    const { train, test } = loadIdxDir(DEBIAN_FASHION_MNIST_DIR, { classNames: FASHION_MNIST_CLASS_NAMES });
    expect([train.xShape, train.yShape, test.xShape, test.yShape]).toEqual([[60000, 28, 28, 1], [60000], [10000, 28, 28, 1], [10000]]);
    validateDataset(train, 'fashion train');
    validateDataset(test, 'fashion test');
    let max = 0;
    for (let i = 0; i < train.x.length; i++) if (train.x[i] > max) max = train.x[i];
    expect(max).toBe(1);
    // Fashion-MNIST is balanced: 6,000 train and 1,000 test images per class.
    const perClass = new Array(10).fill(0);
    for (const c of train.y) perClass[c]++;
    expect(perClass).toEqual(new Array(10).fill(6000));
  });
});
