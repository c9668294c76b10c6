// The Node-only data readers: files on disk, gzip, and the bundled MNIST digits.
export { DEBIAN_FASHION_MNIST_DIR, FASHION_MNIST_CLASS_NAMES, loadIdxDir, readIdx } from './idx.js';
export type { IdxDirOptions } from './idx.js';
export { readCsv } from './csv.js';
export { BUILTIN_MNIST_SEED, BUILTIN_MNIST_TEST_FRACTION, loadBuiltinMnist, loadBuiltinMnistAll } from './mnist.js';
