import { GpuError, ShapeError, ValueError } from '../../core/errors.js';
import type { DType, Shape } from '../../core/shape.js';
import { fmt, sizeOf } from '../../core/shape.js';
import type { GpuContext, GpuLaunch, Kernel } from '../../ops/kernel.js';
import type { Backend, DeviceDescription, DeviceTensor, Launch, Program } from '../backend.js';
import { checkAllocation, checkLaunch, checkView, checkWrite } from '../validate.js';
import { BufferPool, UniformRing } from './buffers.js';
import { debug } from './debug.js';
import type { AcquireOptions, GpuDevice } from './device.js';
import { releaseDevice, shareDevice, watchLoss } from './device.js';
import { bindingShape, layoutKeyOf, PipelineCache } from './pipelines.js';
import { GpuProgram } from './program.js';

class GpuTensor implements DeviceTensor {
  freed = false;
  constructor(
    readonly backend: WebGPUBackend,
    readonly shape: Shape,
    readonly dtype: DType,
    readonly size: number,
    readonly buffer: GPUBuffer,
    /** Where this tensor starts in `buffer`, in elements (non-zero only for views). */
    readonly offset = 0,
    /** The tensor this one views, or null if it owns its buffer. */
    readonly base: GpuTensor | null = null,
  ) {}
}

const UNIFORM_RING_BYTES = 1 << 16;
/** Upload buffers held by unsubmitted work beyond which a write submits first. */
const MAX_PENDING_UPLOAD_BYTES = 64 << 20;

/**
 * WebGPU backend. `run` records a dispatch into an open compute pass; the
 * work is submitted when something needs it (read, sync) or when the uniform
 * ring is full, so a sequence of kernels costs one submit. A write while work
 * is recorded goes through an upload buffer that the open encoder copies in,
 * in order, so training steps (new batch, new optimizer step count, the step's
 * kernels) queue up in one command buffer until fit() waits for them.
 */
export class WebGPUBackend implements Backend {
  readonly kind = 'webgpu' as const;
  readonly device: GPUDevice;
  readonly ctx: GpuContext;
  private pipelines: PipelineCache;
  private storage: BufferPool;
  private staging: BufferPool;
  private uniforms: UniformRing;
  private uploads: BufferPool;
  private pendingUploads: GPUBuffer[] = [];
  private pendingUploadBytes = 0;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private errors: string[] = [];
  private lost: string | null = null;
  private disposed = false;
  private recent: string[] = [];
  /** Programs compiled here: their uniform buffers go with the backend, as the device may outlive it. */
  private programs = new Set<WeakRef<GpuProgram>>();
  private unwatch: () => void;
  private onError = (ev: GPUUncapturedErrorEvent) => {
    ev.preventDefault(); // reported at the next sync, not also logged
    this.errors.push(`${ev.error.message.trim()}\n  (recent kernels: ${this.recent.join(', ')})`);
  };
  /** Command-buffer submits, GPU→CPU readbacks and kernel dispatches so far: what tests of the training loop and the bench count. */
  readonly counters = { submits: 0, reads: 0, dispatches: 0 };

  /**
   * A backend on the process's shared device (see shareDevice): buffers,
   * pipelines and programs are its own; dispose() frees them and gives the
   * device back, and the last backend's dispose destroys it.
   */
  static async create(options: AcquireOptions = {}): Promise<WebGPUBackend> {
    const gpu = await shareDevice(options);
    try {
      return new WebGPUBackend(gpu);
    } catch (e) {
      releaseDevice(gpu);
      throw e;
    }
  }

  constructor(private gpu: GpuDevice) {
    const device = (this.device = gpu.device);
    const l = device.limits;
    this.ctx = {
      maxInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      software: gpu.description.software,
      adapter: [gpu.description.vendor, gpu.description.architecture, gpu.description.device, gpu.description.description].join(' '),
    };
    this.pipelines = new PipelineCache(device);
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    this.storage = new BufferPool(device, usage, 'webgrad tensor');
    this.staging = new BufferPool(device, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, 'webgrad readback');
    this.uploads = new BufferPool(device, GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, 'webgrad upload');
    this.uniforms = new UniformRing(device, UNIFORM_RING_BYTES, Math.max(16, l.minUniformBufferOffsetAlignment));
    // Errors are not tied to whoever caused them: every backend on the device hears them.
    device.addEventListener('uncapturederror', this.onError);
    this.unwatch = watchLoss(gpu, (info) => {
      this.lost = `WebGPU device lost (${info.reason}): ${info.message}`;
    });
  }

  describe(): DeviceDescription {
    return this.gpu.description;
  }

  allocate(shape: Shape, dtype: DType = 'f32'): DeviceTensor {
    this.alive();
    checkAllocation(shape, dtype);
    const size = sizeOf(shape);
    const bytes = size * 4;
    const max = this.device.limits.maxStorageBufferBindingSize;
    if (bytes > max) {
      throw new ShapeError(`allocate: ${fmt({ shape, dtype })} needs ${bytes} bytes, over this device's ${max}-byte storage binding limit`);
    }
    return new GpuTensor(this, [...shape], dtype, size, this.storage.acquire(bytes));
  }

