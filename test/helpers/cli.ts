import { vi } from 'vitest';
import { main } from '../../src/cli/main.js';

/** Runs the CLI in-process; returns its exit code and what it printed. `onLine` sees each console line as it comes. */
export async function runCli(args: string[], onLine?: (line: string) => void): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => {
    out.push(a.join(' ') + '\n');
    onLine?.(a.join(' '));
  });
  const error = vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ') + '\n'));
  const warn = vi.spyOn(console, 'warn').mockImplementation((...a) => void err.push(a.join(' ') + '\n'));
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
  const ewrite = vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
  try {
    const code = await main(args);
    return { code, out: out.join(''), err: err.join('') };
  } finally {
    [log, error, warn, write, ewrite].forEach((s) => s.mockRestore());
  }
}

/** The JSON object on the last line of a command's output. */
export const lastJson = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!);
