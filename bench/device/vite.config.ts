import { fileURLToPath } from 'node:url';
import { defineConfig, mergeConfig } from 'vite';
import bench from '../vite.config.js';

// The bench as bench/device/pack.sh bundles it for the GPU kit: the same build
// as `npm run bench`, plus the kit's probe and summary, with pngjs bundled in
// and 'vite' replaced by a stub (only the browser section builds with Vite,
// and the kit runs no browser). webgpu (dawn.node), tfjs (its wasm files are
// found beside its script) and mnist (read as files) stay external: pack.sh
// carries trimmed copies of them. The output directory comes from the command line.
export default mergeConfig(bench, defineConfig({
  resolve: { alias: [{ find: /^vite$/, replacement: fileURLToPath(new URL('./no-vite.ts', import.meta.url)) }] },
  ssr: { noExternal: ['pngjs'] },
  build: {
    sourcemap: false,
    rollupOptions: { input: { probe: 'bench/device/probe.ts', summary: 'bench/device/summary.ts' } },
  },
}));
