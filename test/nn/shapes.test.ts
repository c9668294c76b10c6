import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { conv2d } from '../../src/nn/conv-layers.js';
import { dense, flatten, reshape } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import { modelFromBytes } from '../../src/nn/saving.js';
import { backends } from '../helpers/backends.js';

const quiet = { verbose: 0 as const };

/** 40 tiny 4×4 one-channel images, 3 classes by which quadrant is brightest. */
function images(seed = 5) {
  const r = new Random(seed);
  const n = 40;
  const x = new Float32Array(n * 16);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 3;
    for (let p = 0; p < 16; p++) x[i * 16 + p] = r.normal(0, 0.3) + ((p % 4 < 2) === (y[i] === 0) && p < 8 + 8 * (y[i] === 2 ? 1 : 0) ? 1 : 0);
  }
  return { x, y };
}

describe.each(backends)('tensors of any rank on %s', (name) => {
  const compile = { optimizer: 'adam' as const, loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'], backend: name };

  it('images [n, 4, 4, 1] through flatten train exactly as the flat [n, 16] MLP: flatten is a free view', async () => {
    const { x, y } = images();
    const flat = sequential([dense(8, { activation: 'relu', inputShape: [16] }), dense(3, { activation: 'softmax' })], { seed: 3 }).compile(compile);
    const img = sequential([flatten({ inputShape: [4, 4, 1] }), dense(8, { activation: 'relu' }), dense(3, { activation: 'softmax' })], { seed: 3 }).compile(compile);
    const labels = { data: y, shape: [40] };
    const hf = await flat.fit({ data: x, shape: [40, 16] }, labels, { epochs: 3, batchSize: 16, ...quiet });
    const hi = await img.fit({ data: x, shape: [40, 4, 4, 1] }, labels, { epochs: 3, batchSize: 16, ...quiet });
    expect(hi.history.loss).toEqual(hf.history.loss);
    const [wf, wi] = [await flat.getWeights(), await img.getWeights()];
    wf.forEach((w, i) => expect(wi[i]).toEqual(w));
    const dispatches = async (m: typeof flat, shape: number[]) => {
      const c = (m.backend as unknown as { counters?: { dispatches: number } }).counters;
      const before = c?.dispatches ?? 0;
      const out = await m.predict({ data: x, shape });
      return { out: out.data, launched: (c?.dispatches ?? 0) - before };
    };
    const [pi, pf] = [await dispatches(img, [40, 4, 4, 1]), await dispatches(flat, [40, 16])];
    expect(pi.out).toEqual(pf.out);
    expect(pi.launched).toBe(pf.launched); // the flatten launches nothing
    expect(await img.evaluate({ data: x, shape: [40, 4, 4, 1] }, labels)).toEqual(await flat.evaluate({ data: x, shape: [40, 16] }, labels));
    await expect(img.predict({ data: x, shape: [40, 16] })).rejects.toThrow('predict x: the model takes samples of shape [4, 4, 1], got [40, 16]');
    flat.dispose();
    img.dispose();
  });

  it('reshape then flatten is the identity, and a model with them saves and loads', async () => {
    const { x, y } = images(6);
    const a = sequential([dense(6, { activation: 'tanh', inputShape: [16] }), dense(3, { activation: 'softmax' })], { seed: 4 }).compile(compile);
    const b = sequential([reshape([4, -1, 1], { inputShape: [16] }), flatten(), dense(6, { activation: 'tanh' }), dense(3, { activation: 'softmax' })], { seed: 4 }).compile(compile);
    for (const m of [a, b]) await m.fit({ data: x, shape: [40, 16] }, { data: y, shape: [40] }, { epochs: 2, batchSize: 8, ...quiet });
    const pa = await a.predict({ data: x, shape: [40, 16] });
    expect((await b.predict({ data: x, shape: [40, 16] })).data).toEqual(pa.data);
    const back = modelFromBytes(await b.toBytes(), 'shapes.safetensors');
    back.compile({ ...back.compileOptions!, backend: name });
    expect((await back.predict({ data: x, shape: [40, 16] })).data).toEqual(pa.data);
    const lines: string[] = [];
    b.summary((t) => lines.push(t));
    expect(lines[0]).toMatch(/reshape_\d+ \(Reshape\) +\(None, 4, 4, 1\) +0/);
    expect(lines[0]).toMatch(/flatten_\d+ \(Flatten\) +\(None, 16\) +0/);
    for (const m of [a, b, back]) m.dispose();
  });
});

describe('shape layers refuse what does not fit', () => {
  it('dense on images asks for a flatten, reshape names the sizes', () => {
    const m = sequential([dense(3, { inputShape: [4, 4, 1] })]);
    expect(() => m.summary(() => undefined)).toThrow(/dense expects flat inputs \[features\] or sequences \[steps, features\], got \[4, 4, 1\]; put a flatten\(\) layer before it/);
    const r = sequential([reshape([5, -1], { inputShape: [16] })]);
    expect(() => r.summary(() => undefined)).toThrow(/cannot view 16 values as \[5, -1\]/);
    expect(() => reshape([-1, -1])).not.toThrow();
    expect(() => sequential([reshape([-1, -1], { inputShape: [4] })]).summary(() => undefined)).toThrow(/at most one dimension may be -1/);
    expect(() => flatten({ inputshape: [2] } as never)).toThrow("layer: unknown option 'inputshape' (did you mean 'inputShape'?)");
  });
});

describe('data in another shape than the model takes', () => {
  it('is refused with the way to fix it: flatten() for images into a dense model, a reshape of the data otherwise', async () => {
    const mlp = sequential([dense(3, { activation: 'softmax', inputShape: [12] })], { seed: 1 });
    mlp.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
    const images = { data: new Float32Array(2 * 12), shape: [2, 2, 3, 2] };
    await expect(mlp.fit(images, { data: [0, 1], shape: [2] }, { verbose: 0 })).rejects.toThrow(
      'x: the model takes 12 features per sample, got [2, 2, 3, 2]; for images, start the model with flatten({ inputShape: [2, 3, 2] }) instead of inputShape [12]',
    );
    const cnn = sequential([conv2d(2, 1, { inputShape: [2, 3, 2] }), flatten(), dense(3, { activation: 'softmax' })], { seed: 1 });
    cnn.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
    await expect(cnn.predict({ data: new Float32Array(24), shape: [2, 12] })).rejects.toThrow(
      'x: the model takes samples of shape [2, 3, 2], got [2, 12]; give the data as [n, 2, 3, 2] (the same values, another shape)',
    );
    await expect(cnn.predict({ data: new Float32Array(22), shape: [2, 11] })).rejects.toThrow(/the model takes samples of shape \[2, 3, 2\], got \[2, 11\]$/);
    mlp.dispose();
    cnn.dispose();
  });
});
