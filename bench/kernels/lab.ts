// The kernel lab (llm.c's dev/cuda pattern): every matmul variant, webgrad's
// own and the lab's generated ones, is checked against the CPU reference on
// awkward shapes first; only a variant that passes is timed, in GFLOP/s.
// tfjs-backend-webgpu's matmul is timed in the same rounds, on the same
// adapter, in the same process, so that the ratio to it is not at the mercy
// of the machine's load changing between separate runs.
import type { Backend, Kernel } from '../../src/index.js';
import { createWebGPUBackend, ops } from '../../src/index.js';
import type { MatmulAttrs } from '../../src/ops/matmul.js';
import type { GpuContext } from '../../src/ops/kernel.js';
import type { JobResult, MatmulFigure, MatmulShape } from '../lib/jobs.js';
import { TFJS_PEER } from '../lib/jobs.js';
import type { MatmulRunner } from '../lib/matmul-timing.js';
import { now, rates, timeRound } from '../lib/stats.js';
import { describeAdapter } from '../systems/open-browser.js';
import { tfjsMatmulRunner } from '../systems/tfjs.js';
import { loadTfjs } from '../systems/tfjs-node.js';
import { checkMatmul } from './check.js';
import type { LabVariant } from './variants.js';
import { labKernel, labVariants, supports } from './variants.js';
import type { TileVariant } from './tiles.js';
import { tileKernel, tileNeeds, tileVariants } from './tiles.js';


interface Candidate {
  readonly name: string;
  /** Absent for the peer: tfjs is timed, not checked. */
  readonly kernel?: Kernel<MatmulAttrs>;
  readonly attrs: MatmulAttrs;
  readonly lab?: LabVariant;
  /** A workgroup-memory tile variant (bench/kernels/tiles.ts): timed on real GPUs only. */
  readonly tile?: TileVariant;
}

interface Timer {
  run: MatmulRunner;
  free(): void;
}

/** [M, K, N]: ones, primes, non-multiples of every tile, and multiples of 4 for the vec4 variants. */
const CHECK_SHAPES: [number, number, number][] = [[1, 1, 1], [7, 13, 17], [7, 12, 20], [65, 33, 129], [65, 36, 132], [68, 36, 132], [131, 300, 260]];
const FORMS: MatmulAttrs[] = [{}, { transA: true }, { transB: true }, { transA: true, transB: true }];

function candidates(quick: boolean, ctx: GpuContext): Candidate[] {
  const webgrad = ops.MATMUL_VARIANTS.map((v) => ({ name: `webgrad ${v}`, kernel: ops.matmul, attrs: { variant: v } }));
  const lab = labVariants().filter((_, i) => !quick || i % 3 === 0);
  const tiles = tileVariants().filter((v, i) => {
    if (quick && i % 3 !== 0) return false;
    const need = tileNeeds(v);
    return need.storage <= ctx.maxWorkgroupStorageSize && need.invocations <= ctx.maxInvocationsPerWorkgroup;
  });
  return [
    ...webgrad,
    ...lab.map((v) => ({ name: `lab ${v.name}`, kernel: labKernel(v), attrs: {}, lab: v })),
    ...tiles.map((v) => ({ name: `lab ${v.name}`, kernel: tileKernel(v), attrs: {}, tile: v })),
  ];
}

/** Workgroup-memory tiles run ~10× slower than register blocks on CPU-emulated adapters: there they are checked, not timed. */
const NOT_TIMED = 'checked; not timed on a CPU-emulated adapter (workgroup-memory tiles are for GPUs)';

function runsShape(c: Candidate, s: MatmulShape): boolean {
  return !c.lab || supports(c.lab, s, s.N, s.K);
}

async function check(be: Backend, c: Candidate): Promise<number> {
  let worst = 0;
  for (const form of FORMS) {
    for (const [M, K, N] of CHECK_SHAPES) {
      if (c.lab && !supports(c.lab, form, N, K)) continue;
      worst = Math.max(worst, await checkMatmul(be, c.kernel!, M, K, N, { ...c.attrs, ...form }, M * 7 + K * 3 + N));
    }
  }
  return worst;
}

