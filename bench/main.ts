// `npm run bench [-- --quick] [--only train,matmul,scaling,lab,browser] [--systems a,b] [--all] [--out DIR] [--fp32-peak GFLOPS] [--budget-scale F] [--deadline S]`
// Runs every job in its own worker process, prints the tables, and writes
// bench/results/<adapter>-<date>.json and the S1 chart beside it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { writePng } from '../src/cli/png.js';
import { renderChart } from '../src/index.js';
import { scalingChart } from './lib/chart.js';
import { environment } from './lib/env.js';
import type { AttentionFigure, ConvFigure, MatmulFigure, SystemName, TrainFigure } from './lib/jobs.js';
import { parseSections, parseSystems, parseWorkloads, plan } from './lib/plan.js';
import type { BenchResults } from './lib/report.js';
import { attentionLabTable, checkTargets, convLabTable, labTable, matmulTable, scalingTable, targetsText, trainTable } from './lib/report.js';
import { runWorker } from './lib/spawn.js';
import { probeTorch, TORCH_PYTHON } from './systems/torch.js';
import { browserPlan, runBrowserBench } from './browser/run.js';
import type { BrowserResult } from './browser/page.js';

interface Args {
  quick: boolean;
  smoke: boolean;
  all: boolean;
  only?: string;
  systems?: string;
  workloads?: string;
  out: string;
  fp32Peak?: number;
  budgetScale?: number;
  /** Seconds after which no job starts and a running one is stopped; the results file is still written. */
  deadline?: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { quick: false, smoke: false, all: false, out: 'bench/results' };
  const positive = (f: string, v: string | undefined) => {
    const n = Number(v);
    if (!v || !Number.isFinite(n) || n <= 0) throw new Error(`${f} needs a positive number, got '${v ?? ''}'`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i];
    if (f === '--quick') a.quick = true;
    else if (f === '--smoke') a.smoke = true;
    else if (f === '--all') a.all = true;
    else if (f === '--fp32-peak') a.fp32Peak = positive(f, argv[++i]);
    else if (f === '--budget-scale') a.budgetScale = positive(f, argv[++i]);
    else if (f === '--deadline') a.deadline = positive(f, argv[++i]);
    else if (f === '--only' || f === '--systems' || f === '--workloads' || f === '--out') {
      const v = argv[++i];
      if (!v) throw new Error(`${f} needs a value`);
      if (f === '--only') a.only = v;
      else if (f === '--systems') a.systems = v;
      else if (f === '--workloads') a.workloads = v;
      else a.out = v;
    } else if (f === '--help' || f === '-h') {
      console.log('npm run bench -- [--quick] [--only train,matmul,scaling,lab,browser] [--systems webgrad-webgpu,webgrad-cpu,tfjs-webgpu,tfjs-wasm,tfjs-cpu,torch-cpu] [--workloads W1,W2,W3,W4,W5,W6,W7] [--all] [--out DIR] [--smoke] [--fp32-peak GFLOPS] [--budget-scale F] [--deadline SECONDS]\n  --budget-scale F  multiplies every job\'s time budget (0.3: about a third as long; each figure still gets one timed run)\n  --deadline S      no job starts after S seconds and a running one is stopped then; the results file is still written\n  --workloads W4    only these training workloads (train section and the browser page)\n  torch-cpu (PyTorch on the CPU, 2 threads, training only) runs with ' + TORCH_PYTHON + ' (WEBGRAD_BENCH_PYTHON names another); it is skipped, with a line saying so, where that Python has no torch');
      process.exit(0);
    } else throw new Error(`unknown flag '${f}' (try --help)`);
  }
  return a;
}

