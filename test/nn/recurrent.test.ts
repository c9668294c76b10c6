import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { dense, embedding, gru, layerFromConfig, lstm, simpleRNN } from '../../src/nn/layers.js';
import type { Layer, LayerConfig } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import { modelFromBytes } from '../../src/nn/saving.js';
import { layersFromSpec, parseSpec } from '../../src/nn/spec.js';
import { backends } from '../helpers/backends.js';
import { expectClose } from '../helpers/check.js';

/* SimpleRNN, LSTM and GRU layers: Keras' defaults, the whole sequence in one launch each way. */

const quiet = { verbose: 0 as const };
const CELLS: [string, (units: number, o?: object) => Layer][] = [['simpleRNN', simpleRNN], ['lstm', lstm], ['gru', gru]];

/** 96 sequences of 6 steps of 2 values; the class is whether the first value summed over the steps is positive: a task that needs memory. */
function sums(seed = 1) {
  const r = new Random(seed);
  const n = 96;
  const x = r.fill(new Float32Array(n * 6 * 2), -1, 1);
  const y = Int32Array.from({ length: n }, (_, i) => (Array.from({ length: 6 }, (_, t) => x[(i * 6 + t) * 2]).reduce((a, b) => a + b, 0) > 0 ? 1 : 0));
  return { x: { data: x, shape: [n, 6, 2] }, y: { data: y, shape: [n] } };
}

