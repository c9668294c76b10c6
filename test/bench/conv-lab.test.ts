import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import { WebGPUBackend } from '../../src/backend/webgpu/backend.js';
import type { Backend } from '../../src/index.js';
import type { ConvVariant } from '../../bench/kernels/conv.js';
import { CONV_CHECK_CASES, checkConvVariant, convFlops, convVariants } from '../../bench/kernels/conv.js';
import { runConvLab, w4ConvCases } from '../../bench/kernels/conv-lab.js';

/**
 * The kernel lab's conv2d section times only variants that match conv2d's
 * float64 CPU reference (checkConvVariant: the largest error as a fraction of
 * the γ_K·Σ|products| bound, ≤ 1 passes). Here every variant must pass on both
 * backends, and two plausible bugs must be caught and never timed.
 */
const byName = (pass: string, name: string) => convVariants().find((v) => v.pass === pass && v.name === name)!;

/** The direct forward with its dilation dropped: the same output shape under 'same' padding, other values. */
const noDilation: ConvVariant = {
  name: 'broken: dilation dropped',
  pass: 'forward',
  prepare: (be, c, a, b, out) => byName('forward', 'direct').prepare(be, { ...c, attrs: { ...c.attrs, dilation: undefined } }, a, b, out),
};

/** The lowered forward with im2col's kernel size given as [kw, kh]: the same cols width for kh·kw, columns in the wrong order. */
const swappedKernel: ConvVariant = {
  name: 'broken: kernelSize swapped',
  pass: 'forward',
  prepare: (be, c, a, b, out) => byName('forward', 'im2col + matmul').prepare(be, { ...c, k: [c.k[1], c.k[0], c.k[2], c.k[3]] }, a, b, out),
};

describe.each([
  ['cpu', async (): Promise<Backend> => new CpuBackend()],
  ['webgpu', async (): Promise<Backend> => WebGPUBackend.create()],
])('kernel lab conv2d variants on %s', (_name, open) => {
  let be: Backend;
  beforeAll(async () => (be = await open()));
  afterAll(() => be?.dispose());

  it('has the direct and lowered variant of every pass, and each matches the CPU reference', async () => {
    const names = convVariants().map((v) => `${v.pass} ${v.name}`);
    expect(names).toEqual(['forward direct', 'forward im2col + matmul', 'dX direct', 'dX im2col + matmul', 'dW direct', 'dW im2col + matmul']);
    for (const v of convVariants()) expect(await checkConvVariant(be, v), `${v.pass} ${v.name}`).toBeLessThanOrEqual(1);
  });

  it('refuses a variant that drops the dilation or swaps the kernel\'s axes', async () => {
    expect(CONV_CHECK_CASES.some((c) => c.attrs.dilation && c.attrs.padding === 'same')).toBe(true);
    expect(await checkConvVariant(be, noDilation)).toBeGreaterThan(10);
    expect(await checkConvVariant(be, swappedKernel)).toBeGreaterThan(10);
  });
});

describe('kernel lab conv2d section', () => {
  it('times W4\'s two convolutions at batch 64 and reports a failing variant as failed, untimed', async () => {
    const cases = w4ConvCases();
    expect(cases.map((c) => [c.label, c.x, c.k])).toEqual([
      ['W4 conv1', [64, 28, 28, 1], [3, 3, 1, 32]],
      ['W4 conv2', [64, 13, 13, 32], [3, 3, 32, 64]],
    ]);
    expect(convFlops(cases[1])).toBe(2 * 64 * 11 * 11 * 9 * 32 * 64);
    // A small case keeps the timing short; the point is which variants get timed.
    const small = [{ label: 'small', x: [4, 10, 10, 3] as [number, number, number, number], k: [3, 3, 3, 8] as [number, number, number, number], attrs: {} }];
    const r = await runConvLab(small, 0.1, 1, [noDilation, byName('forward', 'direct')], false);
    const broken = r.conv!.find((f) => f.variant === noDilation.name)!;
    expect(broken.gflops).toBeNull();
    expect(broken.error).toMatch(/differs from the CPU reference/);
    const good = r.conv!.find((f) => f.variant === 'direct')!;
    expect(good.error).toBeUndefined();
    expect(good.gflops!.median).toBeGreaterThan(0);
  }, 60_000);
});
