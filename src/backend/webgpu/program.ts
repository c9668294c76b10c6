import type { GpuLaunch } from '../../ops/kernel.js';
import type { Launch, Program } from '../backend.js';
import { checkLaunch } from '../validate.js';
import type { WebGPUBackend } from './backend.js';
import { packParams, uniformSize } from './buffers.js';

interface Step {
  readonly launch: Launch;
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  readonly workgroups: readonly [number, number, number];
}

/**
 * A compiled launch sequence: pipelines compiled asynchronously up front,
 * bind groups built once, every launch's uniforms in one buffer of its own,
 * uploaded when it is compiled and fixed thereafter: what changes between
 * runs (the batch, the step number, the learning rate) is data in buffers the
 * launches read. Running it records dispatches into the backend's open pass,
 * so several runs share a submit.
 */
export class GpuProgram implements Program {
  private steps: Step[] = [];
  private uniform: GPUBuffer | null = null;
  private staging: DataView;
  private slot: number;

  private constructor(
    private be: WebGPUBackend,
    private slots: number,
    slot: number,
  ) {
    this.slot = slot;
    this.staging = new DataView(new ArrayBuffer(Math.max(slot * slots, 16)));
  }

  static async create(be: WebGPUBackend, launches: readonly Launch[]): Promise<GpuProgram> {
    const gpuLaunches = launches.map((l) => {
      checkLaunch(be, l.kernel, l.inputs, l.outputs, l.attrs);
      return l.kernel.gpu(l.inputs, l.attrs, be.ctx);
    });
    const align = Math.max(16, be.device.limits.minUniformBufferOffsetAlignment);
    const largest = Math.max(16, ...gpuLaunches.map((g) => uniformSize(g.params)));
    const slot = Math.ceil(largest / align) * align;
    const program = new GpuProgram(be, launches.length, slot);
    if (gpuLaunches.some((g) => g.params.length > 0)) {
      program.uniform = be.device.createBuffer({ size: slot * launches.length, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: 'webgrad program uniforms' });
    }
    const pipelines = await Promise.all(launches.map((l, i) => be.pipelineFor(l, gpuLaunches[i], true)));
    launches.forEach((l, i) => program.addStep(l, gpuLaunches[i], pipelines[i]));
    // Uploaded once, ordered before any run: an ordered write, no submit.
    if (program.uniform) be.writeOrdered(program.uniform, new Uint8Array(program.staging.buffer));
    return program;
  }

  run(): void {
    for (const s of this.steps) this.be.record(s.launch.kernel.name, s.pipeline, s.bindGroup, s.workgroups);
  }

  dispose(): void {
    this.uniform?.destroy();
    this.uniform = null;
    this.steps = [];
  }

  private addStep(launch: Launch, g: GpuLaunch, pipeline: GPUComputePipeline): void {
    const i = this.steps.length;
    const entries: GPUBindGroupEntry[] = this.be.leadingEntries(launch.inputs, launch.outputs, g);
    if (g.params.length > 0 && this.uniform) {
      const size = packParams(this.staging, i * this.slot, g.params);
      entries.push({ binding: entries.length, resource: { buffer: this.uniform, offset: i * this.slot, size } });
    }
    this.be.pushExtra(entries, launch.inputs, g);
    const layout = this.be.layoutFor(launch, g);
    const bindGroup = this.be.device.createBindGroup({ layout, entries, label: launch.kernel.name });
    this.steps.push({ launch, pipeline, bindGroup, workgroups: g.workgroups });
  }
}
