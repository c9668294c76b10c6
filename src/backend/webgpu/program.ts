import { ValueError } from '../../core/errors.js';
import type { GpuLaunch, Kernel } from '../../ops/kernel.js';
import type { Launch, Program } from '../backend.js';
import { checkLaunch } from '../validate.js';
import type { WebGPUBackend } from './backend.js';
import { packParams, uniformSize } from './buffers.js';
import { layoutKeyOf, PipelineCache } from './pipelines.js';

interface Step {
  readonly launch: Launch;
  readonly key: string;
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  readonly workgroups: readonly [number, number, number];
}

/**
 * A compiled launch sequence: pipelines compiled asynchronously up front,
 * bind groups built once, every launch's uniforms in one buffer of its own.
 * Running it records dispatches into the backend's open pass, so several
 * runs share a submit, changed uniforms included (an ordered write).
 */
export class GpuProgram implements Program {
  private steps: Step[] = [];
  private uniform: GPUBuffer | null = null;
  private staging: DataView;
  private slot: number;
  private dirty = true;

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
    return program;
  }

  run(): void {
    // Runs already recorded read the old values, this run the new: an ordered write, no submit.
    if (this.dirty && this.uniform) this.be.writeOrdered(this.uniform, new Uint8Array(this.staging.buffer));
    this.dirty = false;
    for (const s of this.steps) this.be.record(s.launch.kernel.name, s.pipeline, s.bindGroup, s.workgroups);
  }

  update(i: number, attrs: unknown): void {
    const old = this.steps[i];
    if (!old) throw new ValueError(`program: no launch ${i} (it has ${this.steps.length})`);
    const launch = { ...old.launch, attrs };
    checkLaunch(this.be, launch.kernel, launch.inputs, launch.outputs, attrs);
    const g = launch.kernel.gpu(launch.inputs, attrs, this.be.ctx);
    if (keyOf(launch, g) !== old.key || g.workgroups.join() !== old.workgroups.join()) {
      throw new ValueError(`program: update of ${launch.kernel.name} changes its pipeline or grid; compile a new program instead`);
    }
    packParams(this.staging, i * this.slot, g.params);
    this.steps[i] = { ...old, launch };
    this.dirty = true;
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
    this.steps.push({ launch, key: keyOf(launch, g), pipeline, bindGroup, workgroups: g.workgroups });
  }
}

function keyOf(l: Launch, g: GpuLaunch): string {
  return PipelineCache.key(l.kernel as Kernel<unknown>, g, layoutKeyOf(l, g));
}
