import { describe, expect, it } from 'vitest';
import { plan } from '../../bench/lib/plan.js';
import type { PlanOptions } from '../../bench/lib/plan.js';

const full: PlanOptions = {
  quick: false,
  all: false,
  systems: ['webgrad-webgpu', 'webgrad-cpu', 'tfjs-webgpu', 'tfjs-wasm', 'tfjs-cpu'],
  sections: ['train', 'matmul', 'scaling', 'lab'],
  fp32Peak: 67000,
};

describe('bench plan --budget-scale', () => {
  it('multiplies every job\'s time budget and leaves the jobs, their work, run caps and timeouts alone', () => {
    const base = plan(full);
    const short = plan({ ...full, budgetScale: 0.3 });
    expect(short).toHaveLength(base.length);
    expect(new Set(base.map((pj) => pj.section))).toEqual(new Set(full.sections));
    short.forEach((pj, i) => {
      const { budgetSeconds, ...rest } = pj.job;
      const { budgetSeconds: baseBudget, ...baseRest } = base[i].job;
      expect(budgetSeconds, pj.label).toBeCloseTo(baseBudget * 0.3, 9);
      expect(rest, pj.label).toEqual(baseRest);
      expect({ ...pj, job: null }).toEqual({ ...base[i], job: null });
    });
  });

  it('is the plain plan when not given, or given 1', () => {
    expect(plan({ ...full, budgetScale: 1 })).toEqual(plan(full));
    expect(plan({ ...full, quick: true, budgetScale: 1 })).toEqual(plan({ ...full, quick: true }));
  });
});

describe('bench plan --fp32-peak', () => {
  const labShapes = (o: PlanOptions) => {
    const job = plan(o).find((pj) => pj.section === 'lab')!.job;
    return job.kind === 'lab' ? job.shapes.map((sh) => sh.label) : [];
  };
  it('adds the large squares and W3\'s big matmuls to the kernel lab, where a real GPU fills up', () => {
    const gpu = labShapes(full);
    expect(gpu).toEqual(expect.arrayContaining(['1024³', '2048³', '4096³', 'W3 fwd1', 'W3 fwd2', 'W3 dX2', 'W3 dW2']));
    const plain = labShapes({ ...full, fp32Peak: undefined });
    expect(plain).not.toContain('4096³');
    expect(plain.some((l) => l.startsWith('W3'))).toBe(false);
    expect(labShapes({ ...full, quick: true })).toEqual(['1024³']);
  });
});
