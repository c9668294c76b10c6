import { defineConfig } from 'vite';

// Builds the Node side of the bench (runner, worker, browser driver) for plain `node`:
// Vite inlines the shaders/*.wgsl?raw imports exactly as for the CLI. The
// output lives under node_modules/.cache so that it is never committed and
// never collides with the library's dist/.
export const BENCH_OUT = 'node_modules/.cache/webgrad-bench';

export default defineConfig({
  // Errors only: the library's own build already reports its warnings.
  logLevel: 'error',
  build: {
    ssr: true,
    outDir: BENCH_OUT,
    emptyOutDir: true,
    target: 'node20',
    sourcemap: true,
    rollupOptions: {
      input: { main: 'bench/main.ts', worker: 'bench/worker.ts', 'gpt-step': 'bench/gpt-step.ts' },
      output: { format: 'es', entryFileNames: '[name].js' },
    },
  },
});
