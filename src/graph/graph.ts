import { ValueError } from '../core/errors.js';
import type { DType, Shape, TensorInfo } from '../core/shape.js';
import { fmt } from '../core/shape.js';
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
      n.inputs.forEach((v) => read.add(v));
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
