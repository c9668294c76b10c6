import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The public entry point must load in a browser: nothing it imports
 * statically may be a Node built-in or Dawn's `webgpu` package. (Node-only
 * code is reached through dynamic import(), e.g. model.save(path).)
 */
function staticImports(file: string, seen = new Map<string, string[]>()): Map<string, string[]> {
  if (seen.has(file)) return seen;
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/^\s*(?:import|export)\s(?!type\b)[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]);
  seen.set(file, specs);
  for (const s of specs) {
    if (s.startsWith('.')) staticImports(resolve(dirname(file), s.replace(/\.js$/, '.ts').replace(/\?raw$/, '')), seen);
  }
  return seen;
}

describe('the public API', () => {
  it('imports nothing Node-only, statically', () => {
    const graph = staticImports(resolve('src/index.ts'));
    const bad: string[] = [];
    for (const [file, specs] of graph) {
      for (const s of specs) if (s.startsWith('node:') || s === 'webgpu' || s === 'pngjs' || ['fs', 'path', 'zlib', 'os'].includes(s)) bad.push(`${file}: ${s}`);
    }
    expect(graph.size).toBeGreaterThan(20);
    expect(bad).toEqual([]);
  });

  it('loads WebGPU only when asked: no module outside src/backend/ imports it statically', () => {
    // From every entry point: the library, the CLI and the demo.
    const bad: string[] = [];
    for (const entry of ['src/index.ts', 'src/node.ts', 'src/cli/main.ts', 'src/demo/main.ts', 'src/demo/playground/main.ts', 'src/demo/gpt/main.ts']) {
      for (const [file, specs] of staticImports(resolve(entry))) {
        if (file.includes('/src/backend/')) continue;
        for (const s of specs) if (/backend\/webgpu\//.test(s)) bad.push(`${file}: ${s}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('is all the demo imports of webgrad', () => {
    const bad: string[] = [];
    const entries = ['src/demo/main.ts', 'src/demo/train/worker.ts', 'src/demo/playground/main.ts', 'src/demo/playground/worker.ts', 'src/demo/gpt/main.ts', 'src/demo/gpt/worker.ts'];
    for (const [file, specs] of entries.flatMap((e) => [...staticImports(resolve(e))])) {
      if (!file.includes('/src/demo/')) continue;
      for (const s of specs) {
        const target = resolve(dirname(file), s);
        if (s.startsWith('.') && !target.includes('/src/demo/') && !target.endsWith('/src/index.js') && !s.endsWith('?raw')) bad.push(`${file}: ${s}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
