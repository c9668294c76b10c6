// The browser bench page: the same workloads as the Node bench, for webgrad's
// WebGPU backend and tfjs-backend-webgpu in the same page, on the same
// adapter. The driver (run.ts) serves the digits at /digits.bin, passes the
// plan in the URL (?plan=<json>) and reads window.benchResult.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-webgpu';
import { createWebGPUBackend, ops } from '../../src/index.js';
import type { MatmulFigure, MatmulShape, TrainFigure } from '../lib/jobs.js';
import { timeMatmul } from '../lib/matmul-timing.js';
import { checkMatmul } from '../kernels/check.js';
import type { Kernel } from '../../src/index.js';
import type { MatmulAttrs } from '../../src/ops/matmul.js';
import { labKernel, labVariants, supports } from '../kernels/variants.js';
import { describeAdapter } from '../systems/open-browser.js';
import { tfjsMatmulRunner, tfjsTrainer } from '../systems/tfjs.js';
import type { Trainer } from '../systems/trainer.js';
import { timeTraining, trainFigure as figureOf } from '../systems/trainer.js';
import { webgradTrainer } from '../systems/webgrad.js';
import type { Digits, TrainWorkload } from '../workloads.js';
import { FEATURES, playgroundPoints } from '../workloads.js';

export interface BrowserPlan {
  readonly workloads: TrainWorkload[];
  readonly shapes: MatmulShape[];
  readonly budgetSeconds: number;
  readonly maxRuns: number;
  /** Also time each of webgrad's matmul variants (checked first): the kernel lab for this adapter. */
  readonly variants: boolean;
}

export interface BrowserResult {
  readonly userAgent: string;
  readonly devices: Record<string, string>;
  readonly adapter: Record<string, unknown> | null;
  readonly train: TrainFigure[];
  readonly matmul: MatmulFigure[];
  readonly errors: string[];
}

declare global {
  interface Window {
    benchResult?: BrowserResult;
    benchError?: string;
  }
}

const log = (line: string) => {
  document.getElementById('log')!.textContent += `\n${line}`;
  console.log(line);
};

async function loadDigits(): Promise<Digits> {
  const res = await fetch('/digits.bin');
  if (!res.ok) throw new Error(`GET /digits.bin: ${res.status}; run the page through the bench driver (npm run bench -- --only browser)`);
  const buf = await res.arrayBuffer();
  const n = buf.byteLength / (4 * (FEATURES + 1));
  return { x: new Float32Array(buf, 0, n * FEATURES), y: new Int32Array(buf, n * FEATURES * 4, n), n };
}

async function trainFigure(system: 'webgrad-webgpu' | 'tfjs-webgpu', t: Trainer, w: TrainWorkload, d: Digits, p: BrowserPlan): Promise<TrainFigure> {
  try {
    // A W5 run is 20 epochs of a tiny net: short enough for a median of several runs even in --quick (one run each otherwise).
    const maxRuns = w.playground ? Math.max(p.maxRuns, 5) : p.maxRuns;
    return figureOf(system, w, await timeTraining(t, w, d, { seconds: p.budgetSeconds, maxRuns }));
  } finally {
    await t.dispose();
  }
}

