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
