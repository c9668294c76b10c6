import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import type { Layer } from '../../src/nn/layers.js';
import { bidirectional, dense, embedding, gru, layerFromConfig, lstm, simpleRNN, withFileDefaults } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import { modelFromBytes } from '../../src/nn/saving.js';
import { layersFromSpec, parseSpec, SPEC_HELP } from '../../src/nn/spec.js';
import { backends } from '../helpers/backends.js';
import { expectClose } from '../helpers/check.js';

/* Keras' Bidirectional wrapper: the config, its merges against its two halves run alone, training, files, refusals. */

const quiet = { verbose: 0 as const };

/** n sequences [T, F] in ±1. */
function sequences(n: number, T: number, F: number, seed = 1) {
  return { data: new Random(seed).fill(new Float32Array(n * T * F), -1, 1), shape: [n, T, F] };
}

describe('bidirectional: the config', () => {
  it("names the halves as Keras (forward_<name>, backward_<name>, goBackwards flipped), their weights under the wrapper's name, stable in a model", () => {
    const m = sequential([bidirectional(lstm(3, { returnSequences: true }), { inputShape: [5, 2] }), bidirectional(gru(2, { name: 'enc' }), { mergeMode: 'sum' })]);
    const [a, b] = m.layers;
    expect(a.name).toBe('bidirectional_1');
    expect(a.config).toMatchObject({ type: 'bidirectional', mergeMode: 'concat', inputShape: [5, 2], layer: { type: 'lstm', name: 'forward_lstm', goBackwards: false }, backwardLayer: { name: 'backward_lstm', goBackwards: true } });
    expect((a.config as { layer: object }).layer).not.toHaveProperty('inputShape');
    expect(b.config).toMatchObject({ name: 'bidirectional_2', layer: { name: 'forward_enc' }, backwardLayer: { name: 'backward_enc' } });
    expect(m.paramSpecs().map((p) => p.name)).toEqual([
      ...['kernel', 'recurrent_kernel', 'bias'].map((w) => `bidirectional_1/forward_lstm/${w}`),
      ...['kernel', 'recurrent_kernel', 'bias'].map((w) => `bidirectional_1/backward_lstm/${w}`),
      ...['kernel', 'recurrent_kernel', 'bias', 'recurrent_bias'].map((w) => `bidirectional_2/forward_enc/${w}`),
      ...['kernel', 'recurrent_kernel', 'bias', 'recurrent_bias'].map((w) => `bidirectional_2/backward_enc/${w}`),
    ]);
    // Rebuilt from its own config (a file's), the names are the same: forward_ is not prefixed twice.
    expect(layerFromConfig(withFileDefaults(JSON.parse(JSON.stringify(a.config)))).config).toEqual(a.config);
  });

  it('gives [steps, 2·units] or [2·units] with concat, [units] with the others; summary counts both halves', () => {
    expect(bidirectional(lstm(4, { returnSequences: true })).outputShape([7, 3])).toEqual([7, 8]);
    expect(bidirectional(gru(4)).outputShape([7, 3])).toEqual([8]);
    for (const mergeMode of ['sum', 'mul', 'ave'] as const) expect(bidirectional(simpleRNN(4), { mergeMode }).outputShape([7, 3])).toEqual([4]);
    const lines: string[] = [];
    sequential([bidirectional(lstm(4), { inputShape: [7, 3] }), dense(2)]).summary((l) => lines.push(l));
    // An LSTM of 4 units on 3 features: 4·4·(3 + 4 + 1) = 128 weights, twice.
    expect(lines.join('\n')).toMatch(/bidirectional_1 \(Bidirectional\)\s+\(None, 8\)\s+256\n/);
  });

  it('a file without backwardLayer gets Keras\' default one (from_config), and a file\'s halves take their kinds\' defaults', () => {
    const c = withFileDefaults({ type: 'bidirectional', name: 'bi', layer: { type: 'gru', name: 'forward_gru', units: 3 } } as never);
    const layer = layerFromConfig(c);
    expect(layer.config).toMatchObject({ mergeMode: 'concat', layer: { resetAfter: true, goBackwards: false }, backwardLayer: { type: 'gru', name: 'backward_gru', units: 3, goBackwards: true, resetAfter: true } });
  });

  it('refuses by name: a layer that is not recurrent, a merge mode Keras has and a Sequential cannot (None), an unknown one with the nearest, halves that disagree', () => {
    expect(() => bidirectional(dense(3))).toThrow(/bidirectional: the layer it wraps must be a recurrent layer \(simpleRNN, lstm or gru\), got dense_\d+ \(dense\)/);
    expect(() => bidirectional(embedding(5, 3))).toThrow(/must be a recurrent layer.*\(embedding\)/);
    expect(() => bidirectional(bidirectional(lstm(3)))).toThrow(/must be a recurrent layer.*\(bidirectional\)/);
    expect(() => bidirectional(lstm(3), { mergeMode: null as never })).toThrow(/mergeMode null \(Keras' None: the two halves as two outputs\) is not supported: a layer of a Sequential model gives one output; use one of 'concat', 'sum', 'mul', 'ave'/);
    expect(() => bidirectional(lstm(3), { mergeMode: 'average' as never })).toThrow(/mergeMode must be one of 'concat', 'sum', 'mul', 'ave', got "average" \(did you mean 'ave'\?\)/);
    expect(() => bidirectional(lstm(3), { mergeMode: 'concta' as never })).toThrow(/did you mean 'concat'\?/);
    expect(() => bidirectional(lstm(3), { merge_mode: 'sum' } as never)).toThrow(/unknown option 'merge_mode'; webgrad calls it mergeMode/);
    expect(() => bidirectional(lstm(3), { backwardLayer: lstm(4, { goBackwards: true }) })).toThrow(/the backward layer has 4 units and the forward one 3: both halves must have the same units/);
    expect(() => bidirectional(lstm(3), { backwardLayer: lstm(3) })).toThrow(/both have goBackwards false: the backward layer must read the steps the other way/);
    expect(() => bidirectional(lstm(3), { backwardLayer: gru(3, { goBackwards: true }) })).toThrow(/the backward layer is a gru and the forward one a lstm: both halves must be the same kind/);
    expect(() => bidirectional(lstm(3), { backwardLayer: lstm(3, { goBackwards: true, returnSequences: true }) })).toThrow(/the forward layer has returnSequences false and the backward one true/);
    expect(() => bidirectional(lstm(3, { name: 'x' }), { backwardLayer: lstm(3, { goBackwards: true, name: 'forward_x' }) })).toThrow(/both named 'forward_x'/);
    expect(() => layerFromConfig({ ...bidirectional(lstm(3)).config, layer: { ...(bidirectional(lstm(3)).config as { layer: object }).layer, inputShape: [4, 2] } } as never)).toThrow(/layer forward_lstm has an inputShape; give it to the bidirectional layer instead/);
    expect(() => layerFromConfig({ ...bidirectional(lstm(3)).config, layer: { ...(bidirectional(lstm(3)).config as { layer: object }).layer, unitz: 3 } } as never)).toThrow(/unknown field 'unitz' in a lstm layer's config \(did you mean 'units'\?\)/);
  });

  it("spec tokens birnnN, bilstmN, bigruN (:seq), stacked with every step as the others", () => {
    const kinds = (spec: string, shape: number[]) => layersFromSpec(parseSpec(spec), { activation: 'relu', inputShape: shape }).map((l) => (l.config.type === 'bidirectional' ? `bi${l.config.layer.type}(${l.config.layer.units}${l.config.layer.returnSequences ? ',seq' : ''})` : l.config.type));
    expect(kinds('bilstm8', [784])).toEqual(['reshape', 'bilstm(8)']);
    expect(kinds('bigru4,birnn3,16', [6, 2])).toEqual(['bigru(4,seq)', 'bisimpleRNN(3)', 'dense']);
    expect(kinds('bilstm5:seq,16', [6, 2])).toEqual(['bilstm(5,seq)', 'dense']);
    for (const word of ['birnnN', 'bilstmN', 'bigruN']) expect(SPEC_HELP).toContain(word);
    // A character model's target is the next character: the backward half would read it.
    expect(() => layersFromSpec(parseSpec('embed8,bilstm16'), { activation: 'relu', inputShape: [12], vocabulary: 20, sequenceTargets: true })).toThrow(/'bilstm16' reads the steps backwards too, and here every step's target is the next token, .* use lstm16 \(one direction\)/);
    expect(() => parseSpec('bilstm8:back')).toThrow(/'bilstm8:back': unknown option 'back' \(it takes returnSequences, l1, l2/);
  });
});

/** The wrapper's prediction against its two halves run as their own models with the same weights, merged as Keras does. */
describe('bidirectional merges its halves as Keras', () => {
  const T = 5;
  const x = sequences(6, T, 3, 7);
  const run = async (layers: Layer[], weights?: Float32Array[]) => {
    const m = sequential(layers, { seed: 3 }).compile({ loss: 'meanSquaredError', backend: 'cpu' });
    if (weights) m.setWeights(weights);
    const out = await m.predict(x);
    const w = await m.getWeights();
    m.dispose();
    return { out: out.data as Float32Array, w, shape: out.shape };
  };
  const flip = (a: Float32Array, [n, t, u]: number[]) => Float32Array.from(a, (_, i) => {
    const b = Math.floor(i / (t * u));
    const s = Math.floor(i / u) % t;
    return a[(b * t + t - 1 - s) * u + (i % u)];
  });

  it.each([
    ['lstm', true, 'concat'], ['lstm', false, 'concat'], ['gru', true, 'sum'], ['gru', false, 'mul'], ['simpleRNN', true, 'ave'], ['lstm', true, 'mul'],
  ] as const)('%s returnSequences %s, %s', async (kind, returnSequences, mergeMode) => {
    const make = { lstm, gru, simpleRNN }[kind];
    const bi = await run([bidirectional(make(4, { returnSequences }), { mergeMode, inputShape: [T, 3] })]);
    const n = bi.w.length / 2;
    const f = await run([make(4, { returnSequences, inputShape: [T, 3] })], bi.w.slice(0, n));
    const b = await run([make(4, { returnSequences, goBackwards: true, inputShape: [T, 3] })], bi.w.slice(n));
    const rev = returnSequences ? flip(b.out, b.shape) : b.out;
    const U = 4;
    const want = mergeMode === 'concat'
      ? Float32Array.from({ length: 2 * f.out.length }, (_, i) => (i % (2 * U) < U ? f.out[Math.floor(i / (2 * U)) * U + (i % (2 * U))] : rev[Math.floor(i / (2 * U)) * U + (i % (2 * U)) - U]))
      : Float32Array.from(f.out, (v, i) => (mergeMode === 'sum' ? v + rev[i] : mergeMode === 'mul' ? v * rev[i] : (v + rev[i]) / 2));
    expect(bi.shape).toEqual(returnSequences ? [6, T, mergeMode === 'concat' ? 8 : 4] : [6, mergeMode === 'concat' ? 8 : 4]);
    // The same float32 operations on the same values: exactly equal.
    expect(Array.from(bi.out)).toEqual(Array.from(want));
  });
});

describe.each(backends)('bidirectional on %s', (name) => {
  it('learns which half of a sequence holds the larger sum (it needs both ends), and a loaded file predicts the same', async () => {
    // The class: whether the first 3 steps' values sum above the last 3's; a forward-only LSTM sees the first steps least.
    const r = new Random(5);
    const n = 128;
    const xs = r.fill(new Float32Array(n * 8), -1, 1);
    const y = Int32Array.from({ length: n }, (_, i) => (xs[i * 8] + xs[i * 8 + 1] + xs[i * 8 + 2] > xs[i * 8 + 5] + xs[i * 8 + 6] + xs[i * 8 + 7] ? 1 : 0));
    const x = { data: xs, shape: [n, 8, 1] };
    const m = sequential([bidirectional(lstm(8), { inputShape: [8, 1] }), dense(2, { activation: 'softmax' })], { seed: 2 });
    m.compile({ optimizer: { type: 'adam', learningRate: 0.02 }, loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'], backend: name });
    const h = await m.fit(x, { data: y, shape: [n] }, { epochs: 40, batchSize: 16, ...quiet });
    expect(h.history.accuracy.at(-1)).toBeGreaterThan(0.9);
    const back = modelFromBytes(await m.toBytes(), 'bi.safetensors').compile({ loss: 'sparseCategoricalCrossentropy', backend: name });
    expect(back.layers[0].config).toEqual(m.layers[0].config);
    expect((await back.predict(x)).data).toEqual((await m.predict(x)).data);
    m.dispose();
    back.dispose();
  });
});

describe('bidirectional trains the same on both backends', () => {
  it.runIf(backends.length === 2).each([
    ['lstm', 'concat', true],
    ['gru', 'ave', false],
  ] as const)('%s %s returnSequences %s: the same weights after 12 Adam steps', async (kind, mergeMode, returnSequences) => {
    const make = { lstm, gru }[kind];
    const x = sequences(96, 6, 2, 3);
    const y = { data: Int32Array.from({ length: 96 }, (_, i) => (x.data[i * 12] > x.data[i * 12 + 10] ? 1 : 0)), shape: [96] };
    const weights: Float32Array[][] = [];
    for (const [name] of backends) {
      const layers = [bidirectional(make(5, { returnSequences }), { mergeMode, inputShape: [6, 2] }), ...(returnSequences ? [lstm(3)] : []), dense(2, { activation: 'softmax' })];
      const m = sequential(layers, { seed: 4 }).compile({ optimizer: { type: 'adam', learningRate: 0.01 }, loss: 'sparseCategoricalCrossentropy', backend: name });
      await m.fit(x, y, { epochs: 2, batchSize: 16, shuffle: false, ...quiet });
      weights.push(await m.getWeights());
      m.dispose();
    }
    // As the recurrent layers' own check (recurrent.test.ts): 12 Adam steps of float32 through time, each backend's summation order.
    weights[0].forEach((w, i) => expectClose(weights[1][i], w, { atol: 2e-4, rtol: 1e-3, why: "12 Adam steps of float32 through time, the kernels' own summation order" }, `weight ${i}`));
  });
});
