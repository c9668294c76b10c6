// The results document (written as JSON) and its terminal tables.
import type { BrowserResult } from '../browser/page.js';
import type { Environment } from './env.js';
import type { AttentionFigure, ConvFigure, MatmulFigure, SystemName, TrainFigure } from './jobs.js';
import { shapeName, TFJS_PEER } from './jobs.js';
import { fmt, fmtRange, table } from './table.js';
import { gptChecks } from './gpt-report.js';

export interface TargetCheck {
  readonly target: string;
  /** The wall-clock figure the target is judged by. */
  readonly measured: string;
  readonly met: boolean | null;
  /** The same ratio per CPU-second of each process, where known: what a busy machine cannot take away. */
  readonly perCpuSecond?: string;
}

export interface BenchResults {
  readonly schema: 'webgrad-bench/1';
  readonly quick: boolean;
  readonly smoke: boolean;
  readonly environment: Environment;
  /** The device each system ran on, as it reported it. */
  readonly devices: Partial<Record<SystemName | 'lab', string>>;
  /** webgrad's WebGPU adapter: vendor, architecture, backend API, feature level, limits. */
  readonly adapter: Record<string, unknown> | null;
  readonly note: string;
  readonly train: TrainFigure[];
  readonly scaling: TrainFigure[];
  readonly matmul: MatmulFigure[];
  readonly lab: MatmulFigure[];
  /** The kernel lab's conv2d variants on W4's convolutions (absent in files written before it existed). */
  readonly convLab?: ConvFigure[];
  /** The kernel lab's attention section: fused against the plain composition (absent in files written before it existed). */
  readonly attentionLab?: AttentionFigure[];
  /** The browser page's figures (headless Chromium), or null when not run. */
  readonly browser: BrowserResult | null;
  readonly targets: TargetCheck[];
  readonly errors: { job: string; error: string }[];
  readonly seconds: number;
}

const median = (f: TrainFigure | undefined) => f?.samplesPerSecond.median;

function find(figs: TrainFigure[], system: string, workload: string): TrainFigure | undefined {
  return figs.find((f) => f.system === system && f.workload === workload);
}

export function trainTable(figs: TrainFigure[], systems: string[]): string {
  const workloads = [...new Set(figs.map((f) => f.workload))];
  const rows = workloads.map((w) => [w, ...systems.map((s) => fmtRange(find(figs, s, w)?.samplesPerSecond))]);
  const perCpu = workloads
    .filter((w) => figs.some((f) => f.workload === w && f.samplesPerCpuSecond && Number.isFinite(f.samplesPerCpuSecond.median)))
    .map((w) => [`${w} per CPU-second`, ...systems.map((s) => fmt(find(figs, s, w)?.samplesPerCpuSecond?.median))]);
  // Workloads of several epochs a run (W5): the figure that matters is epochs, and optimizer steps, per second.
  const perEpoch = workloads
    .filter((w) => figs.some((f) => f.workload === w && f.epochsPerSecond))
    .flatMap((w) => [
      [`${w} epochs/s`, ...systems.map((s) => fmtRange(find(figs, s, w)?.epochsPerSecond))],
      [`${w} steps/s`, ...systems.map((s) => fmtRange(find(figs, s, w)?.stepsPerSecond))],
    ]);
  // The GPT (W7): tokens, the figure #27 asks for (samples × context).
  const perToken = workloads
    .filter((w) => figs.some((f) => f.workload === w && f.tokensPerSecond))
    .flatMap((w) => [[`${w} tokens/s`, ...systems.map((s) => fmtRange(find(figs, s, w)?.tokensPerSecond))], [`${w} tokens per CPU-second`, ...systems.map((s) => fmt(find(figs, s, w)?.tokensPerCpuSecond?.median))]]);
  const losses = workloads.map((w) => [`${w} loss`, ...systems.map((s) => fmt(find(figs, s, w)?.losses[0]))]);
  // Where a system timed fewer samples of a workload than the others (tfjs-cpu on W4), say how many.
  const counts = workloads
    .filter((w) => new Set(figs.filter((f) => f.workload === w).map((f) => f.samples)).size > 1)
    .map((w) => [`${w} samples per run`, ...systems.map((s) => fmt(find(figs, s, w)?.samples))]);
  return table(['samples/s: median (min–max)', ...systems], [...rows, ...perEpoch, ...perToken, ...perCpu, ...losses, ...counts]);
}

