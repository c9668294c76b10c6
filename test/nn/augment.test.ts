import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { conv2d, dense, flatten, randomTranslation } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import { modelFromBytes } from '../../src/nn/saving.js';
import { parseSpec } from '../../src/nn/spec.js';
import { backends } from '../helpers/backends.js';
import { expectClose } from '../helpers/check.js';

const quiet = { verbose: 0 as const };

function images(n = 48) {
  const r = new Random(6);
  const x = r.fill(new Float32Array(n * 8 * 8), 0, 1);
  const y = Int32Array.from({ length: n }, (_, i) => i % 3);
  return { x: { data: x, shape: [n, 8, 8, 1] }, y: { data: y, shape: [n] } };
}

const net = (factor: number | null, seed = 1) =>
  sequential([...(factor === null ? [] : [randomTranslation(factor, factor, { inputShape: [8, 8, 1] })]), conv2d(4, 3, { activation: 'relu', inputShape: [8, 8, 1] }), flatten(), dense(3, { activation: 'softmax' })], { seed });

describe("RandomTranslation (Keras' layer, whole-pixel moves)", () => {
  it("refuses Keras' modes it does not implement, naming them", () => {
    expect(() => randomTranslation(0.1, 0.1, { fillMode: 'reflect' as never })).toThrow(/randomTranslation: fillMode must be/);
    expect(() => randomTranslation(0.1, 0.1, { interpolation: 'bilinear' as never })).toThrow(/randomTranslation: interpolation must be/);
    expect(() => randomTranslation(1.5, 0)).toThrow(/heightFactor must be a fraction in \[0, 1\)/);
    expect(() => randomTranslation(0.1, 0.1, { fill_value: 0 } as never)).toThrow(/unknown option 'fill_value'/);
    expect(parseSpec('translate0.1,conv8:3')).toEqual(['translate0.1', 'conv8:3']);
  });
});

describe.each(backends)('a model with RandomTranslation on %s', (name) => {
  it('evaluate and predict pass images through; training moves them, so it differs from training without', async () => {
    const { x, y } = images();
    const moved = net(0.25).compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', backend: name });
    const h = await moved.fit(x, y, { epochs: 3, batchSize: 16, shuffle: false, ...quiet });
    const plain = net(null).compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', backend: name });
    plain.setWeights(await moved.getWeights());
    expect((await moved.predict(x)).data).toEqual((await plain.predict(x)).data);
    const still = net(null).compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', backend: name });
    const hs = await still.fit(x, y, { epochs: 3, batchSize: 16, shuffle: false, ...quiet });
    expect(Math.abs(h.history.loss[2] - hs.history.loss[2])).toBeGreaterThan(1e-4);
    // A factor under one pixel moves nothing: the same training as without the layer.
    const tiny = net(0.1).compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', backend: name });
    expect((await tiny.fit(x, y, { epochs: 3, batchSize: 16, shuffle: false, ...quiet })).history.loss).toEqual(hs.history.loss);
    const back = modelFromBytes(await moved.toBytes(), 'moved.safetensors');
    expect(back.layers[0].config).toMatchObject({ type: 'randomTranslation', heightFactor: 0.25, widthFactor: 0.25, fillMode: 'constant', interpolation: 'nearest' });
    for (const m of [moved, plain, still, tiny, back]) m.dispose();
  });
});

describe('RandomTranslation trains the same on both backends', () => {
  it.runIf(backends.length === 2)('the moves are the CPU reference\'s on WebGPU, step after step', async () => {
    const { x, y } = images();
    const losses: number[][] = [];
    for (const [name] of backends) {
      const m = net(0.25, 5).compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', backend: name });
      losses.push((await m.fit(x, y, { epochs: 4, batchSize: 16, shuffle: false, ...quiet })).history.loss);
      m.dispose();
    }
    expectClose(losses[1], losses[0], { atol: 0, rtol: 1e-4, why: 'float32, sums in different orders, over 12 steps' }, 'loss');
  });
});