  view(t: DeviceTensor, offset: number, shape: Shape): DeviceTensor {
    const g = this.own(t);
    checkView(g, offset, shape);
    return new GpuTensor(this, [...shape], g.dtype, sizeOf(shape), g.buffer, g.offset + offset, g.base ?? g);
  }

  free(t: DeviceTensor): void {
    const g = this.own(t);
    if (g.base) throw new ValueError(`webgpu backend: free() of a view ${fmt(g)}; free the tensor it views`);
    g.freed = true;
    this.storage.release(g.buffer);
  }

  write(t: DeviceTensor, data: ArrayLike<number>): void {
    const g = this.own(t);
    checkWrite(t, data);
    const typed = g.dtype === 'i32' ? (data instanceof Int32Array ? data : Int32Array.from(data)) : data instanceof Float32Array ? data : Float32Array.from(data);
    this.writeOrdered(g.buffer, typed, g.offset * 4);
  }

  /**
   * @internal Writes `data` into `buffer` at byte `at`, ordered after the work
   * recorded so far and before the work recorded next. With nothing recorded,
   * a plain queue write does it (queue order puts it after earlier submits);
   * otherwise the data goes into an upload buffer and the open encoder copies
   * it in, so no submit is needed. Upload buffers return to their pool at the
   * submit: a later queue write to one runs after that submission.
   */
  writeOrdered(buffer: GPUBuffer, data: ArrayBufferView, at = 0): void {
    if (this.encoder && this.pendingUploadBytes + data.byteLength > MAX_PENDING_UPLOAD_BYTES) this.flush();
    if (!this.encoder) {
      this.device.queue.writeBuffer(buffer, at, data.buffer, data.byteOffset, data.byteLength);
      return;
    }
    const upload = this.uploads.acquire(data.byteLength);
    this.pendingUploads.push(upload);
    this.pendingUploadBytes += data.byteLength;
    this.device.queue.writeBuffer(upload, 0, data.buffer, data.byteOffset, data.byteLength);
    this.endPass();
    this.encoder.copyBufferToBuffer(upload, 0, buffer, at, data.byteLength);
  }

