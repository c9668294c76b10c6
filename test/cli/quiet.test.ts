import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';

/**
 * The CLI as users run it: built, in a process of its own, so that what Dawn
 * writes to fd 2 from native code is seen (an in-process run cannot catch it).
 * Built here, not taken from dist/, which may predate the sources.
 */
const OUT_DIR = 'node_modules/.cache/webgrad-cli-quiet';
const DAWN = /^Warning: |Couldn't load Vulkan|artificially reduced/m;
const TRAIN = ['train', '--epochs', '1', '--layers', '4'];
/** Says at exit whether dawn.node was ever mapped into the process (Linux). */
const DAWN_PROBE = `data:text/javascript,${encodeURIComponent(
  `import fs from 'node:fs'; process.on('exit', () => fs.existsSync('/proc/self/maps') && process.stderr.write('dawn.node mapped: ' + fs.readFileSync('/proc/self/maps', 'utf8').includes('dawn.node') + '\\n'));`,
)}`;
const gpu = backends.some(([n]) => n === 'webgpu');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'webgrad-quiet-'));
  const build = spawnSync('npx', ['vite', 'build', '--config', 'vite.node.config.ts', '--outDir', OUT_DIR, '--emptyOutDir', '--logLevel', 'error'], { encoding: 'utf8', timeout: 60_000 });
  if (build.status !== 0) throw new Error(`building the CLI failed:\n${build.stderr}`);
}, 90_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Runs the built CLI with its stderr in an append-mode file (what `2>>log`
 * gives) or, with `pipe`, through a shell pipe (what `| tee` gives).
 */
function cli(args: string[], opts: { env?: Record<string, string>; pipe?: boolean } = {}): { code: number | null; out: string; err: string } {
  const cliJs = resolve(OUT_DIR, 'cli.js');
  const node = [process.execPath, '--import', DAWN_PROBE, '--input-type=module', '-e', `const { main } = await import(${JSON.stringify(cliJs)}); process.exitCode = await main(process.argv.slice(1));`, ...args];
  const env = { ...process.env, WEBGRAD_VERBOSE: '', ...opts.env };
  if (opts.pipe) {
    const quoted = node.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
    const r = spawnSync('sh', ['-c', `{ ${quoted} 2>&1 1>&3 | cat >&2; } 3>&1`], { encoding: 'utf8', env, timeout: 120_000 });
    return { code: r.status, out: r.stdout, err: r.stderr };
  }
  const errFile = join(dir, `err-${Math.random().toString(36).slice(2)}.log`);
  const fd = openSync(errFile, 'a');
  try {
    const r = spawnSync(node[0], node.slice(1), { encoding: 'utf8', env, stdio: ['ignore', 'pipe', fd], timeout: 120_000 });
    return { code: r.status, out: r.stdout, err: readFileSync(errFile, 'utf8') };
  } finally {
    closeSync(fd);
  }
}

describe('Dawn stays quiet unless asked', () => {
  it('--backend cpu never loads dawn.node and prints no Dawn warnings', () => {
    const r = cli([...TRAIN, '--backend', 'cpu']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/test accuracy/);
    expect(r.err).not.toMatch(DAWN);
    if (process.platform === 'linux') expect(r.err).toContain('dawn.node mapped: false');
  }, 120_000);

  it.runIf(gpu)('the default backend hides Dawn\'s start-up warnings, with stderr a file or a pipe', () => {
    for (const pipe of [false, true]) {
      const r = cli(TRAIN, { pipe });
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/backend: webgpu/);
      expect(r.err).toContain('dawn.node mapped: true');
      expect(r.err, `stderr (${pipe ? 'pipe' : 'file'}):\n${r.err}`).not.toMatch(DAWN);
    }
  }, 240_000);

  it.runIf(gpu)('--verbose and WEBGRAD_VERBOSE=1 show them, and the adapters tried', () => {
    for (const r of [cli([...TRAIN, '--verbose']), cli(TRAIN, { env: { WEBGRAD_VERBOSE: '1' } })]) {
      expect(r.code, r.err).toBe(0);
      expect(r.err).toMatch(/webgrad: WebGPU adapters tried: .*: found/);
      // Mesa's GL driver offers more dynamic buffers than Dawn allows, and Dawn says so, every time.
      if (/api opengles/.test(r.out)) expect(r.err).toMatch(/artificially reduced/);
    }
  }, 240_000);
});
