import { ValueError } from '../core/errors.js';
import type { DType, Shape } from '../core/shape.js';
import { sizeOf } from '../core/shape.js';
import type { HostArray, Kernel } from '../ops/kernel.js';
import { newHostArray } from '../ops/kernel.js';
import type { Backend, DeviceDescription, DeviceTensor, Launch, Program } from './backend.js';
import { checkAllocation, checkLaunch, checkView, checkWrite } from './validate.js';

class CpuTensor implements DeviceTensor {
  freed = false;
  constructor(
    readonly backend: CpuBackend,
    readonly shape: Shape,
    readonly dtype: DType,
    readonly size: number,
    readonly data: HostArray,
    /** The tensor this one views, or null if it owns its data. */
    readonly base: CpuTensor | null = null,
  ) {}
}

/** The reference backend: every kernel's plain TypeScript version over Float32Array. Always available. */
export class CpuBackend implements Backend {
  readonly kind = 'cpu' as const;

  describe(): DeviceDescription {
    return {
      backend: 'cpu',
      vendor: '',
      architecture: typeof process !== 'undefined' ? process.arch : '',
      device: 'cpu',
      description: 'webgrad CPU reference backend (TypeScript, Float32Array)',
      api: '',
      featureLevel: 'cpu',
      software: true,
      features: [],
      limits: {},
    };
  }

  allocate(shape: Shape, dtype: DType = 'f32'): DeviceTensor {
    checkAllocation(shape, dtype);
    const size = sizeOf(shape);
    return new CpuTensor(this, [...shape], dtype, size, newHostArray(dtype, size));
  }

  view(t: DeviceTensor, offset: number, shape: Shape): DeviceTensor {
    const c = this.own(t);
    checkView(c, offset, shape);
    const size = sizeOf(shape);
    return new CpuTensor(this, [...shape], c.dtype, size, c.data.subarray(offset, offset + size), c.base ?? c);
  }

  free(t: DeviceTensor): void {
    const c = this.own(t);
    if (c.base) throw new ValueError(`cpu backend: free() of a view [${t.shape.join(', ')}]; free the tensor it views`);
    c.freed = true;
  }

  write(t: DeviceTensor, data: ArrayLike<number>): void {
    checkWrite(t, data);
    this.own(t).data.set(data);
  }

  async read(t: DeviceTensor): Promise<Float32Array | Int32Array> {
    const d = this.own(t).data;
    return d instanceof Int32Array ? d.slice() : Float32Array.from(d);
  }

  run<A>(kernel: Kernel<A>, inputs: readonly DeviceTensor[], outputs: readonly DeviceTensor[], attrs: A): void {
    checkLaunch(this, kernel, inputs, outputs, attrs);
    const ins = inputs.map((t) => this.own(t).data);
    const outs = outputs.map((t) => this.own(t).data);
    // The fast path where a kernel has one (matmul); the reference otherwise.
    if (kernel.cpuFast) kernel.cpuFast(ins, outs, inputs, attrs);
    else kernel.cpu(ins, outs, inputs, attrs);
  }

  async compile(launches: readonly Launch[]): Promise<Program> {
    const list = launches.map((l) => ({ ...l }));
    for (const l of list) checkLaunch(this, l.kernel, l.inputs, l.outputs, l.attrs);
    return {
      run: () => {
        for (const l of list) this.run(l.kernel, l.inputs, l.outputs, l.attrs);
      },
      dispose: () => {},
    };
  }

  async sync(): Promise<void> {}

  dispose(): void {}

  private own(t: DeviceTensor): CpuTensor {
    if (!(t instanceof CpuTensor) || t.backend !== this) throw new ValueError('cpu backend: tensor belongs to another backend');
    if (t.freed || t.base?.freed) throw new ValueError(`cpu backend: tensor [${t.shape.join(', ')}] was used after free()`);
    return t;
  }
}
