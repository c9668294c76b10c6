// The page's handle on a trainer: in the page itself (WebGPU) or in a worker (CPU).
import type { TrainerApi, TrainerEvent } from './protocol.js';
import { Trainer } from './trainer.js';
import type { WorkerMessage, WorkerRequest } from './worker.js';

export type EventHandler = (event: TrainerEvent) => void;

/** WebGPU runs on the page: the device belongs to this document, and fit() yields between batches. */
export function localTrainer(onEvent: EventHandler): TrainerApi {
  return new Trainer(onEvent);
}

/** How long a request other than train() may take before the worker counts as stuck. */
const REQUEST_TIMEOUT_MS = 120_000;

/** The CPU backend in a Web Worker, behind the same calls. */
export function workerTrainer(onEvent: EventHandler): TrainerApi {
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'webgrad-cpu' });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  worker.onmessage = (e: MessageEvent<WorkerMessage>) => {
    const msg = e.data;
    if (msg.kind === 'event') return onEvent(msg.event);
    const p = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.ok) p?.resolve(msg.value);
    else p?.reject(new Error(msg.error));
  };
  worker.onerror = (e) => {
    const error = new Error(`the CPU worker failed: ${e.message || 'it could not start'}`);
    for (const p of pending.values()) p.reject(error);
    pending.clear();
    onEvent({ type: 'error', message: error.message });
  };
  const call = (method: keyof TrainerApi, args: unknown[], transfer: Transferable[] = []) =>
    new Promise<unknown>((resolve, reject) => {
      const id = nextId++;
      // A training run may take as long as the user likes; anything else answers quickly or is stuck.
      const timer = method === 'train' ? null : setTimeout(() => {
        pending.delete(id);
        reject(new Error(`the CPU worker did not answer '${method}' within ${REQUEST_TIMEOUT_MS / 1000} s`));
      }, REQUEST_TIMEOUT_MS);
      pending.set(id, {
        resolve: (v) => {
          if (timer) clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          if (timer) clearTimeout(timer);
          reject(e);
        },
      });
      worker.postMessage({ id, method, args } satisfies WorkerRequest, transfer);
    });
  return {
    setData: (train, test) => call('setData', [train, test]) as Promise<void>,
    train: (config) => call('train', [config]) as ReturnType<TrainerApi['train']>,
    pause: () => call('pause', []) as Promise<void>,
    resume: () => call('resume', []) as Promise<void>,
    stop: () => call('stop', []) as Promise<void>,
    predict: (x) => call('predict', [x]) as Promise<Float32Array>,
    save: () => call('save', []) as Promise<Uint8Array>,
    load: (bytes, backend, name) => call('load', [bytes, backend, name]) as ReturnType<TrainerApi['load']>,
  };
}
