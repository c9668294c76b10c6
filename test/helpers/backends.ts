import type { Backend } from '../../src/backend/backend.js';
import { CpuBackend } from '../../src/backend/cpu.js';
import { WebGPUBackend } from '../../src/backend/webgpu/backend.js';

/**
 * The backends every op suite runs on. WebGPU is required: without an adapter
 * the suite fails and says how to get one. Outside CI, WEBGRAD_TEST_BACKENDS=cpu
 * runs the CPU half alone; in CI (CI=true) that is refused, so GPU tests never skip silently.
 */
export type BackendCase = readonly [name: 'cpu' | 'webgpu', make: () => Promise<Backend>];

const all: BackendCase[] = [
  ['cpu', async () => new CpuBackend()],
  ['webgpu', async () => WebGPUBackend.create()],
];

function selected(): BackendCase[] {
  const only = process.env.WEBGRAD_TEST_BACKENDS;
  if (!only) return all;
  if (process.env.CI) throw new Error('WEBGRAD_TEST_BACKENDS is not allowed when CI is set: CI must run the WebGPU suite');
  const names = only.split(',');
  return all.filter(([n]) => names.includes(n));
}

export const backends = selected();

/**
 * The large case a backend runs. On WebGPU it is sized past 65,535 workgroups,
 * where a launch folds into a 2-D grid. The CPU backend has no grid: it runs
 * the op's own reference loop (only matmul and attention have a faster CPU
 * version), the same at every size, so there a case a fraction of the size
 * stays large without spending seconds of host time on the GPU's question.
 */
export function largeCase<T>(backend: BackendCase[0], gpu: T, cpu: T): T {
  return backend === 'webgpu' ? gpu : cpu;
}

/** Cases sized only to reach the 2-D grid (see largeCase), where another case is already large: WebGPU runs them, the CPU backend none. */
export function gpuOnly<T>(backend: BackendCase[0], ...cases: T[]): T[] {
  return backend === 'webgpu' ? cases : [];
}
