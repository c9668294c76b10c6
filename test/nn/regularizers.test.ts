import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { conv2d, dense, flatten, l1, l1l2, l2 } from '../../src/nn/layers.js';
import type { Regularizer } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import { modelFromBytes } from '../../src/nn/saving.js';
import { backends } from '../helpers/backends.js';
import { expectClose } from '../helpers/check.js';

const quiet = { verbose: 0 as const };

function data() {
  const r = new Random(11);
  const x = r.fill(new Float32Array(40 * 5), -1, 1);
  const y = Int32Array.from({ length: 40 }, (_, i) => (x[i * 5] + x[i * 5 + 1] > 0 ? 1 : 0));
  return { x: { data: x, shape: [40, 5] }, y: { data: y, shape: [40] } };
}

const net = (reg?: { kernel?: Regularizer; bias?: Regularizer }) =>
  sequential([dense(7, { activation: 'tanh', inputShape: [5], kernelRegularizer: reg?.kernel, biasRegularizer: reg?.bias }), dense(2, { activation: 'softmax', kernelRegularizer: reg?.kernel })], { seed: 5 });

const sumOf = (w: Float32Array, f: (v: number) => number) => Array.from(w).reduce((s, v) => s + f(v), 0);

describe("Keras' regularizers", () => {
  it('l1, l2 and l1l2 with Keras\' defaults; strings name them', () => {
    expect(l1()).toEqual({ l1: 0.01, l2: 0 });
    expect(l2(1e-4)).toEqual({ l1: 0, l2: 1e-4 });
    expect(l1l2({ l2: 0.5 })).toEqual({ l1: 0.01, l2: 0.5 });
    expect(dense(3, { kernelRegularizer: 'l2' }).config).toMatchObject({ kernelRegularizer: { l1: 0, l2: 0.01 } });
    // No regularizer, or a zero one, leaves the config as it was.
    expect('kernelRegularizer' in dense(3, { kernelRegularizer: l2(0) }).config).toBe(false);
  });

  it('refuses bad ones, naming the problem', () => {
    expect(() => l2(-1)).toThrow(/l2: the factor must be a number >= 0, got -1/);
    expect(() => l1l2({ l3: 1 } as never)).toThrow(/l1l2: unknown option 'l3'/);
    expect(() => dense(3, { kernelRegularizer: 'l22' })).toThrow(/kernelRegularizer.*"l22" is unknown \(did you mean 'l2'\?\)/);
    expect(() => dense(3, { kernel_regularizer: l2() } as never)).toThrow(/unknown option 'kernel_regularizer'.*kernelRegularizer/);
    expect(() => conv2d(3, 3, { biasRegularizer: { l2: -3 } as never })).toThrow(/biasRegularizer.*must be/);
  });
});

describe.each(backends)('regularized models on %s', (name) => {
  it('the reported loss is the data loss plus l1·Σ|w| + l2·Σw² of every regularized weight', async () => {
    const { x, y } = data();
    const reg = net({ kernel: l2(0.1), bias: l1(0.05) }).compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', backend: name });
    const plain = net().compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', backend: name });
    await reg.predict(x);
    const w = await reg.getWeights();
    plain.setWeights(w);
    const penalty = 0.1 * (sumOf(w[0], (v) => v * v) + sumOf(w[2], (v) => v * v)) + 0.05 * sumOf(w[1], Math.abs);
    expect(penalty).toBeGreaterThan(0.1);
    const [a, b] = [await reg.evaluate(x, y), await plain.evaluate(x, y)];
    expect(a.loss).toBeCloseTo(b.loss + penalty, 5);
    reg.dispose();
    plain.dispose();
  });

  it("the penalty's gradient joins the step: one SGD step with l2(f) is the plain step minus lr·2f·w", async () => {
    const { x, y } = data();
    const f = 0.05;
    const lr = 0.1;
    const step = async (reg: Regularizer | undefined) => {
      const m = net({ kernel: reg }).compile({ optimizer: { type: 'sgd', learningRate: lr }, loss: 'sparseCategoricalCrossentropy', backend: name });
      const before = (await m.predict(x), await m.getWeights());
      const h = await m.fit(x, y, { epochs: 1, batchSize: 40, ...quiet });
      const after = await m.getWeights();
      m.dispose();
      return { before, after, loss: h.history.loss[0] };
    };
    const [plain, reg] = [await step(undefined), await step(l2(f))];
    for (const i of [0, 2]) {
      const want = plain.after[i].map((v, j) => v - lr * 2 * f * plain.before[i][j]);
      expectClose(reg.after[i], want, { atol: 1e-6, rtol: 1e-5, why: 'float32 step; the penalty gradient added to the data gradient' }, `kernel ${i}`);
    }
    // Biases are not regularized here: the same step.
    expectClose(reg.after[1], plain.after[1], { atol: 1e-7, rtol: 1e-6, why: 'the same float32 computation' }, 'bias');
    // The epoch's loss (one step, before it) includes the penalty.
    const penalty = f * (sumOf(plain.before[0], (v) => v * v) + sumOf(plain.before[2], (v) => v * v));
    expect(reg.loss).toBeCloseTo(plain.loss + penalty, 5);
  });

  it('fused and unfused steps agree, a CNN kernel included; save and load keep the regularizers', async () => {
    const r = new Random(2);
    const xs = { data: r.fill(new Float32Array(12 * 36), 0, 1), shape: [12, 6, 6, 1] };
    const ys = { data: Int32Array.from({ length: 12 }, (_, i) => i % 3), shape: [12] };
    const build = (fuse: boolean) =>
      sequential([conv2d(3, 3, { activation: 'relu', inputShape: [6, 6, 1], kernelRegularizer: l1l2({ l1: 1e-3, l2: 1e-2 }) }), flatten(), dense(3, { activation: 'softmax', kernelRegularizer: l2(1e-3) })], { seed: 4 }).compile({
        optimizer: 'adam',
        loss: 'sparseCategoricalCrossentropy',
        backend: name,
        fuse,
      });
    const [a, b] = [build(true), build(false)];
    const [ha, hb] = [await a.fit(xs, ys, { epochs: 3, batchSize: 4, shuffle: false, ...quiet }), await b.fit(xs, ys, { epochs: 3, batchSize: 4, shuffle: false, ...quiet })];
    expectClose(ha.history.loss, hb.history.loss, { atol: 1e-6, rtol: 1e-5, why: 'fused and unfused float32 sums in different orders' }, 'loss');
    const back = modelFromBytes(await a.toBytes(), 'reg.safetensors');
    expect(back.layers[0].config).toMatchObject({ kernelRegularizer: { l1: 1e-3, l2: 1e-2 } });
    expect(back.layers[2].config).toMatchObject({ kernelRegularizer: { l1: 0, l2: 1e-3 } });
    expect((await back.evaluate(xs, ys)).loss).toBeCloseTo((await a.evaluate(xs, ys)).loss, 5);
    for (const m of [a, b, back]) m.dispose();
  });
});
