// The kernel lab's conv2d section: every variant of every pass (forward, dX,
// dW) is checked against conv2d's float64 CPU reference first; the ones that
// pass are timed in rounds on W4's convolutions, with tfjs-backend-webgpu's
// kernels for the same passes timed in the same rounds, same process.
import type * as TF from '@tensorflow/tfjs-core';
import type { Backend } from '../../src/index.js';
import { createWebGPUBackend } from '../../src/index.js';
import type { ConvFigure, JobResult } from '../lib/jobs.js';
import { now, rates, timeRound } from '../lib/stats.js';
import { describeAdapter } from '../systems/open-browser.js';
import { loadTfjs } from '../systems/tfjs-node.js';
import type { ConvCase, ConvPass, ConvVariant } from './conv.js';
import { checkConvVariant, convFlops, convVariants, passShapes } from './conv.js';
import { convGeometry, W4 } from '../workloads.js';

/** The kernel lab's name for tfjs-backend-webgpu's conv kernels, timed beside webgrad's variants. */
export const TFJS_CONV_PEER = 'tfjs-webgpu (peer, same adapter)';

/** W4's two convolutions at its batch: x [64, 28, 28, 1] * [3, 3, 1, 32] and x [64, 13, 13, 32] * [3, 3, 32, 64]. */
export function w4ConvCases(): ConvCase[] {
  const w = W4(false);
  return convGeometry(w.conv!).convs.map((g, i) => ({
    label: `W4 conv${i + 1}`,
    x: [w.batch, g.h, g.w, g.cin],
    k: [g.k, g.k, g.cin, g.cout],
    attrs: {},
  }));
}

interface Timer {
  /** Queues `reps` runs of the pass and waits for them: the seconds taken. */
  run(reps: number): Promise<number>;
  free(): void;
}

const fill = (n: number, f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function webgradTimer(be: Backend, v: ConvVariant, c: ConvCase): Timer {
  const s = passShapes(c, v.pass);
  const [a, b, out] = [be.allocate(s.a), be.allocate(s.b), be.allocate(s.out)];
  be.write(a, fill(size(s.a), Math.sin));
  be.write(b, fill(size(s.b), Math.cos));
  const prepared = v.prepare(be, c, a, b, out);
  return {
    async run(reps) {
      const t0 = now();
      for (let i = 0; i < reps; i++) prepared.run();
      await be.sync();
      return now() - t0;
    },
    free: () => (prepared.free(), [a, b, out].forEach((t) => be.free(t))),
  };
}

/** tfjs' own kernels for the pass (Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter), ending in a one-element readback. */
function tfjsTimer(tf: typeof TF, pass: ConvPass, c: ConvCase): Timer {
  const s = passShapes(c, pass);
  const a = tf.tensor(fill(size(s.a), Math.sin), s.a as number[]);
  const b = tf.tensor(fill(size(s.b), Math.cos), s.b as number[]);
  const common = { strides: c.attrs.strides ?? [1, 1], pad: c.attrs.padding ?? 'valid', dataFormat: 'NHWC' };
  const launch = (): TF.Tensor => {
    if (pass === 'forward') return tf.engine().runKernel('Conv2D', { x: a, filter: b }, { ...common, dilations: c.attrs.dilation ?? [1, 1] }) as TF.Tensor;
    if (pass === 'dX') return tf.engine().runKernel('Conv2DBackpropInput', { dy: a, filter: b }, { ...common, inputShape: c.x }) as TF.Tensor;
    return tf.engine().runKernel('Conv2DBackpropFilter', { x: a, dy: b }, { ...common, filterShape: c.k }) as TF.Tensor;
  };
  return {
    async run(reps) {
      const t0 = now();
      let out: TF.Tensor | null = null;
      for (let i = 0; i < reps; i++) {
        out?.dispose();
        out = launch();
      }
      const corner = tf.slice(out!, out!.shape.map(() => 0), out!.shape.map(() => 1));
      await corner.data();
      tf.dispose([corner, out!]);
      return now() - t0;
    },
    free: () => tf.dispose([a, b]),
  };
}

interface Cell {
  readonly variant: string;
  readonly pass: ConvPass;
  readonly c: ConvCase;
  readonly checkRatio?: number;
  readonly timer: () => Timer;
  seconds: number[];
  cpu: number[];
  reps: number;
}

/**
 * Checks every variant (a failing one is reported and never timed), then
 * times the rest and the tfjs peer in rounds: each round times every
 * (variant, pass, case) once, so that load changes touch them all alike.
 */
export async function runConvLab(cases: ConvCase[], budgetSeconds: number, maxRuns: number, variants: ConvVariant[] = convVariants(), peer = true): Promise<JobResult> {
  const be = await createWebGPUBackend();
  const figures: ConvFigure[] = [];
  try {
    const cells: Cell[] = [];
    for (const v of variants) {
      const checkRatio = await checkConvVariant(be, v);
      const failed = !(checkRatio <= 1);
      console.error(`conv lab: ${v.name} ${v.pass}: largest error ${checkRatio.toFixed(3)} of the bound${failed ? ': FAILED, not timed' : ''}`);
      for (const c of cases) {
        if (failed) figures.push({ variant: v.name, pass: v.pass, case: c.label, x: c.x, k: c.k, gflops: null, checkRatio, error: `differs from the CPU reference (${checkRatio.toFixed(1)}× the bound): not timed` });
        else cells.push({ variant: v.name, pass: v.pass, c, checkRatio, timer: () => webgradTimer(be, v, c), seconds: [], cpu: [], reps: 1 });
      }
    }
    const tfjs = peer ? await loadTfjs('tfjs-webgpu').catch((e: Error) => (console.error(`conv lab: tfjs-webgpu unavailable: ${e.message}`), null)) : null;
    if (tfjs) for (const pass of new Set(variants.map((v) => v.pass))) for (const c of cases) cells.push({ variant: TFJS_CONV_PEER, pass, c, timer: () => tfjsTimer(tfjs.tf, pass, c), seconds: [], cpu: [], reps: 1 });
    const t0 = now();
    for (let round = 0; round < maxRuns; round++) {
      for (const cell of cells) {
        await timeRound(cell, cell.timer(), round);
      }
      console.error(`conv lab: round ${round + 1}: ${cells.length} timings done at ${(now() - t0).toFixed(1)} s`);
      if (((now() - t0) * (round + 2)) / (round + 1) > budgetSeconds) break;
    }
    for (const cell of cells) {
      const gflop = convFlops(cell.c) / 1e9;
      figures.push({ variant: cell.variant, pass: cell.pass, case: cell.c.label, x: cell.c.x, k: cell.c.k, gflops: rates(cell.seconds, gflop), cpuGflops: rates(cell.cpu, gflop), checkRatio: cell.checkRatio });
    }
    return { device: describeAdapter(be.describe()), conv: figures };
  } finally {
    be.dispose();
  }
}