export function matmulTable(figs: MatmulFigure[], systems: string[]): string {
  const shapes = [...new Map(figs.map((f) => [f.shape.label, f.shape])).values()];
  const rows = shapes.map((sh) => [`${sh.label}  ${shapeName(sh)}`, ...systems.map((s) => {
    const f = figs.find((x) => x.system === s && x.shape.label === sh.label);
    return f?.error ? 'error' : fmtRange(f?.gflops);
  })]);
  return table(['GFLOP/s: median (min–max)', ...systems], rows);
}

export function labTable(figs: MatmulFigure[]): string {
  const shapes = [...new Map(figs.map((f) => [f.shape.label, f.shape])).values()];
  const variants = [...new Set(figs.map((f) => f.variant ?? ''))];
  const rows = variants.map((v) => [v, ...shapes.map((sh) => {
    const f = figs.find((x) => x.variant === v && x.shape.label === sh.label);
    if (!f) return 'n/a';
    if (f.error) return 'FAILED CHECK';
    if (f.skipped) return 'checked, not timed';
    return `${fmt(f.gflops?.median)} / ${fmt(f.cpuGflops?.median)}`;
  })]);
  return table(['variant: GFLOP/s wall / per CPU-s', ...shapes.map((s) => `${s.label} ${shapeName(s)}`)], rows);
}

/** The conv section of the kernel lab: a row per variant and pass, a column per convolution. */
export function convLabTable(figs: ConvFigure[]): string {
  const cases = [...new Map(figs.map((f) => [f.case, f])).values()];
  const rows = [...new Set(figs.map((f) => `${f.pass}\u0000${f.variant}`))].map((key) => {
    const [pass, variant] = key.split('\u0000');
    return [`${pass.padEnd(7)} ${variant}`, ...cases.map((c) => {
      const f = figs.find((x) => x.pass === pass && x.variant === variant && x.case === c.case);
      if (!f) return 'n/a';
      if (f.error) return 'FAILED CHECK';
      return `${fmt(f.gflops?.median)} / ${fmt(f.cpuGflops?.median)}`;
    })];
  });
  return table(['pass, variant: GFLOP/s wall / per CPU-s', ...cases.map((c) => `${c.case} x[${c.x.join(',')}] k[${c.k.join(',')}]`)], rows);
}

/** The attention section of the kernel lab: a row per pass and variant, a column per case; ms per pass and launches. */
export function attentionLabTable(figs: AttentionFigure[]): string {
  const cases = [...new Set(figs.map((f) => f.case))];
  const rows = [...new Set(figs.map((f) => `${f.pass}\u0000${f.variant}`))].map((key) => {
    const [pass, variant] = key.split('\u0000');
    return [`${pass.padEnd(8)} ${variant}`, ...cases.map((c) => {
      const f = figs.find((x) => x.pass === pass && x.variant === variant && x.case === c);
      if (!f) return 'n/a';
      if (f.error) return 'FAILED CHECK';
      return `${fmt(f.ms?.median)} ms / ${fmt(f.cpuMs?.median)} cpu-ms, ${f.launches} launches`;
    })];
  });
  return table(['pass, variant (causal)', ...cases], rows);
}

export function scalingTable(figs: TrainFigure[], systems: string[]): string {
  const workloads = [...new Set(figs.map((f) => f.workload))];
  const rows = workloads.map((w) => [w.replace('S1-', ''), ...systems.map((s) => fmt(median(find(figs, s, w))))]);
  return table(['S1 samples/s (median)', ...systems], rows);
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a !== undefined && b !== undefined && b > 0 ? a / b : undefined;
}

/**
 * The kernel lab's timed figures at one shape: webgrad's default, the fastest
 * variant (the peer and the default's copy of a variant aside) and tfjs' peer.
 */
export function labLeaders(lab: MatmulFigure[], label: string): { ours?: MatmulFigure; best?: MatmulFigure; peer?: MatmulFigure } {
  const timed = lab.filter((f) => f.shape.label === label && f.gflops);
  const isDefault = (f: MatmulFigure) => !!f.variant?.startsWith('webgrad default');
  const variants = timed.filter((f) => f.variant !== TFJS_PEER && !isDefault(f));
  return {
    ours: timed.find(isDefault),
    best: variants.reduce<MatmulFigure | undefined>((b, f) => (!b || f.gflops!.median > b.gflops!.median ? f : b), undefined),
    peer: timed.find((f) => f.variant === TFJS_PEER),
  };
}

