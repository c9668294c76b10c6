import type { DType, TensorInfo } from '../core/shape.js';

/** Host data a CPU kernel reads and writes. Float64Array lets the reference run in double precision. */
export type FloatArray = Float32Array | Float64Array;
export type HostArray = FloatArray | Int32Array;

/** One scalar of a kernel's uniform block, in WGSL struct order. Every field is 4 bytes. */
export type Param = readonly ['u32' | 'i32' | 'f32', number];

/** What the WebGPU backend needs to launch a kernel once. */
export interface GpuLaunch {
  /** Entry point in the kernel's shader. */
  readonly entry: string;
  /** WGSL `override` constants; part of the pipeline cache key. */
  readonly constants?: Readonly<Record<string, number>>;
  /** The uniform block at the binding after the last storage buffer, if the entry point declares one. */
  readonly params: readonly Param[];
  readonly workgroups: readonly [number, number, number];
  /**
   * How many of the inputs take the leading bindings (default: all), and the
   * read-only bindings after the uniform block (or after the outputs where
   * there is none), each naming the input it binds. For shaders whose entry
   * points share helpers that read an optional operand (matmul's epilogue):
   * a launch with one binds it last; WGSL has no optional bindings, so a
   * launch without one binds another input there.
   */
  readonly leading?: number;
  readonly extra?: readonly number[];
}

/** What a kernel may know of the device it is launched on. */
export interface GpuContext {
  readonly maxInvocationsPerWorkgroup: number;
  readonly maxWorkgroupsPerDimension: number;
  readonly maxWorkgroupStorageSize: number;
  /** True on CPU-emulated adapters (llvmpipe, SwiftShader), where the best kernel variant differs. */
  readonly software: boolean;
  /** The adapter's vendor, architecture, device and description in one string, for per-adapter kernel choices. */
  readonly adapter: string;
}

export interface ShaderSource {
  readonly name: string;
  readonly code: string;
}

/**
 * One kernel: the unit both backends run. Its shape rule, its plain CPU
 * version and its GPU launch live together in src/ops/<family>.ts, its WGSL
 * in shaders/<family>.wgsl.
 *
 * Binding convention in WGSL: inputs at bindings 0..n-1 (read-only storage),
 * outputs next (read_write storage), then the uniform block, if any.
 * Kernels with `inout` set read their outputs' old contents (optimizer state);
 * all others must write every element of every output.
 */
export interface Kernel<A> {
  readonly name: string;
  readonly shader: ShaderSource;
  readonly inout?: boolean;
  /**
   * The output is input 0's storage seen with another shape (reshape,
   * flatten): the graph executor binds it as a view and launches nothing.
   * `cpu` still computes it (a copy), for tests and for running it alone.
   */
  readonly view?: boolean;
  /** Validates inputs and attributes; returns the outputs' shapes and dtypes. Throws ShapeError/ValueError. */
  outputs(inputs: readonly TensorInfo[], attrs: A): TensorInfo[];
  /** The reference. Written for clarity, in the precision of the arrays it is given. */
  cpu(inputs: readonly HostArray[], outputs: readonly HostArray[], infos: readonly TensorInfo[], attrs: A): void;
  /**
   * Optional: the same result computed faster, which the CPU backend runs when
   * present (tests compare it with `cpu`, which stays the oracle). Any float
   * arrays; accumulates at least as precisely as float32.
   */
  cpuFast?(inputs: readonly HostArray[], outputs: readonly HostArray[], infos: readonly TensorInfo[], attrs: A): void;
  gpu(inputs: readonly TensorInfo[], attrs: A, ctx: GpuContext): GpuLaunch;
}

export function defineKernel<A>(k: Kernel<A>): Kernel<A> {
  return k;
}

export function newHostArray(dtype: DType, n: number, precision: 'f32' | 'f64' = 'f32'): HostArray {
  if (dtype === 'i32') return new Int32Array(n);
  return precision === 'f64' ? new Float64Array(n) : new Float32Array(n);
}

/** Workgroup counts for a 1-D problem of n items, folded into 2-D when it exceeds the per-dimension limit. */
export function grid1d(n: number, workgroupSize: number, ctx: GpuContext): [number, number, number] {
  const groups = Math.ceil(n / workgroupSize);
  const maxX = ctx.maxWorkgroupsPerDimension;
  if (groups <= maxX) return [Math.max(groups, 1), 1, 1];
  const y = Math.ceil(groups / maxX);
  return [Math.ceil(groups / y), y, 1];
}
