// WebGPU on the page when the browser has an adapter; otherwise the CPU
// backend in a Web Worker, with a banner that says so and how to get WebGPU.
import { AdapterError } from '../../index.js';
import type { DeviceText } from './engine.js';
import { Engine } from './engine.js';
import type { EngineApi } from './rpc.js';
import { workerEngine } from './rpc.js';

const HOW_TO_ENABLE = [
  'Chrome and Edge 113 or later have WebGPU on by default on Windows, macOS and ChromeOS; recent Safari and Firefox do too.',
  'On Linux, Chrome may need chrome://flags/#enable-unsafe-webgpu (and #enable-vulkan), then a restart.',
  'WebGPU only exists on secure pages: https://, or http://localhost.',
];

export async function openEngine(): Promise<{ engine: EngineApi; device: DeviceText }> {
  const banner = document.getElementById('gpu-banner')!;
  const local = new Engine();
  try {
    const device = await local.open('webgpu');
    banner.className = device.software ? 'banner warn' : 'banner ok';
    const strong = document.createElement('strong');
    strong.textContent = `WebGPU ready: ${device.adapter}.`;
    banner.replaceChildren(strong, device.software ? ' A software adapter: its speed is a CPU\u2019s, and so is every figure on this page.' : ' Training runs on this GPU.');
    return { engine: local, device };
  } catch (e) {
    const why = e instanceof AdapterError ? e.message : `opening a WebGPU device failed: ${(e as Error).message}`;
    banner.className = 'banner error';
    banner.dataset.noWebgpu = '';
    const strong = document.createElement('strong');
    strong.textContent = 'No WebGPU in this browser. ';
    const list = document.createElement('ul');
    for (const t of HOW_TO_ENABLE) list.append(Object.assign(document.createElement('li'), { textContent: t }));
    const details = document.createElement('details');
    details.append(Object.assign(document.createElement('summary'), { textContent: 'What was tried' }), Object.assign(document.createElement('code'), { textContent: why }));
    banner.replaceChildren(strong, 'The page trains on the CPU backend instead, in a Web Worker, so it stays responsive; it is much slower than a GPU.', list, details);
    const engine = workerEngine((message) => {
      const el = document.getElementById('error')!;
      el.textContent = message;
      el.hidden = false;
    });
    return { engine, device: await engine.open('cpu') };
  }
}