/** The issue's speed targets, checked against this run's figures (null: not measured in this run). */
export function checkTargets(r: Pick<BenchResults, 'train' | 'matmul' | 'lab' | 'adapter' | 'browser'>, fp32Peak?: number): TargetCheck[] {
  const out: TargetCheck[] = [];
  const b = r.browser;
  const perCpu = (a: string, b2: string, w: string) => {
    const x = ratio(find(r.train, a, w)?.samplesPerCpuSecond?.median, find(r.train, b2, w)?.samplesPerCpuSecond?.median);
    return x ? `${x.toFixed(2)}×` : undefined;
  };
  for (const w of ['W1', 'W2', 'W3', 'W4']) {
    const x = ratio(median(find(r.train, 'webgrad-webgpu', w)), median(find(r.train, 'tfjs-webgpu', w)));
    out.push({ target: `webgrad WebGPU ≥ 2× tfjs-webgpu on ${w} (same adapter, Node)`, measured: x ? `${x.toFixed(2)}×` : 'not measured', met: x ? x >= 2 : null, perCpuSecond: perCpu('webgrad-webgpu', 'tfjs-webgpu', w) });
  }
  for (const w of ['W1', 'W2', 'W3', 'W4']) {
    const x = b ? ratio(median(find(b.train, 'webgrad-webgpu', w)), median(find(b.train, 'tfjs-webgpu', w))) : undefined;
    if (b || w !== 'W3') out.push({ target: `webgrad WebGPU ≥ 2× tfjs-webgpu on ${w} (same adapter, browser)`, measured: x ? `${x.toFixed(2)}×` : 'not measured', met: x ? x >= 2 : null });
  }
  for (const w of ['W1', 'W2', 'W4']) {
    const x = ratio(median(find(r.train, 'webgrad-cpu', w)), median(find(r.train, 'tfjs-cpu', w)));
    out.push({ target: `webgrad CPU ≥ 2× tfjs-backend-cpu on ${w}`, measured: x ? `${x.toFixed(2)}×` : 'not measured', met: x ? x >= 2 : null, perCpuSecond: perCpu('webgrad-cpu', 'tfjs-cpu', w) });
  }
  const at1024 = (figs: MatmulFigure[], pred: (f: MatmulFigure) => boolean) => figs.find((f) => f.shape.label === '1024³' && pred(f))?.gflops?.median;
  const ours = at1024(r.matmul, (f) => f.system === 'webgrad-webgpu');
  const theirs = at1024(r.matmul, (f) => f.system === 'tfjs-webgpu');
  const x = ratio(ours, theirs);
  out.push({ target: 'webgrad matmul ≥ 3× tfjs-webgpu GFLOP/s at 1024³ (same adapter)', measured: x ? `${x.toFixed(2)}× (${fmt(ours)} vs ${fmt(theirs)})` : 'not measured', met: x ? x >= 3 : null });
  const lab = labLeaders(r.lab, '1024³');
  const z = ratio(lab.ours?.gflops?.median, lab.peer?.gflops?.median);
  const zc = ratio(lab.ours?.cpuGflops?.median, lab.peer?.cpuGflops?.median);
  out.push({ target: 'webgrad matmul ≥ 3× tfjs-webgpu GFLOP/s at 1024³ (kernel lab: timed in the same rounds, same process)', measured: z ? `${z.toFixed(2)}×` : 'not measured', met: z ? z >= 3 : null, perCpuSecond: zc ? `${zc.toFixed(2)}×` : undefined });
  if (b) {
    const bx = ratio(at1024(b.matmul, (f) => f.system === 'webgrad-webgpu'), at1024(b.matmul, (f) => f.system === 'tfjs-webgpu'));
    out.push({ target: 'webgrad matmul ≥ 3× tfjs-webgpu GFLOP/s at 1024³ (same adapter, browser)', measured: bx ? `${bx.toFixed(2)}×` : 'not measured', met: bx ? bx >= 3 : null });
  }
  const { best } = lab;
  const def = lab.ours?.gflops?.median;
  const y = ratio(def, best?.gflops?.median);
  out.push({ target: "webgrad's default matmul within 80% of the kernel lab's best at 1024³", measured: y ? `${(y * 100).toFixed(0)}% (${fmt(def)} vs ${best!.variant} ${fmt(best!.gflops!.median)})` : 'not measured', met: y ? y >= 0.8 : null });
  out.push(...sequenceChecks(r.train));
  out.push(...gptChecks(r.train));
  out.push(...torchRatios(r.train));
  out.push(...lossChecks(r.train, ''));
  if (b) out.push(...lossChecks(b.train, ', browser'));
  out.push(...playgroundChecks(r.train, ', Node'));
  if (b) out.push(...playgroundChecks(b.train, ', browser'));
  const software = r.adapter?.software === true || (!r.adapter && r.browser?.adapter?.software === true);
  // fit() logs nothing mid-epoch here (verbose 0, no batch callbacks): the whole epoch is one logging interval.
  const w1 = find(r.train, 'webgrad-webgpu', 'W1');
  if (w1?.submits !== undefined) {
    const steps = Math.ceil(w1.samples / w1.batch);
    const few = Math.ceil(steps / 16) + 2; // one per 16-step queue window fit() lets run ahead, plus the epoch's edges
    const where = software ? ' (counted on the software adapter: the count is the engine\'s, the same on any device)' : ` (${r.adapter?.vendor ?? ''} ${r.adapter?.device ?? ''})`;
    const launches = w1.dispatches !== undefined ? `, ${(w1.dispatches / steps).toFixed(1).replace(/\.0$/, '')} launches a step` : '';
    out.push({ target: 'W1 epoch in one or a few command-buffer submissions per logging interval', measured: `${w1.submits} submits for ${steps} steps${launches}${where}`, met: w1.submits <= few });
  }
  const at4096 = r.matmul.find((f) => f.system === 'webgrad-webgpu' && f.shape.label === '4096³')?.gflops?.median;
  const peakTarget = 'real GPU: matmul ≥ 40% of fp32 peak at 4096³';
  if (software) out.push({ target: peakTarget, measured: `not measured: this run had only a software adapter${at4096 ? ` (4096³ ran at ${fmt(at4096)} GFLOP/s there: a CPU figure)` : ''}`, met: null });
  else if (!fp32Peak || !at4096) out.push({ target: peakTarget, measured: 'not measured: give the device\'s fp32 peak with --fp32-peak GFLOPS', met: null });
  else out.push({ target: peakTarget, measured: `${((at4096 / fp32Peak) * 100).toFixed(1)}% (${fmt(at4096)} of ${fmt(fp32Peak)} GFLOP/s given by --fp32-peak)`, met: at4096 / fp32Peak >= 0.4 });
  return out;
}