/** A file-name-safe name for the adapter: llvmpipe, swiftshader, nvidia-..., or cpu-only. */
export function adapterSlug(adapter: Record<string, unknown> | null): string {
  if (!adapter) return 'cpu-only';
  const text = [adapter.vendor, adapter.architecture, adapter.device].filter(Boolean).join(' ');
  const known = /llvmpipe|swiftshader|lavapipe/i.exec(text)?.[0];
  const slug = (known ?? text).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40);
  return `${slug || 'unknown-adapter'}${adapter.api ? `-${adapter.api}` : ''}`;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  let systems = parseSystems(args.systems);
  // torch-cpu only where its Python has torch: a machine without it runs the rest and says so.
  const skipped: { system: SystemName; reason: string }[] = [];
  let torchVersion: string | undefined;
  if (systems.includes('torch-cpu')) {
    const torch = probeTorch();
    if ('missing' in torch) {
      skipped.push({ system: 'torch-cpu', reason: torch.missing });
      systems = systems.filter((s) => s !== 'torch-cpu');
    } else torchVersion = torch.version;
  }
  const sections = args.smoke ? ['train' as const] : parseSections(args.only);
  const workloads = parseWorkloads(args.workloads);
  const jobs = plan({ quick: args.quick, systems, sections, all: args.all, smoke: args.smoke, fp32Peak: args.fp32Peak, budgetScale: args.budgetScale, workloads });
  const workerPath = join(dirname(fileURLToPath(import.meta.url)), 'worker.js');
  const env = environment();
  if (torchVersion) env.versions.torch = torchVersion;
  const t0 = performance.now();
  const train: TrainFigure[] = [];
  const scaling: TrainFigure[] = [];
  const matmul: MatmulFigure[] = [];
  const lab: MatmulFigure[] = [];
  const convLab: ConvFigure[] = [];
  const attentionLab: AttentionFigure[] = [];
  const devices: BenchResults['devices'] = {};
  const errors: BenchResults['errors'] = [];
  let adapter: Record<string, unknown> | null = null;
  console.log(`webgrad bench${args.quick ? ' --quick' : ''}: ${jobs.length} jobs on ${env.cpuModel} (${env.cores} cores), Node ${env.node}, load average ${env.loadAverage.start.toFixed(2)}`);
  for (const s of skipped) console.log(`${s.system}: skipped: ${s.reason}`);
  /** Seconds until --deadline (Infinity without one). */
  const secondsLeft = () => (args.deadline ?? Infinity) - (performance.now() - t0) / 1000;
  for (const [i, pj] of jobs.entries()) {
    const left = secondsLeft();
    if (left <= 0) {
      console.log(`[${i + 1}/${jobs.length}] ${pj.label}: not run, --deadline ${args.deadline} s reached`);
      errors.push({ job: pj.label, error: `not run: --deadline ${args.deadline} s reached` });
      continue;
    }
    console.log(`[${i + 1}/${jobs.length}] ${pj.label} ...`);
    const out = await runWorker(workerPath, pj.job, Math.min(pj.timeoutSeconds, left), (line) => console.log(line));
    if (!out.result) {
      const cut = left < pj.timeoutSeconds && out.seconds >= left;
      const error = cut ? `stopped at --deadline ${args.deadline} s, ${out.seconds.toFixed(0)} s into the job` : out.error ?? 'unknown';
      console.log(`  FAILED after ${out.seconds.toFixed(0)} s: ${error}`);
      errors.push({ job: pj.label, error });
      continue;
    }
    console.log(`  done in ${out.seconds.toFixed(0)} s on ${out.result.device}`);
    const r = out.result;
    if ('system' in pj.job) devices[pj.job.system as SystemName] = r.device;
    else devices.lab = r.device;
    if (r.adapter && 'system' in pj.job && pj.job.system === 'webgrad-webgpu') adapter = r.adapter;
    if (pj.section === 'train') train.push(...(r.train ?? []));
    if (pj.section === 'scaling') scaling.push(...(r.train ?? []));
    if (pj.section === 'matmul') matmul.push(...(r.matmul ?? []));
    if (pj.section === 'lab') lab.push(...(r.matmul ?? []));
    if (pj.section === 'lab') convLab.push(...(r.conv ?? []));
    if (pj.section === 'lab') attentionLab.push(...(r.attention ?? []));
  }
  let browser: BrowserResult | null = null;
  const browserLeft = secondsLeft();
  if (sections.includes('browser') && browserLeft <= 0) errors.push({ job: 'browser', error: `not run: --deadline ${args.deadline} s reached` });
  else if (sections.includes('browser')) {
    console.log(`[browser] webgrad and tfjs-backend-webgpu in headless Chromium ...`);
    const tb = performance.now();
    const limit = Math.min(args.quick ? 100 : 1500, browserLeft);
    try {
      browser = await runBrowserBench(browserPlan(args.quick, workloads), limit, (line) => console.log(line));
      console.log(`  done in ${((performance.now() - tb) / 1000).toFixed(0)} s on ${browser.devices['webgrad-webgpu']}`);
      errors.push(...browser.errors.map((e) => ({ job: 'browser', error: e })));
    } catch (e) {
      console.log(`  FAILED: ${(e as Error).message}`);
      errors.push({ job: 'browser', error: (e as Error).message.split('\n')[0] });
    }
  }
  const software = adapter?.software === true;
  const note = software
    ? `Every WebGPU figure here ran on a software adapter (${String(adapter?.device ?? adapter?.architecture)}): WebGPU emulated on the CPU, so these are CPU figures, not GPU figures.`
    : adapter ? `WebGPU figures ran on ${[adapter.vendor, adapter.architecture, adapter.device].filter(Boolean).join(' ')}.` : 'No WebGPU adapter figures in this run.';
  // How far this run was shortened (--budget-scale, --deadline), beside what report.ts describes.
  const results: BenchResults & { budgetScale: number; deadline: number | null; skipped: typeof skipped } = {
    schema: 'webgrad-bench/1',
    quick: args.quick,
    smoke: args.smoke,
    budgetScale: args.budgetScale ?? 1,
    deadline: args.deadline ?? null,
    environment: { ...env, loadAverage: { start: env.loadAverage.start, end: loadavg()[0] } },
    devices,
    adapter,
    note,
    train,
    scaling,
    matmul,
    lab,
    convLab,
    attentionLab,
    browser,
    targets: checkTargets({ train, matmul, lab, adapter, browser }, args.fp32Peak),
    errors,
    skipped,
    seconds: (performance.now() - t0) / 1000,
  };
  printResults(results, systems);
  const stem = join(args.out, `${adapterSlug(adapter)}-${env.date.slice(0, 10)}${args.smoke ? '-smoke' : args.quick ? '-quick' : ''}`);
  mkdirSync(args.out, { recursive: true });
  writeFileSync(`${stem}.json`, `${JSON.stringify(results, null, 1)}\n`);
  console.log(`\nwrote ${stem}.json`);
  if (scaling.length) {
    const tag = software ? `${adapterSlug(adapter).split('-')[0]}: CPU-emulated` : String(adapter?.device ?? 'cpu').slice(0, 24);
    writePng(`${stem}-s1.png`, renderChart(scalingChart(scaling, tag)));
    console.log(`wrote ${stem}-s1.png`);
  }
  return errors.length ? 1 : 0;
}

