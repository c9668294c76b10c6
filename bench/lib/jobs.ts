import type { Spread } from './stats.js';
import type { TrainWorkload } from '../workloads.js';
import type { GptSpec } from '../gpt-workload.js';

/** The systems of the bench. */
export const SYSTEMS = ['webgrad-webgpu', 'webgrad-cpu', 'tfjs-webgpu', 'tfjs-wasm', 'tfjs-cpu', 'torch-cpu'] as const;
export type SystemName = (typeof SYSTEMS)[number];

export interface MatmulShape {
  readonly label: string;
  readonly M: number;
  readonly K: number;
  readonly N: number;
  readonly transA: boolean;
  readonly transB: boolean;
}

export type Job =
  | { kind: 'train'; system: SystemName; workloads: TrainWorkload[]; budgetSeconds: number; maxRuns: number }
  | { kind: 'matmul'; system: SystemName; shapes: MatmulShape[]; budgetSeconds: number; maxRuns: number }
  | { kind: 'lab'; shapes: MatmulShape[]; budgetSeconds: number; maxRuns: number; quick: boolean }
  | { kind: 'conv-lab'; budgetSeconds: number; maxRuns: number }
  | { kind: 'attention-lab'; budgetSeconds: number; maxRuns: number };

export interface TrainFigure {
  readonly system: SystemName;
  readonly workload: string;
  readonly layers: readonly number[];
  readonly batch: number;
  /** Samples per epoch of a timed run. */
  readonly samples: number;
  /** Epochs per timed run, where more than one (W5: 20, one fit() call); samplesPerSecond counts them all. */
  readonly epochs?: number;
  readonly samplesPerSecond: Spread;
  /** Where a timed run is several epochs (W5): epochs and optimizer steps per second, wall clock. */
  readonly epochsPerSecond?: Spread;
  readonly stepsPerSecond?: Spread;
  /** Samples per CPU-second of the process, all threads (Node only): steadier than wall time on a shared machine. */
  readonly samplesPerCpuSecond?: Spread;
  /** W7 (the GPT): tokens trained per second, samples × context (every step of a window predicts the next character), wall and per CPU-second. */
  readonly tokensPerSecond?: Spread;
  readonly tokensPerCpuSecond?: Spread;
  /** W7's GPT as trained: its sizes and the corpus's vocabulary. */
  readonly gpt?: GptSpec;
  readonly gflops: number;
  readonly warmupSeconds: number;
  /** Mean training loss of each timed run. */
  readonly losses: number[];
  /** Command-buffer submits in the last timed run (its epochs over `samples`), where counted: webgrad on WebGPU. */
  readonly submits?: number;
  /** Kernel dispatches in that run, where counted (webgrad on WebGPU): launches per step times steps. */
  readonly dispatches?: number;
  readonly error?: string;
}

export interface MatmulFigure {
  readonly system: string;
  /** Kernel variant (kernel lab), or the system's own choice. */
  readonly variant?: string;
  readonly shape: MatmulShape;
  readonly gflops: Spread | null;
  /** GFLOP per CPU-second of the process (all its threads): steadier than wall time on a shared machine. */
  readonly cpuGflops?: Spread;
  /** Largest |got − ref| / (γ_K·(|A||B|) bound): ≤ 1 passes. Lab only. */
  readonly checkRatio?: number;
  readonly error?: string;
  /** Why a variant that passed its check was not timed (lab only). */
  readonly skipped?: string;
}

/** One conv2d variant's pass on one convolution (the kernel lab's conv section). */
export interface ConvFigure {
  readonly variant: string;
  readonly pass: 'forward' | 'dX' | 'dW';
  /** The convolution, e.g. 'W4 conv2', with x [n, h, w, cin] and kernel [kh, kw, cin, cout]. */
  readonly case: string;
  readonly x: readonly number[];
  readonly k: readonly number[];
  /** 2·n·oh·ow·kh·kw·cin·cout per second, ×1e-9. */
  readonly gflops: Spread | null;
  readonly cpuGflops?: Spread;
  /** Largest |got − ref| / (γ_K·Σ|products|) bound over the check cases: ≤ 1 passes. Absent for the tfjs peer. */
  readonly checkRatio?: number;
  readonly error?: string;
}

/** One attention variant's pass on one case (the kernel lab's attention section, bench/kernels/attention-lab.ts). */
export interface AttentionFigure {
  /** 'fused' (the attention op and its backward kernels) or 'composition' (matmuls per head, scale, mask, softmax). */
  readonly variant: 'fused' | 'composition';
  readonly pass: 'forward' | 'backward';
  /** e.g. 'B32 H4 T64 D32' (causal). */
  readonly case: string;
  /** Milliseconds per pass, wall clock; null when not timed. */
  readonly ms: Spread | null;
  /** CPU-milliseconds per pass (llvmpipe's threads included). */
  readonly cpuMs?: Spread;
  /** Launches per pass. */
  readonly launches: number;
  /** Largest |got − ref| over out, dq, dk, dv of the first two samples, against the float64 reference. */
  readonly maxError: number;
  readonly error?: string;
}

/** What a worker prints on its last line after RESULT_TAG. */
export interface JobResult {
  readonly device: string;
  readonly train?: TrainFigure[];
  readonly matmul?: MatmulFigure[];
  readonly conv?: ConvFigure[];
  readonly attention?: AttentionFigure[];
  /** Adapter details where the system has one (vendor, architecture, backend, limits). */
  readonly adapter?: Record<string, unknown>;
}

export const RESULT_TAG = '@@webgrad-bench-result ';

/** The kernel lab's name for tfjs-backend-webgpu's matmul, timed beside webgrad's variants. */
export const TFJS_PEER = 'tfjs-webgpu matmul (peer, same adapter)';

export function shapeName(s: MatmulShape): string {
  return `${s.M}×${s.K}×${s.N}${s.transA ? ' Aᵀ' : ''}${s.transB ? ' Bᵀ' : ''}`;
}
