// The kernel lab's attention section: the fused op (ops.attention and its
// three backward kernels plus the split of dk‖dv, as the gradient rule records
// them) against the plain composition of existing ops (per head: the scores
// matmul and the weighted-sum matmul on views; over all heads at once: scale,
// the additive causal mask, softmax; the backward likewise), each compiled
// into one program. Both are checked against the float64 reference (on the
// first two samples) before they are timed in rounds, same process.
import type { Backend, DeviceTensor, Launch } from '../../src/index.js';
import { createWebGPUBackend, ops } from '../../src/index.js';
import { attentionForward, attentionGradients } from '../../src/ops/attention-reference.js';
import type { AttentionFigure, JobResult } from '../lib/jobs.js';
import { now, spread, timeRound } from '../lib/stats.js';
import { describeAdapter } from '../systems/open-browser.js';

export interface AttentionCase {
  readonly label: string;
  readonly B: number;
  readonly H: number;
  readonly T: number;
  readonly D: number;
}

/** W6's GPT attention (batch 32, 4 heads of 32, context 64) and a longer context, causal as a GPT's. */
export const ATTENTION_LAB_CASES: AttentionCase[] = [
  { label: 'B32 H4 T64 D32', B: 32, H: 4, T: 64, D: 32 },
  { label: 'B32 H4 T256 D32', B: 32, H: 4, T: 256, D: 32 },
];

type AttentionPass = AttentionFigure['pass'];
type AttentionVariant = AttentionFigure['variant'];

/** Float32 against float64 on these shapes: test/ops/attention*.test.ts saw 4e-7 forward, 1.3e-6 backward; a wrong index gives 1e-2 and more. */
const CHECK_LIMIT = 1e-4;

const fill = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed) * 1.2);

interface Tensors {
  q: DeviceTensor; k: DeviceTensor; v: DeviceTensor; out: DeviceTensor; lse: DeviceTensor; dout: DeviceTensor;
  stats: DeviceTensor; dkv: DeviceTensor; dq: DeviceTensor; dk: DeviceTensor; dv: DeviceTensor;
  scores: DeviceTensor; scaled: DeviceTensor; mask: DeviceTensor; masked: DeviceTensor; probs: DeviceTensor; dprobs: DeviceTensor; dscores: DeviceTensor;
}

function allocate(be: Backend, c: AttentionCase): Tensors {
  const { B, H, T, D } = c;
  const a = (shape: number[], data?: Float32Array) => {
    const t = be.allocate(shape);
    if (data) be.write(t, data);
    return t;
  };
  const n = B * H * T;
  // The composition's causal mask, added to every head's scores as Keras adds it: 0 where attended, −1e9 above the diagonal.
  const additive = Float32Array.from({ length: n * T }, (_, i) => ((i % T) > Math.floor(i / T) % T ? -1e9 : 0));
  return {
    q: a([B, H, T, D], fill(n * D, 1)), k: a([B, H, T, D], fill(n * D, 2)), v: a([B, H, T, D], fill(n * D, 3)), out: a([B, H, T, D]), lse: a([B, H, T]),
    dout: a([B, H, T, D], fill(n * D, 4)), stats: a([B, H, T, 2]), dkv: a([B, H, T, 2 * D]), dq: a([B, H, T, D]), dk: a([B, H, T, D]), dv: a([B, H, T, D]),
    scores: a([n, T]), scaled: a([n, T]), mask: a([n, T], additive), masked: a([n, T]), probs: a([n, T]), dprobs: a([n, T]), dscores: a([n, T]),
  };
}

/** The launches of one pass. The composition's per-head operands are views, 256-byte aligned at these sizes. */
function launches(be: Backend, c: AttentionCase, t: Tensors, variant: AttentionVariant, pass: AttentionPass): Launch[] {
  const { B, H, T, D } = c;
  const attrs = { causal: true };
  if (variant === 'fused') {
    if (pass === 'forward') return [{ kernel: ops.attention, inputs: [t.q, t.k, t.v], outputs: [t.out, t.lse], attrs }];
    const ins = [t.q, t.k, t.v, t.dout, t.stats];
    return [
      { kernel: ops.attentionStats, inputs: [t.lse, t.out, t.dout], outputs: [t.stats], attrs: {} },
      { kernel: ops.attentionBackwardKV, inputs: ins, outputs: [t.dkv], attrs },
      { kernel: ops.splitLast, inputs: [t.dkv], outputs: [t.dk, t.dv], attrs: { sizes: [D, D] } },
      { kernel: ops.attentionBackwardQ, inputs: ins, outputs: [t.dq], attrs },
    ];
  }
  const head = (x: DeviceTensor, h: number, rows: number, cols: number) => be.view(x, h * rows * cols, [rows, cols]);
  const mm = (a: DeviceTensor, b: DeviceTensor, out: DeviceTensor, transA = false, transB = false): Launch => ({ kernel: ops.matmul, inputs: [a, b], outputs: [out], attrs: { transA, transB } });
  const heads = Array.from({ length: B * H }, (_, h) => h);
  const alpha = 1 / Math.sqrt(D);
  if (pass === 'forward') {
    return [
      ...heads.map((h) => mm(head(t.q, h, T, D), head(t.k, h, T, D), head(t.scores, h, T, T), false, true)),
      { kernel: ops.scale, inputs: [t.scores], outputs: [t.scaled], attrs: { alpha } },
      { kernel: ops.add, inputs: [t.scaled, t.mask], outputs: [t.masked], attrs: {} },
      { kernel: ops.softmax, inputs: [t.masked], outputs: [t.probs], attrs: {} },
      ...heads.map((h) => mm(head(t.probs, h, T, T), head(t.v, h, T, D), head(t.out, h, T, D))),
    ];
  }
  // The backward autodiff records for the composition: dP = dO·vᵀ, dv = Pᵀ·dO, dS = softmax'(P, dP)·scale, dq = dS·k, dk = dSᵀ·q.
  return [
    ...heads.flatMap((h) => [
      mm(head(t.dout, h, T, D), head(t.v, h, T, D), head(t.dprobs, h, T, T), false, true),
      mm(head(t.probs, h, T, T), head(t.dout, h, T, D), head(t.dv, h, T, D), true, false),
    ]),
    { kernel: ops.softmaxBackward, inputs: [t.probs, t.dprobs], outputs: [t.scaled], attrs: {} },
    { kernel: ops.scale, inputs: [t.scaled], outputs: [t.dscores], attrs: { alpha } },
    ...heads.flatMap((h) => [
      mm(head(t.dscores, h, T, T), head(t.k, h, T, D), head(t.dq, h, T, D)),
      mm(head(t.dscores, h, T, T), head(t.q, h, T, D), head(t.dk, h, T, D), true, false),
    ]),
  ];
}

