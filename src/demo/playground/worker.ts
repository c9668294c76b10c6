// The CPU backend's home when the browser has no WebGPU: the engine in a
// dedicated worker, answering the page's calls (rpc.ts) one at a time.
import { Engine } from './engine.js';
import type { Reply, Request } from './rpc.js';
import { METHODS, transferables } from './rpc.js';

const scope = self as unknown as {
  postMessage(message: Reply, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<Request>) => void) | null;
};

const engine = new Engine();

scope.onmessage = async (e) => {
  const { id, method, args } = e.data;
  try {
    if (!METHODS.includes(method)) throw new Error(`unknown request '${String(method)}'`);
    const value = await (engine[method] as (...a: unknown[]) => Promise<unknown>).apply(engine, args);
    scope.postMessage({ id, ok: true, value }, transferables(value));
  } catch (err) {
    scope.postMessage({ id, ok: false, error: err instanceof Error ? err.message : String(err) });
  }
};
