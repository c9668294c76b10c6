import type { Backend, DeviceDescription } from '../backend/backend.js';
import { CpuBackend } from '../backend/cpu.js';
import { createWebGPUBackend } from '../backend/load.js';
import { Random } from '../core/random.js';
import { sizeOf } from '../core/shape.js';
import type { Kernel } from '../ops/kernel.js';
import { KERNELS, KERNEL_NAMES } from '../ops/table.js';
import type { Check } from '../ops/selfcheck-cases.js';
import { SELFCHECKS } from '../ops/selfcheck-cases.js';
import { oneOf, parseArgs } from './args.js';

/** A check with its kernel. */
export interface Case extends Check<any> {
  readonly kernel: Kernel<any>;
}

/** Every self-check, kernel by kernel; kernels that launch nothing have none. */
export function selfcheckCases(): Case[] {
  return KERNEL_NAMES.flatMap((name) => {
    const checks = SELFCHECKS[name];
    return 'none' in checks ? [] : checks.map((c: Check<any>) => ({ ...c, kernel: KERNELS[name] as Kernel<any> }));
  });
}

export function describeDevice(d: DeviceDescription): string {
  if (d.backend === 'cpu') return d.description;
  const name = [d.vendor, d.architecture, d.device].filter(Boolean).join(' ') || 'unknown device';
  const soft = d.software ? ' — a software adapter: its speed is a CPU speed' : '';
  return `${name} (${d.description}; api ${d.api || 'unknown'}, ${d.featureLevel} feature level)${soft}`;
}

/** `webgrad selfcheck`: runs every kernel on the chosen backend and on the CPU reference, and compares. */
export async function selfcheck(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['backend']);
  const kind = oneOf('backend', args.flags.get('backend'), ['webgpu', 'cpu'] as const, 'webgpu');
  const device: Backend = kind === 'webgpu' ? await createWebGPUBackend() : new CpuBackend();
  const cpu = new CpuBackend();
  console.log(`adapter: ${describeDevice(device.describe())}`);
  let failures = 0;
  const cases = selfcheckCases();
  try {
    for (const c of cases) {
      const rng = new Random(1);
      const data = c.inputs.map((t) => {
        const n = sizeOf(t.shape);
        return t.dtype === 'i32' ? Int32Array.from({ length: n }, () => rng.int(c.classes ?? 2)) : rng.fill(new Float32Array(n), -2, 2);
      });
      c.derive?.(data);
      const [got, want] = await Promise.all([device, cpu].map((be) => runCase(be, c, data)));
      const { maxAbs, scale } = compare(got, want);
      const ok = maxAbs <= 1e-4 * Math.max(1, scale);
      if (!ok) failures++;
      console.log(`${ok ? 'ok  ' : 'FAIL'} ${c.name.padEnd(44)} max |diff| ${maxAbs.toExponential(2)}`);
    }
  } finally {
    device.dispose();
  }
  console.log(failures === 0 ? `all ${cases.length} checks of ${new Set(cases.map((c) => c.kernel)).size} kernels agree with the CPU reference` : `${failures} kernel(s) disagree`);
  return failures === 0 ? 0 : 1;
}

async function runCase(be: Backend, c: Case, data: (Float32Array | Int32Array)[]): Promise<(Float32Array | Int32Array)[]> {
  const ins = c.inputs.map((t, i) => {
    const d = be.allocate(t.shape, t.dtype);
    be.write(d, data[i]);
    return d;
  });
  const outs = c.kernel.outputs(c.inputs, c.attrs).map((o) => {
    const d = be.allocate(o.shape, o.dtype);
    be.write(d, new Float32Array(sizeOf(o.shape)).fill(0.5));
    return d;
  });
  be.run(c.kernel, ins, outs, c.attrs);
  const result = await Promise.all(outs.map((o) => be.read(o)));
  for (const t of [...ins, ...outs]) be.free(t);
  return result;
}

function compare(got: ArrayLike<number>[], want: ArrayLike<number>[]) {
  let maxAbs = 0;
  let scale = 0;
  got.forEach((g, k) => {
    for (let i = 0; i < g.length; i++) {
      const d = Math.abs(g[i] - want[k][i]);
      maxAbs = Math.max(maxAbs, Number.isNaN(d) ? Infinity : d);
      scale = Math.max(scale, Math.abs(want[k][i]));
    }
  });
  return { maxAbs, scale };
}
