import { describe, expect, it } from 'vitest';
import { corpusWindows, gptFlopsPerSample, gptInitialWeights, gptModel, tokensPerSample, W7, withVocabulary } from '../../bench/gpt-workload.js';
import { benchCorpus } from '../../bench/lib/corpus.js';
import { firstDigits, flopsPerSample, INIT_SEED, sampleShape, warmupSamples } from '../../bench/workloads.js';
import { trainFigure } from '../../bench/systems/trainer.js';
import { builtinText } from '../../src/cli/data.js';

/** W7, #27's GPT in the bench: its data, sizes, FLOP count and the initial weights that webgrad and torch-cpu share. */
describe('bench W7, the GPT', () => {
  it('reads the CLI\'s built-in corpus from the repository root, as webgrad-docs', () => {
    expect(benchCorpus()).toBe(builtinText());
    expect(() => benchCorpus('/nonexistent')).toThrow(/no README\.md in \/nonexistent; run the bench from the repository root/);
  });

  it('cuts the text into windows of character ids, each labelled with the next character at every step', () => {
    const text = 'abcdefghij'.repeat(6);
    const c = corpusWindows(text, 4);
    expect(c.vocabulary).toBe(10);
    // The first 90% (54 characters) give 13 windows of 4 and the character after each.
    expect(c.data.n).toBe(13);
    expect([...c.data.x.subarray(0, 8)]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect([...c.data.y.subarray(0, 8)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // A timed run's first n windows keep each window's 4 labels with it, also past the end (repeated from the start).
    const two = firstDigits(c.data, 2);
    expect([two.x.length, two.y.length, two.labels]).toEqual([8, 8, 4]);
    const more = firstDigits(c.data, 14);
    expect([...more.y.subarray(52, 56)]).toEqual([...c.data.y.subarray(0, 4)]);
    expect([...more.x.subarray(52, 56)]).toEqual([...c.data.x.subarray(0, 4)]);
  });

  it('is the issue\'s GPT: 4 blocks of 4 heads, width 128, context 64, batch 32; tokens are samples × 64', () => {
    const w = W7(false);
    expect(w).toMatchObject({ id: 'W7', gpt: { context: 64, width: 128, blocks: 4, heads: 4 }, batch: 32, samples: 1024 });
    expect(W7(true).samples).toBe(128);
    expect(sampleShape(w)).toEqual([64]);
    expect(tokensPerSample(w)).toBe(64);
    expect(warmupSamples(W7(true))).toBe(32);
    expect(() => gptModel(w)).toThrow(/vocabulary is not known yet/);
  });

  it('counts three times the forward\'s multiply-adds of every kernel the model holds, plus causal attention\'s pairs', () => {
    const w = withVocabulary(W7(true), 97);
    // Every kernel of rank ≥ 2 (Dense [in, out], the attention's [D, H, dk] and [H, dv, D]) is one multiply-add per element a token; the embedding tables are lookups.
    const macs = gptInitialWeights(w, INIT_SEED).filter((p) => p.name.endsWith('/kernel')).reduce((a, p) => a + p.data.length, 0);
    expect(macs).toBe(4 * 12 * 128 * 128 + 128 * 97);
    const pairs = (64 * 65) / 2;
    expect(flopsPerSample(w)).toBe(gptFlopsPerSample(w.gpt!));
    expect(flopsPerSample(w)).toBe(2 * 3 * (64 * macs + 4 * 2 * pairs * 128));
  });

  it('reports tokens per second (samples × context) and the GPT it trained, vocabulary included', () => {
    const w = withVocabulary(W7(true), 97);
    const f = trainFigure('webgrad-cpu', w, { warmupSeconds: 1, seconds: [4, 2], cpuSeconds: [8, 8], losses: [4, 4], samples: 128 });
    expect(f.samplesPerSecond.median).toBeCloseTo(48, 9);
    expect(f.tokensPerSecond).toEqual({ median: 3072, min: 2048, max: 4096, runs: 2 });
    expect(f.tokensPerCpuSecond?.median).toBe(1024);
    expect(f.gpt).toEqual({ context: 64, width: 128, blocks: 4, heads: 4, vocabulary: 97 });
    expect(trainFigure('webgrad-cpu', { id: 'W1', title: '', layers: [784, 10], batch: 8, samples: 8 }, { warmupSeconds: 1, seconds: [1], cpuSeconds: [1], losses: [1], samples: 8 }).tokensPerSecond).toBeUndefined();
  });

  it('draws the same named initial weights from the seed, in the model\'s order', () => {
    const w = withVocabulary({ ...W7(true), gpt: { context: 8, width: 16, blocks: 2, heads: 2, vocabulary: 0 } }, 11);
    const a = gptInitialWeights(w, INIT_SEED);
    const b = gptInitialWeights(w, INIT_SEED);
    expect(a.map((p) => p.name)).toEqual(gptModel(w).paramSpecs().map((p) => p.name));
    expect(a.find((p) => p.name === 'block2_attention/query/kernel')?.shape).toEqual([16, 2, 8]);
    a.forEach((p, i) => expect(p.data, p.name).toEqual(b[i].data));
    expect(gptInitialWeights(w, INIT_SEED + 1)[0].data).not.toEqual(a[0].data);
  });
});
