import { ValueError } from '../core/errors.js';
import type { DType, Shape, TensorInfo } from '../core/shape.js';
import { fmt, packLayout } from '../core/shape.js';
import type { Kernel } from '../ops/kernel.js';

/**
 * Where a value's buffer comes from. Persistent roles (input, param, state)
 * are owned by the caller and outlive a step; temps are planned by liveness.
 */
export type Role = 'input' | 'param' | 'state' | 'temp';

export interface Value extends TensorInfo {
  readonly id: number;
  readonly role: Role;
  readonly name: string;
}

/** A packed value's members and where each starts in it (graph.pack). */
export interface Pack {
  readonly members: readonly Value[];
  readonly offsets: readonly number[];
}

export interface Node {
  readonly kernel: Kernel<any>;
  readonly attrs: any;
  readonly inputs: readonly Value[];
  readonly outputs: readonly Value[];
}

/**
 * A recorded computation: values and the kernel launches between them, in
 * execution order. Layers record their forward pass here; autodiff appends
 * the backward pass; the optimizer appends its in-place updates.
 */
export class Graph {
  readonly values: Value[] = [];
  readonly nodes: Node[] = [];
  /** Packed values (graph.pack) and their members. */
  readonly packs = new Map<Value, Pack>();
  private packedIn = new Map<Value, Value>();

  input(name: string, shape: Shape, dtype: DType = 'f32'): Value {
    return this.value(name, shape, dtype, 'input');
  }

  param(name: string, shape: Shape): Value {
    return this.value(name, shape, 'f32', 'param');
  }

  /** Persistent, not trained: optimizer slots, metric accumulators. */
  state(name: string, shape: Shape, dtype: DType = 'f32'): Value {
    return this.value(name, shape, dtype, 'state');
  }

  /** A new temp value that no node writes yet: for passes that rewrite nodes in place (graph/fuse.ts). */
  temp(name: string, shape: Shape, dtype: DType = 'f32'): Value {
    return this.value(name, shape, dtype, 'temp');
  }

  /** Records a kernel writing new values; returns them. Shapes are checked now, not when it runs. */
  apply<A>(kernel: Kernel<A>, inputs: readonly Value[], attrs: A, name = kernel.name): Value[] {
    if (kernel.inout) throw new ValueError(`graph: ${kernel.name} updates its outputs in place; record it with update()`);
    const infos = kernel.outputs(inputs, attrs);
    const outputs = infos.map((o, i) => this.value(infos.length > 1 ? `${name}.${i}` : name, o.shape, o.dtype, 'temp'));
    this.nodes.push({ kernel, attrs, inputs, outputs });
    return outputs;
  }

  /** The single output of `apply`. */
  op<A>(kernel: Kernel<A>, inputs: readonly Value[], attrs: A, name?: string): Value {
    const out = this.apply(kernel, inputs, attrs, name);
    if (out.length !== 1) throw new ValueError(`graph: ${kernel.name} has ${out.length} outputs; use apply()`);
    return out[0];
  }

  /** Records an in-place kernel (optimizer update, accumulation) on persistent values. */
  update<A>(kernel: Kernel<A>, inputs: readonly Value[], targets: readonly Value[], attrs: A): void {
    if (!kernel.inout) throw new ValueError(`graph: ${kernel.name} does not update in place; record it with apply()`);
    for (const t of targets) {
      if (t.role === 'temp' || t.role === 'input') throw new ValueError(`graph: ${kernel.name} may only update params or state, not ${t.role} ${t.name}`);
    }
    const infos = kernel.outputs(inputs, attrs);
    infos.forEach((o, i) => {
      const t = targets[i];
      if (!t || o.dtype !== t.dtype || fmt(o.shape) !== fmt(t.shape)) {
        throw new ValueError(`graph: ${kernel.name} output ${i} must be ${fmt(o)}, got ${t ? fmt(t) : 'nothing'}`);
      }
    });
    this.nodes.push({ kernel, attrs, inputs, outputs: targets });
  }

  /**
   * A flat value whose storage holds `members`, each at the offset packLayout
   * gives it: one launch can then update them all (one optimizer dispatch for
   * every weight). Members share a role and dtype and belong to one pack.
   * Reading the packed value reads every member, writing it writes them
   * (`expand`). A packed temp gets one buffer, and its members views of it;
   * for a param or state the caller binds the packed value and its members
   * consistently (the same packLayout).
   */
  pack(name: string, members: readonly Value[]): Value {
    const first = members[0];
    if (!first) throw new ValueError(`graph: pack '${name}' has no members`);
    for (const m of members) {
      if (m.role !== first.role || m.dtype !== first.dtype) throw new ValueError(`graph: pack '${name}' mixes ${first.role} ${first.dtype} '${first.name}' with ${m.role} ${m.dtype} '${m.name}'`);
      if (this.packedIn.has(m) || this.packs.has(m)) throw new ValueError(`graph: '${m.name}' is already packed`);
    }
    if (first.role === 'input') throw new ValueError(`graph: pack '${name}': inputs cannot be packed`);
    if (new Set(members).size !== members.length) throw new ValueError(`graph: pack '${name}' names a value twice`);
    const { offsets, size } = packLayout(members.map((m) => m.shape));
    const v = this.value(name, [size], first.dtype, first.role);
    this.packs.set(v, { members, offsets });
    for (const m of members) this.packedIn.set(m, v);
    return v;
  }

  /** The values `vs` touch: each, the members of a packed one, and the packed value holding a member. */
  expand(vs: readonly Value[]): Value[] {
    const out = new Set<Value>();
    for (const v of vs) {
      out.add(v);
      for (const m of this.packs.get(v)?.members ?? []) out.add(m);
      const holder = this.packedIn.get(v);
      if (holder) out.add(holder);
    }
    return [...out];
  }

  /**
   * Removes the launches from `from` on whose outputs are all temps that no
   * later launch reads and `keep` lacks; in-place updates always stay.
   * Returns how many were removed.
   */
  prune(keep: Iterable<Value>, from = 0): number {
    const read = new Set<Value>(keep);
    const live = new Set<Node>();
    for (let i = this.nodes.length - 1; i >= from; i--) {
      const n = this.nodes[i];
      if (!n.kernel.inout && n.outputs.every((o) => o.role === 'temp' && !read.has(o))) continue;
      live.add(n);
      this.expand(n.inputs).forEach((v) => read.add(v));
    }
    const before = this.nodes.length;
    const kept = this.nodes.filter((n, i) => i < from || live.has(n));
    this.nodes.splice(0, before, ...kept);
    return before - kept.length;
  }

  private value(name: string, shape: Shape, dtype: DType, role: Role): Value {
    const v: Value = { id: this.values.length, name, shape: [...shape], dtype, role };
    this.values.push(v);
    return v;
  }
}
