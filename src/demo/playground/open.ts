// The page's two engines: WebGPU on the page when the browser has an adapter,
// and the CPU backend in a Web Worker, started the first time it is asked for
// (the user's choice, or no WebGPU here). The banner says which exist.
import { AdapterError } from '../../index.js';
import type { BackendName, DeviceText } from './engine.js';
import { Engine } from './engine.js';
import type { EngineApi } from './rpc.js';
import { workerEngine } from './rpc.js';

const HOW_TO_ENABLE = [
  'Chrome and Edge 113 or later have WebGPU on by default on Windows, macOS and ChromeOS; recent Safari and Firefox do too.',
  'On Linux, Chrome may need chrome://flags/#enable-unsafe-webgpu (and #enable-vulkan), then a restart.',
  'WebGPU only exists on secure pages: https://, or http://localhost.',
];

export type Opened = { engine: EngineApi; device: DeviceText };

export class Engines {
  private readonly opened: Partial<Record<BackendName, Promise<Opened>>> = {};
  private webgpu = false;

  constructor(private readonly onWorkerFailure: (message: string) => void) {}

  /** Whether WebGPU opened (probe() first). */
  get hasWebGPU(): boolean {
    return this.webgpu;
  }

  /** Opens WebGPU on the page, once, and says in the banner what came of it. */
  async probe(): Promise<boolean> {
    const banner = document.getElementById('gpu-banner')!;
    const local = new Engine();
    try {
      const device = await local.open('webgpu');
      this.opened.webgpu = Promise.resolve({ engine: local, device });
      this.webgpu = true;
      banner.className = device.software ? 'banner warn' : 'banner ok';
      const strong = document.createElement('strong');
      strong.textContent = `WebGPU ready: ${device.adapter}.`;
      banner.replaceChildren(strong, device.software ? ' A software adapter: its speed is a CPU\u2019s, and so is every figure on this page; the CPU backend (Backend: CPU) may well be faster here.' : ' Training runs on this GPU.');
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
    }
    return this.webgpu;
  }

  /** A line for the banner when a link asked for WebGPU where there is none. */
  noteFallback(): void {
    if (document.getElementById('backend-fallback')) return;
    const note = Object.assign(document.createElement('p'), { id: 'backend-fallback', textContent: 'This link asks for backend=webgpu; with no WebGPU here, it runs on backend=cpu.' });
    document.getElementById('gpu-banner')!.append(note);
  }

  /** The engine for a backend, opened once; WebGPU only after probe() found it. */
  get(name: BackendName): Promise<Opened> {
    if (name === 'webgpu' && !this.webgpu) return Promise.reject(new Error('there is no WebGPU in this browser: choose the CPU backend'));
    this.opened[name] ??= (async () => {
      const engine = workerEngine(this.onWorkerFailure);
      return { engine, device: await engine.open('cpu') };
    })();
    return this.opened[name]!;
  }
}
