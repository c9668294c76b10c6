import type { Logs } from './callbacks.js';

export interface ProgressSink {
  /** True when the sink can redraw a line in place (a terminal). */
  readonly interactive: boolean;
  write(text: string): void;
}

export function defaultSink(): ProgressSink {
  if (typeof process !== 'undefined' && process.stdout?.write) {
    return { interactive: Boolean(process.stdout.isTTY), write: (t) => void process.stdout.write(t) };
  }
  let line = '';
  return {
    interactive: false,
    write: (t) => {
      line += t;
      const parts = line.split('\n');
      line = parts.pop() ?? '';
      for (const p of parts) console.log(p);
    },
  };
}

const BAR = 30;

export function formatLogs(logs: Logs): string {
  return Object.entries(logs)
    .map(([k, v]) => ` - ${k}: ${Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : v.toFixed(4)}`)
    .join('');
}

function duration(seconds: number): string {
  return seconds >= 60 ? `${Math.floor(seconds / 60)}m${Math.round(seconds % 60)}s` : `${Math.round(seconds)}s`;
}

/**
 * Keras' progress line: `8000/8000 [==============================] - 4s 70us/sample - loss: 0.0812 - acc: 0.9751`.
 * In a terminal it redraws in place; elsewhere it prints one line per epoch.
 */
export class ProgressBar {
  private start = 0;

  constructor(
    private sink: ProgressSink,
    private total: number,
    private verbose: 0 | 1 | 2,
  ) {}

  epochBegin(epoch: number, epochs: number): void {
    this.start = Date.now();
    if (this.verbose === 1) this.sink.write(`Epoch ${epoch + 1}/${epochs}\n`);
  }

  update(done: number, logs: Logs): void {
    if (this.verbose !== 1 || !this.sink.interactive) return;
    this.sink.write(`\r${this.line(done, logs)}`);
  }

  epochEnd(epoch: number, epochs: number, logs: Logs): void {
    if (this.verbose === 0) return;
    const text = this.line(this.total, logs);
    if (this.verbose === 2) this.sink.write(`Epoch ${epoch + 1}/${epochs} - ${text.slice(text.indexOf(']') + 4)}\n`);
    else this.sink.write(`${this.sink.interactive ? '\r' : ''}${text}\n`);
  }

  private line(done: number, logs: Logs): string {
    const width = String(this.total).length;
    const filled = Math.round((BAR * done) / this.total);
    const bar = done >= this.total ? '='.repeat(BAR) : `${'='.repeat(Math.max(0, filled - 1))}>${'.'.repeat(BAR - Math.max(filled, 1))}`;
    const seconds = (Date.now() - this.start) / 1000;
    const perSample = done > 0 ? `${Math.round((seconds * 1e6) / done)}us/sample` : '';
    return `${String(done).padStart(width)}/${this.total} [${bar}] - ${duration(seconds)} ${perSample}${formatLogs(logs)}`;
  }
}
