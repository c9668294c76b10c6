// Reading IDX files (MNIST, Fashion-MNIST) from disk, plain or gzipped. Node-only.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { constants, gunzipSync } from 'node:zlib';
import { ValueError } from '../core/errors.js';
import type { Dataset } from './dataset.js';
import type { IdxArray } from './idx-format.js';
import { idxToDataset, isGzip, parseIdx, readIdxHeader } from './idx-format.js';

/** Where Debian's `dataset-fashion-mnist` package installs the four .gz files. */
export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** Fashion-MNIST's label names, by class index. */
export const FASHION_MNIST_CLASS_NAMES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

/** Reads one IDX file; gzip is detected by its magic bytes, not by the name. */
export function readIdx(path: string): IdxArray {
  if (!existsSync(path)) throw new ValueError(`readIdx: no such file ${path} (expected an IDX file, plain or .gz, such as train-images-idx3-ubyte.gz)`);
  if (statSync(path).isDirectory()) throw new ValueError(`readIdx: ${path} is a directory, expected an IDX file`);
  return decodeIdxFile(readFileSync(path), path);
}

/** An IDX file's bytes, plain or gzipped (told by the magic bytes); `path` names it in errors. */
export function decodeIdxFile(bytes: Uint8Array, path: string): IdxArray {
  return parseIdx(isGzip(bytes) ? gunzipIdx(bytes, path) : bytes, path);
}

const FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
};

/** The file for `base` in `dir`: plain or .gz, and the "train-images.idx3-ubyte" spelling of some mirrors. */
function findFile(dir: string, names: string[], base: string): string {
  const dotted = base.replace(/-(idx\d-ubyte)$/, '.$1');
  for (const candidate of [base, `${base}.gz`, dotted, `${dotted}.gz`]) {
    if (names.includes(candidate)) return join(dir, candidate);
  }
  const shown = names.length > 12 ? `${names.slice(0, 12).join(', ')}, ...` : names.join(', ') || 'nothing';
  throw new ValueError(`loadIdxDir: no ${base} (or ${base}.gz) in ${dir}; found: ${shown}`);
}

export interface IdxDirOptions {
  /** Attached to both sets, e.g. FASHION_MNIST_CLASS_NAMES. */
  classNames?: string[];
}

/**
 * Loads an MNIST-layout directory (train-images-idx3-ubyte, train-labels-idx1-ubyte,
 * t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each optionally .gz):
 * x in [0, 1] as images [n, rows, cols, 1] (NHWC, one channel, as Keras), Int32Array labels, 10 classes.
 */
export function loadIdxDir(dir: string, options: IdxDirOptions = {}): { train: Dataset; test: Dataset } {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new ValueError(`loadIdxDir: no directory ${dir} (expected one holding ${Object.values(FILES).join(', ')}, each optionally .gz)`);
  }
  if (options.classNames && options.classNames.length !== 10) {
    throw new ValueError(`loadIdxDir: ${options.classNames.length} class names given for 10 classes`);
  }
  const names = readdirSync(dir).sort();
  const path = (base: string) => findFile(dir, names, base);
  const paths = {
    trainImages: path(FILES.trainImages),
    trainLabels: path(FILES.trainLabels),
    testImages: path(FILES.testImages),
    testLabels: path(FILES.testLabels),
  };
  const load = (images: string, labels: string): Dataset => {
    const ds = idxToDataset(readIdx(images), readIdx(labels), { images, labels });
    if (options.classNames) ds.classNames = options.classNames.slice();
    return ds;
  };
  const train = load(paths.trainImages, paths.trainLabels);
  const test = load(paths.testImages, paths.testLabels);
  if (train.xShape[1] !== test.xShape[1] || train.xShape[2] !== test.xShape[2]) {
    throw new ValueError(`loadIdxDir: train images are ${train.xShape[1]}×${train.xShape[2]} but test images ${test.xShape[1]}×${test.xShape[2]} (${dir})`);
  }
  return { train, test };
}

/**
 * Compressed bytes inflated first, for the IDX header inside: 256 (which
 * inflate to at most ~260 KB), or 4 KiB when a long gzip header (a stored
 * file name) leaves the IDX header short of its end.
 */
const HEAD_BYTES = [256, 4096];

/**
 * Inflates a gzipped IDX file, never past the length its IDX header declares:
 * the first compressed bytes give the header, and the whole file is then
 * inflated with that length as the limit, so a damaged or hostile file (a
 * gzip bomb) costs no more memory than the array it claims to hold.
 */
function gunzipIdx(bytes: Uint8Array, path: string): Uint8Array {
  const broken = (e: unknown) => new ValueError(`readIdx: ${path} starts like gzip but does not decompress: ${(e as Error).message}`);
  let head = new Uint8Array(0);
  for (const n of HEAD_BYTES) {
    try {
      // SYNC_FLUSH: a prefix of the stream inflates to a prefix of the file, without an "unexpected end" error.
      head = gunzipSync(bytes.subarray(0, n), { finishFlush: constants.Z_SYNC_FLUSH });
    } catch (e) {
      throw broken(e);
    }
    if (head.length >= 4 + 4 * (head[3] ?? 255) || n >= bytes.length) break;
  }
  const { kind, shape, byteLength } = readIdxHeader(head, path);
  try {
    return gunzipSync(bytes, { maxOutputLength: byteLength + 1 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ERR_BUFFER_TOO_LARGE') throw broken(e);
    throw new ValueError(`${path}: decompresses to more than the ${byteLength} bytes its IDX header declares (shape [${shape.join(', ')}] of ${kind.type}); the file is damaged or holds more than one array`);
  }
}
