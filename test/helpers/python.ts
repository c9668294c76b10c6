import { spawn, spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Python for the interop tests, as spawnSync(python3, args) but without
 * paying torch's import (one to three seconds) at every call: the first call
 * starts test/helpers/torch-server.py, which imports torch and numpy once and
 * forks a fresh child per script, so each script still runs alone, on the
 * caller's stdin, stdout and stderr, with its own exit status.
 */
export const PYTHON = '/usr/bin/python3';
const SERVER = fileURLToPath(new URL('./torch-server.py', import.meta.url));

let socketPath: string | null | undefined;

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The server's socket, started on first use; null when it cannot start (then each call is a plain python3). */
function server(): string | null {
  if (socketPath !== undefined) return socketPath;
  const dir = mkdtempSync(join(tmpdir(), 'webgrad-py-'));
  const path = join(dir, 'torch.sock');
  const child = spawn(PYTHON, [SERVER, path], { stdio: ['ignore', 'ignore', 'inherit'] });
  child.unref();
  process.once('exit', () => {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  // A synchronous wait (the callers are synchronous): the socket appears once the server accepts, `.failed` if it cannot start.
  const deadline = Date.now() + 120_000;
  while (!existsSync(path) && !existsSync(`${path}.failed`) && Date.now() < deadline) sleep(20);
  socketPath = existsSync(path) ? path : null;
  return socketPath;
}

/** Runs python3 with `args` (['-c', script] or [file, ...args]); the result is spawnSync's. */
export function runPython(args: string[], options: { input?: string; timeout?: number } = {}): SpawnSyncReturns<string> {
  const path = server();
  const timeout = options.timeout ?? 120_000;
  if (path === null) return spawnSync(PYTHON, args, { encoding: 'utf8', input: options.input, timeout });
  return spawnSync(PYTHON, [SERVER, '--client', path, ...args], { encoding: 'utf8', input: options.input, timeout });
}
