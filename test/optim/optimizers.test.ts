import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/graph/graph.js';
import { learningRateAt, makeOptimizer } from '../../src/optim/optimizers.js';
import { f32 } from '../../src/core/shape.js';
import { reference } from '../helpers/check.js';

describe('learning-rate schedules', () => {
  it('cosineDecay falls from the initial rate to alpha·initial over decaySteps, then stays', () => {
    const s = { type: 'cosineDecay' as const, initialLearningRate: 0.1, decaySteps: 100, alpha: 0.1 };
    expect(learningRateAt(s, 1)).toBeCloseTo(0.1, 12); // Keras evaluates at iteration step − 1 = 0
    expect(learningRateAt(s, 51)).toBeCloseTo(0.1 * (0.9 * 0.5 + 0.1), 12);
    expect(learningRateAt(s, 101)).toBeCloseTo(0.01, 12);
    expect(learningRateAt(s, 500)).toBeCloseTo(0.01, 12);
  });

  it('exponentialDecay multiplies by decayRate every decaySteps, smoothly or in stairs', () => {
    const s = { type: 'exponentialDecay' as const, initialLearningRate: 1, decaySteps: 10, decayRate: 0.5 };
    expect(learningRateAt(s, 11)).toBeCloseTo(0.5, 12);
    expect(learningRateAt(s, 6)).toBeCloseTo(Math.SQRT1_2, 12);
    expect(learningRateAt({ ...s, staircase: true }, 6)).toBe(1);
  });

  it('a constant rate is itself at every step', () => {
    expect(learningRateAt(0.003, 1)).toBe(0.003);
    expect(learningRateAt(0.003, 1e6)).toBe(0.003);
  });
});

describe('makeOptimizer', () => {
  it("uses Keras' defaults and gives each step's rate (and Adam's bias corrections) as the update's values", () => {
    expect(makeOptimizer('adam').config.learningRate).toBe(0.001);
    expect(makeOptimizer('sgd').config.learningRate).toBe(0.01);
    expect(makeOptimizer('momentum').config.momentum).toBe(0.9);
    const sgd = makeOptimizer({ type: 'sgd', learningRate: { type: 'exponentialDecay', initialLearningRate: 0.1, decaySteps: 1, decayRate: 0.5 } });
    expect(sgd.valueCount).toBe(1);
    expect(sgd.values(3)[0]).toBeCloseTo(0.025, 12);
    expect(makeOptimizer('sgd').values(1000)).toEqual([0.01]);
    const adam = makeOptimizer({ type: 'adam', beta1: 0.8, beta2: 0.99 });
    expect(adam.valueCount).toBe(3);
    expect(adam.values(7)).toEqual([0.001, 1 - 0.8 ** 7, 1 - 0.99 ** 7]);
    expect(() => adam.values(0)).toThrow(/adam: step must be an integer >= 1 \(the first step is 1\), got 0/);
  });

  it("places Adam's ε as Keras does by default, and as PyTorch and TensorFlow.js do with epsilonHat: false", () => {
    // One step from p = 0 with g = 1e-6 (lr 1e-3, ε 1e-7): m̂ = g and √v̂ = |g|, so PyTorch moves p by
    // lr·g/(g + ε); Keras adds ε to √v = √(1−β2)·|g|, which is lr·g/(g + ε/√(1−β2)).
    const g = 1e-6;
    const step = (epsilonHat?: boolean) => {
      const opt = makeOptimizer({ type: 'adam', ...(epsilonHat === undefined ? {} : { epsilonHat }) });
      const zero = { info: f32([1]), data: Float32Array.of(0) };
      const values = { info: f32([opt.valueCount]), data: Float64Array.from(opt.values(1)) };
      const [p] = reference(opt.kernel, [{ info: f32([1]), data: Float32Array.of(g) }, values], opt.attrs, [zero, zero, zero]);
      return p[0];
    };
    const keras = -1e-3 * (g / (g + 1e-7 / Math.sqrt(1 - 0.999)));
    const pytorch = -1e-3 * (g / (g + 1e-7));
    expect(step()).toBeCloseTo(keras, 12);
    expect(step(true)).toBeCloseTo(keras, 12);
    expect(step(false)).toBeCloseTo(pytorch, 12);
    expect(Math.abs(keras - pytorch)).toBeGreaterThan(1e-4); // the two placements differ a lot at this gradient
  });

  it('records one in-place update per weight with its state slots', () => {
    const g = new Graph();
    const w = g.param('w', [3]);
    const grad = g.input('g', [3]);
    const adam = makeOptimizer('adam');
    const values = g.input('step_values', [adam.valueCount]);
    const slots = [g.state('m', [3]), g.state('v', [3])];
    const node = adam.record(g, w, grad, values, slots);
    expect(g.nodes[node].kernel.name).toBe('adam');
    expect(g.nodes[node].inputs).toEqual([grad, values]);
    expect(g.nodes[node].outputs).toEqual([w, ...slots]);
  });

  it('refuses unknown optimizers and bad hyperparameters when built, not at the first step', () => {
    expect(() => makeOptimizer('adamm' as never)).toThrow(/unknown optimizer 'adamm' \(did you mean 'adam'\?\) \(known: sgd, momentum, rmsprop, adam, adamw\)/);
    expect(() => makeOptimizer({ type: 'sgd', learningRate: -1 })).toThrow(/learningRate must be a positive number, got -1/);
    expect(() => makeOptimizer({ type: 'adam', beta1: 1.5 })).toThrow(/beta1/);
    expect(() => makeOptimizer({ type: 'momentum', momentum: -0.1 })).toThrow(/momentum/);
    expect(() => makeOptimizer({ type: 'adam', epsilonHat: 'no' as never })).toThrow(/optimizer 'adam': epsilonHat must be true or false, got 'no'/);
    expect(() => makeOptimizer({ type: 'sgd', learningRate: { type: 'cosineDecay', initialLearningRate: 0.1, decaySteps: 0 } })).toThrow(/decaySteps must be a whole number >= 1/);
  });
});
