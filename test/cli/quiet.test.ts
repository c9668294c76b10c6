import { spawn, spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';

/**
 * The CLI as users run it: built, through bin/webgrad.js, in a process of its
 * own, so that what Dawn writes to fd 2 from native code is seen (an
 * in-process run cannot catch it). Built here, not taken from dist/, which may
 * predate the sources; bin/webgrad.js is copied beside the build so that it
 * finds it as it finds dist/ in the package.
 */
const OUT_DIR = 'node_modules/.cache/webgrad-cli-quiet';
const BIN = resolve(OUT_DIR, 'bin', 'webgrad.js');
const DAWN = /^Warning: |Couldn't load Vulkan|artificially reduced/m;
/** A small CSV keeps each run to start-up and one short epoch; set in beforeAll. */
let TRAIN: string[];
/** Says at exit whether dawn.node was ever mapped into the process (Linux); --import passes on to the filtered child. */
const DAWN_PROBE = `data:text/javascript,${encodeURIComponent(
  `import fs from 'node:fs'; process.on('exit', () => fs.existsSync('/proc/self/maps') && process.stderr.write('dawn.node mapped: ' + fs.readFileSync('/proc/self/maps', 'utf8').includes('dawn.node') + '\\n'));`,
)}`;
const gpu = backends.some(([n]) => n === 'webgpu');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'webgrad-quiet-'));
  const csv = join(dir, 'points.csv');
  writeFileSync(csv, ['a,b,label', ...Array.from({ length: 60 }, (_, i) => `${Math.sin(i)},${Math.cos(i * 3)},${i % 2 ? 'odd' : 'even'}`)].join('\n'));
  TRAIN = ['train', '--data', csv, '--epochs', '1', '--layers', '4'];
  const build = spawnSync('npx', ['vite', 'build', '--config', 'vite.node.config.ts', '--outDir', `${OUT_DIR}/dist`, '--emptyOutDir', '--logLevel', 'error'], { encoding: 'utf8', timeout: 60_000 });
  if (build.status !== 0) throw new Error(`building the CLI failed:\n${build.stderr}`);
  mkdirSync(dirname(BIN), { recursive: true });
  copyFileSync('bin/webgrad.js', BIN);
}, 90_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Where stderr goes: a file opened for appending (`2>>log`), one being
 * overwritten (`2>log`), the file stdout goes to (`>log 2>&1`, what most
 * people keep a log with), or a shell pipe (`| tee`).
 */
type Stderr = 'append' | 'overwrite' | 'shared' | 'pipe';

function cli(args: string[], stderr: Stderr, env: Record<string, string> = {}): { code: number | null; out: string; err: string } {
  const node = [process.execPath, '--import', DAWN_PROBE, BIN, ...args];
  const opts = { encoding: 'utf8' as const, env: { ...process.env, WEBGRAD_VERBOSE: '', ...env }, timeout: 120_000 };
  if (stderr === 'pipe') {
    const quoted = node.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
    const r = spawnSync('sh', ['-c', `{ ${quoted} 2>&1 1>&3 | cat >&2; } 3>&1`], opts);
    return { code: r.status, out: r.stdout, err: r.stderr };
  }
  const log = join(dir, `${stderr}-${Math.random().toString(36).slice(2)}.log`);
  const fd = openSync(log, stderr === 'append' ? 'a' : 'w');
  try {
    const r = spawnSync(node[0], node.slice(1), { ...opts, stdio: ['ignore', stderr === 'shared' ? fd : 'pipe', fd] });
    return { code: r.status, out: stderr === 'shared' ? readFileSync(log, 'utf8') : r.stdout, err: readFileSync(log, 'utf8') };
  } finally {
    closeSync(fd);
  }
}

describe('Dawn stays quiet unless asked', () => {
  it('--backend cpu never loads dawn.node and prints no Dawn warnings', () => {
    const r = cli([...TRAIN, '--backend', 'cpu'], 'overwrite');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/test accuracy/);
    expect(r.err).not.toMatch(DAWN);
    if (process.platform === 'linux') expect(r.err).not.toContain('dawn.node mapped: true');
  }, 120_000);

  it.runIf(gpu)('the default backend hides Dawn\'s start-up warnings whatever stderr is: a file appended to, overwritten or shared with stdout, a pipe', () => {
    for (const stderr of ['shared', 'overwrite', 'append', 'pipe'] as const) {
      const r = cli(TRAIN, stderr);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/backend: webgpu/);
      expect(r.out).toMatch(/test accuracy/);
      expect(r.err).toContain('dawn.node mapped: true');
      expect(r.err, `stderr (${stderr}):\n${r.err}`).not.toMatch(DAWN);
    }
  }, 480_000);

  it.runIf(gpu)('--verbose and WEBGRAD_VERBOSE=1 show them, and the adapters tried, in a log of stdout and stderr too', () => {
    for (const r of [cli([...TRAIN, '--verbose'], 'shared'), cli(TRAIN, 'pipe', { WEBGRAD_VERBOSE: '1' })]) {
      expect(r.code, r.err).toBe(0);
      expect(r.err).toMatch(/webgrad: WebGPU adapters tried: .*: found/);
      // Mesa's GL driver offers more dynamic buffers than Dawn allows, and Dawn says so, every time.
      if (/api opengles/.test(r.out)) expect(r.err).toMatch(/artificially reduced/);
    }
  }, 240_000);

  it('an error\'s exit code and message come through the filtering process', () => {
    const r = cli(['train', '--epochs', '0'], 'shared');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^webgrad train: --epochs must be a whole number >= 1; got '0'$/m);
  }, 60_000);

  it.runIf(process.platform === 'linux')('a kill reaches the training process, and webgrad ends by the same signal', async () => {
    const long = TRAIN.map((a, i) => (TRAIN[i - 1] === '--epochs' ? '100000' : a));
    const child = spawn(process.execPath, [BIN, ...long, '--backend', 'cpu'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, WEBGRAD_VERBOSE: '' } });
    await new Promise<void>((done) => child.stdout.on('data', (d: Buffer) => d.includes('Epoch 1/') && done()));
    const trainer = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim());
    expect(trainer).toBeGreaterThan(0);
    child.kill('SIGTERM');
    const [code, signal] = await new Promise<[number | null, string | null]>((done) => child.on('close', (c, s) => done([c, s])));
    expect([code, signal]).toEqual([null, 'SIGTERM']);
    expect(() => process.kill(trainer, 0)).toThrow(/ESRCH/);
  }, 60_000);
});
