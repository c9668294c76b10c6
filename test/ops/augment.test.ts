import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, DeviceTensor } from '../../src/backend/backend.js';
import { gradients } from '../../src/graph/autodiff.js';
import { compileGraph } from '../../src/graph/executor.js';
import { Graph } from '../../src/graph/graph.js';
import { translate, translation } from '../../src/ops/augment.js';
import { activation } from '../../src/ops/activation.js';
import { reduceSum } from '../../src/ops/reduce.js';
import { backends, gpuOnly } from '../helpers/backends.js';
import { expectClose, FD_TOL, numericGradient, randn, reference, rng, runOn, tensor } from '../helpers/check.js';

/* Random whole-pixel translation of NHWC images, the op under RandomTranslation in training; input 1 is the step number. */
const at = (step: number) => tensor([1], [step], 'i32');

describe('the moves', () => {
  it('are uniform over [−max, max] in each direction, independent of the sample index', () => {
    const counts = new Map<string, number>();
    const n = 50_000;
    for (let i = 0; i < n; i++) {
      const key = translation(9, 4, i, 2, 1).join();
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    // 5 × 3 = 15 moves, each n/15 expected: within 5σ of the binomial.
    expect(counts.size).toBe(15);
    const p = 1 / 15;
    for (const [key, c] of counts) expect(Math.abs(c / n - p), key).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n));
    expect(translation(9, 4, 0, 0, 0)).toEqual([0, 0]);
  });

  it('are drawn anew at every step: another step moves the same sample independently', () => {
    const n = 20_000;
    let same = 0;
    for (let i = 0; i < n; i++) if (translation(9, 4, i, 2, 2).join() === translation(9, 5, i, 2, 2).join()) same++;
    // Independent moves among 25 agree with probability 1/25: within 5σ.
    const p = 1 / 25;
    expect(Math.abs(same / n - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n));
  });
});

describe.each(backends)('translate on %s', (name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  // One pixel, odd sizes, moves larger than the image, MNIST-sized batches, and on WebGPU more than 65,535 workgroups
  // (the CPU backend has no grid: it runs the reference's loop, which the MNIST-sized case already takes through).
  it.each([
    [[1, 1, 1, 1], 1, 1],
    [[3, 11, 9, 5], 2, 3],
    [[2, 5, 7, 3], 9, 9],
    [[64, 28, 28, 1], 2, 2],
    ...gpuOnly(name, [[257, 32, 32, 8], 3, 1] as const),
  ] as const)('x %j, ±%i rows, ±%i columns: exactly the reference, both ways', async (shape, maxDy, maxDx) => {
    const x = randn(rng(shape[1]), [...shape]);
    for (const sign of [1, -1] as const) {
      const attrs = { maxDy, maxDx, seed: 77, sign };
      const [got] = await runOn(be, translate, [x, at(shape[0])], attrs);
      // A copy or a 0: nothing is computed, so nothing may differ.
      expect(Array.from(got)).toEqual(Array.from(reference(translate, [x, at(shape[0])], attrs)[0]));
    }
  });

  it('the gradient through autodiff is the moves undone: d(x) of Σ tanh(translate(x)) against finite differences', async () => {
    const shape = [3, 5, 4, 2];
    const attrs = { maxDy: 2, maxDx: 2, seed: 4 };
    const g = new Graph();
    const x = g.param('x', shape);
    const step = g.input('step', [1], 'i32');
    const L = g.op(reduceSum, [g.op(activation, [g.op(translate, [x, step], attrs)], { kind: 'tanh' })], {}, 'L');
    const grads = gradients(g, L, [x]);
    const data = randn(rng(8), shape);
    const t = be.allocate(shape);
    be.write(t, data.data);
    const s = be.allocate([1], 'i32');
    be.write(s, Int32Array.of(3));
    const compiled = await compileGraph(be, g, new Map<typeof x, DeviceTensor>([[x, t], [step, s]]), [grads.get(x)!]);
    compiled.program.run();
    const got = await be.read(compiled.tensor(grads.get(x)!));
    const f = (v: Float64Array) => reference(translate, [{ info: data.info, data: v }, at(3)], attrs)[0].reduce((s, y) => s + Math.tanh(y), 0);
    expectClose(got, numericGradient(f, Float64Array.from(data.data)), { atol: 1e-6, rtol: 1e-5, why: "float32 tanh' against float64 differences" }, 'd(x)');
    compiled.dispose();
    be.free(t);
    be.free(s);
  });
});

describe('translate against finite differences and its adjoint (CPU reference)', () => {
  it('⟨T x, y⟩ = ⟨x, Tᵀ y⟩: the moves undone are the adjoint', () => {
    const x = randn(rng(1), [4, 6, 5, 3]);
    const y = randn(rng(2), [4, 6, 5, 3]);
    const attrs = { maxDy: 2, maxDx: 3, seed: 11 };
    const tx = reference(translate, [x, at(8)], attrs)[0];
    const ty = reference(translate, [y, at(8)], { ...attrs, sign: -1 as const })[0];
    const a = tx.reduce((s, v, i) => s + v * y.data[i], 0);
    const b = ty.reduce((s, v, i) => s + v * x.data[i], 0);
    expect(Math.abs(a - b)).toBeLessThan(1e-9);
    const loss = (v: Float64Array) => reference(translate, [{ info: x.info, data: v }, at(8)], attrs)[0].reduce((s, e, i) => s + e * y.data[i], 0);
    expectClose(ty, numericGradient(loss, Float64Array.from(x.data)), FD_TOL, 'd(x)');
  });

  it('refuses what it cannot do, naming it', () => {
    const step = { shape: [1], dtype: 'i32' as const };
    expect(() => translate.outputs([{ shape: [3, 4], dtype: 'f32' }, step], { maxDy: 1, maxDx: 1, seed: 0 })).toThrow(/translate: x must be f32 images \[n, h, w, c\], got f32\[3, 4\]/);
    expect(() => translate.outputs([{ shape: [1, 3, 4, 1], dtype: 'f32' }, step], { maxDy: 1.5, maxDx: 1, seed: 0 })).toThrow(/maxDy must be a whole number of pixels/);
    expect(() => translate.outputs([{ shape: [1, 3, 4, 1], dtype: 'f32' }], { maxDy: 1, maxDx: 1, seed: 0 })).toThrow(/translate: input 1 must be the step number, i32\[1\], got nothing/);
  });
});
