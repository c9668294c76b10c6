import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { input, model } from '../../src/nn/functional.js';
import { add, dense, embedding, flatten, layerNormalization, multiHeadAttention, positionEmbedding } from '../../src/nn/layers.js';
import type { Model } from '../../src/nn/model.js';
import { loadModel } from '../../src/nn/saving.js';
import { backends } from '../helpers/backends.js';
import { expectClose } from '../helpers/check.js';

const quiet = { verbose: 0 as const };

/**
 * Keras' MultiHeadAttention written out in float64 from its weights (kernels
 * [F, H, d] and [H, dv, out], biases [H, d] and [out]): per head, softmax of
 * q·k/√dk over the keys (causal: s ≤ t only; masked: where mask is 1), times v;
 * the heads through the output kernel. What the layer must compute.
 */
function reference(x: Float32Array, [B, T, F]: number[], w: Float32Array[], H: number, dk: number, causal: boolean, mask?: Float32Array): Float64Array {
  const [wq, bq, wk, bk, wv, bv, wo, bo] = w;
  const out = bo.length;
  const proj = (kernel: Float32Array, bias: Float32Array, b: number, t: number, h: number, d: number, size: number) => {
    let s = bias[h * size + d];
    for (let f = 0; f < F; f++) s += x[(b * T + t) * F + f] * kernel[(f * H + h) * size + d];
    return s;
  };
  const y = new Float64Array(B * T * out);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const heads = new Float64Array(H * dk);
      for (let h = 0; h < H; h++) {
        const q = Array.from({ length: dk }, (_, d) => proj(wq, bq, b, t, h, d, dk));
        const scores: number[] = [];
        for (let s = 0; s < T; s++) {
          const allowed = (!causal || s <= t) && (!mask || mask[(b * T + t) * T + s] !== 0);
          scores.push(allowed ? q.reduce((a, qd, d) => a + qd * proj(wk, bk, b, s, h, d, dk), 0) / Math.sqrt(dk) : -Infinity);
        }
        const m = Math.max(...scores);
        const e = scores.map((v) => Math.exp(v - m));
        const z = e.reduce((a, v) => a + v, 0);
        for (let s = 0; s < T; s++) for (let d = 0; d < dk; d++) heads[h * dk + d] += (e[s] / z) * proj(wv, bv, b, s, h, d, dk);
      }
      for (let o = 0; o < out; o++) {
        let v = bo[o];
        for (let i = 0; i < H * dk; i++) v += heads[i] * wo[i * out + o];
        y[(b * T + t) * out + o] = v;
      }
    }
  }
  return y;
}

function data(n: number, seed: number): Float32Array {
  const r = new Random(seed);
  return Float32Array.from({ length: n }, () => r.uniform(-1, 1));
}