/**
 * Losses after the same steps from the same weights must agree: every system
 * that trained a workload on as many samples as webgrad WebGPU, within 2% of
 * its loss. A system that timed fewer samples (tfjs-cpu on W4) is named, not compared.
 */
export function lossChecks(train: TrainFigure[], where: string): TargetCheck[] {
  const out: TargetCheck[] = [];
  for (const w of ['W1', 'W2', 'W3', 'W4', 'W5', 'W6', 'W7']) {
    const ref = find(train, 'webgrad-webgpu', w);
    const all = train.filter((f) => f.workload === w && f.losses.length);
    const same = all.filter((f) => f.samples === ref?.samples);
    if (!ref?.losses.length || same.length < 2) continue;
    const loss = ref.losses[0];
    const worst = Math.max(...same.map((f) => Math.abs(f.losses[0] - loss) / loss));
    const apart = all.filter((f) => f.samples !== ref.samples).map((f) => `${f.system} (${f.samples} samples)`);
    const note = apart.length ? `; not compared: ${apart.join(', ')}` : '';
    out.push({ target: `comparable loss on ${w}${where}: every system within 2% of webgrad WebGPU's after the same steps`, measured: `largest difference ${(worst * 100).toFixed(2)}% over ${same.length} systems${note}`, met: worst <= 0.02 });
  }
  return out;
}

/** #26's goal for the LSTM workload (the issue's W5, the bench's W6): webgrad WebGPU at least 5× tfjs-webgpu's LSTM on the same adapter. */
export const SEQUENCE_TARGET = 5;

/**
 * W6 on webgrad WebGPU: the ratio to tfjs-webgpu against #26's goal, and the
 * submits and launches of a training step (the engine's count, the same on
 * any device), which T does not multiply: the sequence is one launch each way.
 */
