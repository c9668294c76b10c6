import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchResults } from '../../bench/lib/report.js';

/**
 * --deadline (what the GPU kit's device run leans on): a job still running at
 * the deadline is stopped, later jobs are not started, and the results file is
 * still written, with each of them named in its errors.
 */
const OUT_DIR = 'node_modules/.cache/webgrad-bench-deadline';
const results = mkdtempSync(join(tmpdir(), 'webgrad-bench-deadline-'));
afterAll(() => rmSync(results, { recursive: true, force: true }));

describe('npm run bench -- --deadline', () => {
  it('stops the running job at the deadline, starts no other, and still writes the results file', () => {
    const build = spawnSync('npx', ['vite', 'build', '--config', 'bench/vite.config.ts', '--outDir', OUT_DIR], { encoding: 'utf8', timeout: 60_000 });
    expect(build.status, `bench build failed:\n${build.stderr}`).toBe(0);
    const run = spawnSync(process.execPath, [`${OUT_DIR}/main.js`, '--smoke', '--systems', 'webgrad-cpu,tfjs-cpu', '--deadline', '0.2', '--out', results], { encoding: 'utf8', timeout: 30_000 });
    // Exit status 1: jobs failed (were cut), but the run itself completed.
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(1);
    const files = readdirSync(results).filter((f) => f.endsWith('-smoke.json'));
    expect(files).toHaveLength(1);
    const r = JSON.parse(readFileSync(join(results, files[0]), 'utf8')) as BenchResults & { deadline: number | null };
    expect(r.deadline).toBe(0.2);
    expect(r.train).toEqual([]);
    expect(r.errors).toEqual([
      { job: 'smoke webgrad-cpu', error: expect.stringMatching(/^stopped at --deadline 0.2 s/) },
      { job: 'smoke tfjs-cpu', error: 'not run: --deadline 0.2 s reached' },
    ]);
  }, 90_000);
});
