// Taking turns on one model: fit() holds it, and lets go between batches so
// that pause, stop and the drawing pad's predictions get in.

/** A FIFO lock. acquire() resolves to the function that releases it. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  /** Callers waiting for the lock, so the holder knows when to step aside. */
  waiting = 0;

  acquire(): Promise<() => void> {
    let release!: () => void;
    const done = new Promise<void>((r) => (release = r));
    const ready = this.tail.then(() => {
      this.waiting--;
      return release;
    });
    this.waiting++;
    this.tail = this.tail.then(() => done);
    return ready;
  }

  async run<T>(job: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await job();
    } finally {
      release();
    }
  }
}

/** An open/closed gate for pausing: wait() returns at once while open. */
export class Gate {
  private closed: { promise: Promise<void>; open: () => void } | null = null;

  get isOpen(): boolean {
    return this.closed === null;
  }

  close(): void {
    if (this.closed) return;
    let open!: () => void;
    const promise = new Promise<void>((r) => (open = r));
    this.closed = { promise, open };
  }

  open(): void {
    this.closed?.open();
    this.closed = null;
  }

  wait(): Promise<void> {
    return this.closed?.promise ?? Promise.resolve();
  }
}

// A macrotask without setTimeout's 4 ms clamp: lets the browser paint and
// deliver messages (clicks, worker commands) between batches. Node (tests)
// has setImmediate, which, unlike a MessagePort, lets timers run in between.
let yieldTask: () => Promise<void>;
if (typeof setImmediate === 'function') {
  yieldTask = () => new Promise((resolve) => setImmediate(resolve));
} else {
  const channel = new MessageChannel();
  const queued: (() => void)[] = [];
  channel.port1.onmessage = () => queued.shift()?.();
  yieldTask = () =>
    new Promise((resolve) => {
      queued.push(resolve);
      channel.port2.postMessage(0);
    });
}
export { yieldTask };

/** Thrown from a batch callback to leave fit() mid-epoch when the user presses Stop. */
export class StopSignal extends Error {
  constructor() {
    super('training stopped');
    this.name = 'StopSignal';
  }
}
