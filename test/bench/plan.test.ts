import { describe, expect, it } from 'vitest';
import { parseWorkloads, plan } from '../../bench/lib/plan.js';
import { flopsPerSample, INIT_SEED, initialWeights, inputSize, playgroundPoints, sampleShape, W4, W5, W6, warmupSamples } from '../../bench/workloads.js';
import { Random } from '../../src/index.js';
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
    const job = plan(o).find((pj) => pj.job.kind === 'lab')!.job;
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

describe('bench plan: W4, the CNN', () => {
  const w4Jobs = (o: PlanOptions) => plan(o).filter((pj) => pj.label.startsWith('train W4'));
  const samplesOf = (pj: ReturnType<typeof plan>[number]) => (pj.job.kind === 'train' ? pj.job.workloads.map((w) => `${w.id}:${w.samples}`) : []);

  it('runs one epoch of the 8,000 digits on every system in a job of its own, tfjs-cpu on 256 unless --all', () => {
    const jobs = w4Jobs(full);
    expect(jobs.map((pj) => pj.label)).toEqual(full.systems.map((s) => `train W4 ${s}`));
    for (const pj of jobs) expect(samplesOf(pj), pj.label).toEqual([pj.label.endsWith('tfjs-cpu') ? 'W4:256' : 'W4:8000']);
    expect(samplesOf(w4Jobs({ ...full, all: true }).at(-1)!)).toEqual(['W4:8000']);
    // The MLP jobs do not carry W4.
    for (const pj of plan(full).filter((p) => p.section === 'train' && !p.label.startsWith('train W4'))) expect(samplesOf(pj).some((s) => s.startsWith('W4'))).toBe(false);
  });

  it('is a CNN whose dense part starts at the flattened 5×5×64 and counts its convolutions\' FLOPs', () => {
    const w = W4(false);
    expect(w.layers).toEqual([1600, 128, 10]);
    expect(w.batch).toBe(64);
    // conv1 fwd+dW (no dX), conv2 fwd+dX+dW, dense 1600-128 and 128-10 each ×3.
    const expected = 2 * 26 * 26 * 9 * 32 * 2 + 2 * 11 * 11 * 9 * 32 * 64 * 3 + 2 * 1600 * 128 * 3 + 2 * 128 * 10 * 3;
    expect(flopsPerSample(w)).toBe(expected);
    const init = initialWeights(w);
    expect(init.shapes).toEqual([[3, 3, 1, 32], [3, 3, 32, 64], [1600, 128], [128, 10]]);
    // Keras' Glorot for a conv kernel: fan_in = 3·3·32, fan_out = 3·3·64.
    const limit = Math.sqrt(6 / (9 * 32 + 9 * 64));
    expect(Math.max(...init.kernels[1].map(Math.abs))).toBeLessThanOrEqual(limit);
    expect(Math.max(...init.kernels[1].map(Math.abs))).toBeGreaterThan(0.95 * limit);
    // MLPs draw the same weights as before W4 existed: the first kernel from the seed's first draws.
    const rng = new Random(INIT_SEED);
    const mlp = initialWeights({ layers: [784, 128, 10] });
    expect(mlp.shapes).toEqual([[784, 128], [128, 10]]);
    expect(mlp.kernels[0][0]).toBe(Math.fround(rng.uniform(-Math.sqrt(6 / 912), Math.sqrt(6 / 912))));
  });

  it('--quick: 512 digits, tfjs-cpu only with --all (128 digits); --workloads picks W4 alone', () => {
    const q = w4Jobs({ ...full, quick: true });
    expect(q.map((pj) => pj.label)).not.toContain('train W4 tfjs-cpu');
    for (const pj of q) expect(samplesOf(pj)).toEqual(['W4:512']);
    expect(samplesOf(w4Jobs({ ...full, quick: true, all: true }).at(-1)!)).toEqual(['W4:128']);
    const only = plan({ ...full, sections: ['train'], workloads: parseWorkloads('w4') });
    expect(only.map((pj) => pj.label)).toEqual(full.systems.map((s) => `train W4 ${s}`));
    const mlp = plan({ ...full, sections: ['train'], workloads: parseWorkloads('W1,W2') });
    expect(mlp.flatMap(samplesOf)).not.toContain('W4:8000');
    expect(() => parseWorkloads('W8')).toThrow(/unknown workload 'W8' \(known: W1, W2, W3, W4, W5, W6, W7\)/);
  });
});

