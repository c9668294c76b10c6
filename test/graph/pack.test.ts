import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import type { DeviceTensor } from '../../src/backend/backend.js';
import { packLayout, VIEW_ALIGN } from '../../src/core/shape.js';
import { compileGraph } from '../../src/graph/executor.js';
import { fuse } from '../../src/graph/fuse.js';
import type { Value } from '../../src/graph/graph.js';
import { Graph } from '../../src/graph/graph.js';
import { accumulate, scale } from '../../src/ops/elementwise.js';
import { sgd } from '../../src/ops/optimizer.js';
import { reduceSum } from '../../src/ops/reduce.js';

describe('packLayout', () => {
  it('puts each tensor at the next multiple of VIEW_ALIGN', () => {
    expect(packLayout([[3, 5], [1], [VIEW_ALIGN], [VIEW_ALIGN + 1]])).toEqual({ offsets: [0, 64, 128, 192], size: 320 });
    expect(packLayout([])).toEqual({ offsets: [], size: 0 });
  });
});

/** Two params and their "gradients" (scaled copies), updated by one SGD launch over the packed values. */
function packedSgd() {
  const g = new Graph();
  const a = g.param('a', [2, 3]);
  const b = g.param('b', [70]);
  const grads = [g.op(scale, [a], { alpha: 2 }, 'da'), g.op(scale, [b], { alpha: -1 }, 'db')];
  const p = g.pack('params', [a, b]);
  const d = g.pack('grads', grads);
  const lr = g.input('lr', [1]);
  g.update(sgd, [d, lr], [p], {});
  return { g, a, b, p, d, grads, lr };
}

describe('Graph.pack', () => {
  it('lays members out with packLayout and refuses what cannot share a buffer', () => {
    const { g, p, a, b } = packedSgd();
    expect(p.shape).toEqual([64 + 128]);
    expect(g.packs.get(p)).toEqual({ members: [a, b], offsets: [0, 64] });
    expect(g.expand([p])).toEqual([p, a, b]);
    expect(g.expand([a])).toEqual([a, p]);
    expect(() => g.pack('again', [a])).toThrow(/'a' is already packed/);
    expect(() => g.pack('none', [])).toThrow(/pack 'none' has no members/);
    expect(() => g.pack('mixed', [g.param('c', [2]), g.state('s', [2])])).toThrow(/mixes param f32 'c' with state f32 's'/);
    expect(() => g.pack('inputs', [g.input('x', [2])])).toThrow(/inputs cannot be packed/);
    const c = g.param('c2', [2]);
    expect(() => g.pack('twice', [c, c])).toThrow(/names a value twice/);
  });

  it('keeps the launches that write members, since reading the packed value reads them', () => {
    const { g, grads } = packedSgd();
    expect(fuse(g)).toEqual({ pruned: 0, fused: 0 });
    expect(g.nodes.map((n) => n.kernel.name)).toEqual(['scale', 'scale', 'sgd']);
    expect(g.nodes.slice(0, 2).map((n) => n.outputs[0])).toEqual(grads);
  });

  it('compiles a packed temp into one zeroed buffer with its members as views, and updates every member in one launch', async () => {
    const be = new CpuBackend();
    const { g, a, b, p, d, grads, lr } = packedSgd();
    const rate = be.allocate([1]);
    be.write(rate, [0.5]);
    const arena = be.allocate(p.shape);
    be.write(arena, Float32Array.from({ length: arena.size }, (_, i) => i + 1));
    const bound = new Map<Value, DeviceTensor>([[p, arena], [lr, rate]]);
    const { offsets } = g.packs.get(p)!;
    [a, b].forEach((v, k) => bound.set(v, be.view(arena, offsets[k], v.shape)));
    const c = await compileGraph(be, g, bound);
    expect(c.stats.buffers).toBe(1); // the gradients' buffer, nothing else
    grads.forEach((v) => expect(c.tensor(v).base).toBe(c.tensor(d)));
    c.program.run();
    const got = await be.read(arena);
    // a ← a − 0.5·2a = 0; b ← b + 0.5·b; the padding after a: its gradient is 0, so it keeps its value.
    const want = Float32Array.from({ length: arena.size }, (_, i) => (i < 6 ? 0 : i < 64 ? i + 1 : i < 134 ? 1.5 * (i + 1) : i + 1));
    expect(Array.from(got)).toEqual(Array.from(want));
    expect(Array.from(await be.read(c.tensor(d))).slice(134)).toEqual(new Array(192 - 134).fill(0));
  });

  it('counts an in-place update of a member as a write of its packed value', () => {
    const g = new Graph();
    const s = [g.state('s1', [3]), g.state('s2', [1])];
    const all = g.pack('sums', s);
    g.update(accumulate, [g.op(reduceSum, [g.input('x', [3])], {})], [s[1]], { alpha: 1 });
    expect(g.expand(g.nodes[1].outputs)).toEqual([s[1], all]);
  });
});
