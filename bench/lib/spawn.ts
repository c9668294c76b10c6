// Runs one job in a worker process with a deadline: a crash or a hang becomes
// an error line naming the job, never a stuck bench.
import { spawn } from 'node:child_process';
import type { Job, JobResult } from './jobs.js';
import { RESULT_TAG } from './jobs.js';

export interface WorkerOutcome {
  readonly result?: JobResult;
  readonly error?: string;
  readonly seconds: number;
}

/** Dawn's harmless start-up chatter, kept out of the bench's output. */
const NOISE = /XDG_RUNTIME_DIR|Couldn't load Vulkan|BackendVk\.cpp|artificially reduced|^\s*$|^=+$|Hi, looks like you are running TensorFlow\.js in Node|tfjs-node for more details/;

export function runWorker(workerPath: string, job: Job, timeoutSeconds: number, log: (line: string) => void): Promise<WorkerOutcome> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [workerPath, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let tail: string[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutSeconds * 1000);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) {
        if (NOISE.test(line)) continue;
        tail = [...tail, line].slice(-12);
        log(`    ${line}`);
      }
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const seconds = (performance.now() - t0) / 1000;
      const line = out.split('\n').find((l) => l.startsWith(RESULT_TAG));
      if (line && code === 0) {
        resolve({ result: JSON.parse(line.slice(RESULT_TAG.length)) as JobResult, seconds });
        return;
      }
      const why = timedOut
        ? `did not finish within ${timeoutSeconds} s (killed: a hang, or far slower than expected)`
        : `worker exited with ${signal ? `signal ${signal}` : `code ${code}`}${signal === 'SIGSEGV' || signal === 'SIGABRT' ? ' (a crash; see WEBGPU-SETUP.md on Dawn crashes on llvmpipe)' : ''}`;
      resolve({ error: `${why}${tail.length ? `; last output: ${tail.join(' | ').slice(-600)}` : ''}`, seconds });
    });
  });
}