async function run(p: BrowserPlan): Promise<BrowserResult> {
  await tf.setBackend('webgpu');
  await tf.ready();
  const info = (tf.backend() as unknown as { adapterInfo?: { vendor?: string; architecture?: string } }).adapterInfo;
  const be = await createWebGPUBackend();
  const desc = be.describe();
  const devices = { 'webgrad-webgpu': describeAdapter(desc), 'tfjs-webgpu': `${info?.vendor ?? ''} ${info?.architecture ?? ''}`.trim() };
  log(`webgrad: ${devices['webgrad-webgpu']}\ntfjs:    ${devices['tfjs-webgpu']}`);
  // W5's points are generated here, as the Playground page does; the digits are fetched only if a workload needs them.
  const digits = p.workloads.some((w) => !w.playground) ? await loadDigits() : null;
  const train: TrainFigure[] = [];
  const matmul: MatmulFigure[] = [];
  const errors: string[] = [];
  for (const w of p.workloads) {
    for (const system of ['webgrad-webgpu', 'tfjs-webgpu'] as const) {
      try {
        const t = system === 'tfjs-webgpu' ? tfjsTrainer(tf, w) : webgradTrainer('webgpu', w);
        const f = await trainFigure(system, t, w, w.playground ? playgroundPoints() : digits!, p);
        train.push(f);
        const epochs = f.epochsPerSecond ? `, ${f.epochsPerSecond.median.toFixed(1)} epochs/s, ${f.stepsPerSecond!.median.toFixed(0)} steps/s` : '';
        log(`${w.id} ${system}: ${f.samplesPerSecond.median.toFixed(0)} samples/s${epochs}, loss ${f.losses[0].toFixed(4)}`);
      } catch (e) {
        errors.push(`${w.id} ${system}: ${(e as Error).message}`);
        log(`${w.id} ${system}: FAILED ${(e as Error).message}`);
      }
    }
  }
  for (const s of p.shapes) {
    const a = be.allocate(s.transA ? [s.K, s.M] : [s.M, s.K]);
    const b = be.allocate(s.transB ? [s.N, s.K] : [s.K, s.N]);
    const c = be.allocate([s.M, s.N]);
    be.write(a, Float32Array.from({ length: s.M * s.K }, (_, i) => Math.sin(i)));
    be.write(b, Float32Array.from({ length: s.K * s.N }, (_, i) => Math.cos(i)));
    const ours = (kernel: Kernel<MatmulAttrs>, attrs: MatmulAttrs) => async (reps: number) => {
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) be.run(kernel, [a, b], [c], { ...attrs, transA: s.transA, transB: s.transB });
      await be.sync();
      return (performance.now() - t0) / 1000;
    };
    matmul.push({ system: 'webgrad-webgpu', shape: s, gflops: await timeMatmul(s, ours(ops.matmul, {}), p.budgetSeconds / 4, p.maxRuns) });
    // This adapter's kernel lab: webgrad's variants and the lab's, each checked against the CPU reference before it is timed.
    type Entry = [name: string, kernel: Kernel<MatmulAttrs>, attrs: MatmulAttrs, runs: (a: MatmulAttrs) => boolean];
    const lab: Entry[] = p.variants && s === p.shapes[0]
      ? [...ops.MATMUL_VARIANTS.map((v): Entry => [`webgrad ${v}`, ops.matmul, { variant: v }, () => true]),
         ...labVariants().filter((v) => supports(v, s, s.N, s.K)).map((v): Entry => [`lab ${v.name}`, labKernel(v), {}, (a) => supports(v, a, 132, 36)])]
      : [];
    for (const [name, kernel, attrs, runs] of lab) {
      let checkRatio = 0;
      for (const form of [{}, { transA: true }, { transB: true }]) {
        const M = form.transA ? 68 : 65; // vec4 along M needs a multiple of 4
        if (runs(form)) checkRatio = Math.max(checkRatio, await checkMatmul(be, kernel, M, 36, 132, { ...attrs, ...form }, M));
      }
      const gflops = checkRatio <= 1 ? await timeMatmul(s, ours(kernel, attrs), p.budgetSeconds / 8, p.maxRuns) : null;
      matmul.push({ system: name, variant: name, shape: s, gflops, checkRatio, ...(checkRatio <= 1 ? {} : { error: 'differs from the CPU reference' }) });
      log(`  ${name}: ${gflops ? gflops.median.toFixed(2) : 'FAILED CHECK'} GFLOP/s`);
    }
    matmul.push({ system: 'tfjs-webgpu', shape: s, gflops: await timeMatmul(s, tfjsMatmulRunner(tf, s.M, s.K, s.N, s.transA, s.transB), p.budgetSeconds / 4, p.maxRuns) });
    const own = matmul.find((f) => f.system === 'webgrad-webgpu' && f.shape === s)!;
    log(`matmul ${s.label}: webgrad ${own.gflops!.median.toFixed(2)}, tfjs ${matmul.at(-1)!.gflops!.median.toFixed(2)} GFLOP/s`);
    [a, b, c].forEach((t) => be.free(t));
  }
  const { vendor, architecture, device, description, api, featureLevel, software, features } = desc;
  be.dispose();
  return { userAgent: navigator.userAgent, devices, adapter: { vendor, architecture, device, description, api, featureLevel, software, features }, train, matmul, errors };
}

const planText = new URLSearchParams(location.search).get('plan');
if (!planText) {
  log('no ?plan= in the URL: run this page through the bench driver (npm run bench -- --only browser)');
} else {
  run(JSON.parse(planText) as BrowserPlan).then(
    (r) => {
      window.benchResult = r;
      log('done');
    },
    (e: unknown) => {
      window.benchError = (e as Error)?.stack ?? String(e);
      log(`failed: ${window.benchError}`);
    },
  );
}
