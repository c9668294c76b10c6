import type { Backend, DeviceTensor, Launch, Program } from '../backend/backend.js';
import { ValueError } from '../core/errors.js';
import { sizeOf } from '../core/shape.js';
import type { Graph, Value } from './graph.js';

/** A graph compiled for one backend: a program plus the temporaries it owns. */
export interface CompiledGraph {
  readonly program: Program;
  /** The device tensor behind every value, persistent and temporary. */
  tensor(v: Value): DeviceTensor;
  /** How many temporary buffers the plan needed, against how many values: for tests of reuse. */
  readonly stats: { temps: number; buffers: number; bytes: number };
  dispose(): void;
}

/**
 * Plans buffers by liveness and compiles the graph into one program.
 * Persistent values (inputs, params, state) come from `bound`; every temp
 * gets a buffer from an arena where values whose lifetimes do not overlap
 * share a buffer of the same size and dtype. `keep` temps (results the caller
 * reads) are never shared. A packed temp (graph.pack) gets a zeroed buffer of
 * its own for the whole program, its members views of it; a packed param or
 * state comes from `bound` with its members.
 */
export async function compileGraph(be: Backend, graph: Graph, bound: ReadonlyMap<Value, DeviceTensor>, keep: readonly Value[] = []): Promise<CompiledGraph> {
  // A view node's output shares its input's storage: liveness and keeping are the storage owner's.
  const owner = new Map<Value, Value>();
  const ownerOf = (v: Value) => owner.get(v) ?? v;
  for (const n of graph.nodes) if (n.kernel.view) owner.set(n.outputs[0], ownerOf(n.inputs[0]));
  const lastUse = new Map<Value, number>();
  graph.nodes.forEach((n, i) => n.inputs.forEach((v) => lastUse.set(ownerOf(v), i)));
  const kept = new Set([...keep, ...keep.map(ownerOf)]);

  const tensors = new Map<Value, DeviceTensor>(bound);
  const owned: DeviceTensor[] = [];
  const free = new Map<string, DeviceTensor[]>();
  const keyOf = (v: Value) => `${v.dtype}:${sizeOf(v.shape)}`;
  let temps = 0;

  // Packed temps are placed up front and never return to the arena.
  const placed = new Set<Value>();
  for (const [packed, { members, offsets }] of graph.packs) {
    if (packed.role !== 'temp') continue;
    const t = be.allocate(packed.shape, packed.dtype);
    be.write(t, packed.dtype === 'i32' ? new Int32Array(t.size) : new Float32Array(t.size)); // the padding between members stays 0
    owned.push(t);
    tensors.set(packed, t);
    members.forEach((m, k) => tensors.set(m, be.view(t, offsets[k], m.shape)));
    [packed, ...members].forEach((v) => placed.add(v));
  }

  const launches: Launch[] = [];
  graph.nodes.forEach((node, i) => {
    for (const v of node.inputs) {
      if (!tensors.has(v)) throw new ValueError(`compile: ${node.kernel.name} reads ${v.role} '${v.name}' which has no buffer (unbound input or used before it is written)`);
    }
    if (node.kernel.view) {
      // No launch: the output is a view of the input's storage.
      const [x] = node.inputs;
      tensors.set(node.outputs[0], viewAs(be, tensors.get(x)!, node.outputs[0]));
      return;
    }
    const outputs = node.outputs.map((v) => {
      if (v.role !== 'temp') {
        const t = tensors.get(v);
        if (!t) throw new ValueError(`compile: ${v.role} '${v.name}' is not bound to a tensor`);
        return t;
      }
      temps++;
      if (placed.has(v)) return tensors.get(v)!;
      const pool = free.get(keyOf(v));
      let t = kept.has(v) ? undefined : pool?.pop();
      if (!t) {
        t = be.allocate([sizeOf(v.shape)], v.dtype);
        owned.push(t);
      }
      tensors.set(v, t);
      return viewAs(be, t, v);
    });
    // Storage whose last reader is this node goes back to the arena now: later nodes may reuse it.
    for (const v of new Set([...node.inputs, ...node.outputs].map(ownerOf))) {
      if (v.role === 'temp' && !kept.has(v) && !placed.has(v) && (lastUse.get(v) ?? -1) <= i) {
        const key = keyOf(v);
        free.set(key, [...(free.get(key) ?? []), tensors.get(v)!]);
      }
    }
    launches.push({ kernel: node.kernel, inputs: node.inputs.map((v) => viewAs(be, tensors.get(v)!, v)), outputs, attrs: node.attrs });
  });

  const program = await be.compile(launches);
  return {
    program,
    tensor(v) {
      const t = tensors.get(v);
      if (!t) throw new ValueError(`compiled graph: no tensor for '${v.name}'`);
      return viewAs(be, t, v);
    },
    stats: { temps, buffers: owned.length, bytes: owned.reduce((s, t) => s + t.size * 4, 0) },
    dispose() {
      program.dispose();
      for (const t of owned) be.free(t);
    },
  };
}

/** Arena buffers are flat; each use sees the value's own shape, as a view (so storage sharing stays visible to the backend's checks). */
function viewAs(be: Backend, t: DeviceTensor, v: Value): DeviceTensor {
  if (t.shape.length === v.shape.length && t.shape.every((d, i) => d === v.shape[i])) return t;
  return be.view(t, 0, v.shape);
}