describe('the recurrent layers', () => {
  it("have Keras' defaults, in the file too", () => {
    expect(lstm(8).config).toMatchObject({ type: 'lstm', units: 8, activation: 'tanh', recurrentActivation: 'sigmoid', returnSequences: false, goBackwards: false, kernelInitializer: 'glorotUniform', recurrentInitializer: 'orthogonal', biasInitializer: 'zeros', unitForgetBias: true, dropout: 0, recurrentDropout: 0 });
    expect(gru(8).config).toMatchObject({ type: 'gru', resetAfter: true });
    expect(simpleRNN(8).config).toMatchObject({ type: 'simpleRNN', activation: 'tanh' });
    expect(simpleRNN(8).name).toMatch(/^simple_rnn_\d+$/);
    // unitForgetBias: the forget gate's block of the bias starts at 1.
    const [, , bias] = lstm(3).params([5, 2]);
    expect(Array.from(bias.init(new Random(1)))).toEqual([0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
    expect(gru(3).params([5, 2]).map((p) => p.shape)).toEqual([[2, 9], [3, 9], [9], [9]]);
    expect(gru(3, { resetAfter: false }).params([5, 2]).map((p) => p.shape)).toEqual([[2, 9], [3, 9], [9]]);
  });

  it('refuses what it cannot do, naming it', () => {
    expect(() => lstm(0)).toThrow(/units must be a positive integer, got 0/);
    expect(() => lstm(4, { dropout: 1 })).toThrow(/lstm: dropout must be a finite number >= 0 and < 1, got 1/);
    expect(() => lstm(4, { activation: 'relu' as never })).toThrow(/activation must be one of 'tanh'/);
    expect(() => lstm(4, { return_sequences: true } as never)).toThrow(/unknown option 'return_sequences'.*returnSequences/);
    expect(() => gru(4, { stateful: true } as never)).toThrow(/stateful/);
    expect(() => lstm(4).outputShape([12])).toThrow(/takes sequences \[steps, features\], got \[12\]; for a sequence of single values give \[steps, 1\]/);
    // A file's config is checked as the options are: each regularizer by its name.
    const bad = { l1: -1, l2: 0 };
    expect(() => layerFromConfig({ ...lstm(4, { name: 'enc' }).config, recurrentRegularizer: bad } as LayerConfig)).toThrow(/enc: recurrentRegularizer .*l1/);
    expect(() => layerFromConfig({ ...gru(4, { name: 'enc' }).config, kernelRegularizer: bad } as LayerConfig)).toThrow(/enc: kernelRegularizer .*l1/);
    expect(() => layerFromConfig({ ...embedding(5, 2, { name: 'emb' }).config, embeddingsRegularizer: bad } as LayerConfig)).toThrow(/emb: embeddingsRegularizer .*l1/);
  });

  it('the spec reads flat square data as rows, stacks with every step, and :seq and :back', () => {
    const types = (spec: string, shape: number[]) => layersFromSpec(parseSpec(spec), { activation: 'relu', inputShape: shape }).map((l) => `${l.config.type}${'returnSequences' in l.config ? `(${l.config.returnSequences ? 'seq' : 'last'}${l.config.goBackwards ? ',back' : ''})` : ''}`);
    expect(types('lstm16', [784])).toEqual(['reshape', 'lstm(last)']);
    expect(types('gru8,rnn4', [28, 28, 1])).toEqual(['reshape', 'gru(seq)', 'simpleRNN(last)']);
    expect(types('lstm8:seq:back,16', [5, 3])).toEqual(['lstm(seq,back)', 'dense']);
    expect(() => layersFromSpec(parseSpec('lstm8'), { activation: 'relu', inputShape: [10] })).toThrow(/a recurrent layer reads sequences; this data has 10 features per sample/);
    expect(() => layersFromSpec(parseSpec('32,lstm8'), { activation: 'relu', inputShape: [784] })).toThrow(/'lstm8' needs sequences, but the layers before it give flat vectors/);
  });
});

describe.each(backends)('the recurrent layers on %s', (name) => {
  it.each(CELLS)('%s learns a sum over the steps, and a loaded file predicts the same', async (_kind, make) => {
    const { x, y } = sums();
    const m = sequential([make(16, { inputShape: [6, 2] }), dense(2, { activation: 'softmax' })], { seed: 2 });
    m.compile({ optimizer: { type: 'adam', learningRate: 0.02 }, loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'], backend: name });
    const h = await m.fit(x, y, { epochs: 30, batchSize: 16, ...quiet });
    expect(h.history.accuracy.at(-1)).toBeGreaterThan(0.9);
    const back = modelFromBytes(await m.toBytes(), 'rnn.safetensors').compile({ loss: 'sparseCategoricalCrossentropy', backend: name });
    expect((await back.predict(x)).data).toEqual((await m.predict(x)).data);
    m.dispose();
    back.dispose();
  });
});

describe('the recurrent layers train the same on both backends', () => {
  it.runIf(backends.length === 2).each([
    ['lstm', { returnSequences: true }],
    ['gru', { goBackwards: true }],
    ['gru', { resetAfter: false, returnSequences: true }],
    ['simpleRNN', { goBackwards: true, returnSequences: true }],
  ] as const)('%s %j, stacked under a dense layer on every step: the same weights after 12 Adam steps', async (kind, options) => {
    const { x, y } = sums(3);
    const make = CELLS.find(([k]) => k === kind)![1];
    const weights: Float32Array[][] = [];
    for (const [name] of backends) {
      const layers = [make(7, { inputShape: [6, 2], ...options }), ...('returnSequences' in options ? [dense(3, { activation: 'tanh' }), lstm(4)] : []), dense(2, { activation: 'softmax' })];
      const m = sequential(layers, { seed: 4 }).compile({ optimizer: { type: 'adam', learningRate: 0.01 }, loss: 'sparseCategoricalCrossentropy', backend: name });
      await m.fit(x, y, { epochs: 2, batchSize: 16, shuffle: false, ...quiet });
      weights.push(await m.getWeights());
      m.dispose();
    }
    // float32 on both, 12 Adam steps through 6 steps of time: summation order differs (and WGSL's exp/tanh), Adam's normalisation amplifies tiny gradients a little.
    weights[0].forEach((w, i) => expectClose(weights[1][i], w, { atol: 2e-4, rtol: 1e-3, why: '12 Adam steps of float32 through time, the kernels\' own summation order' }, `weight ${i}`));
  });
});