describe('bench plan: W5, the Playground\'s network', () => {
  it('runs in a job of its own per system, in --quick too, and alone with --workloads W5', () => {
    for (const o of [full, { ...full, quick: true }]) {
      const jobs = plan(o).filter((pj) => pj.label.startsWith('train W5'));
      expect(jobs.map((pj) => pj.label)).toEqual(full.systems.map((s) => `train W5 ${s}`));
      for (const pj of jobs) expect(pj.job.kind === 'train' && pj.job.workloads.map((w) => w.id)).toEqual(['W5']);
    }
    // The MLP jobs do not carry it.
    for (const pj of plan(full).filter((p) => p.section === 'train' && !p.label.startsWith('train W5'))) expect(pj.job.kind === 'train' && pj.job.workloads.some((w) => w.id === 'W5')).toBe(false);
    const only = plan({ ...full, sections: ['train'], workloads: parseWorkloads('w5') });
    expect(only.map((pj) => pj.label)).toEqual(full.systems.map((s) => `train W5 ${s}`));
  });

  it('is the Playground\'s default: 250 circle points of x and y, 2-4-2-1, batch 10, 20 epochs a run, one epoch of warm-up', () => {
    expect(W5).toMatchObject({ layers: [2, 4, 2, 1], batch: 10, samples: 250, epochs: 20, playground: true });
    expect(warmupSamples(W5)).toBe(250);
    const d = playgroundPoints();
    expect(d.n).toBe(250);
    expect(d.features).toBe(2);
    expect(d.x).toHaveLength(500);
    expect(new Set(d.y)).toEqual(new Set([1, -1]));
    // The circle's rule at noise 0: +1 inside radius 2.5, −1 in the ring from 3.5 to 5.
    for (let i = 0; i < d.n; i++) expect(Math.hypot(d.x[2 * i], d.x[2 * i + 1]) < 2.5 ? 1 : -1).toBe(d.y[i]);
    expect(playgroundPoints().x).toEqual(d.x);
    expect(initialWeights(W5).shapes).toEqual([[2, 4], [4, 2], [2, 1]]);
  });
});

describe('bench plan: the kernel lab\'s conv2d section', () => {
  it('is a job of the lab section beside the matmul lab, only when webgrad-webgpu is asked for', () => {
    const labs = plan(full).filter((pj) => pj.section === 'lab').map((pj) => pj.job.kind);
    expect(labs).toEqual(['attention-lab', 'conv-lab', 'lab']);
    expect(plan({ ...full, systems: ['webgrad-cpu', 'tfjs-cpu'] }).some((pj) => pj.job.kind === 'conv-lab' || pj.job.kind === 'attention-lab')).toBe(false);
    const quick = plan({ ...full, quick: true }).find((pj) => pj.job.kind === 'conv-lab')!;
    expect(quick.job.maxRuns).toBe(1);
  });
});

