import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import { ValueError } from '../../src/core/errors.js';
import type { TrainingModel } from '../../src/nn/callbacks.js';
import { earlyStopping, terminateOnDivergence } from '../../src/nn/callbacks.js';
import { dense } from '../../src/nn/layers.js';
import { Sequential } from '../../src/nn/model.js';

const fakeModel = (): TrainingModel => ({ stopTraining: false, getWeights: async () => [], setWeights: () => undefined });

/** Feeds the callback one reading per value: the first as the first batch's, the rest as epoch ends. */
function feed(losses: number[], options = {}) {
  const cb = terminateOnDivergence(options);
  const model = fakeModel();
  cb.onTrainBegin();
  cb.onBatchEnd(0, { epoch: 0, logs: { loss: losses[0] } }, model);
  losses.slice(1).forEach((loss, e) => !model.stopTraining && cb.onEpochEnd(e, { loss }, model));
  return { cb, stopped: model.stopTraining };
}

describe('terminateOnDivergence: the rule at its edges', () => {
  it('a loss at exactly 10× the first batch\'s goes on; just above stops, naming the epoch, the loss and the rule', () => {
    expect(feed([2, 1, 20]).stopped).toBe(false);
    const { cb, stopped } = feed([2, 1, 20.001]);
    expect(stopped).toBe(true);
    expect(cb.stopped).toMatchObject({ epoch: 1, batch: null, loss: 20.001, start: 2, rule: 'growth' });
    expect(cb.stopped!.reason).toBe("the loss reached 20 at the end of epoch 2 (rule: more than 10 × the first batch's loss 2)");
    expect(cb.stopReason()).toEqual({ by: 'terminateOnDivergence', epoch: 1, reason: cb.stopped!.reason });
  });

  it('NaN and ±Infinity stop at once, the first batch\'s included', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      expect(feed([2, bad]).cb.stopped).toMatchObject({ epoch: 0, rule: 'non-finite', start: 2 });
      const first = feed([bad, 1]).cb.stopped!;
      expect(first).toMatchObject({ epoch: 0, batch: 0, rule: 'non-finite', start: null });
      expect(first.reason).toBe(`the loss became ${bad} in epoch 1, after batch 1 (rule: a loss that is NaN or ±Infinity)`);
    }
  });

  it('relative: a regression loss that starts at 4e8 may stay near it; ten times it stops', () => {
    expect(feed([4e8, 3.9e8, 3.99e9]).stopped).toBe(false);
    expect(feed([4e8, 3.9e8, 4.01e9]).cb.stopped?.reason).toContain('more than 10 × the first batch\'s loss 4.000e+8');
  });

  it('floored: a start near 0 counts as minStart (0.1), so noise around 0 is not growth', () => {
    expect(feed([1e-4, 0.5, 1]).stopped).toBe(false);
    const { cb } = feed([1e-4, 0.5, 1.01]);
    expect(cb.stopped?.reason).toBe("the loss reached 1.01 at the end of epoch 2 (rule: more than 10 × 0.1 (the first batch's loss 1.000e-4, floored at minStart))");
    expect(feed([0, 0.999]).stopped).toBe(false);
    expect(feed([1e-4, 0.02], { minStart: 0 }).cb.stopped?.rule).toBe('growth');
  });

  it('takes factor and minStart, refuses what is not an option or out of range, and starts again each fit', () => {
    expect(feed([2, 5.9], { factor: 3 }).stopped).toBe(false);
    expect(feed([2, 6.1], { factor: 3 }).stopped).toBe(true);
    expect(() => terminateOnDivergence({ factor: 1 })).toThrow(ValueError);
    expect(() => terminateOnDivergence({ factr: 3 } as never)).toThrow(/factr.*factor/);
    const { cb } = feed([1, 100]);
    cb.onTrainBegin();
    expect(cb.stopped).toBeNull();
    const model = fakeModel();
    cb.onBatchEnd(0, { epoch: 0, logs: { loss: 50 } }, model);
    cb.onEpochEnd(0, { loss: 400 }, model);
    expect(model.stopTraining).toBe(false); // measured from this fit's start, 50
  });

  it('a batch without a reading is skipped: the rule sees only the losses fit read', () => {
    const cb = terminateOnDivergence();
    const model = fakeModel();
    cb.onTrainBegin();
    cb.onBatchEnd(0, { epoch: 0, logs: { loss: 2 } }, model);
    cb.onBatchEnd(1, { epoch: 0 }, model);
    cb.onBatchEnd(7, { epoch: 0, logs: { loss: 25 } }, model);
    expect(cb.stopped).toMatchObject({ epoch: 0, batch: 7, rule: 'growth' });
  });
});

describe('terminateOnDivergence in fit()', () => {
  const data = () => {
    const n = 64;
    const x = Float32Array.from({ length: n * 2 }, (_, i) => Math.sin(i * 1.7));
    const y = Float32Array.from({ length: n }, (_, i) => x[2 * i] - 2 * x[2 * i + 1]);
    return [{ data: x, shape: [n, 2] }, { data: y, shape: [n, 1] }] as const;
  };
  const model = (lr: number) => {
    const m = new Sequential([dense(8, { activation: 'tanh' }), dense(1)], { inputShape: [2], seed: 1 });
    m.compile({ optimizer: { type: 'sgd', learningRate: lr }, loss: 'meanSquaredError', backend: new CpuBackend() });
    return m;
  };

  it('a run that blows up stops in that epoch, and its History says by what and why; one that learns runs on', async () => {
    const [x, y] = data();
    const cb = terminateOnDivergence();
    const wild = model(50);
    const untrained = await wild.evaluate({ data: x.data.subarray(0, 16), shape: [8, 2] }, { data: y.data.subarray(0, 8), shape: [8, 1] });
    const h = await wild.fit(x, y, { epochs: 20, batchSize: 8, shuffle: false, verbose: 0, callbacks: [cb, earlyStopping({ monitor: 'loss', patience: 100 })] });
    expect(cb.stopped).not.toBeNull();
    expect(h.epoch).toHaveLength(cb.stopped!.epoch + 1);
    expect(h.stopped).toEqual({ by: 'terminateOnDivergence', epoch: cb.stopped!.epoch, reason: cb.stopped!.reason });
    // The start is the first batch's loss, read by fit after that one step: the untrained model's on those 8 samples.
    expect(cb.stopped!.start).toBeCloseTo(untrained.loss, 5);
    wild.dispose();
    const calm = model(0.05);
    const ok = await calm.fit(x, y, { epochs: 20, batchSize: 8, verbose: 0, callbacks: [terminateOnDivergence()] });
    expect(ok.epoch).toHaveLength(20);
    expect(ok.stopped).toBeUndefined();
    expect(ok.history.loss.at(-1)).toBeLessThan(ok.history.loss[0]);
    calm.dispose();
  });
});