export function sequenceChecks(train: TrainFigure[]): TargetCheck[] {
  const f = find(train, 'webgrad-webgpu', 'W6');
  const tf = find(train, 'tfjs-webgpu', 'W6');
  const x = ratio(median(f), median(tf));
  const y = ratio(f?.samplesPerCpuSecond?.median, tf?.samplesPerCpuSecond?.median);
  const out: TargetCheck[] = [{ target: `webgrad WebGPU ≥ ${SEQUENCE_TARGET}× tfjs-webgpu on W6, the LSTM (same adapter, Node)`, measured: x ? `${x.toFixed(2)}× (${fmt(median(f))} vs ${fmt(median(tf))} samples/s)` : 'not measured', met: x ? x >= SEQUENCE_TARGET : null, perCpuSecond: y ? `${y.toFixed(2)}×` : undefined }];
  if (f?.submits !== undefined && f.dispatches !== undefined) {
    const steps = Math.ceil(f.samples / f.batch);
    const per = (v: number) => (v / steps).toFixed(2).replace(/\.?0+$/, '');
    out.push({ target: 'W6 command-buffer submits and launches per step (counted, no target)', measured: `${f.submits} submits and ${f.dispatches} dispatches for ${steps} steps: ${per(f.submits)} submits, ${per(f.dispatches)} launches a step`, met: null });
  }
  return out;
}

/**
 * Where webgrad stands against PyTorch on the CPU (torch-cpu), what a user
 * without a GPU would pick instead: webgrad's samples/s over torch's on every
 * workload both ran (no target; per CPU-second beside it).
 */
export function torchRatios(train: TrainFigure[]): TargetCheck[] {
  const out: TargetCheck[] = [];
  for (const w of [...new Set(train.map((f) => f.workload))]) {
    const torch = find(train, 'torch-cpu', w);
    if (!torch) continue;
    for (const s of ['webgrad-webgpu', 'webgrad-cpu'] as const) {
      const f = find(train, s, w);
      if (!f) continue;
      // Samples per second (W5: the same ratio as its epochs per second).
      const x = ratio(median(f), median(torch));
      const y = ratio(f.samplesPerCpuSecond?.median, torch.samplesPerCpuSecond?.median);
      const apart = f.samples !== torch.samples ? ` (torch-cpu on ${torch.samples} samples, ${s} on ${f.samples})` : '';
      out.push({ target: `${s === 'webgrad-webgpu' ? 'webgrad WebGPU' : 'webgrad CPU'} / torch-cpu on ${w} (no target)`, measured: x ? `${x.toFixed(2)}×${apart}` : 'not measured', met: null, perCpuSecond: y ? `${y.toFixed(2)}×` : undefined });
    }
  }
  return out;
}

/** W5 is the Playground page's work: #25 asks for "dozens of epochs a second on a small net". Two dozen is the bar. */
export const PLAYGROUND_EPOCHS_PER_SECOND = 24;

/**
 * W5 on webgrad WebGPU: its epochs per second against #25's bar, and its
 * submits and launches per step (per-step overhead is the whole of W5's cost).
 * On a software adapter the rate is a CPU figure; the counts are the engine's.
 */
export function playgroundChecks(train: TrainFigure[], where: string): TargetCheck[] {
  const f = find(train, 'webgrad-webgpu', 'W5');
  if (!f?.epochsPerSecond) return [];
  const out: TargetCheck[] = [];
  const eps = f.epochsPerSecond.median;
  const steps = (f.epochs ?? 1) * Math.ceil(f.samples / f.batch);
  out.push({ target: `W5 (the Playground's 2-4-2-1 on circle) ≥ ${PLAYGROUND_EPOCHS_PER_SECOND} epochs/s on webgrad WebGPU${where}`, measured: `${fmt(eps)} epochs/s, ${fmt(f.stepsPerSecond?.median)} steps/s`, met: eps >= PLAYGROUND_EPOCHS_PER_SECOND });
  if (f.submits !== undefined && f.dispatches !== undefined) {
    const per = (v: number) => (v / steps).toFixed(2).replace(/\.?0+$/, '');
    out.push({ target: `W5 command-buffer submits and launches per step${where} (counted, no target)`, measured: `${f.submits} submits and ${f.dispatches} dispatches for ${steps} steps: ${per(f.submits)} submits, ${per(f.dispatches)} launches a step`, met: null });
  }
  return out;
}

export function targetsText(t: TargetCheck[]): string {
  return table(['speed target', 'measured (wall clock)', 'met', 'per CPU-second'], t.map((c) => [c.target, c.measured, c.met === null ? '–' : c.met ? 'yes' : 'NO', c.perCpuSecond ?? '']));
}