  async read(t: DeviceTensor): Promise<Float32Array | Int32Array> {
    const g = this.own(t);
    const bytes = g.size * 4;
    this.endPass();
    const staging = this.staging.acquire(bytes);
    this.counters.reads++;
    this.encoderNow().copyBufferToBuffer(g.buffer, g.offset * 4, staging, 0, bytes);
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ);
      const copy = staging.getMappedRange().slice(0);
      staging.unmap();
      await this.throwErrors();
      return g.dtype === 'i32' ? new Int32Array(copy) : new Float32Array(copy);
    } catch (e) {
      if (e instanceof GpuError) throw e;
      await this.throwErrors();
      throw new GpuError(`read of ${fmt(g)} failed: ${(e as Error).message}`);
    } finally {
      this.staging.release(staging);
    }
  }

  run<A>(kernel: Kernel<A>, inputs: readonly DeviceTensor[], outputs: readonly DeviceTensor[], attrs: A): void {
    this.alive();
    checkLaunch(this, kernel, inputs, outputs, attrs);
    const launch: Launch<A> = { kernel, inputs, outputs, attrs };
    const g = kernel.gpu(inputs, attrs, this.ctx);
    const pipeline = this.pipelineFor(launch, g, false) as GPUComputePipeline;
    const hasUniform = g.params.length > 0;
    if (hasUniform && !this.uniforms.fits(256)) this.flush();
    const entries: GPUBindGroupEntry[] = this.leadingEntries(inputs, outputs, g);
    if (hasUniform) {
      const { offset, size } = this.uniforms.push(g.params);
      entries.push({ binding: entries.length, resource: { buffer: this.uniforms.buffer, offset, size } });
    }
    this.pushExtra(entries, inputs, g);
    const bindGroup = this.device.createBindGroup({ layout: this.layoutFor(launch, g), entries, label: kernel.name });
    this.record(kernel.name, pipeline, bindGroup, g.workgroups);
    debug(() => `  in=${inputs.map(fmt).join(' ')} out=${outputs.map(fmt).join(' ')}`);
  }

  /** Compiles the pipeline a launch will need ahead of time (async pipeline creation, errors name the kernel). */
  async prepare<A>(kernel: Kernel<A>, inputs: readonly DeviceTensor[], outputs: readonly DeviceTensor[], attrs: A): Promise<void> {
    checkLaunch(this, kernel, inputs, outputs, attrs);
    const launch: Launch<A> = { kernel, inputs, outputs, attrs };
    await this.pipelineFor(launch, kernel.gpu(inputs, attrs, this.ctx), true);
  }

  async compile(launches: readonly Launch[]): Promise<Program> {
    this.alive();
    const program = await GpuProgram.create(this, launches);
    for (const ref of this.programs) if (!ref.deref()) this.programs.delete(ref);
    this.programs.add(new WeakRef(program));
    return program;
  }

  /** @internal The pipeline for a launch: created synchronously for run(), asynchronously for prepare/compile. */
  pipelineFor(launch: Launch, g: GpuLaunch, async: boolean): GPUComputePipeline | Promise<GPUComputePipeline> {
    const kernel = launch.kernel as Kernel<unknown>;
    const layout = this.layoutFor(launch, g);
    const key = PipelineCache.key(kernel, g, layoutKeyOf(launch, g));
    return async ? this.pipelines.getAsync(kernel, g, layout, key) : this.pipelines.get(kernel, g, layout, key);
  }

  /** @internal */
  layoutFor(launch: Launch, g: GpuLaunch): GPUBindGroupLayout {
    return this.pipelines.layout(bindingShape(launch, g));
  }

  /** @internal The bindings before the uniform block: the leading inputs (GpuLaunch.leading), then the outputs. */
  leadingEntries(inputs: readonly DeviceTensor[], outputs: readonly DeviceTensor[], g: GpuLaunch): GPUBindGroupEntry[] {
    return [...inputs.slice(0, g.leading ?? inputs.length), ...outputs].map((t, i) => ({ binding: i, resource: this.binding(t) }));
  }

  /** @internal Appends a launch's extra bindings (GpuLaunch.extra) after its others. */
  pushExtra(entries: GPUBindGroupEntry[], inputs: readonly DeviceTensor[], g: GpuLaunch): void {
    for (const k of g.extra ?? []) {
      const t = inputs[k];
      if (!t) throw new ValueError(`extra binding names input ${k}, but the launch has ${inputs.length}`);
      entries.push({ binding: entries.length, resource: this.binding(t) });
    }
  }

  /** @internal A tensor's range of its buffer, as a bind group resource. */
  binding(t: DeviceTensor): GPUBufferBinding {
    const g = this.own(t);
    return { buffer: g.buffer, offset: g.offset * 4, size: g.size * 4 };
  }

  /** @internal Records one dispatch into the open compute pass. */
  record(name: string, pipeline: GPUComputePipeline, bindGroup: GPUBindGroup, [x, y, z]: readonly [number, number, number]): void {
    const pass = this.passNow();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    this.counters.dispatches++;
    this.recent.push(name);
    if (this.recent.length > 8) this.recent.shift();
    debug(() => `dispatch ${name} [${x},${y},${z}]`);
  }

  async sync(): Promise<void> {
    this.alive();
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    await this.throwErrors();
  }

  /** Frees every buffer this backend made, then gives the shared device back. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.pass = null;
    this.encoder = null;
    for (const ref of this.programs) ref.deref()?.dispose();
    this.programs.clear();
    this.storage.destroy();
    this.staging.destroy();
    this.uploads.destroy();
    this.uniforms.destroy();
    this.pendingUploads = [];
    this.device.removeEventListener('uncapturederror', this.onError);
    this.unwatch();
    releaseDevice(this.gpu);
  }

  /** Buffers held in the pool (in use or free): for tests of buffer reuse. */
  get bufferCount(): number {
    return this.storage.count;
  }

  private async throwErrors(): Promise<void> {
    await this.pipelines.flushChecks();
    if (this.errors.length) {
      const all = this.errors;
      this.errors = [];
      throw new GpuError(`WebGPU reported ${all.length} error(s):\n${all.join('\n')}`);
    }
    if (this.lost) throw new GpuError(this.lost);
  }

  private flush(): void {
    if (!this.encoder) return;
    this.endPass();
    this.uniforms.upload();
    this.device.queue.submit([this.encoder.finish()]);
    this.counters.submits++;
    this.encoder = null;
    for (const u of this.pendingUploads) this.uploads.release(u);
    this.pendingUploads = [];
    this.pendingUploadBytes = 0;
  }

  private encoderNow(): GPUCommandEncoder {
    return (this.encoder ??= this.device.createCommandEncoder({ label: 'webgrad' }));
  }

  private passNow(): GPUComputePassEncoder {
    return (this.pass ??= this.encoderNow().beginComputePass());
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  private alive(): void {
    if (this.disposed) throw new ValueError('webgpu backend: used after dispose()');
    if (this.lost) throw new GpuError(this.lost);
  }

  private own(t: DeviceTensor): GpuTensor {
    this.alive();
    if (!(t instanceof GpuTensor) || t.backend !== this) throw new ValueError('webgpu backend: tensor belongs to another backend');
    if (t.freed || t.base?.freed) throw new ValueError(`webgpu backend: tensor ${fmt(t)} was used after free()`);
    return t;
  }
}
