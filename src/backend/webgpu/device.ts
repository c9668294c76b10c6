import { AdapterError } from '../../core/errors.js';
import type { DeviceDescription } from '../backend.js';

/** A device and what we know about where it came from. */
export interface GpuDevice {
  readonly device: GPUDevice;
  readonly description: DeviceDescription;
  /** Keeps Dawn's GPU instance alive as long as the device (Node). */
  readonly instance: unknown;
}

export interface AcquireOptions {
  /** Skip the native adapter and go straight to the compatibility (OpenGL ES) one. Node only. */
  readonly compatibilityOnly?: boolean;
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|softpipe|software|microsoft basic render/i;

export const NO_ADAPTER_HELP =
  'To get a software adapter on Debian/Ubuntu: apt-get install -y libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri. ' +
  'With a GPU, install its Vulkan driver and the libvulkan1 loader. In a browser, use a recent Chrome or Edge ' +
  '(or enable WebGPU in chrome://flags). Or pass backend "cpu".';

/**
 * Finds a WebGPU adapter and opens a device with every limit the adapter offers.
 * Browser: navigator.gpu, core first, then compatibility. Node: the `webgpu`
 * package (Dawn), native backend first (Vulkan/Metal/D3D12), then OpenGL ES
 * through surfaceless EGL, which is how Mesa's llvmpipe is reached without a GPU.
 */
export async function acquireDevice(options: AcquireOptions = {}): Promise<GpuDevice> {
  const tried: string[] = [];
  const browserGpu = typeof navigator !== 'undefined' ? (navigator as Navigator).gpu : undefined;
  if (browserGpu) {
    const adapter =
      (await tryAdapter(browserGpu, { powerPreference: 'high-performance' }, 'navigator.gpu (core)', tried)) ??
      (await tryAdapter(browserGpu, { featureLevel: 'compatibility' }, 'navigator.gpu (compatibility)', tried));
    if (adapter) return open(adapter, browserGpu, '');
  } else if (typeof process !== 'undefined' && process.versions?.node) {
    const found = await nodeAdapter(options, tried);
    if (found) return open(found.adapter, found.instance, found.api);
  } else {
    tried.push('no navigator.gpu in this browser');
  }
  throw new AdapterError(`No WebGPU adapter found. Tried: ${tried.join('; ')}. ${NO_ADAPTER_HELP}`);
}

interface DawnModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

async function nodeAdapter(options: AcquireOptions, tried: string[]) {
  // Mesa's EGL reads this when dawn.node loads: set it before the import.
  process.env.EGL_PLATFORM ??= 'surfaceless';
  let dawn: DawnModule;
  try {
    const name = 'webgpu'; // a variable, so that browser bundles never try to include dawn.node
    dawn = (await import(/* @vite-ignore */ name)) as DawnModule;
  } catch (e) {
    tried.push(`loading the 'webgpu' package failed (${(e as Error).message}); run npm install`);
    return null;
  }
  for (const [k, v] of Object.entries(dawn.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  if (!options.compatibilityOnly) {
    const instance = dawn.create([]);
    const adapter = await tryAdapter(instance, { powerPreference: 'high-performance' }, 'Dawn native (Vulkan/Metal/D3D12)', tried);
    if (adapter) return { adapter, instance, api: nativeApi() };
  }
  const instance = dawn.create(['backend=opengles']);
  const adapter = await tryAdapter(instance, { featureLevel: 'compatibility' }, 'Dawn OpenGL ES (compatibility, EGL surfaceless)', tried);
  return adapter ? { adapter, instance, api: 'opengles' } : null;
}

function nativeApi(): string {
  return { linux: 'vulkan', darwin: 'metal', win32: 'd3d12' }[process.platform as string] ?? '';
}

async function tryAdapter(gpu: GPU, opts: GPURequestAdapterOptions, what: string, tried: string[]) {
  try {
    const a = await gpu.requestAdapter(opts);
    tried.push(`${what}: ${a ? 'found' : 'none'}`);
    return a;
  } catch (e) {
    tried.push(`${what}: ${(e as Error).message}`);
    return null;
  }
}

async function open(adapter: GPUAdapter, instance: unknown, api: string): Promise<GpuDevice> {
  const requiredLimits: Record<string, number> = {};
  const limits: Record<string, number> = {};
  for (const key in adapter.limits) {
    const v = (adapter.limits as unknown as Record<string, unknown>)[key];
    if (typeof v === 'number') requiredLimits[key] = limits[key] = v;
  }
  // Features we can use where present; the kernels never require them.
  const wanted: GPUFeatureName[] = ['shader-f16', 'timestamp-query', 'subgroups' as GPUFeatureName];
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f));
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'webgrad' });
  } catch (e) {
    throw new AdapterError(`The WebGPU adapter was found but refused a device: ${(e as Error).message}`);
  }
  const info = adapter.info;
  const fields = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`;
  const featureLevel = (adapter as { featureLevel?: string }).featureLevel === 'core' || device.features.has('core-features-and-limits' as GPUFeatureName) ? 'core' : 'compatibility';
  const description: DeviceDescription = {
    backend: 'webgpu',
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    api,
    featureLevel,
    software: SOFTWARE.test(fields) || Boolean((info as { isFallbackAdapter?: boolean }).isFallbackAdapter),
    features: [...device.features].sort(),
    limits,
  };
  return { device, description, instance };
}
