import { AdapterError } from '../../core/errors.js';
import type { DeviceDescription } from '../backend.js';
import { NO_ADAPTER_HELP, verboseEnv } from '../load.js';
import { quietStderr } from './quiet.js';

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

export { NO_ADAPTER_HELP };

/**
 * Finds a WebGPU adapter and opens a device with every limit the adapter offers.
 * Browser: navigator.gpu, core first, then compatibility. Node: the `webgpu`
 * package (Dawn), native backend first (Vulkan/Metal/D3D12), then OpenGL ES
 * through surfaceless EGL, which is how Mesa's llvmpipe is reached without a GPU.
 * The device is the caller's to destroy; WebGPUBackend.create shares one instead (shareDevice).
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

/** Devices opened and not yet destroyed or lost, in this JS realm: what the test of device sharing counts. */
let liveCount = 0;
export function liveDevices(): number {
  return liveCount;
}

/** WEBGRAD_VERBOSE=1 (the CLI's --verbose): show Dawn's start-up output and the adapters tried. */
export function verbose(): boolean {
  return typeof process !== 'undefined' && verboseEnv(process.env);
}

interface Share {
  readonly key: string;
  readonly opening: Promise<GpuDevice>;
  gpu: GpuDevice | null;
  users: number;
  /** Set while nobody uses the device: it is destroyed when this fires. */
  idle: ReturnType<typeof setTimeout> | null;
}
const shares = new Map<string, Share>();

/** Which WebGPU a device comes from: a device is shared only with callers that would have found the same one. */
const sources = new WeakMap<object, number>();
let nextSource = 0;
function gpuSource(): string {
  const gpu = typeof navigator !== 'undefined' ? (navigator as Navigator).gpu : undefined;
  if (!gpu) return 'dawn';
  if (!sources.has(gpu)) sources.set(gpu, nextSource++);
  return `navigator.gpu#${sources.get(gpu)}`;
}

/** How long an unused shared device waits for a new user before it is destroyed. */
export const DEVICE_LINGER_MS = 1000;

/**
 * The device every WebGPUBackend uses: opened by the first caller, shared by
 * the rest, destroyed once the last one has given it back (releaseDevice) and
 * nobody took it again within DEVICE_LINGER_MS. One per process because
 * Dawn gives a destroyed device's memory back (a GL context and more: RSS grew
 * 4 MB a model on llvmpipe) only when the garbage collector gets to it: a loop that
 * disposes a model and builds the next must not open a device each time.
 */
export async function shareDevice(options: AcquireOptions = {}): Promise<GpuDevice> {
  const key = `${gpuSource()}:${options.compatibilityOnly ? 'compatibility' : 'any'}`;
  let share = shares.get(key);
  if (!share) {
    const opening = acquireDevice(options);
    const s: Share = (share = { key, opening, gpu: null, users: 0, idle: null });
    shares.set(key, s);
    const forget = () => shares.get(key) === s && shares.delete(key);
    // A device lost while in use is not handed out again; the backends on it report the loss.
    opening.then((gpu) => void gpu.device.lost.then(forget), forget);
  }
  share.users++;
  if (share.idle) clearTimeout(share.idle);
  share.idle = null;
  try {
    return (share.gpu = await share.opening);
  } catch (e) {
    share.users--;
    throw e;
  }
}

/** Gives back one shareDevice reference; after the last, the device is destroyed once idle for DEVICE_LINGER_MS (or when the process is about to exit). */
export function releaseDevice(gpu: GpuDevice): void {
  const share = [...shares.values()].find((s) => s.gpu === gpu);
  if (!share) return gpu.device.destroy(); // lost while in use: already gone from the table
  if (--share.users > 0) return;
  share.idle = setTimeout(() => closeIdle(share), DEVICE_LINGER_MS);
  // In Node the timer must not keep the process alive: idle devices are closed on the way out instead.
  const timer = share.idle as { unref?: () => void };
  if (typeof timer.unref !== 'function') return;
  timer.unref();
  if (!exitHook) process.on('beforeExit', () => [...shares.values()].forEach(closeIdle));
  exitHook = true;
}
let exitHook = false;

function closeIdle(share: Share): void {
  if (share.users > 0 || !share.gpu || shares.get(share.key) !== share) return;
  if (share.idle) clearTimeout(share.idle);
  shares.delete(share.key);
  share.gpu.device.destroy();
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
  // Dawn prints its adapter-discovery warnings from native code; keep them unless verbose or nothing was found.
  const quiet = verbose() ? null : await quietStderr();
  const said: string[] = [];
  const request = (gpu: GPU, opts: GPURequestAdapterOptions, what: string) => {
    if (!quiet) return tryAdapter(gpu, opts, what, tried);
    const { value, text } = quiet(() => tryAdapter(gpu, opts, what, tried));
    if (text.trim()) said.push(text.trim());
    return value;
  };
  let found: { adapter: GPUAdapter; instance: GPU; api: string } | null = null;
  if (!options.compatibilityOnly) {
    const instance = dawn.create([]);
    const adapter = await request(instance, { powerPreference: 'high-performance' }, 'Dawn native (Vulkan/Metal/D3D12)');
    if (adapter) found = { adapter, instance, api: nativeApi() };
  }
  if (!found) {
    const instance = dawn.create(['backend=opengles']);
    const adapter = await request(instance, { featureLevel: 'compatibility' }, 'Dawn OpenGL ES (compatibility, EGL surfaceless)');
    if (adapter) found = { adapter, instance, api: 'opengles' };
  }
  if (!found && said.length) tried.push(`Dawn said: ${said.join('\n')}`);
  if (verbose()) console.error(`webgrad: WebGPU adapters tried: ${tried.join('; ')}`);
  return found;
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
  liveCount++;
  void device.lost.then((info) => {
    liveCount--;
    for (const fn of lossWatchers.get(device) ?? []) fn(info);
  });
  return { device, description, instance };
}

const lossWatchers = new WeakMap<GPUDevice, Set<(info: GPUDeviceLostInfo) => void>>();

/**
 * Calls `fn` if the device is lost (or destroyed) before the returned function
 * is called. Unlike device.lost.then(fn), it lets go of `fn`: on a shared
 * device a backend must not stay reachable after it is disposed.
 */
export function watchLoss(gpu: GpuDevice, fn: (info: GPUDeviceLostInfo) => void): () => void {
  const set = lossWatchers.get(gpu.device) ?? new Set();
  lossWatchers.set(gpu.device, set.add(fn));
  return () => set.delete(fn);
}
