import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { CpuBackend } from '../../src/backend/cpu.js';
import { WebGPUBackend } from '../../src/backend/webgpu/backend.js';
import { acquireDevice } from '../../src/backend/webgpu/device.js';
import { AdapterError, GpuError } from '../../src/core/errors.js';
import { f32, VIEW_ALIGN } from '../../src/core/shape.js';
import { defineKernel } from '../../src/ops/kernel.js';
import { scale } from '../../src/ops/elementwise.js';
import { backends } from '../helpers/backends.js';

describe.each(backends)('%s backend', (name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  it('round-trips f32 and i32 data', async () => {
    const x = be.allocate([2, 3]);
    be.write(x, [1.5, -2, 3, 0, 1e-30, 3e38]);
    expect(Array.from(await be.read(x))).toEqual(Array.from(Float32Array.from([1.5, -2, 3, 0, 1e-30, 3e38])));
    const l = be.allocate([4], 'i32');
    be.write(l, [0, 9, -1, 2147483647]);
    const back = await be.read(l);
    expect(back).toBeInstanceOf(Int32Array);
    expect(Array.from(back)).toEqual([0, 9, -1, 2147483647]);
  });

  it('orders writes after the launches queued before them', async () => {
    const x = be.allocate([3]);
    const y = be.allocate([3]);
    be.write(x, [1, 2, 3]);
    be.run(scale, [x], [y], { alpha: 2 });
    be.write(x, [10, 20, 30]); // must not leak into the launch above
    expect(Array.from(await be.read(y))).toEqual([2, 4, 6]);
    be.run(scale, [x], [y], { alpha: 2 });
    expect(Array.from(await be.read(y))).toEqual([20, 40, 60]);
  });

  it('refuses misuse with messages that name the problem', () => {
    const x = be.allocate([3]);
    expect(() => be.write(x, [1, 2])).toThrow(/holds 3 values, got 2/);
    const l = be.allocate([2], 'i32');
    expect(() => be.write(l, [1, 0.5])).toThrow(/non-integer 0.5 at index 1/);
    expect(() => be.run(scale, [x], [x], { alpha: 1 })).toThrow(/both an input and an output/);
    const other = new CpuBackend().allocate([3]);
    if (name !== 'cpu') expect(() => be.run(scale, [other], [x], { alpha: 1 })).toThrow(/cpu tensor was passed to the webgpu backend/);
    be.free(x);
    expect(() => be.write(x, [1, 2, 3])).toThrow(/used after free/);
    expect(() => be.allocate([2, -1])).toThrow(/bad dimension/);
  });

  it('a view shares its tensor storage: writes, reads and launches land at its offset', async () => {
    const base = be.allocate([3 * VIEW_ALIGN]);
    be.write(base, new Float32Array(base.size).fill(-1));
    const a = be.view(base, VIEW_ALIGN, [2, 3]);
    const b = be.view(base, 2 * VIEW_ALIGN, [VIEW_ALIGN]); // reaches the last element
    be.write(a, [1, 2, 3, 4, 5, 6]);
    // One launch may not read one view of a buffer and write another: WebGPU forbids it.
    expect(() => be.run(scale, [a], [be.view(b, 0, [2, 3])], { alpha: 10 })).toThrow(/scale: output f32\[2, 3\] shares its storage \(a view\) with an input/);
    const src = be.allocate([VIEW_ALIGN + 6]);
    be.write(src, Float32Array.from({ length: src.size }, (_, i) => i - VIEW_ALIGN + 1));
    be.run(scale, [be.view(src, VIEW_ALIGN, [2, 3])], [be.view(b, 0, [2, 3])], { alpha: 10 });
    be.free(src);
    const all = await be.read(base);
    expect(Array.from(all.subarray(VIEW_ALIGN - 1, VIEW_ALIGN + 7))).toEqual([-1, 1, 2, 3, 4, 5, 6, -1]);
    expect(Array.from(all.subarray(2 * VIEW_ALIGN - 1, 2 * VIEW_ALIGN + 7))).toEqual([-1, 10, 20, 30, 40, 50, 60, -1]);
    expect(Array.from(await be.read(a))).toEqual([1, 2, 3, 4, 5, 6]);
    // A view of a view starts at the sum of the offsets.
    const inner = be.view(be.view(base, VIEW_ALIGN, [2 * VIEW_ALIGN]), VIEW_ALIGN, [1]);
    be.write(inner, [7]);
    expect((await be.read(base))[2 * VIEW_ALIGN]).toBe(7);
    expect(() => be.view(base, 3, [1])).toThrow(/offset must be a whole multiple of 64 elements/);
    expect(() => be.view(base, 2 * VIEW_ALIGN, [VIEW_ALIGN + 1])).toThrow(/runs past the end of f32\[192\]/);
    expect(() => be.free(a)).toThrow(/free\(\) of a view.*free the tensor it views/);
    be.free(base);
    expect(() => be.write(a, [1, 2, 3, 4, 5, 6])).toThrow(/used after free/);
  });

  it('describes its device', () => {
    const d = be.describe();
    expect(d.backend).toBe(name);
    if (name === 'webgpu') {
      expect(d.limits.maxComputeInvocationsPerWorkgroup).toBeGreaterThanOrEqual(64);
      expect(d.device + d.description + d.vendor).not.toBe('');
    }
  });
});

