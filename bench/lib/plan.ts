// What a bench run measures: the jobs, each run in its own worker process.
import type { Job, MatmulShape, SystemName } from './jobs.js';
import { SYSTEMS } from './jobs.js';
import type { TrainWorkload } from '../workloads.js';
import { mainWorkloads, scalingWorkloads, W4, W5, W6 } from '../workloads.js';
import { W7 } from '../gpt-workload.js';

export const SECTIONS = ['train', 'matmul', 'scaling', 'lab', 'browser'] as const;
export type Section = (typeof SECTIONS)[number];

export interface PlanOptions {
  readonly quick: boolean;
  readonly systems: readonly SystemName[];
  readonly sections: readonly Section[];
  /** Run every system on every workload and shape, however slow (by default the slowest CPU systems skip W3-sized work). */
  readonly all: boolean;
  /** A tiny end-to-end run for the test suite: one small MLP, one timed run per system. */
  readonly smoke?: boolean;
  /** The device's fp32 peak in GFLOP/s (--fp32-peak): K1 then adds 4096³ on the WebGPU systems, judged against it. */
  readonly fp32Peak?: number;
  /** Multiplies every job's time budget (--budget-scale): below 1 for a short device lease. Timeouts and run caps stay. */
  readonly budgetScale?: number;
  /** The training workloads to run (--workloads W1,W4); all of them when absent. */
  readonly workloads?: readonly string[];
}

export interface PlannedJob {
  readonly section: Section;
  readonly label: string;
  readonly job: Job;
  /** Seconds after which the worker is killed and the job reported as hung. */
  readonly timeoutSeconds: number;
}

const CPU_SYSTEMS: readonly SystemName[] = ['webgrad-cpu', 'tfjs-cpu'];
/** The systems that train W7, the GPT. */
export const GPT_SYSTEMS: readonly SystemName[] = ['webgrad-webgpu', 'webgrad-cpu', 'torch-cpu'];

/** The forward and backward matmuls of an MLP at a batch size: C = X·W, dX = dY·Wᵀ, dW = Xᵀ·dY (no dX for the first layer). */
export function trainingShapes(id: string, w: TrainWorkload): MatmulShape[] {
  const out: MatmulShape[] = [];
  const B = w.batch;
  for (let i = 1; i < w.layers.length; i++) {
    const [fin, fout] = [w.layers[i - 1], w.layers[i]];
    out.push({ label: `${id} fwd${i}`, M: B, K: fin, N: fout, transA: false, transB: false });
    if (i > 1) out.push({ label: `${id} dX${i}`, M: B, K: fout, N: fin, transA: false, transB: true });
    out.push({ label: `${id} dW${i}`, M: fin, K: B, N: fout, transA: true, transB: false });
  }
  return out;
}

export function squareShapes(sizes: number[]): MatmulShape[] {
  return sizes.map((n) => ({ label: `${n}³`, M: n, K: n, N: n, transA: false, transB: false }));
}

function matmulShapesFor(system: SystemName, quick: boolean, all: boolean): MatmulShape[] {
  const [w1, w2, w3] = mainWorkloads(false);
  if (quick) return [...squareShapes([256, 1024]), ...trainingShapes('W1', w1).slice(0, 3)];
  const slow = CPU_SYSTEMS.includes(system) && !all;
  // The largest shapes take ~20 s per matmul on the slowest CPU systems: they are left to --all.
  return [
    ...squareShapes(slow ? [128, 256, 512, 1024] : [128, 256, 512, 1024, 2048]),
    ...trainingShapes('W1', w1),
    ...trainingShapes('W2', w2),
    ...(slow ? [] : trainingShapes('W3', w3).filter((s) => s.M * s.N * s.K > 1e6)),
  ];
}

/**
 * W4 as a system runs it. tfjs-cpu trains W4 at ~2.4 samples/s on the
 * development machine (an epoch: 55 minutes), so it times the first 256
 * digits (4 steps) instead, its whole epoch only with --all, and is left out
 * of --quick unless --all (then 128 digits). Its throughput is still
 * comparable; its loss, over other steps, is not (the loss check says so).
 */
export function w4For(system: SystemName, quick: boolean, all: boolean): TrainWorkload | null {
  const w = W4(quick);
  if (system !== 'tfjs-cpu' || (all && !quick)) return w;
  if (quick && !all) return null;
  const samples = quick ? 128 : 256;
  return { ...w, title: `${w.title.replace(', one epoch', '')}, first ${samples} digits (tfjs-cpu: the whole epoch with --all)`, samples };
}