/** Runs the forward then the backward once and returns the largest difference from the float64 reference over the first two samples' out, dq, dk, dv. */
async function check(be: Backend, c: AttentionCase, t: Tensors, variant: AttentionVariant): Promise<number> {
  const forward = await be.compile(launches(be, c, t, variant, 'forward'));
  const backward = await be.compile(launches(be, c, t, variant, 'backward'));
  // The composition's backward reads softmax's output; the fused one reads lse, which the forward writes.
  forward.run();
  backward.run();
  const [out, dq, dk, dv] = await Promise.all([t.out, t.dq, t.dk, t.dv].map((x) => be.read(x)));
  forward.dispose();
  backward.dispose();
  const { H, T, D } = c;
  const n = 2 * H * T * D;
  const host = (seed: number) => Float64Array.from(fill(c.B * H * T * D, seed).subarray(0, n));
  const [q, k, v, dout] = [1, 2, 3, 4].map(host);
  const d = { B: 2, H, T, S: T, D, Dv: D, causal: true, scale: 1 / Math.sqrt(D), masked: false, keyMask: false, rate: 0, seed: 0, layout: 'bhtd' as const };
  const refOut = new Float64Array(n);
  const lse = new Float64Array(2 * H * T);
  attentionForward(d, [q, k, v], [refOut, lse]);
  const stats = new Float64Array(4 * H * T);
  for (let r = 0; r < 2 * H * T; r++) {
    stats[2 * r] = lse[r];
    for (let j = 0; j < D; j++) stats[2 * r + 1] += dout[r * D + j] * refOut[r * D + j];
  }
  const ref = attentionGradients(d, [q, k, v, dout, stats]);
  let worst = 0;
  for (const [got, want] of [[out, refOut], [dq, ref.dq], [dk, ref.dk], [dv, ref.dv]] as const) {
    for (let i = 0; i < n; i++) worst = Math.max(worst, Number.isNaN(got[i]) ? Infinity : Math.abs(got[i] - want[i]));
  }
  return worst;
}

interface Cell {
  readonly variant: AttentionVariant;
  readonly pass: AttentionPass;
  readonly c: AttentionCase;
  readonly launches: number;
  readonly maxError: number;
  readonly timer: () => Promise<{ run(reps: number): Promise<number>; free(): void }>;
  seconds: number[];
  cpu: number[];
  reps: number;
}

/** Checks both variants on each case (a failing one is reported, not timed), then times the rest in rounds. */
export async function runAttentionLab(cases: AttentionCase[], budgetSeconds: number, maxRuns: number): Promise<JobResult> {
  const be = await createWebGPUBackend();
  const figures: AttentionFigure[] = [];
  const tensors: Tensors[] = [];
  try {
    const cells: Cell[] = [];
    for (const c of cases) {
      const t = allocate(be, c);
      tensors.push(t);
      for (const variant of ['fused', 'composition'] as const) {
        const maxError = await check(be, c, t, variant);
        console.error(`attention lab: ${variant} ${c.label}: largest error ${maxError.toExponential(2)} against float64${maxError <= CHECK_LIMIT ? '' : ': FAILED, not timed'}`);
        for (const pass of ['forward', 'backward'] as const) {
          const list = launches(be, c, t, variant, pass);
          if (!(maxError <= CHECK_LIMIT)) {
            figures.push({ variant, pass, case: c.label, ms: null, launches: list.length, maxError, error: `differs from the float64 reference by ${maxError} (limit ${CHECK_LIMIT}): not timed` });
            continue;
          }
          const timer = async () => {
            const program = await be.compile(list);
            return {
              async run(reps: number) {
                const t0 = now();
                for (let i = 0; i < reps; i++) program.run();
                await be.sync();
                return now() - t0;
              },
              free: () => program.dispose(),
            };
          };
          cells.push({ variant, pass, c, launches: list.length, maxError, timer, seconds: [], cpu: [], reps: 1 });
        }
      }
    }
    const t0 = now();
    for (let round = 0; round < maxRuns; round++) {
      for (const cell of cells) await timeRound(cell, await cell.timer(), round);
      console.error(`attention lab: round ${round + 1}: ${cells.length} timings done at ${(now() - t0).toFixed(1)} s`);
      if (((now() - t0) * (round + 2)) / (round + 1) > budgetSeconds) break;
    }
    for (const cell of cells) {
      const ms = (v: number[]) => spread(v.map((s) => s * 1000));
      figures.push({ variant: cell.variant, pass: cell.pass, case: cell.c.label, ms: ms(cell.seconds), cpuMs: ms(cell.cpu), launches: cell.launches, maxError: cell.maxError });
    }
    return { device: describeAdapter(be.describe()), attention: figures };
  } finally {
    be.dispose();
  }
}
