import type { Param } from '../../ops/kernel.js';

/** Writes a uniform block (4-byte scalars in WGSL struct order) at `offset`; returns its binding size. */
export function packParams(view: DataView, offset: number, params: readonly Param[]): number {
  params.forEach(([type, v], i) => {
    const at = offset + 4 * i;
    if (type === 'f32') view.setFloat32(at, v, true);
    else if (type === 'i32') view.setInt32(at, v, true);
    else view.setUint32(at, v, true);
  });
  return uniformSize(params);
}

/** Uniform bindings are sized in 16-byte steps. */
export function uniformSize(params: readonly Param[]): number {
  return Math.max(16, Math.ceil((4 * params.length) / 16) * 16);
}

/**
 * GPU buffers pooled by exact byte size. Training allocates the same sizes
 * every step, so exact-size reuse wastes nothing; buffers go back to the pool
 * on free() and are destroyed only by destroy(), never by the garbage collector.
 */
export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  private all = new Set<GPUBuffer>();
  bytesInUse = 0;

  constructor(
    private device: GPUDevice,
    private usage: GPUBufferUsageFlags,
    private label: string,
  ) {}

  acquire(bytes: number): GPUBuffer {
    const list = this.free.get(bytes);
    const b = list?.pop() ?? this.create(bytes);
    this.bytesInUse += bytes;
    return b;
  }

  release(b: GPUBuffer): void {
    const list = this.free.get(b.size) ?? [];
    list.push(b);
    this.free.set(b.size, list);
    this.bytesInUse -= b.size;
  }

  destroy(): void {
    for (const b of this.all) b.destroy();
    this.all.clear();
    this.free.clear();
    this.bytesInUse = 0;
  }

  get count(): number {
    return this.all.size;
  }

  private create(bytes: number): GPUBuffer {
    const b = this.device.createBuffer({ size: bytes, usage: this.usage, label: `${this.label} ${bytes}B` });
    this.all.add(b);
    return b;
  }
}

/**
 * Uniform blocks of the launches recorded since the last submit, staged on the
 * host and written in one writeBuffer just before that submit. Queue order
 * makes reuse across submits safe: the write runs after earlier submissions.
 */
export class UniformRing {
  readonly buffer: GPUBuffer;
  private staging: ArrayBuffer;
  private view: DataView;
  private used = 0;

  constructor(
    private device: GPUDevice,
    readonly capacity: number,
    private align: number,
  ) {
    this.buffer = device.createBuffer({ size: capacity, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: 'webgrad uniforms' });
    this.staging = new ArrayBuffer(capacity);
    this.view = new DataView(this.staging);
  }

  /** Room for one more block of `bytes`? */
  fits(bytes: number): boolean {
    return this.used + bytes <= this.capacity;
  }

  /** Appends a block; returns its offset. */
  push(params: readonly Param[]): { offset: number; size: number } {
    const offset = this.used;
    const size = packParams(this.view, offset, params);
    this.used = offset + Math.ceil(size / this.align) * this.align;
    return { offset, size };
  }

  /** Writes the staged blocks to the GPU; call right before submitting the work that reads them. */
  upload(): void {
    if (this.used > 0) this.device.queue.writeBuffer(this.buffer, 0, this.staging, 0, this.used);
    this.used = 0;
  }

  destroy(): void {
    this.buffer.destroy();
  }
}
