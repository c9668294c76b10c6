import { fileURLToPath } from 'node:url';
import type { UserConfig } from 'vite';
import { defineConfig } from 'vitest/config';
import { mnistAsset } from './src/demo/mnist-asset.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// The browser demo: `npm run demo` serves src/demo, `npm run build:demo`
// writes a static site to dist-demo/ (base './', so any static server and
// any sub-path work). Under vitest (mode 'test') none of this applies: the
// root stays the repository, where test/ is.
const demo: UserConfig = {
  root: here('./src/demo'),
  base: './',
  plugins: [mnistAsset()],
  // The demo imports src/index.ts and shaders/*.wgsl from outside its root.
  server: { host: '127.0.0.1', fs: { allow: [here('.')] } },
  preview: { host: '127.0.0.1' },
  worker: { format: 'es' },
  build: {
    outDir: here('./dist-demo'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // Three pages: the MNIST demo, the Playground (src/demo/playground/) and the GPT page (src/demo/gpt/).
    rollupOptions: { input: { main: here('./src/demo/index.html'), playground: here('./src/demo/playground.html'), gpt: here('./src/demo/gpt.html') } },
  },
};

export default defineConfig(({ mode }) => ({
  ...(mode === 'test' ? {} : demo),
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Kernels on a software adapter are slow, but a hang must still fail fast.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    teardownTimeout: 20_000,
    reporters: ['default'],
  },
}));