describe('webgpu backend internals', () => {
  let be: WebGPUBackend;
  beforeAll(async () => {
    if (!backends.some(([n]) => n === 'webgpu')) return;
    be = await WebGPUBackend.create();
  });
  afterAll(() => be?.dispose());
  const gpuIt = backends.some(([n]) => n === 'webgpu') ? it : it.skip;

  gpuIt('reuses freed buffers of the same size instead of allocating', () => {
    const first = be.allocate([1000]);
    be.free(first);
    const before = be.bufferCount;
    for (let i = 0; i < 50; i++) be.free(be.allocate([1000]));
    expect(be.bufferCount).toBe(before);
  });

  gpuIt('queues writes behind recorded launches in the same submit, each launch seeing its own data', async () => {
    const x = be.allocate([3]);
    const ys = [be.allocate([3]), be.allocate([3]), be.allocate([3])];
    await be.sync();
    const before = be.counters.submits;
    ys.forEach((y, i) => {
      be.write(x, [1 + i, 2 + i, 3 + i]); // the launch recorded before it must still see the previous values
      be.run(scale, [x], [y], { alpha: 2 });
    });
    await be.sync();
    expect(be.counters.submits - before).toBe(1);
    for (const [i, y] of ys.entries()) expect(Array.from(await be.read(y))).toEqual([2 + 2 * i, 4 + 2 * i, 6 + 2 * i]);
  });

  gpuIt('orders data written between runs of a compiled program behind the earlier runs, without a submit', async () => {
    // What training relies on: the step number and the rate are written before each run, like the batch.
    const x = be.allocate([2]);
    const y = be.allocate([2]);
    const z = be.allocate([2]);
    be.write(x, [1, -3]);
    const program = await be.compile([{ kernel: scale, inputs: [x], outputs: [y], attrs: { alpha: 2 } }]);
    const copy = await be.compile([{ kernel: scale, inputs: [y], outputs: [z], attrs: { alpha: 1 } }]);
    await be.sync();
    const before = be.counters.submits;
    program.run(); // y = 2x
    copy.run(); // z = y, before x changes
    be.write(x, [5, 7]);
    program.run(); // y = 2x with the new x
    await be.sync();
    expect(be.counters.submits - before).toBe(1);
    expect(Array.from(await be.read(z))).toEqual([2, -6]);
    expect(Array.from(await be.read(y))).toEqual([10, 14]);
    program.dispose();
    copy.dispose();
  });

  const broken = defineKernel<Record<string, never>>({
    name: 'brokenKernel',
    shader: { name: 'broken_test', code: '@compute @workgroup_size(1) fn main() { let x: u32 = 1.5; }' },
    outputs: () => [f32([1])],
    cpu: () => {},
    gpu: () => ({ entry: 'main', params: [], workgroups: [1, 1, 1] }),
  });

  gpuIt('turns a WGSL compile error into an exception naming the kernel and the file', async () => {
    const out = be.allocate([1]);
    be.run(broken, [], [out], {});
    await expect(be.sync()).rejects.toThrow(/WGSL compile error in shaders\/broken_test\.wgsl \(kernel brokenKernel\)/);
    await expect(be.prepare(broken, [], [out], {})).rejects.toThrow(GpuError);
  });

  gpuIt('turns a binding mismatch into an exception naming the kernel', async () => {
    // The WGSL reads a uniform the launch does not provide: a validation error, not console noise.
    const mismatched = defineKernel<Record<string, never>>({
      name: 'mismatchedKernel',
      shader: {
        name: 'mismatched_test',
        code: '@group(0) @binding(0) var<storage, read_write> o: array<f32>;\n@group(0) @binding(1) var<uniform> u: vec4f;\n@compute @workgroup_size(1) fn main() { o[0] = u.x; }',
      },
      outputs: () => [f32([1])],
      cpu: () => {},
      gpu: () => ({ entry: 'main', params: [], workgroups: [1, 1, 1] }),
    });
    const out = be.allocate([1]);
    be.run(mismatched, [], [out], {});
    await expect(be.sync()).rejects.toThrow(/mismatchedKernel/);
  });
});

describe('adapter acquisition', () => {
  it('says what it tried and how to get an adapter when there is none', async () => {
    vi.stubGlobal('navigator', { gpu: { requestAdapter: async () => null } });
    try {
      const err = await acquireDevice().catch((e) => e);
      expect(err).toBeInstanceOf(AdapterError);
      expect(err.message).toMatch(/No WebGPU adapter found\. Tried: navigator\.gpu \(core\): none; navigator\.gpu \(compatibility\): none/);
      expect(err.message).toMatch(/apt-get install -y libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri/);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