function webgradTimer(be: Backend, c: Candidate, s: MatmulShape): Timer {
  const a = be.allocate(s.transA ? [s.K, s.M] : [s.M, s.K]);
  const b = be.allocate(s.transB ? [s.N, s.K] : [s.K, s.N]);
  const out = be.allocate([s.M, s.N]);
  be.write(a, Float32Array.from({ length: s.M * s.K }, (_, i) => Math.sin(i)));
  be.write(b, Float32Array.from({ length: s.K * s.N }, (_, i) => Math.cos(i)));
  const attrs = { ...c.attrs, transA: s.transA, transB: s.transB };
  return {
    async run(reps: number) {
      const t0 = now();
      for (let i = 0; i < reps; i++) be.run(c.kernel!, [a, b], [out], attrs);
      await be.sync();
      return now() - t0;
    },
    free: () => [a, b, out].forEach((t) => be.free(t)),
  };
}

function tfjsTimer(tf: Parameters<typeof tfjsMatmulRunner>[0], s: MatmulShape): Timer {
  const run = tfjsMatmulRunner(tf, s.M, s.K, s.N, s.transA, s.transB);
  return { run, free: () => run.dispose() };
}

/**
 * Checks every candidate, then times the ones that passed in rounds: each
 * round times every (candidate, shape) once, so that a change in the
 * machine's load touches all candidates alike. webgrad's default is not
 * timed separately: it is the variant chooseVariant picks for the shape.
 */
export async function runKernelLab(shapes: MatmulShape[], budgetSeconds: number, maxRuns: number, quick = false): Promise<JobResult> {
  const be = await createWebGPUBackend();
  const figures: MatmulFigure[] = [];
  const untimed: MatmulFigure[] = [];
  try {
    const timed: { c: Candidate; checkRatio?: number }[] = [];
    for (const c of candidates(quick, be.ctx)) {
      const checkRatio = await check(be, c);
      console.error(`lab: ${c.name}: largest error ${checkRatio.toFixed(3)} of the bound${checkRatio <= 1 ? '' : ': FAILED, not timed'}`);
      if (checkRatio > 1) for (const shape of shapes) figures.push({ system: 'lab', variant: c.name, shape, gflops: null, checkRatio, error: `differs from the CPU reference (${checkRatio.toFixed(1)}× the bound): not timed` });
      else if (c.tile && be.ctx.software) for (const shape of shapes) untimed.push({ system: 'lab', variant: c.name, shape, gflops: null, checkRatio, skipped: NOT_TIMED });
      else timed.push({ c, checkRatio });
    }
    const tfjs = await loadTfjs('tfjs-webgpu').catch((e: Error) => (console.error(`lab: tfjs-webgpu unavailable: ${e.message}`), null));
    if (tfjs) timed.push({ c: { name: TFJS_PEER, attrs: {} } });
    const cells = timed.flatMap(({ c, checkRatio }) => shapes.filter((s) => runsShape(c, s)).map((shape) => ({ c, checkRatio, shape, seconds: [] as number[], cpu: [] as number[], reps: 1 })));
    const t0 = now();
    for (let round = 0; round < maxRuns; round++) {
      for (const cell of cells) {
        const { c, shape: s } = cell;
        const timer: Timer = c.kernel ? webgradTimer(be, c, s) : tfjsTimer(tfjs!.tf, s);
        await timeRound(cell, timer, round);
      }
      console.error(`lab: round ${round + 1}: ${cells.length} timings done at ${(now() - t0).toFixed(1)} s`);
      if (((now() - t0) * (round + 2)) / (round + 1) > budgetSeconds) break;
    }
    for (const cell of cells) {
      const gflop = (2 * cell.shape.M * cell.shape.N * cell.shape.K) / 1e9;
      figures.push({ system: 'lab', variant: cell.c.name, shape: cell.shape, gflops: rates(cell.seconds, gflop), cpuGflops: rates(cell.cpu, gflop), checkRatio: cell.checkRatio });
    }
    for (const shape of shapes) {
      const chosen = `webgrad ${ops.chooseVariant(shape, be.ctx, shape)}`;
      const f = figures.find((x) => x.variant === chosen && x.shape === shape);
      if (f) figures.push({ ...f, variant: `webgrad default (= ${chosen.slice('webgrad '.length)})` });
    }
    return { device: describeAdapter(be.describe()), matmul: [...figures, ...untimed] };
  } finally {
    be.dispose();
  }
}
