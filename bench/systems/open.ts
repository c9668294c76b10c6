// One interface over every system the bench compares (Node side).
import type { Backend, DeviceDescription } from '../../src/index.js';
import { CpuBackend, createWebGPUBackend, ops } from '../../src/index.js';
import type { MatmulShape, SystemName } from '../lib/jobs.js';
import type { MatmulRunner } from '../lib/matmul-timing.js';
import { now } from '../lib/stats.js';
import type { TrainWorkload } from '../workloads.js';
import { tfjsMatmulRunner, tfjsTrainer } from './tfjs.js';
import type { LoadedTfjs, TfjsBackend } from './tfjs-node.js';
import { loadTfjs } from './tfjs-node.js';
import type { Trainer } from './trainer.js';
import { torchTrainer, TORCH_PYTHON, TORCH_THREADS } from './torch.js';
import { webgradTrainer } from './webgrad.js';
import { describeAdapter } from './open-browser.js';

export { describeAdapter };

export interface OpenSystem {
  readonly name: SystemName;
  device(): string;
  adapter(): Record<string, unknown> | undefined;
  trainer(w: TrainWorkload): Trainer;
  /** webgrad's backend for kernel timing (opened on first use). */
  backend?(): Promise<Backend>;
  tfjs?: LoadedTfjs;
  dispose(): Promise<void> | void;
}

function adapterRecord(d: DeviceDescription): Record<string, unknown> {
  const { vendor, architecture, device, description, api, featureLevel, software, features } = d;
  const limits = Object.fromEntries(
    ['maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupStorageSize', 'maxStorageBuffersPerShaderStage', 'maxStorageBufferBindingSize'].map((k) => [k, d.limits[k]]),
  );
  return { vendor, architecture, device, description, api, featureLevel, software, features, limits };
}

async function openWebgrad(name: 'webgrad-webgpu' | 'webgrad-cpu'): Promise<OpenSystem> {
  const kind = name === 'webgrad-cpu' ? 'cpu' : 'webgpu';
  let desc: DeviceDescription | null = null;
  let be: Backend | null = null;
  return {
    name,
    device: () => (desc ? describeAdapter(desc) : kind),
    adapter: () => (desc ? adapterRecord(desc) : undefined),
    trainer(w) {
      const t = webgradTrainer(kind, w);
      return {
        train: async (d, epochs) => {
          const loss = await t.train(d, epochs);
          desc ??= t.device();
          return loss;
        },
        counts: () => t.counts?.(),
        dispose: () => t.dispose(),
      };
    },
    async backend() {
      be ??= kind === 'cpu' ? new CpuBackend() : await createWebGPUBackend();
      desc ??= be.describe();
      return be;
    },
    dispose: () => be?.dispose(),
  };
}

async function openTfjs(name: SystemName & `tfjs-${string}`): Promise<OpenSystem> {
  const loaded = await loadTfjs(name as TfjsBackend);
  return {
    name,
    tfjs: loaded,
    device: () => loaded.device,
    adapter: () => undefined,
    trainer: (w) => tfjsTrainer(loaded.tf, w),
    dispose: () => loaded.tf.engine().reset(),
  };
}

/** PyTorch on the CPU: training only (each workload in a Python worker of its own); main.ts leaves it out when torch is missing. */
function openTorch(): OpenSystem {
  let device = `PyTorch on the CPU, ${TORCH_THREADS} threads (${TORCH_PYTHON})`;
  return {
    name: 'torch-cpu',
    device: () => device,
    adapter: () => undefined,
    trainer(w) {
      const t = torchTrainer(w);
      return {
        train: async (d, epochs) => {
          const loss = await t.train(d, epochs);
          device = t.device() ?? device;
          return loss;
        },
        measured: () => t.measured?.(),
        dispose: () => t.dispose(),
      };
    },
    dispose: () => undefined,
  };
}

export async function openSystem(name: SystemName): Promise<OpenSystem> {
  if (name === 'webgrad-webgpu' || name === 'webgrad-cpu') return openWebgrad(name);
  if (name === 'torch-cpu') return openTorch();
  return openTfjs(name);
}

/** A function that runs `reps` matmuls of one shape on a system and returns the seconds they took. */
export function matmulRunner(sys: OpenSystem, s: MatmulShape): MatmulRunner {
  if (sys.name === 'torch-cpu') throw new Error('torch-cpu is a training system of the bench: it has no matmul runner');
  if (sys.tfjs) {
    return tfjsMatmulRunner(sys.tfjs.tf, s.M, s.K, s.N, s.transA, s.transB);
  }
  let ready: Promise<{ be: Backend; a: ReturnType<Backend['allocate']>; b: ReturnType<Backend['allocate']>; c: ReturnType<Backend['allocate']> }> | null = null;
  const setup = async () => {
    const be = await sys.backend!();
    const a = be.allocate(s.transA ? [s.K, s.M] : [s.M, s.K]);
    const b = be.allocate(s.transB ? [s.N, s.K] : [s.K, s.N]);
    const c = be.allocate([s.M, s.N]);
    be.write(a, Float32Array.from({ length: s.M * s.K }, (_, i) => Math.sin(i)));
    be.write(b, Float32Array.from({ length: s.K * s.N }, (_, i) => Math.cos(i)));
    await be.sync();
    return { be, a, b, c };
  };
  return async (reps) => {
    const { be, a, b, c } = await (ready ??= setup());
    const attrs = { transA: s.transA, transB: s.transB };
    const t0 = now();
    for (let i = 0; i < reps; i++) be.run(ops.matmul, [a, b], [c], attrs);
    await be.sync();
    return now() - t0;
  };
}
