import { defineConfig } from 'vite';

// Builds the Node entry points (CLI, library, library with the Node-only readers) into dist/. Vite inlines the
// shaders/*.wgsl?raw imports, so Node, vitest and the browser all read the
// same WGSL files through the same import.
export default defineConfig({
  build: {
    ssr: true,
    outDir: 'dist',
    emptyOutDir: true,
    target: 'node20',
    sourcemap: true,
    rollupOptions: {
      input: { cli: 'src/cli/main.ts', index: 'src/index.ts', node: 'src/node.ts' },
      output: { format: 'es', entryFileNames: '[name].js' },
    },
  },
});
