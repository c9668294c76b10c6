// The CPU backend's home: a dedicated Web Worker, so that training in plain
// TypeScript never blocks the page. Requests carry an id; the reply carries
// it back. Events (progress, curves, insights) flow without one.
import { errorText } from './model.js';
import type { TrainerApi, TrainerEvent } from './protocol.js';
import { Trainer } from './trainer.js';

export type WorkerRequest = { id: number; method: keyof TrainerApi; args: unknown[] };
export type WorkerMessage = { kind: 'event'; event: TrainerEvent } | { kind: 'reply'; id: number; ok: true; value: unknown } | { kind: 'reply'; id: number; ok: false; error: string };

// The DOM lib types `self` as a Window; in a worker it is a DedicatedWorkerGlobalScope.
const scope = self as unknown as {
  postMessage(message: WorkerMessage, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<WorkerRequest>) => void) | null;
};

const trainer = new Trainer((event) => scope.postMessage({ kind: 'event', event }));

scope.onmessage = async (e) => {
  const { id, method, args } = e.data;
  try {
    const fn = trainer[method] as (...a: unknown[]) => Promise<unknown>;
    if (typeof fn !== 'function') throw new Error(`unknown request '${String(method)}'`);
    const value = await fn.apply(trainer, args);
    scope.postMessage({ kind: 'reply', id, ok: true, value });
  } catch (err) {
    scope.postMessage({ kind: 'reply', id, ok: false, error: errorText(err) });
  }
};
