import type { Backend, DeviceTensor } from '../../src/backend/backend.js';
import { compileGraph } from '../../src/graph/executor.js';
import type { Graph, Value } from '../../src/graph/graph.js';
import { sizeOf } from '../../src/core/shape.js';
import type { HostArray } from '../../src/ops/kernel.js';
import { newHostArray } from '../../src/ops/kernel.js';

/**
 * Compiles `g` for `outputs` with each of `host`'s values written to a fresh
 * device tensor, and runs it once: the gradient tests' common start. The
 * bound tensors come back for a test that frees them.
 */
export async function runOnce(be: Backend, g: Graph, host: ReadonlyMap<Value, Float32Array>, outputs: Value[]) {
  const bound = new Map<Value, DeviceTensor>();
  for (const [v, d] of host) {
    const t = be.allocate(v.shape);
    be.write(t, d);
    bound.set(v, t);
  }
  const compiled = await compileGraph(be, g, bound, outputs);
  compiled.program.run();
  return { compiled, bound };
}

/**
 * The scalar L computed by the first `upto` nodes of `g` on the CPU
 * references in float64, from `given` values: what the gradient tests take
 * central differences of.
 */
export function lossF64(g: Graph, upto: number, given: ReadonlyMap<Value, HostArray>, L: Value): number {
  const vals = new Map(given);
  for (const node of g.nodes.slice(0, upto)) {
    const outs = node.outputs.map((o) => newHostArray(o.dtype, sizeOf(o.shape), 'f64'));
    node.kernel.cpu(node.inputs.map((v) => vals.get(v)!), outs, node.inputs, node.attrs);
    node.outputs.forEach((o, i) => vals.set(o, outs[i]));
  }
  return vals.get(L)![0];
}
