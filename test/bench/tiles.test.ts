import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebGPUBackend } from '../../src/backend/webgpu/backend.js';
import type { MatmulAttrs } from '../../src/ops/matmul.js';
import { checkMatmul } from '../../bench/kernels/check.js';
import { tileKernel, tileNeeds, tileShader, tileVariants } from '../../bench/kernels/tiles.js';

/**
 * The kernel lab's workgroup-memory tile family is timed on real GPUs only,
 * so a wrong variant would first show itself there: each one is checked here,
 * on the software adapter, in all four transpose forms, against matmul's CPU
 * reference in float64 within the γ_K·(|A||B|) bound (checkMatmul returns the
 * largest error as a fraction of it; an unwritten element is NaN, ratio ∞).
 */
// [M, K, N]: a single element, primes, one row past a tile's edge, K off every k step.
const SHAPES: [number, number, number][] = [[1, 1, 1], [65, 33, 129], [131, 19, 257], [7, 40, 3]];
const FORMS: MatmulAttrs[] = [{}, { transA: true }, { transB: true }, { transA: true, transB: true }];

describe('kernel lab tile variants on WebGPU', () => {
  let be: WebGPUBackend;
  beforeAll(async () => (be = (await WebGPUBackend.create()) as WebGPUBackend));
  afterAll(() => be?.dispose());

  for (const v of tileVariants()) {
    it(`${v.name} matches the CPU reference in every form`, async () => {
      const need = tileNeeds(v);
      expect(need.invocations, 'fits the WebGPU core default of 256 invocations').toBeLessThanOrEqual(256);
      if (need.storage > be.ctx.maxWorkgroupStorageSize) return;
      const kernel = tileKernel(v);
      for (const form of FORMS) {
        for (const [M, K, N] of SHAPES) {
          const ratio = await checkMatmul(be, kernel, M, K, N, form, M * 31 + K * 7 + N);
          expect(ratio, `${v.name} ${form.transA ? 'Aᵀ' : 'A'}·${form.transB ? 'Bᵀ' : 'B'} ${M}×${K}×${N}`).toBeLessThanOrEqual(1);
        }
      }
    });
  }

  it('names each variant after its tile, k step and outputs per invocation', () => {
    const names = tileVariants().map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain('t128x128k8_8x8');
    expect(tileShader(tileVariants()[0])).toMatch(/@workgroup_size\(16, 16\)/);
  });
});
