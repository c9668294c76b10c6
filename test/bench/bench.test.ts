import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchResults } from '../../bench/lib/report.js';

/**
 * The bench end to end on one tiny workload (784-32-10, 512 digits): build,
 * one worker process per system, the JSON result file. Speed is not tested
 * here (speed targets live in the bench); the shape of the results and the
 * agreement of the losses are: the same steps from the same weights on the
 * same data must give the same mean loss on every system.
 */
const OUT_DIR = 'node_modules/.cache/webgrad-bench-smoke';
const results = mkdtempSync(join(tmpdir(), 'webgrad-bench-'));
afterAll(() => rmSync(results, { recursive: true, force: true }));

// One build of the bench serves both tests.
beforeAll(() => {
  const build = spawnSync('npx', ['vite', 'build', '--config', 'bench/vite.config.ts', '--outDir', OUT_DIR], { encoding: 'utf8', timeout: 60_000 });
  if (build.status !== 0) throw new Error(`bench build failed (status ${build.status}):\n${build.stderr}`);
}, 90_000);

describe('npm run bench (smoke)', () => {
  it('builds, runs webgrad (WebGPU and CPU) and tfjs-cpu on one workload, and writes comparable results', () => {
    const run = spawnSync(process.execPath, [`${OUT_DIR}/main.js`, '--smoke', '--systems', 'webgrad-webgpu,webgrad-cpu,tfjs-cpu', '--out', results], { encoding: 'utf8', timeout: 90_000 });
    expect(run.status, `bench --smoke failed (status ${run.status}, signal ${run.signal}):\n${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(/Training throughput/);

    const files = readdirSync(results).filter((f) => f.endsWith('-smoke.json'));
    expect(files, `no result file in ${results}: ${readdirSync(results).join(', ')}`).toHaveLength(1);
    // Named after the adapter (llvmpipe on CI) and the date.
    expect(files[0]).toMatch(/^[a-z0-9-]+-\d{4}-\d{2}-\d{2}-smoke\.json$/);
    const r = JSON.parse(readFileSync(join(results, files[0]), 'utf8')) as BenchResults;
    expect(r.schema).toBe('webgrad-bench/1');
    expect(r.errors).toEqual([]);
    expect(r.environment.cpuModel).toBeTruthy();
    expect(r.environment.versions['@tensorflow/tfjs-core']).toMatch(/^\d/);
    expect(r.adapter?.api, 'the WebGPU adapter is recorded').toBeTruthy();
    expect(Object.keys(r.devices).sort()).toEqual(['tfjs-cpu', 'webgrad-cpu', 'webgrad-webgpu']);
    if (r.adapter?.software) expect(r.note).toMatch(/software adapter.*CPU figures/);

    expect(r.train.map((f) => f.system).sort()).toEqual(['tfjs-cpu', 'webgrad-cpu', 'webgrad-webgpu']);
    for (const f of r.train) {
      expect(f.workload).toBe('smoke');
      expect(f.samples).toBe(512);
      expect(f.samplesPerSecond.median, f.system).toBeGreaterThan(0);
      expect(f.samplesPerSecond.min).toBeLessThanOrEqual(f.samplesPerSecond.max);
      expect(f.losses).toHaveLength(f.samplesPerSecond.runs);
    }
    // webgrad on WebGPU counts its command-buffer submits: 8 steps, inside one 16-step queue window, so the
    // epoch submits only at its edges (zeroing the sums, the read at its end).
    const gpu = r.train.find((f) => f.system === 'webgrad-webgpu')!;
    expect(gpu.submits).toBeGreaterThan(0);
    expect(gpu.submits).toBeLessThanOrEqual(3);
    expect(r.train.find((f) => f.system === 'tfjs-cpu')!.submits).toBeUndefined();
    // And its dispatches: 11 launches in each of the 8 steps (two Dense forwards, the loss with its gradient
    // and seed, the loss into its sum, the backward's five, one Adam update for every weight).
    expect(gpu.dispatches).toBe(8 * 11);
    // Float32 arithmetic in different orders over 9 Adam steps moves the mean loss by ~1e-4 relative;
    // a wrong gradient or optimizer moves it by far more than 0.5%.
    const ref = r.train.find((f) => f.system === 'webgrad-webgpu')!.losses[0];
    expect(ref).toBeGreaterThan(0.1);
    for (const f of r.train) expect(Math.abs(f.losses[0] - ref) / ref, `${f.system} loss ${f.losses[0]} vs ${ref}`).toBeLessThan(0.005);
  }, 150_000);
});

/**
 * --deadline (what the GPU kit's device run leans on): a job still running at
 * the deadline is stopped, later jobs are not started, and the results file is
 * still written, with each of them named in its errors.
 */
describe('npm run bench -- --deadline', () => {
  it('stops the running job at the deadline, starts no other, and still writes the results file', () => {
    const out = mkdtempSync(join(results, 'deadline-'));
    const run = spawnSync(process.execPath, [`${OUT_DIR}/main.js`, '--smoke', '--systems', 'webgrad-cpu,tfjs-cpu', '--deadline', '0.2', '--out', out], { encoding: 'utf8', timeout: 30_000 });
    // Exit status 1: jobs failed (were cut), but the run itself completed.
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(1);
    const files = readdirSync(out).filter((f) => f.endsWith('-smoke.json'));
    expect(files).toHaveLength(1);
    const r = JSON.parse(readFileSync(join(out, files[0]), 'utf8')) as BenchResults & { deadline: number | null };
    expect(r.deadline).toBe(0.2);
    expect(r.train).toEqual([]);
    expect(r.errors).toEqual([
      { job: 'smoke webgrad-cpu', error: expect.stringMatching(/^stopped at --deadline 0.2 s/) },
      { job: 'smoke tfjs-cpu', error: 'not run: --deadline 0.2 s reached' },
    ]);
  }, 60_000);
});

/** torch-cpu where its Python has no torch: the bench runs the other systems, says why in one line, and records it. */
describe('npm run bench without torch', () => {
  it('skips torch-cpu with a line saying so and runs the rest', () => {
    const out = mkdtempSync(join(results, 'no-torch-'));
    const run = spawnSync(process.execPath, [`${OUT_DIR}/main.js`, '--smoke', '--systems', 'webgrad-cpu,torch-cpu', '--out', out], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, WEBGRAD_BENCH_PYTHON: '/nonexistent/python3' } });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(/^torch-cpu: skipped: \/nonexistent\/python3 did not start \(ENOENT\); install python3 and python3-torch/m);
    const files = readdirSync(out).filter((f) => f.endsWith('-smoke.json'));
    const r = JSON.parse(readFileSync(join(out, files[0]), 'utf8')) as BenchResults & { skipped: { system: string; reason: string }[] };
    expect(r.skipped).toEqual([{ system: 'torch-cpu', reason: expect.stringMatching(/^\/nonexistent\/python3 did not start/) }]);
    expect(r.errors).toEqual([]);
    expect(r.train.map((f) => f.system)).toEqual(['webgrad-cpu']);
  }, 60_000);
});
