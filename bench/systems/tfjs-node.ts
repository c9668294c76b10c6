// TensorFlow.js in Node on the backends the bench compares. tfjs-backend-webgpu
// looks for navigator.gpu when it is imported; Node 20 has no navigator, so we
// give it one backed by Dawn (the `webgpu` package), finding the adapter the
// way webgrad does: the native one (Vulkan/Metal/D3D12) first, else Dawn's
// OpenGL ES adapter, which exists only at the compatibility feature level and
// so must be requested with featureLevel: 'compatibility'.
import type * as TF from '@tensorflow/tfjs-core';
import { registerWasmConv2dBackpropFilter } from './tfjs-wasm-conv.js';

export type TfjsBackend = 'tfjs-cpu' | 'tfjs-wasm' | 'tfjs-webgpu';

export interface LoadedTfjs {
  readonly tf: typeof TF;
  /** Vendor, architecture and API of the adapter (webgpu), or the backend's name. */
  readonly device: string;
}

interface Dawn {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

/** Dawn instances must outlive their adapters and devices: a collected instance crashes Dawn later. */
const keepAlive: GPU[] = [];

async function dawnNavigatorGpu(): Promise<{ api: string; name: string }> {
  process.env.EGL_PLATFORM ??= 'surfaceless';
  const dawn = (await import('webgpu')) as unknown as Dawn;
  for (const [k, v] of Object.entries(dawn.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  let gpu = dawn.create([]);
  keepAlive.push(gpu);
  let api = 'native';
  let adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' }).catch(() => null);
  if (!adapter) {
    gpu = dawn.create(['backend=opengles']);
    keepAlive.push(gpu);
    api = 'opengles';
    adapter = await gpu.requestAdapter({ featureLevel: 'compatibility' });
  }
  if (!adapter) throw new Error('tfjs-webgpu: Dawn found no adapter (neither native nor OpenGL ES); see WEBGPU-SETUP.md');
  const found = adapter;
  // tfjs asks navigator.gpu for an adapter with { powerPreference }; hand it the one found above.
  const shim = { requestAdapter: async () => found, getPreferredCanvasFormat: () => 'rgba8unorm', wgslLanguageFeatures: new Set<string>() };
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: shim }, configurable: true, writable: true });
  const info = found.info;
  return { api, name: [info.vendor, info.architecture, info.device].filter(Boolean).join(' ') || info.description };
}

export async function loadTfjs(backend: TfjsBackend): Promise<LoadedTfjs> {
  const tf = await import('@tensorflow/tfjs-core');
  // tfjs-core's Node bundle has no gradients (tfjs-layers or the tfjs bundle usually registers them).
  // Imported by path, Vite bundles the ES-module registration (whose extensionless imports Node
  // cannot load); it writes into tfjs' global gradient registry, which the CommonJS engine reads.
  await import('../../node_modules/@tensorflow/tfjs-core/dist/register_all_gradients.js');
  let device: string = backend;
  if (backend === 'tfjs-cpu') await import('@tensorflow/tfjs-backend-cpu');
  if (backend === 'tfjs-wasm') await import('@tensorflow/tfjs-backend-wasm');
  if (backend === 'tfjs-webgpu') {
    const { api, name } = await dawnNavigatorGpu();
    await import('@tensorflow/tfjs-backend-webgpu');
    device = `${name} (Dawn ${api}, handed to tfjs-backend-webgpu as navigator.gpu)`;
  }
  const name = backend.slice('tfjs-'.length);
  if (!(await tf.setBackend(name))) throw new Error(`tfjs: backend '${name}' failed to initialise`);
  await tf.ready();
  if (backend === 'tfjs-wasm') {
    registerWasmConv2dBackpropFilter(tf);
    const threads = (tf.backend() as unknown as { getThreadsCount?: () => number }).getThreadsCount?.();
    device = `wasm, SIMD ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'on' : 'off'}, ${threads ?? 1} thread(s)`;
  }
  return { tf, device };
}
