import { describe, expect, it } from 'vitest';
import { conv2d, dense, flatten } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import { Random } from '../../src/core/random.js';
import { ACTIVATION_RECORDS, ACTIVATIONS, activationWgsl, EPILOGUE_ACTIVATIONS, LAYER_ACTIVATIONS, layerActivationRecord } from '../../src/ops/activations.js';
import type { LayerActivation } from '../../src/ops/activations.js';
import { backends } from '../helpers/backends.js';

/**
 * Every activation record walked through every path a model takes: the plain
 * kernel (an activation after a convolution's im2col matmul and as a layer),
 * the fused Dense epilogue and the fused gradient (graph/fuse.ts puts
 * matmulBiasActivation and matmulActivationGrad in where the kind allows),
 * on both backends. A record whose WGSL is missing or wrong makes WebGPU's
 * predict or step differ from the CPU's; the exports are walked by
 * test/interop/conformance.test.ts.
 */
const gpu = backends.some(([n]) => n === 'webgpu');

/** Each activation, plus a non-default alpha for those that take one. */
const cases: { kind: LayerActivation; alpha?: number }[] = [
  ...LAYER_ACTIVATIONS.map((kind) => ({ kind })),
  ...ACTIVATIONS.filter((k) => ACTIVATION_RECORDS[k].alpha).map((kind) => ({ kind, alpha: 0.37 })),
];

function model(kind: LayerActivation, alpha: number | undefined) {
  const a = { activation: kind, ...(alpha === undefined ? {} : { alpha }) };
  // Odd sizes: not multiples of any tile or of 4 (the epilogue stores four values at a time).
  return sequential([conv2d(3, 3, { ...a, inputShape: [6, 5, 2] }), flatten(), dense(7, a), dense(5, a)], { seed: 4 });
}

function inputs(n: number) {
  const r = new Random(11);
  // Wide-ranging values, so that every branch of every form (both sides of a kink, the saturated tails) is taken.
  const x = Float32Array.from({ length: n * 60 }, () => r.normal() * 3);
  const y = Int32Array.from({ length: n }, (_, i) => i % 5);
  return { x: { data: x, shape: [n, 6, 5, 2] }, y: { data: y, shape: [n] } };
}

describe('activation records', () => {
  it('generate one WGSL case per record in each function, numbered by the table', () => {
    const all = activationWgsl();
    for (const [i, k] of ACTIVATIONS.entries()) expect(all.match(new RegExp(`case ${i}u: \\{ // ${k}\\n`, 'g'))?.length, k).toBe(2 + (ACTIVATION_RECORDS[k].ofOutput ? 1 : 0));
    const epilogue = activationWgsl(EPILOGUE_ACTIVATIONS);
    for (const k of ACTIVATIONS) expect(epilogue.includes(`// ${k}\n`), k).toBe(EPILOGUE_ACTIVATIONS.includes(k));
  });

  it('name every layer activation once, with a Keras name, a torch expression and ONNX nodes', () => {
    expect(new Set(LAYER_ACTIVATIONS).size).toBe(LAYER_ACTIVATIONS.length);
    const keras = LAYER_ACTIVATIONS.map((k) => layerActivationRecord(k).record.keras);
    expect(new Set(keras).size).toBe(keras.length);
    for (const k of LAYER_ACTIVATIONS) {
      const r = layerActivationRecord(k);
      expect(typeof r.record.torch).toBe('function');
      expect(typeof r.record.onnx).toBe('function');
    }
  });

  it('accept Keras\' names as layer options and keep webgrad\'s', () => {
    expect(dense(3, { activation: 'leaky_relu' }).config.activation).toBe('leakyRelu');
    expect(dense(3, { activation: 'log_softmax' }).config.activation).toBe('logSoftmax');
    expect(() => dense(3, { activation: 'leaky' })).toThrow(/leakyRelu/);
  });

  /**
   * CPU and WebGPU in float32, summed in other orders: predictions agree to
   * 1e-4 + 1e-4·|p| (three layers of rounding, ~1e-6 each, with room); one
   * Adam step's loss to 1e-4 relative. A missing or wrong WGSL case gives
   * differences of order 1 (the was 5.48).
   */
  describe.runIf(gpu).each(cases)('$kind (alpha $alpha)', ({ kind, alpha }) => {
    it('predicts and trains the same on WebGPU as on the CPU, fused and unfused', async () => {
      const { x, y } = inputs(9);
      const preds: Float32Array[] = [];
      const losses: number[][] = [];
      for (const backend of ['cpu', 'webgpu'] as const) {
        const m = model(kind, alpha);
        // The row-wise kinds end in a classifier's loss (fused: p − onehot), the others in a regression's.
        const logits = kind !== 'softmax' && kind !== 'logSoftmax';
        m.compile({ optimizer: 'adam', loss: logits ? 'meanSquaredError' : kind === 'softmax' ? 'sparseCategoricalCrossentropy' : 'nll', backend });
        const target = logits ? { data: Float32Array.from({ length: 45 }, (_, i) => Math.sin(i)), shape: [9, 5] } : y;
        preds.push((await m.predict(x)).data as Float32Array);
        const h = await m.fit(x, target, { epochs: 2, batchSize: 9, verbose: 0, shuffle: false });
        losses.push(h.history.loss);
        preds.push((await m.predict(x)).data as Float32Array);
        m.dispose();
      }
      const [cpu0, cpu1, gpu0, gpu1] = preds;
      for (const [c, g, when] of [[cpu0, gpu0, 'before training'], [cpu1, gpu1, 'after two steps']] as const) {
        let worst = 0;
        c.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - g[i]) - 1e-4 * Math.abs(v))));
        expect(worst, `${kind}: largest difference ${when} ${worst.toExponential(2)} beyond 1e-4 relative`).toBeLessThan(1e-4);
        expect(c.every(Number.isFinite)).toBe(true);
      }
      losses[0].forEach((l, i) => expect(Math.abs(l - losses[1][i]), `${kind}: step ${i + 1} loss`).toBeLessThan(1e-4 * Math.abs(l) + 1e-6));
    });
  });
});
