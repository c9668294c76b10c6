// W7's lines in the targets table: #27 sets no speed target for its GPT, so
// these say where webgrad stands (tokens per second, WebGPU against CPU) and
// what one training step launches. torchRatios (report.ts) gives both webgrad
// backends against torch-cpu, the same ratio in tokens as in samples.
import type { TrainFigure } from './jobs.js';
import type { TargetCheck } from './report.js';
import { fmt } from './table.js';

export function gptChecks(train: TrainFigure[]): TargetCheck[] {
  const gpu = train.find((f) => f.system === 'webgrad-webgpu' && f.workload === 'W7');
  const cpu = train.find((f) => f.system === 'webgrad-cpu' && f.workload === 'W7');
  const out: TargetCheck[] = [];
  if (gpu?.tokensPerSecond && cpu?.tokensPerSecond) {
    const x = gpu.tokensPerSecond.median / cpu.tokensPerSecond.median;
    const y = gpu.tokensPerCpuSecond && cpu.tokensPerCpuSecond ? gpu.tokensPerCpuSecond.median / cpu.tokensPerCpuSecond.median : undefined;
    out.push({ target: 'webgrad WebGPU / webgrad CPU on W7, the GPT (no target)', measured: `${x.toFixed(2)}× (${fmt(gpu.tokensPerSecond.median)} vs ${fmt(cpu.tokensPerSecond.median)} tokens/s)`, met: null, perCpuSecond: y ? `${y.toFixed(2)}×` : undefined });
  }
  if (gpu?.submits !== undefined && gpu.dispatches !== undefined) {
    const steps = Math.ceil(gpu.samples / gpu.batch);
    const per = (v: number) => (v / steps).toFixed(2).replace(/\.?0+$/, '');
    out.push({ target: 'W7 command-buffer submits and launches per step (counted, no target)', measured: `${gpu.submits} submits and ${gpu.dispatches} dispatches for ${steps} steps: ${per(gpu.submits)} submits, ${per(gpu.dispatches)} launches a step`, met: null });
  }
  return out;
}
