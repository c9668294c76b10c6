// The page's handle on the engine: the engine itself (WebGPU lives on the
// page, where its device belongs) or the same calls sent to a Web Worker that
// runs it on the CPU backend, so training never blocks the page.
import type { Engine } from './engine.js';

export type EngineApi = Pick<Engine, 'open' | 'reset' | 'carry' | 'retune' | 'run' | 'snapshot' | 'exportModel'>;
export type Method = keyof EngineApi;

export type Request = { id: number; method: Method; args: unknown[] };
export type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

/** Every call, listed once for the page's side and the worker's. */
export const METHODS: readonly Method[] = ['open', 'reset', 'carry', 'retune', 'run', 'snapshot', 'exportModel'];

/** The engine in a worker, behind the same calls; a worker that fails rejects every call waiting on it. */
export function workerEngine(onFailure: (message: string) => void): EngineApi {
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'webgrad-playground-cpu' });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  worker.onmessage = (e: MessageEvent<Reply>) => {
    const p = pending.get(e.data.id);
    pending.delete(e.data.id);
    if (e.data.ok) p?.resolve(e.data.value);
    else p?.reject(new Error(e.data.error));
  };
  worker.onerror = (e) => {
    const message = `the CPU worker failed: ${e.message || 'it could not start'}`;
    for (const p of pending.values()) p.reject(new Error(message));
    pending.clear();
    onFailure(message);
  };
  const call = (method: Method, args: unknown[]) =>
    new Promise<unknown>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, method, args } satisfies Request);
    });
  return Object.fromEntries(METHODS.map((m) => [m, (...args: unknown[]) => call(m, args)])) as unknown as EngineApi;
}

/** The typed arrays in a reply, moved to the page rather than copied. */
export function transferables(value: unknown, out: Transferable[] = []): Transferable[] {
  if (ArrayBuffer.isView(value)) {
    if (value.buffer instanceof ArrayBuffer && !out.includes(value.buffer)) out.push(value.buffer);
  } else if (Array.isArray(value)) {
    for (const v of value) transferables(v, out);
  } else if (value && typeof value === 'object') {
    for (const v of Object.values(value)) transferables(v, out);
  }
  return out;
}
