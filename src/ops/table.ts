// Every kernel by name, derived from the op families' exports (./all.js): no
// list is kept by hand. The tables that must cover every kernel, the gradient
// rules (src/graph/rules.ts) and the self-check cases (src/ops/selfcheck-cases.ts),
// are typed over KernelName, so a kernel added to an op family without its
// entries fails `tsc` (jax-js' `{ [P in Primitive]: Rule<P> }`).
import * as families from './all.js';
import type { Kernel } from './kernel.js';

type Exports = typeof families;

/** The name of every exported kernel: the export's name, which is also the kernel's `name` (test/ops/table.test.ts). */
export type KernelName = { [K in keyof Exports]: Exports[K] extends Kernel<any> ? K : never }[keyof Exports];

/** The attributes a kernel takes. */
export type AttrsOf<K extends KernelName> = Exports[K] extends Kernel<infer A> ? A : never;

function isKernel(v: unknown): v is Kernel<unknown> {
  return typeof v === 'object' && v !== null && 'outputs' in v && 'cpu' in v && 'gpu' in v && 'shader' in v;
}

/** Every kernel, by name. */
export const KERNELS = Object.fromEntries(Object.entries(families).filter(([, v]) => isKernel(v))) as { readonly [K in KernelName]: Exports[K] };

export const KERNEL_NAMES = Object.keys(KERNELS) as KernelName[];
