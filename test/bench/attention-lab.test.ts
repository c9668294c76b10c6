import { describe, expect, it } from 'vitest';
import { runAttentionLab } from '../../bench/kernels/attention-lab.js';

/**
 * The kernel lab's attention section on a small causal case: the fused op and
 * the plain composition both agree with the float64 reference (which the lab
 * checks before timing) and are timed, with their launch counts.
 */
describe('kernel lab: attention', () => {
  it('checks and times the fused op and the composition, forward and backward', async () => {
    const { device, attention = [] } = await runAttentionLab([{ label: 'B2 H2 T16 D4', B: 2, H: 2, T: 16, D: 4 }], 0, 1);
    expect(device).toMatch(/./);
    expect(attention.map((f) => `${f.variant} ${f.pass} ${f.launches}`)).toEqual([
      'fused forward 1',
      'fused backward 4',
      // per head (B·H = 4): 2 matmuls forward, 4 backward; plus scale, add, softmax / softmaxBackward, scale
      'composition forward 11',
      'composition backward 18',
    ]);
    for (const f of attention) {
      expect(f.error, `${f.variant} ${f.pass}`).toBeUndefined();
      expect(f.maxError).toBeLessThan(1e-5);
      expect(f.ms!.median).toBeGreaterThan(0);
    }
  });
});
