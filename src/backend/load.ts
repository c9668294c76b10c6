// The WebGPU backend, loaded when asked: no module above the backends imports
// it statically, so `import 'webgrad'`, the CPU backend and the CLI's
// CPU-only commands never load it (nor Dawn, which it loads in Node).
import type { AcquireOptions, GpuDevice } from './webgpu/device.js';
import type { WebGPUBackend } from './webgpu/backend.js';

export const NO_ADAPTER_HELP =
  'To get a software adapter on Debian/Ubuntu: apt-get install -y libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri. ' +
  'With a GPU, install its Vulkan driver and the libvulkan1 loader. In a browser, use a recent Chrome or Edge ' +
  '(or enable WebGPU in chrome://flags). Or pass backend "cpu".';

/** Whether WEBGRAD_VERBOSE (which the CLI's --verbose sets) asks for Dawn's start-up output and the adapters tried. */
export function verboseEnv(env: Readonly<Record<string, string | undefined>> | undefined): boolean {
  return /^(1|true|yes|on)$/i.test(env?.WEBGRAD_VERBOSE ?? '');
}

/** A WebGPU backend on the best adapter there is (see acquireDevice); throws AdapterError, saying what was tried, where there is none. */
export async function createWebGPUBackend(options: AcquireOptions = {}): Promise<WebGPUBackend> {
  const { WebGPUBackend } = await import('./webgpu/backend.js');
  return WebGPUBackend.create(options);
}

/** A WebGPU device of the caller's own (to destroy), with every limit the adapter offers. */
export async function acquireDevice(options: AcquireOptions = {}): Promise<GpuDevice> {
  return (await import('./webgpu/device.js')).acquireDevice(options);
}