/**
 * W6 as a system runs it. tfjs-cpu trains W6 at ~16 samples/s on the
 * development machine (load 7.6; an epoch: 8 minutes), so outside --quick it
 * times the first 1,024 digits (16 steps), its whole epoch only with --all; in
 * --quick it trains the 512 digits every system does.
 */
export function w6For(system: SystemName, quick: boolean, all: boolean): TrainWorkload {
  const w = W6(quick);
  if (system !== 'tfjs-cpu' || quick || all) return w;
  const samples = 1024;
  return { ...w, title: `${w.title.replace(', one epoch', '')}, first ${samples} digits (tfjs-cpu: the whole epoch with --all)`, samples };
}

/** The smoke test's workload: W1's shape of network, narrower, on 512 digits. */
export const SMOKE_WORKLOAD: TrainWorkload = { id: 'smoke', title: 'MLP 784-32-10, batch 64, 512 samples', layers: [784, 32, 10], batch: 64, samples: 512 };

export function plan(o: PlanOptions): PlannedJob[] {
  const jobs: PlannedJob[] = [];
  if (o.smoke) {
    return o.systems.map((system) => ({ section: 'train' as const, label: `smoke ${system}`, job: { kind: 'train' as const, system, workloads: [SMOKE_WORKLOAD], budgetSeconds: 1, maxRuns: 1 }, timeoutSeconds: 60 }));
  }
  const want = (s: Section) => o.sections.includes(s);
  const q = o.quick;
  const picked = (id: string) => !o.workloads || o.workloads.includes(id);
  if (want('train')) {
    for (const system of o.systems) {
      // --quick leaves W3 out; W3 costs ~80 s per step on tfjs-cpu, which runs it only with --all.
      const workloads = mainWorkloads(q).filter((w) => !w.conv && !w.playground && !w.lstm && !w.gpt && picked(w.id) && (w.id !== 'W3' || (!q && (system !== 'tfjs-cpu' || o.all))));
      if (workloads.length) jobs.push({ section: 'train', label: `train ${system}`, job: { kind: 'train', system, workloads, budgetSeconds: q ? 12 : 100, maxRuns: q ? 2 : 5 }, timeoutSeconds: q ? 120 : 900 });
    }
    // W4 (the CNN) in jobs of its own: an epoch is 123 GFLOP, one to five minutes per system here.
    for (const system of o.systems) {
      const w = picked('W4') ? w4For(system, q, o.all) : null;
      if (w) jobs.push({ section: 'train', label: `train W4 ${system}`, job: { kind: 'train', system, workloads: [w], budgetSeconds: q ? 12 : 100, maxRuns: q ? 2 : 3 }, timeoutSeconds: q ? 180 : 900 });
    }
    // W5 (the Playground's network) in jobs of its own too: it is per-step overhead, which a shared job's other work would not disturb,
    // and a timed run (20 epochs) takes well under a second on every system, so even --quick affords several for a median.
    for (const system of o.systems) {
      if (picked('W5')) jobs.push({ section: 'train', label: `train W5 ${system}`, job: { kind: 'train', system, workloads: [W5], budgetSeconds: q ? 6 : 30, maxRuns: q ? 5 : 15 }, timeoutSeconds: q ? 90 : 300 });
    }
    // W6 (the LSTM) in jobs of its own as W4: tfjs launches its kernels step by step through time, and its epoch is long on these adapters.
    for (const system of o.systems) {
      if (picked('W6')) jobs.push({ section: 'train', label: `train W6 ${system}`, job: { kind: 'train', system, workloads: [w6For(system, q, o.all)], budgetSeconds: q ? 12 : 100, maxRuns: q ? 2 : 3 }, timeoutSeconds: q ? 180 : 900 });
    }
    // W7 (#27's GPT) in jobs of its own, on the systems #27 compares: webgrad's two backends and torch-cpu (the bench has no tfjs GPT).
    // A step is ~10 GFLOP, 4–5 s on every system here: the budgets allow two timed runs.
    for (const system of o.systems.filter((s) => GPT_SYSTEMS.includes(s))) {
      if (picked('W7')) jobs.push({ section: 'train', label: `train W7 ${system}`, job: { kind: 'train', system, workloads: [W7(q)], budgetSeconds: q ? 30 : 300, maxRuns: q ? 2 : 3 }, timeoutSeconds: q ? 240 : 900 });
    }
  }
  if (want('matmul')) {
    // torch-cpu is a training system: K1 is the WebGPU and JS libraries' matmuls.
    for (const system of o.systems.filter((s) => s !== 'torch-cpu')) {
      const shapes = matmulShapesFor(system, q, o.all);
      if (o.fp32Peak && system.endsWith('-webgpu')) shapes.push(...squareShapes([4096]));
      jobs.push({ section: 'matmul', label: `matmul ${system}`, job: { kind: 'matmul', system, shapes, budgetSeconds: q ? 6 : 60, maxRuns: q ? 2 : 5 }, timeoutSeconds: q ? 90 : 600 });
    }
  }
  if (want('scaling')) {
    const s1 = scalingWorkloads(q);
    // The curve that matters: where webgrad's GPU overtakes its CPU, with tfjs' fastest CPU backend beside them.
    const systems = o.systems.filter((s) => (q ? ['webgrad-webgpu', 'webgrad-cpu'] : ['webgrad-webgpu', 'webgrad-cpu', 'tfjs-wasm']).includes(s));
    for (const system of systems) {
      jobs.push({ section: 'scaling', label: `S1 ${system}`, job: { kind: 'train', system, workloads: [...s1.batch, ...s1.width], budgetSeconds: q ? 14 : 60, maxRuns: q ? 1 : 3 }, timeoutSeconds: q ? 120 : 600 });
    }
  }
  if (want('lab') && o.systems.includes('webgrad-webgpu')) {
    const [w1, w2, w3] = mainWorkloads(false);
    const shapes = q ? squareShapes([1024]) : [...squareShapes([1024]), ...trainingShapes('W1', w1).slice(0, 3), ...trainingShapes('W2', w2).slice(0, 4)];
    // On a real GPU (--fp32-peak) the variants part where the device fills: the large squares and W3's big matmuls.
    if (o.fp32Peak && !q) shapes.push(...squareShapes([2048, 4096]), ...trainingShapes('W3', w3).filter((s) => s.M * s.N * s.K > 1e9));
    // The conv lab first: it is short, and the GPU kit's deadline would cut it after the matmul lab's longer budget.
    jobs.push({ section: 'lab', label: 'kernel lab (attention: fused against the plain composition)', job: { kind: 'attention-lab', budgetSeconds: q ? 10 : 40, maxRuns: q ? 1 : 3 }, timeoutSeconds: q ? 120 : 300 });
    jobs.push({ section: 'lab', label: 'kernel lab (conv2d variants, W4\'s convolutions)', job: { kind: 'conv-lab', budgetSeconds: q ? 10 : 60, maxRuns: q ? 1 : 3 }, timeoutSeconds: q ? 120 : 400 });
    jobs.push({ section: 'lab', label: 'kernel lab (matmul variants)', job: { kind: 'lab', shapes, budgetSeconds: q ? 10 : 150, maxRuns: q ? 1 : 3, quick: q }, timeoutSeconds: q ? 90 : 600 });
  }
  const scale = o.budgetScale ?? 1;
  return jobs.map((pj) => ({ ...pj, job: { ...pj.job, budgetSeconds: pj.job.budgetSeconds * scale } }));
}

export function parseSystems(list: string | undefined): SystemName[] {
  if (!list) return [...SYSTEMS];
  const names = list.split(',').map((s) => s.trim());
  for (const n of names) if (!(SYSTEMS as readonly string[]).includes(n)) throw new Error(`--systems: unknown system '${n}' (known: ${SYSTEMS.join(', ')})`);
  return names as SystemName[];
}

/** --workloads: training workload ids (W1–W7), checked against the bench's. */
export function parseWorkloads(list: string | undefined): string[] | undefined {
  if (!list) return undefined;
  const known = mainWorkloads(false).map((w) => w.id);
  const names = list.split(',').map((s) => s.trim().toUpperCase());
  for (const n of names) if (!known.includes(n)) throw new Error(`--workloads: unknown workload '${n}' (known: ${known.join(', ')})`);
  return names;
}

export function parseSections(list: string | undefined): Section[] {
  if (!list) return [...SECTIONS];
  const names = list.split(',').map((s) => s.trim());
  for (const n of names) if (!(SECTIONS as readonly string[]).includes(n)) throw new Error(`--only: unknown section '${n}' (known: ${SECTIONS.join(', ')})`);
  return names as Section[];
}
