// Where the build puts the built-in digits (see ../mnist-asset.ts), and the
// names the page fetches them by. Browser-safe: the plugin and the page share it.

/** A folder next to index.html in the built demo (and a route of the dev server). */
export const BUILTIN_DIR = 'mnist';

/** MNIST's own file names, so the built-in set reads through the same IDX path as a user's files. */
export const BUILTIN_FILES = {
  trainImages: 'train-images-idx3-ubyte.gz',
  trainLabels: 'train-labels-idx1-ubyte.gz',
  testImages: 't10k-images-idx3-ubyte.gz',
  testLabels: 't10k-labels-idx1-ubyte.gz',
} as const;
