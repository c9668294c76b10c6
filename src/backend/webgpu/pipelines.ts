import { GpuError } from '../../core/errors.js';
import type { GpuLaunch, Kernel } from '../../ops/kernel.js';
import { debug } from './debug.js';

/**
 * Compiled pipelines, cached by (shader, entry point, override constants,
 * binding layout). Layouts are explicit, built from the kernel's binding
 * convention, so every entry point of a shader family shares one.
 */
export class PipelineCache {
  private modules = new Map<string, GPUShaderModule>();
  private pipelines = new Map<string, GPUComputePipeline>();
  private layouts = new Map<string, GPUBindGroupLayout>();
  private pendingChecks: Promise<GpuError | null>[] = [];
  /** Per shader: settles to its compile error, or null. */
  private compiled = new Map<string, Promise<GpuError | null>>();

  constructor(private device: GPUDevice) {}

  layout(shape: BindingShape): GPUBindGroupLayout {
    const { inputs, outputs, uniform, extra } = shape;
    const key = PipelineCache.layoutKey(shape);
    let layout = this.layouts.get(key);
    if (!layout) {
      const entries: GPUBindGroupLayoutEntry[] = [];
      for (let i = 0; i < inputs + outputs; i++) {
        entries.push({ binding: i, visibility: GPUShaderStage.COMPUTE, buffer: { type: i < inputs ? 'read-only-storage' : 'storage' } });
      }
      if (uniform) entries.push({ binding: inputs + outputs, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } });
      for (let i = 0; i < extra; i++) {
        entries.push({ binding: entries.length, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'read-only-storage' } });
      }
      layout = this.device.createBindGroupLayout({ entries, label: `webgrad ${key}` });
      this.layouts.set(key, layout);
    }
    return layout;
  }

  /** Synchronous path used by `run`: compile errors are collected and thrown at the next sync. */
  get(kernel: Kernel<unknown>, launch: GpuLaunch, layout: GPUBindGroupLayout, key: string): GPUComputePipeline {
    let p = this.pipelines.get(key);
    if (!p) {
      p = this.device.createComputePipeline(this.descriptor(kernel, launch, layout));
      this.pipelines.set(key, p);
    }
    return p;
  }

  /** Asynchronous path (`prepare`): compiles off the main thread where the platform can, throws naming the kernel. */
  async getAsync(kernel: Kernel<unknown>, launch: GpuLaunch, layout: GPUBindGroupLayout, key: string): Promise<GPUComputePipeline> {
    this.module(kernel);
    const compileError = await this.compiled.get(kernel.shader.name);
    if (compileError) throw compileError;
    let p = this.pipelines.get(key);
    if (p) return p;
    try {
      p = await this.device.createComputePipelineAsync(this.descriptor(kernel, launch, layout));
    } catch (e) {
      throw new GpuError(`kernel ${kernel.name} (${kernel.shader.name}.wgsl, entry ${launch.entry}): pipeline creation failed: ${(e as Error).message}`);
    }
    this.pipelines.set(key, p);
    return p;
  }

  /** Throws the first WGSL compile error seen since the last call. */
  async flushChecks(): Promise<void> {
    const checks = this.pendingChecks;
    this.pendingChecks = [];
    const found = (await Promise.all(checks)).find((e) => e !== null);
    if (found) throw found;
  }

  static layoutKey({ inputs, outputs, uniform, extra }: BindingShape): string {
    return `${inputs}/${outputs}/${uniform}/${extra}`;
  }

  static key(kernel: Kernel<unknown>, launch: GpuLaunch, layoutKey: string): string {
    const c = launch.constants ? Object.entries(launch.constants).sort().map(([k, v]) => `${k}=${v}`).join(',') : '';
    return `${kernel.shader.name}|${launch.entry}|${c}|${layoutKey}`;
  }

  private descriptor(kernel: Kernel<unknown>, launch: GpuLaunch, layout: GPUBindGroupLayout): GPUComputePipelineDescriptor {
    debug(() => `pipeline ${kernel.name}: ${kernel.shader.name}.wgsl:${launch.entry} constants=${JSON.stringify(launch.constants ?? {})}`);
    return {
      label: `${kernel.name} (${kernel.shader.name}.wgsl:${launch.entry})`,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module: this.module(kernel), entryPoint: launch.entry, constants: launch.constants as Record<string, number> },
    };
  }

  private module(kernel: Kernel<unknown>): GPUShaderModule {
    let m = this.modules.get(kernel.shader.name);
    if (!m) {
      debug(() => `--- ${kernel.shader.name}.wgsl ---\n${kernel.shader.code}`);
      m = this.device.createShaderModule({ code: kernel.shader.code, label: `${kernel.shader.name}.wgsl` });
      this.modules.set(kernel.shader.name, m);
      // Settles to the error rather than rejecting: nobody awaits it until the next sync.
      const check = this.checkModule(kernel, m).then(() => null, (e: GpuError) => e);
      this.compiled.set(kernel.shader.name, check);
      this.pendingChecks.push(check);
    }
    return m;
  }

  private async checkModule(kernel: Kernel<unknown>, m: GPUShaderModule): Promise<void> {
    const info = await m.getCompilationInfo();
    const errors = info.messages.filter((x) => x.type === 'error');
    if (errors.length) {
      const lines = errors.map((x) => `  ${kernel.shader.name}.wgsl:${x.lineNum}:${x.linePos}: ${x.message}`).join('\n');
      throw new GpuError(`WGSL compile error in shaders/${kernel.shader.name}.wgsl (kernel ${kernel.name}):\n${lines}`);
    }
  }
}

/** A launch's bindings: leading inputs, outputs, the uniform block, and the inputs bound after it. */
export interface BindingShape {
  readonly inputs: number;
  readonly outputs: number;
  readonly uniform: boolean;
  readonly extra: number;
}

export function bindingShape(launch: { readonly inputs: readonly unknown[]; readonly outputs: readonly unknown[] }, g: GpuLaunch): BindingShape {
  return { inputs: g.leading ?? launch.inputs.length, outputs: launch.outputs.length, uniform: g.params.length > 0, extra: g.extra?.length ?? 0 };
}

/** The binding layout a launch needs, as a pipeline cache key. */
export function layoutKeyOf(launch: { readonly inputs: readonly unknown[]; readonly outputs: readonly unknown[] }, g: GpuLaunch): string {
  return PipelineCache.layoutKey(bindingShape(launch, g));
}
