// Before anything else: does this browser have WebGPU, and on what adapter?
import { AdapterError, createWebGPUBackend } from '../../index.js';
import { deviceInfo } from '../train/model.js';
import type { DeviceInfo } from '../train/protocol.js';
import { $, h } from './dom.js';
import { deviceLabel } from './stats.js';

const HOW_TO_ENABLE = [
  'Chrome and Edge 113 or later have WebGPU on by default on Windows, macOS and ChromeOS; recent Safari (26) and Firefox (141, on Windows) do too.',
  'On Linux, Chrome may need chrome://flags/#enable-unsafe-webgpu (and #enable-vulkan) turned on, then a restart.',
  'WebGPU only exists on secure pages: https://, or http://localhost.',
];

/** Opens a device once to name the adapter, then gives it back; null when there is none (and says why). */
export async function probeWebGPU(): Promise<DeviceInfo | null> {
  const banner = $('gpu-banner');
  try {
    const backend = await createWebGPUBackend();
    const info = deviceInfo(backend.describe());
    backend.dispose();
    banner.className = info.software ? 'banner warn' : 'banner ok';
    banner.replaceChildren(
      h('strong', {}, `WebGPU ready: ${deviceLabel(info).replace(/^WebGPU · /, '')}.`),
      info.software ? ' This is a software adapter, so its speed is a CPU\u2019s and every figure on this page is a CPU figure.' : ' Training runs on this GPU.',
    );
    $('backend-webgpu-label').textContent = `WebGPU (${[info.vendor, info.architecture].filter(Boolean).join(' ') || 'GPU'})`;
    return info;
  } catch (e) {
    const why = e instanceof AdapterError ? e.message : `opening a WebGPU device failed: ${(e as Error).message}`;
    banner.className = 'banner error';
    banner.dataset.noWebgpu = '';
    const secure = window.isSecureContext ? [] : [h('li', {}, 'This page is not on a secure origin, which alone hides WebGPU: open it over https or from localhost.')];
    banner.replaceChildren(
      h('strong', {}, 'No WebGPU in this browser. '),
      'The page trains on the CPU backend instead, in a Web Worker, so it stays responsive; it is much slower than a GPU.',
      h('ul', {}, ...secure, ...HOW_TO_ENABLE.map((t) => h('li', {}, t))),
      h('details', {}, h('summary', {}, 'What was tried'), h('code', {}, why)),
    );
    const gpu = $<HTMLInputElement>('backend-webgpu');
    gpu.disabled = true;
    $<HTMLInputElement>('backend-cpu').checked = true;
    $('backend-webgpu-label').textContent = 'WebGPU (not available here)';
    return null;
  }
}