describe('bench plan: W6, the LSTM', () => {
  const systems = [...full.systems, 'torch-cpu' as const];
  it('runs one epoch of the 8,000 digits (512 with --quick) on every system in a job of its own, tfjs-cpu on 1,024 unless --all or --quick', () => {
    for (const [quick, all, samples] of [[false, false, 8000], [true, false, 512], [false, true, 8000]] as const) {
      const jobs = plan({ ...full, systems, quick, all }).filter((pj) => pj.label.startsWith('train W6'));
      expect(jobs.map((pj) => pj.label)).toEqual(systems.map((s) => `train W6 ${s}`));
      for (const pj of jobs) {
        const n = pj.label.endsWith('tfjs-cpu') && !quick && !all ? 1024 : samples;
        expect(pj.job.kind === 'train' && pj.job.workloads.map((w) => `${w.id}:${w.samples}`), pj.label).toEqual([`W6:${n}`]);
      }
    }
    for (const pj of plan({ ...full, systems }).filter((p) => p.section === 'train' && !p.label.startsWith('train W6'))) expect(pj.job.kind === 'train' && pj.job.workloads.some((w) => w.id === 'W6')).toBe(false);
    const only = plan({ ...full, systems, sections: ['train'], workloads: parseWorkloads('w6') });
    expect(only.map((pj) => pj.label)).toEqual(systems.map((s) => `train W6 ${s}`));
  });

  it('is Keras\' LSTM 128 on 28 rows of 28 pixels, then dense 10: Glorot kernel, orthogonal recurrent kernel, the forget bias at 1', () => {
    const w = W6(false);
    expect(w).toMatchObject({ layers: [128, 10], lstm: { steps: 28, features: 28, units: 128 }, batch: 64, samples: 8000 });
    expect(sampleShape(w)).toEqual([28, 28]);
    expect(inputSize(w)).toBe(784);
    // 28 steps of the input projection (forward, dW) and the recurrent matmul (forward, dh, dW), then the dense layer's three.
    expect(flopsPerSample(w)).toBe(28 * (2 * 28 * 512 * 2 + 2 * 128 * 512 * 3) + 2 * 128 * 10 * 3);
    const init = initialWeights(w);
    expect(init.shapes).toEqual([[128, 10]]);
    const { kernel, recurrentKernel, bias } = init.lstm!;
    const limit = Math.sqrt(6 / (28 + 512));
    expect(kernel).toHaveLength(28 * 512);
    expect(Math.max(...kernel.map(Math.abs))).toBeLessThanOrEqual(limit);
    expect(Math.max(...kernel.map(Math.abs))).toBeGreaterThan(0.95 * limit);
    // [128, 512] with orthonormal rows: R·Rᵀ = I (float32 entries: 1e-5).
    for (const [i, j] of [[0, 0], [0, 1], [5, 127], [127, 127]]) {
      let dot = 0;
      for (let k = 0; k < 512; k++) dot += recurrentKernel[i * 512 + k] * recurrentKernel[j * 512 + k];
      expect(dot, `row ${i} · row ${j}`).toBeCloseTo(i === j ? 1 : 0, 5);
    }
    // Keras' gate order i, f, c, o: the second block of 128 is the forget gate's.
    expect([...bias].map((b, k) => (b === 1) === (k >= 128 && k < 256)).every(Boolean)).toBe(true);
    expect(new Set(bias)).toEqual(new Set([0, 1]));
  });
});

describe('bench plan: torch-cpu', () => {
  it('trains every workload W1–W7 (W3 but in --quick) and is left out of K1, S1 and the kernel lab', () => {
    const jobs = plan({ ...full, systems: ['webgrad-webgpu', 'torch-cpu'], sections: ['train', 'matmul', 'scaling', 'lab'] });
    const torch = jobs.filter((pj) => pj.label.includes('torch-cpu'));
    expect(torch.every((pj) => pj.section === 'train')).toBe(true);
    expect(torch.flatMap((pj) => (pj.job.kind === 'train' ? pj.job.workloads.map((w) => w.id) : [])).sort()).toEqual(['W1', 'W2', 'W3', 'W4', 'W5', 'W6', 'W7']);
    const quick = plan({ ...full, quick: true, systems: ['torch-cpu'], sections: ['train'] });
    expect(quick.flatMap((pj) => (pj.job.kind === 'train' ? pj.job.workloads.map((w) => w.id) : [])).sort()).toEqual(['W1', 'W2', 'W4', 'W5', 'W6', 'W7']);
  });
});

describe('bench plan: W7, the GPT', () => {
  const systems = [...full.systems, 'torch-cpu' as const];
  it('runs on webgrad WebGPU, webgrad CPU and torch-cpu only, each in a job of its own: 1,024 windows (128 with --quick), alone with --workloads W7', () => {
    for (const [quick, samples] of [[false, 1024], [true, 128]] as const) {
      const jobs = plan({ ...full, systems, quick }).filter((pj) => pj.label.startsWith('train W7'));
      expect(jobs.map((pj) => pj.label)).toEqual(['train W7 webgrad-webgpu', 'train W7 webgrad-cpu', 'train W7 torch-cpu']);
      for (const pj of jobs) expect(pj.job.kind === 'train' && pj.job.workloads.map((w) => `${w.id}:${w.samples}:${w.batch}`), pj.label).toEqual([`W7:${samples}:32`]);
    }
    for (const pj of plan({ ...full, systems }).filter((p) => p.section === 'train' && !p.label.startsWith('train W7'))) expect(pj.job.kind === 'train' && pj.job.workloads.some((w) => w.id === 'W7')).toBe(false);
    const only = plan({ ...full, systems, quick: true, sections: ['train'], workloads: parseWorkloads('w7') });
    expect(only.map((pj) => pj.label)).toEqual(['train W7 webgrad-webgpu', 'train W7 webgrad-cpu', 'train W7 torch-cpu']);
    expect(plan({ ...full, systems: ['tfjs-webgpu', 'tfjs-cpu'], sections: ['train'], workloads: ['W7'] })).toEqual([]);
  });
});
