import type { FitOptions } from '../../index.js';

/** fit()'s progress sink (the type is not exported by name). */
type ProgressSink = NonNullable<FitOptions['sink']>;

/**
 * fit() reads the running loss and metrics back at its logging interval and
 * shows them on Keras' progress line; it offers them to no callback. Until it
 * does, this sink reads them off that line: `1024/7200 [====>...] - 2s
 * 900us/sample - loss: 0.4123 - accuracy: 0.8811`. Lines ending in a newline
 * (epoch headers and the epoch's last line) are left out: onEpochEnd has those.
 */
export function liveLogSink(onLogs: (done: number, total: number, logs: Record<string, number>) => void): ProgressSink {
  let last = '';
  return {
    interactive: true,
    write(text: string) {
      if (text.endsWith('\n')) return;
      const head = /(\d+)\/(\d+) \[/.exec(text);
      const tail = text.slice(text.indexOf(']') + 1);
      const logs: Record<string, number> = {};
      for (const m of tail.matchAll(/ - (\w+): (-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)/g)) logs[m[1]] = Number(m[2]);
      const key = JSON.stringify(logs);
      if (!head || !('loss' in logs) || key === last) return;
      last = key;
      onLogs(Number(head[1]), Number(head[2]), logs);
    },
  };
}
