// Calls to an object that lives in a Web Worker, behind the object's own
// method names: the page side (workerProxy) and the worker side
// (serveInWorker). A page keeps WebGPU on itself, where its device belongs,
// and runs the CPU backend through this, so training never blocks the page.

export type Request = { id: number; method: string; args: unknown[] };
export type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

/** The async methods of T named in `methods`, as the page calls them. */
export type Remote<T, M extends keyof T> = { [K in M]: T[K] extends (...a: infer A) => infer R ? (...a: A) => Promise<Awaited<R>> : never };

/**
 * `methods` of the object a worker serves, as calls that post to it and
 * resolve with its reply. A worker that fails rejects every call waiting on
 * it and tells onFailure, once per failure.
 */
export function workerProxy<T, M extends keyof T & string>(worker: Worker, methods: readonly M[], onFailure: (message: string) => void): Remote<T, M> {
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
  const call = (method: M, args: unknown[]) =>
    new Promise<unknown>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, method, args } satisfies Request);
    });
  return Object.fromEntries(methods.map((m) => [m, (...args: unknown[]) => call(m, args)])) as unknown as Remote<T, M>;
}

/** Inside a worker: answers each request by calling `target`'s method of that name (only those listed), replies carrying the request's id. */
export function serveInWorker<T extends object>(target: T, methods: readonly (keyof T & string)[]): void {
  // The DOM lib types `self` as a Window; in a worker it is a DedicatedWorkerGlobalScope.
  const scope = self as unknown as {
    postMessage(message: Reply, transfer?: Transferable[]): void;
    onmessage: ((e: MessageEvent<Request>) => void) | null;
  };
  scope.onmessage = async (e) => {
    const { id, method, args } = e.data;
    try {
      if (!(methods as readonly string[]).includes(method)) throw new Error(`unknown request '${String(method)}'`);
      const value = await (target[method as keyof T] as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      scope.postMessage({ id, ok: true, value }, transferables(value));
    } catch (err) {
      scope.postMessage({ id, ok: false, error: err instanceof Error ? err.message : String(err) });
    }
  };
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
