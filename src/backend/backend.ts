import type { DType, Shape, TensorInfo } from '../core/shape.js';
import type { Kernel } from '../ops/kernel.js';

/** A tensor living on a backend: its shape and dtype, and a handle only that backend understands. */
export interface DeviceTensor extends TensorInfo {
  readonly size: number;
  readonly backend: Backend;
  /** For a view (Backend.view), the tensor whose storage it shares; null otherwise. */
  readonly base: DeviceTensor | null;
}

/** What `describe()` reports: enough to say which device a figure came from. */
export interface DeviceDescription {
  readonly backend: 'cpu' | 'webgpu';
  /** e.g. "nvidia", "" on llvmpipe. */
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  /** Native API under WebGPU where known (vulkan, metal, d3d12, opengles), else "". */
  readonly api: string;
  readonly featureLevel: 'core' | 'compatibility' | 'cpu';
  /** True on CPU-emulated adapters: their figures are CPU figures. */
  readonly software: boolean;
  readonly features: readonly string[];
  readonly limits: Readonly<Record<string, number>>;
}

/** One kernel launch with its tensors bound. */
export interface Launch<A = any> {
  readonly kernel: Kernel<A>;
  readonly inputs: readonly DeviceTensor[];
  readonly outputs: readonly DeviceTensor[];
  readonly attrs: A;
}

/**
 * A fixed sequence of launches compiled once (pipelines, bind groups and
 * uniforms built ahead) and run many times: one training step.
 */
export interface Program {
  /** Queues every launch, in order. */
  run(): void;
  dispose(): void;
}

/**
 * The small interface every backend implements. Work is queued by `run` and
 * may execute later; `read` and `sync` wait for it.
 */
export interface Backend {
  readonly kind: 'cpu' | 'webgpu';
  describe(): DeviceDescription;
  allocate(shape: Shape, dtype?: DType): DeviceTensor;
  /**
   * A tensor over `t`'s elements from `offset` on (a multiple of VIEW_ALIGN),
   * shaped `shape`, sharing its storage: writing one writes the other. It
   * lives as long as `t`; free `t`, not the view.
   */
  view(t: DeviceTensor, offset: number, shape: Shape): DeviceTensor;
  free(t: DeviceTensor): void;
  write(t: DeviceTensor, data: ArrayLike<number>): void;
  read(t: DeviceTensor): Promise<Float32Array | Int32Array>;
  run<A>(kernel: Kernel<A>, inputs: readonly DeviceTensor[], outputs: readonly DeviceTensor[], attrs: A): void;
  /** Compiles a sequence of launches to run many times. Async so the GPU can compile pipelines off the main thread. */
  compile(launches: readonly Launch[]): Promise<Program>;
  /** Waits until all queued work has finished; throws any error it raised. */
  sync(): Promise<void>;
  /** Frees every buffer and the device. The backend is unusable afterwards. */
  dispose(): void;
}
