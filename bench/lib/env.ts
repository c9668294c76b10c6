// What a result file records about where it was measured.
import { readFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import { createRequire } from 'node:module';

export interface Environment {
  readonly date: string;
  readonly cpuModel: string;
  readonly cores: number;
  readonly cpuFlags: string[];
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly versions: Record<string, string>;
  /** 1-minute load average when the run started and ended: other work on the machine slows every figure. */
  readonly loadAverage: { start: number; end?: number };
}

// Resolved from the working directory: npm runs the bench from the repository root.
const require = createRequire(`${process.cwd()}/package.json`);

function version(pkg: string): string {
  try {
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

function cpuFlags(): string[] {
  try {
    const flags = /^flags\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.split(' ') ?? [];
    return flags.filter((f) => /^(avx|avx2|fma|avx512f|avx512bw|avx512vl|sse4_2)$/.test(f));
  } catch {
    return [];
  }
}

export function environment(): Environment {
  const webgrad = (require('./package.json') as { version: string }).version;
  return {
    date: new Date().toISOString(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    cpuFlags: cpuFlags(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    node: process.version,
    versions: {
      webgrad,
      webgpu: version('webgpu'),
      '@tensorflow/tfjs-core': version('@tensorflow/tfjs-core'),
      '@tensorflow/tfjs-backend-cpu': version('@tensorflow/tfjs-backend-cpu'),
      '@tensorflow/tfjs-backend-wasm': version('@tensorflow/tfjs-backend-wasm'),
      '@tensorflow/tfjs-backend-webgpu': version('@tensorflow/tfjs-backend-webgpu'),
    },
    loadAverage: { start: loadavg()[0] },
  };
}
