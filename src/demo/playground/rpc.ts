// The page's handle on the engine: the engine itself (WebGPU lives on the
// page, where its device belongs) or the same calls sent to a Web Worker that
// runs it on the CPU backend, so training never blocks the page. The calls
// go through the demo's worker RPC (src/demo/train/rpc.ts).
import type { Engine } from './engine.js';
import { workerProxy } from '../train/rpc.js';

export type EngineApi = Pick<Engine, 'open' | 'reset' | 'carry' | 'retune' | 'run' | 'snapshot' | 'exportModel'>;
export type Method = keyof EngineApi;

/** Every call, listed once for the page's side and the worker's. */
export const METHODS: readonly Method[] = ['open', 'reset', 'carry', 'retune', 'run', 'snapshot', 'exportModel'];

/** The engine in a worker, behind the same calls; a worker that fails rejects every call waiting on it. */
export function workerEngine(onFailure: (message: string) => void): EngineApi {
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'webgrad-playground-cpu' });
  return workerProxy<Engine, Method>(worker, METHODS, onFailure) as EngineApi;
}
