// The GPU kit's closing summary: every bench result file under a folder (the
// device run writes one per step), shortened to one screen.
// Usage: node summary.js DIR
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { MatmulFigure, TrainFigure } from '../lib/jobs.js';
import type { BenchResults } from '../lib/report.js';
import { labLeaders } from '../lib/report.js';
import { fmt, table } from '../lib/table.js';

const SYSTEMS = ['webgrad-webgpu', 'tfjs-webgpu', 'webgrad-cpu', 'tfjs-cpu', 'tfjs-wasm'];

function resultFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return resultFiles(path);
    return name.endsWith('.json') ? [path] : [];
  });
}

function summarize(dir: string): void {
  const files = resultFiles(dir).sort();
  if (!files.length) throw new Error(`no bench result (*.json) under ${dir}: every step failed before writing one; see run.log`);
  const runs = files.map((f) => ({ file: relative(dir, f), r: JSON.parse(readFileSync(f, 'utf8')) as BenchResults }));
  console.log(`\n== Summary of ${runs.length} result file(s) in ${dir}`);
  for (const { file, r } of runs) console.log(`  ${file}: ${r.seconds.toFixed(0)} s, ${r.errors.length} error(s); ${r.note}`);
  const adapter = runs.map(({ r }) => r.adapter).find(Boolean);
  if (adapter?.software) console.log(`\n  !!! SOFTWARE ADAPTER (${String(adapter.device)}): every WebGPU figure below is a CPU figure, not a GPU figure.`);
  const train: TrainFigure[] = runs.flatMap(({ r }) => r.train);
  const matmul: MatmulFigure[] = runs.flatMap(({ r }) => r.matmul);
  const lab: MatmulFigure[] = runs.flatMap(({ r }) => r.lab);
  const systems = SYSTEMS.filter((s) => train.some((f) => f.system === s) || matmul.some((f) => f.system === s));
  const workloads = [...new Set(train.map((f) => f.workload))];
  const trainRow = (w: string) => [`${w} samples/s`, ...systems.map((s) => fmt(train.find((f) => f.system === s && f.workload === w)?.samplesPerSecond.median))];
  const shapes = ['1024³', '2048³', '4096³'].filter((l) => matmul.some((f) => f.shape.label === l));
  const matmulRow = (l: string) => [`${l} GFLOP/s`, ...systems.map((s) => fmt(matmul.find((f) => f.system === s && f.shape.label === l)?.gflops?.median))];
  if (systems.length) console.log(`\n${table(['median', ...systems], [...workloads.map(trainRow), ...shapes.map(matmulRow)])}`);
  const { ours, best, peer } = labLeaders(lab, '1024³');
  if (ours || best || peer) {
    console.log(`\n  kernel lab, 1024³: ${ours?.variant ?? 'webgrad default'} ${fmt(ours?.gflops?.median)} GFLOP/s; best ${best?.variant} ${fmt(best?.gflops?.median)}; tfjs-webgpu ${fmt(peer?.gflops?.median)}`);
  }
  // The conv lab: each pass's fastest webgrad variant on W4's second convolution against tfjs-webgpu's kernel.
  const conv = runs.flatMap(({ r }) => r.convLab ?? []).filter((f) => f.case === 'W4 conv2' && f.gflops);
  for (const pass of ['forward', 'dX', 'dW']) {
    const ours = conv.filter((f) => f.pass === pass && !f.variant.startsWith('tfjs')).sort((a, b) => b.gflops!.median - a.gflops!.median)[0];
    const peer = conv.find((f) => f.pass === pass && f.variant.startsWith('tfjs'));
    if (ours) console.log(`  conv lab, W4 conv2 ${pass}: ${ours.variant} ${fmt(ours.gflops!.median)} GFLOP/s; tfjs-webgpu ${fmt(peer?.gflops?.median)}`);
  }
  const targets = runs.flatMap(({ r }) => r.targets).filter((t) => t.met !== null);
  if (targets.length) console.log(`\nTargets\n${targets.map((t) => `  ${t.met ? 'met' : 'NOT MET'}: ${t.target}: ${t.measured}`).join('\n')}`);
  const errors = runs.flatMap(({ file, r }) => r.errors.map((e) => `  ${file}: ${e.job}: ${e.error.slice(0, 300)}`));
  if (errors.length) console.log(`\nErrors\n${errors.join('\n')}`);
}

try {
  summarize(process.argv[2] ?? '.');
} catch (e) {
  console.error(`summary: ${(e as Error).message}`);
  process.exit(1);
}