describe.each(backends)('multiHeadAttention on %s', (name) => {
  const models: Model[] = [];
  const track = <M extends Model>(m: M) => (models.push(m), m);
  afterAll(() => models.forEach((m) => m.dispose()));
  const backend = name === 'cpu' ? 'cpu' : 'webgpu';

  it.each([
    ['self-attention, 3 heads of 4, 5 steps', 5, false, false],
    ['causal self-attention, 2 heads of 4, 7 steps', 7, true, false],
    ['with an attentionMask, one query masked throughout', 6, false, true],
  ] as const)('%s: as Keras computes it from the weights', async (_label, T, causal, masked) => {
    const [B, F, H, dk] = [2, 6, causal ? 2 : 3, 4];
    const x = input({ shape: [T, F] });
    const m = input({ shape: [T, T] });
    const mha = multiHeadAttention({ numHeads: H, keyDim: dk });
    const y = mha.apply([x, x], { useCausalMask: causal, ...(masked ? { attentionMask: m } : {}) });
    const net = track(model({ inputs: masked ? [x, m] : x, outputs: y }));
    net.compile({ loss: 'meanSquaredError', backend });
    const weights = net.paramSpecs().map((p, i) => data(p.shape.reduce((a, b) => a * b, 1), 10 + i));
    net.setWeights(weights);
    const xs = data(B * T * F, 3);
    // Sample 1's query 2 attends nothing; everything else attends about two thirds of the keys.
    const mask = Float32Array.from({ length: B * T * T }, (_, i) => (i >= T * T + 2 * T && i < T * T + 3 * T ? 0 : (i * 7) % 3 === 0 ? 0 : 1));
    const inputs = masked ? [{ data: xs, shape: [B, T, F] }, { data: mask, shape: [B, T, T] }] : { data: xs, shape: [B, T, F] };
    const got = await net.predict(inputs);
    const want = reference(xs, [B, T, F], weights, H, dk, causal, masked ? mask : undefined);
    if (masked) {
      // A query with no key to attend outputs 0 from the heads (attention.ts), so just the output bias.
      for (let o = 0; o < F; o++) want[(T + 2) * F + o] = weights[7][o];
    }
    // float32 projections and softmax against float64: sums of a few dozen terms of size ~1.
    expectClose(got.data, want, { atol: 2e-5, rtol: 1e-4, why: 'float32 projections, scores and softmax over ≤ 7 keys against float64' }, 'output');
  });

  it('a small Transformer block (pre-norm, residuals) learns to copy the previous token, and saves and loads', async () => {
    const [T, V, D] = [8, 6, 16];
    const ids = input({ shape: [T] });
    const tok = embedding(V, D).apply(ids);
    const h = add().apply([tok, positionEmbedding({ sequenceLength: T }).apply(tok)]);
    const n1 = layerNormalization().apply(h);
    const a = add().apply([h, multiHeadAttention({ numHeads: 2, keyDim: 8 }).apply([n1, n1], { useCausalMask: true })]);
    const f = add().apply([a, dense(D).apply(dense(4 * D, { activation: 'gelu' }).apply(layerNormalization().apply(a)))]);
    const logits = dense(V, { activation: 'softmax' }).apply(layerNormalization().apply(f));
    const net = track(model({ inputs: ids, outputs: logits, seed: 3 }));
    net.compile({ optimizer: { type: 'adam', learningRate: 0.01 }, loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'], backend });
    // Target at step t: the token at t − 1 (0 at the first step). Only attention to the previous position can do it.
    const r = new Random(5);
    const n = 256;
    const x = Float32Array.from({ length: n * T }, () => Math.floor(r.uniform(0, V)));
    const y = Int32Array.from({ length: n * T }, (_, i) => (i % T === 0 ? 0 : x[i - 1]));
    const hist = await net.fit({ data: x, shape: [n, T] }, { data: y, shape: [n, T] }, { epochs: 15, batchSize: 32, ...quiet });
    expect(hist.history.accuracy[14]).toBeGreaterThan(0.95);
    const dir = mkdtempSync(join(tmpdir(), 'webgrad-attention-'));
    try {
      await net.save(join(dir, 'gpt.safetensors'));
      const back = track(await loadModel(join(dir, 'gpt.safetensors')));
      back.compile({ ...back.compileOptions!, backend });
      expect((await back.predict({ data: x, shape: [n, T] })).data).toEqual((await net.predict({ data: x, shape: [n, T] })).data);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("padded steps (an embedding's maskZero): no query attends them, and the loss skips them", async () => {
    // The same layers on 6 steps and on 4: a sample padded from 4 to 6 must give the 4-step model's outputs at its real steps.
    const [V, D] = [9, 8];
    const layers = () => [embedding(V, D, { maskZero: true, name: 'tokens' }), multiHeadAttention({ numHeads: 2, keyDim: 4, name: 'attention' }), dense(3, { activation: 'softmax', name: 'head' })] as const;
    const build = (T: number) => {
      const [emb, mha, head] = layers();
      const ids = input({ shape: [T] });
      const e = emb.apply(ids);
      return track(model({ inputs: ids, outputs: head.apply(mha.apply([e, e])) }));
    };
    const [long, short] = [build(6), build(4)];
    for (const m of [long, short]) m.compile({ loss: 'sparseCategoricalCrossentropy', backend });
    const weights = long.paramSpecs().map((p, i) => data(p.shape.reduce((a, b) => a * b, 1), 20 + i));
    long.setWeights(weights);
    short.setWeights(weights);
    const padded = Float32Array.of(3, 1, 4, 1, 0, 0, 2, 7, 1, 8, 2, 8);
    const got = (await long.predict({ data: padded, shape: [2, 6] })).data;
    const want = (await short.predict({ data: Float32Array.of(3, 1, 4, 1), shape: [1, 4] })).data;
    // The same float32 sums over the same 4 keys: padded keys contribute exactly nothing.
    expectClose(got.subarray(0, 4 * 3), Float64Array.from(want), { atol: 1e-6, rtol: 1e-5, why: 'the same attention over the same keys, the padded ones skipped' }, 'real steps');
    // The labels at padded steps never count: changing them leaves the loss as it is.
    const y = Int32Array.of(0, 1, 2, 0, 1, 2, 2, 1, 0, 2, 1, 0);
    const other = Int32Array.from(y, (v, i) => (i === 4 || i === 5 ? (v + 1) % 3 : v));
    const [a, b] = [await long.evaluate({ data: padded, shape: [2, 6] }, { data: y, shape: [2, 6] }), await long.evaluate({ data: padded, shape: [2, 6] }, { data: other, shape: [2, 6] })];
    expect(b.loss).toBe(a.loss);
  });

  it('dropout on the attention probabilities: only while training', async () => {
    const x = input({ shape: [5, 4] });
    const net = track(model({ inputs: x, outputs: flatten().apply(multiHeadAttention({ numHeads: 2, keyDim: 3, dropout: 0.5 }).apply([x, x])) }));
    // A learning rate too small to move the weights: the losses differ only by the masks drawn.
    net.compile({ optimizer: { type: 'sgd', learningRate: 1e-12 }, loss: 'meanSquaredError', backend });
    const xs = { data: data(40, 1), shape: [2, 5, 4] };
    const [a, b] = [await net.predict(xs), await net.predict(xs)];
    expect(a.data).toEqual(b.data);
    const ys = { data: data(40, 2), shape: [2, 20] };
    const [e1, e2] = [await net.evaluate(xs, ys), await net.evaluate(xs, ys)];
    expect(e1.loss).toBe(e2.loss);
    const h = await net.fit(xs, ys, { epochs: 2, batchSize: 2, ...quiet });
    expect(h.history.loss[0]).not.toBe(h.history.loss[1]);
    expect(h.history.loss[0]).not.toBe(e1.loss);
  });
});

describe('multiHeadAttention refuses by name', () => {
  it('a causal mask over query and value of different lengths, a single tensor, unknown call arguments, too wide a head', () => {
    const q = input({ shape: [4, 6] });
    const v = input({ shape: [5, 6] });
    expect(() => multiHeadAttention({ numHeads: 2, keyDim: 3, name: 'att' }).apply([q, v], { useCausalMask: true })).toThrow(/att: useCausalMask with a query of 4 steps and a value of 5; a causal mask needs query and value of one length/);
    expect(multiHeadAttention({ numHeads: 2, keyDim: 3 }).apply([q, v]).shape).toEqual([null, 4, 6]);
    expect(multiHeadAttention({ numHeads: 2, keyDim: 3, outputShape: 8 }).apply([q, v, v]).shape).toEqual([null, 4, 8]);
    expect(() => multiHeadAttention({ numHeads: 2, keyDim: 3, name: 'att' }).apply(q)).toThrow(/att: a multiHeadAttention layer takes 2 to 4 inputs, got 1/);
    expect(() => multiHeadAttention({ numHeads: 2, keyDim: 3 }).apply([q, q], { useCasualMask: true })).toThrow(/unknown option 'useCasualMask'.*useCausalMask/);
    expect(() => multiHeadAttention({ numHeads: 2, keyDim: 3 }).apply([q, q], { return_attention_scores: true })).toThrow(/return_attention_scores/);
    expect(() => multiHeadAttention({ numHeads: 2, keyDim: 200 })).toThrow(/keyDim 200 and valueDim 200 must be at most 128/);
    expect(() => multiHeadAttention({ numHeads: 2 } as never)).toThrow(/numHeads and keyDim are required/);
    expect(() => multiHeadAttention({ numHeads: 2, keyDim: 3, num_heads: 2 } as never)).toThrow(/num_heads/);
    expect(() => multiHeadAttention({ numHeads: 2, keyDim: 3, name: 'att' }).apply([q, q], { attentionMask: input({ shape: [4, 5] }) })).toThrow(/att: the attentionMask must be \[queries, keys\] = \[4, 4\] per sample, got \[4, 5\]/);
    expect(() => dense(2).apply([q, q], { useCausalMask: true })).toThrow(/takes one input, got a list of 2|takes no call arguments/);
    // A mask of padded steps: the output carries the query's; an attentionMask beside it is refused.
    const ids = input({ shape: [4] });
    const e = embedding(10, 6, { maskZero: true }).apply(ids);
    expect(() => multiHeadAttention({ numHeads: 2, keyDim: 3, name: 'att' }).apply([e, e], { attentionMask: input({ shape: [4, 4] }) })).toThrow(/att: takes no attentionMask together with the mask of padded steps \(maskZero\) that its value or key carries/);
    expect(() => flatten({ name: 'f' }).apply(multiHeadAttention({ numHeads: 2, keyDim: 3 }).apply([e, q]))).toThrow(/f: cannot take the mask of embedding_\d+ \(maskZero\)/);
    expect(flatten().apply(multiHeadAttention({ numHeads: 2, keyDim: 3 }).apply([q, e])).shape).toEqual([null, 24]);
  });
});
