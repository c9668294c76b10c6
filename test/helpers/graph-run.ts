import type { Backend, DeviceTensor } from '../../src/backend/backend.js';
import { compileGraph } from '../../src/graph/executor.js';
import type { Graph, Value } from '../../src/graph/graph.js';

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
