// PyTorch on the CPU (torch-cpu): what a user without a GPU would pick
// instead. Debian's python3-torch, 2 threads, in a Python process of its own
// per workload (torch_worker.py), fed the arrays every other system gets
// through files in a temporary folder. Node only.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Digits, TrainWorkload } from '../workloads.js';
import { INIT_SEED, initialWeights, PLAYGROUND } from '../workloads.js';
import { gptInitialWeights } from '../gpt-workload.js';
import type { Trainer } from './trainer.js';

/** Debian's python3 (python3-torch installs there); WEBGRAD_BENCH_PYTHON names another. */
export const TORCH_PYTHON = process.env.WEBGRAD_BENCH_PYTHON ?? '/usr/bin/python3';
/** torch.set_num_threads: the development machine's two cores. */
export const TORCH_THREADS = 2;
// Resolved from the working directory, as env.ts resolves package.json: npm runs the bench from the repository root.
const SCRIPT = join(process.cwd(), 'bench/systems/torch_worker.py');

/** torch's version, or why torch-cpu cannot run (no python3, no torch in it). */
export function probeTorch(python = TORCH_PYTHON): { version: string } | { missing: string } {
  const r = spawnSync(python, ['-c', 'import torch, numpy; print(torch.__version__)'], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) return { missing: `${python} did not start (${(r.error as NodeJS.ErrnoException).code ?? r.error.message}); install python3 and python3-torch, or name a Python with torch in WEBGRAD_BENCH_PYTHON` };
  if (r.status !== 0) return { missing: `${python} has no torch or numpy (${r.stderr.trim().split('\n').at(-1)}); install python3-torch, or name a Python with torch in WEBGRAD_BENCH_PYTHON` };
  return { version: r.stdout.trim() };
}

interface Reply {
  readonly error?: string;
  readonly torch?: string;
  readonly threads?: number;
  readonly loss?: number;
  readonly seconds?: number;
  readonly cpuSeconds?: number;
}

/** One Python worker: a command a line in, a reply a line out, in order. */
class TorchProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: ((r: Reply) => void)[] = [];
  private stderr = '';
  private exited: string | null = null;

  constructor(python: string) {
    this.child = spawn(python, [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    createInterface({ input: this.child.stdout }).on('line', (line) => this.waiting.shift()?.(JSON.parse(line) as Reply));
    this.child.stderr.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-2000)));
    const fail = (why: string) => {
      this.exited = `torch-cpu: the Python worker ${why}${this.stderr ? `: ${this.stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`;
      for (const w of this.waiting.splice(0)) w({ error: this.exited });
    };
    this.child.on('error', (e) => fail(`did not start (${e.message})`));
    this.child.on('exit', (code, signal) => fail(`exited with ${signal ? `signal ${signal}` : `code ${code}`}`));
  }

  async send(msg: object): Promise<Reply> {
    if (this.exited) throw new Error(this.exited);
    const reply = new Promise<Reply>((resolve) => this.waiting.push(resolve));
    this.child.stdin.write(`${JSON.stringify(msg)}\n`);
    const r = await reply;
    if (r.error) throw new Error(r.error.startsWith('torch-cpu') ? r.error : `torch-cpu: ${r.error}`);
    return r;
  }

  close(): void {
    this.child.stdin.end();
    // A worker that does not leave on end of input is stopped.
    setTimeout(() => this.child.kill('SIGKILL'), 5000).unref();
  }
}

export interface TorchTrainer extends Trainer {
  /** 'PyTorch 1.13.0 on the CPU, 2 threads' once the worker has started. */
  device(): string | null;
}

/**
 * The workload on torch: the bench's initial weights (initialWeights: conv
 * kernels and biases, then W6's LSTM kernel, recurrent kernel and bias, then
 * the dense kernels and biases; W7's GPT: gptInitialWeights, named) written once, the samples of each train()
 * written once per array, and the seconds and CPU seconds of the training
 * loop as the Python process measured them.
 */
export function torchTrainer(w: TrainWorkload, python = TORCH_PYTHON): TorchTrainer {
  const dir = mkdtempSync(join(tmpdir(), 'webgrad-bench-torch-'));
  let proc: TorchProcess | null = null;
  let device: string | null = null;
  let last: { seconds: number; cpuSeconds: number } | undefined;
  const files = new WeakMap<Float32Array, { x: string; y: string }>();
  let written = 0;
  const write = (a: Float32Array | Int32Array) => {
    const file = join(dir, `a${written++}.bin`);
    writeFileSync(file, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    return file;
  };
  const start = async (): Promise<TorchProcess> => {
    if (proc) return proc;
    const { kernels, shapes, biases, lstm } = w.gpt ? { kernels: [], shapes: [], biases: [] } : initialWeights(w);
    const nConv = w.conv?.blocks.length ?? 0;
    // W7's weights under webgrad's names, which torch_gpt.py maps onto its modules.
    const arrays: { data: Float32Array; shape: number[]; name?: string }[] = w.gpt ? gptInitialWeights(w, INIT_SEED) : [];
    const layer = (i: number) => arrays.push({ data: kernels[i], shape: shapes[i] }, { data: biases[i], shape: [biases[i].length] });
    for (let i = 0; i < nConv; i++) layer(i);
    if (w.lstm && lstm) {
      const { features: F, units: U } = w.lstm;
      arrays.push({ data: lstm.kernel, shape: [F, 4 * U] }, { data: lstm.recurrentKernel, shape: [U, 4 * U] }, { data: lstm.bias, shape: [4 * U] });
    }
    for (let i = nConv; i < kernels.length; i++) layer(i);
    const weights = arrays.map((a) => ({ file: write(a.data), shape: a.shape, name: a.name }));
    const p = new TorchProcess(python);
    const r = await p.send({ cmd: 'init', workload: w, weights, threads: TORCH_THREADS, sgdLearningRate: PLAYGROUND.learningRate });
    device = `PyTorch ${r.torch} on the CPU, ${r.threads} threads (${python})`;
    return (proc = p);
  };
  return {
    async train(d: Digits, epochs = 1) {
      const p = await start();
      let f = files.get(d.x);
      if (!f) files.set(d.x, (f = { x: write(d.x), y: write(d.y) }));
      const r = await p.send({ cmd: 'train', x: f.x, y: f.y, yType: d.y instanceof Int32Array ? 'int32' : 'float32', n: d.n, epochs });
      last = { seconds: r.seconds!, cpuSeconds: r.cpuSeconds! };
      return r.loss!;
    },
    measured: () => last,
    device: () => device,
    dispose() {
      proc?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