function printResults(r: BenchResults, systems: SystemName[]): void {
  const say = (title: string, body: string) => console.log(`\n${title}\n${body}`);
  say('Devices', Object.entries(r.devices).map(([s, d]) => `  ${s.padEnd(15)} ${d}`).join('\n'));
  console.log(`  ${r.note}`);
  if (r.train.length) say('Training throughput (W1–W7), same data, weights and hyperparameters on every system', trainTable(r.train, systems));
  if (r.matmul.length) say('K1: fp32 matmul', matmulTable(r.matmul, systems));
  if (r.scaling.length) say('S1: throughput against batch size and hidden width', scalingTable(r.scaling, systems.filter((s) => r.scaling.some((f) => f.system === s))));
  if (r.browser) {
    const b = r.browser;
    say(`Browser (${b.userAgent.match(/(Headless)?Chrome\/[\d.]+/)?.[0] ?? 'Chromium'}): webgrad WebGPU vs tfjs-backend-webgpu in the same page`, `${Object.entries(b.devices).map(([s, d]) => `  ${s.padEnd(15)} ${d}`).join('\n')}\n${trainTable(b.train, ['webgrad-webgpu', 'tfjs-webgpu'])}\n\n${matmulTable(b.matmul, [...new Set(b.matmul.map((f) => f.system))])}`);
  }
  if (r.lab.length) say(`Kernel lab on ${r.devices.lab ?? '?'} (every variant checked against the CPU reference first)`, labTable(r.lab));
  if (r.attentionLab?.length) say(`Kernel lab, attention (fused against the plain composition; both checked against the float64 reference first)`, attentionLabTable(r.attentionLab));
  if (r.convLab?.length) say(`Kernel lab, conv2d on W4's convolutions (batch 64; each variant checked against the float64 CPU reference first)`, convLabTable(r.convLab));
  say('Targets', targetsText(r.targets));
  if (r.errors.length) say('Errors', r.errors.map((e) => `  ${e.job}: ${e.error}`).join('\n'));
  console.log(`\nload average ${r.environment.loadAverage.start.toFixed(2)} at the start, ${r.environment.loadAverage.end?.toFixed(2)} at the end, on ${r.environment.cores} cores; ${r.seconds.toFixed(0)} s in all`);
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`bench: ${(e as Error)?.message ?? e}`);
    process.exit(2);
  },
);
