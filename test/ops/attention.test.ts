import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { ATTENTION_HEAD_CAP, attention, attentionTile } from '../../src/ops/attention.js';
import type { Case } from '../helpers/attention-plain.js';
import { attentionInputs, bthd, fullyMaskedRows, label, onBackend, onReference, plainAttention, swapHeads } from '../helpers/attention-plain.js';
import { backends } from '../helpers/backends.js';
import type { Tolerance } from '../helpers/check.js';
import { expectClose, reference, runOn } from '../helpers/check.js';

/*
 * The fused attention forward: the float64 reference against the plain
 * composition of existing ops (matmul, scale, add, softmax, dropout, matmul),
 * then every backend's fused op against both, on awkward shapes; in layout
 * 'bthd' (heads inside the steps) the same numbers at the same (b, h, t),
 * dropout's bits included.
 */

const AWKWARD: Case[] = [
  { B: 2, H: 1, T: 5, S: 5, D: 8, Dv: 8, attrs: {} }, // one head
  { B: 3, H: 2, T: 1, S: 1, D: 4, Dv: 4, attrs: {} }, // T = S = 1
  { B: 2, H: 2, T: 1, S: 9, D: 16, Dv: 16, attrs: {} }, // one query over many keys (a decoding step)
  { B: 2, H: 3, T: 17, S: 31, D: 13, Dv: 7, attrs: {} }, // T ≠ S, no tile divides them, Dv ≠ D
  { B: 2, H: 3, T: 31, S: 31, D: 32, Dv: 32, attrs: { causal: true } },
  { B: 1, H: 2, T: 200, S: 200, D: 32, Dv: 32, attrs: { causal: true } }, // long: 4 workgroups of queries, 4 key tiles
  { B: 2, H: 2, T: 13, S: 13, D: 8, Dv: 5, attrs: { causal: true, masked: true } }, // with fully masked rows
  { B: 2, H: 2, T: 9, S: 13, D: 8, Dv: 8, attrs: { masked: true, scale: 0.5 } },
  { B: 2, H: 3, T: 17, S: 17, D: 16, Dv: 16, attrs: { masked: true, dropout: 0.3, seed: 11 } },
  { B: 3, H: 2, T: 13, S: 13, D: 8, Dv: 5, attrs: { causal: true, masked: true, keyMask: true } }, // padded keys [B, S]; the last sample all padding
  { B: 2, H: 2, T: 9, S: 70, D: 8, Dv: 8, attrs: { masked: true, keyMask: true, dropout: 0.3, seed: 5 } }, // two key tiles
  { B: 1, H: 1, T: 70, S: 70, D: 128, Dv: 128, attrs: { causal: true, dropout: 0.1, seed: 3 } }, // the head-dim cap: tiles of 16 keys
  { B: 1, H: 2, T: 65, S: 130, D: 100, Dv: 64, attrs: { dropout: 0.5, seed: 2 ** 32 - 1 } },
];

/**
 * Float32 against float64: each score sums D ≤ 128 products of values below
 * 1.5, its exp carries that error as relative error, and each output sums up
 * to S ≤ 200 weighted values. Worst seen on llvmpipe 3.9e-7 (D = 128), on the
 * CPU backend 1.8e-7; a wrong probability (a dropped or extra key, a wrong
 * scale) moves outputs by 1e-2 or more.
 */
const F32: Tolerance = { atol: 2e-6, rtol: 2e-5, why: 'float32 scores over D ≤ 128 and sums over S ≤ 200 keys against float64 (worst seen 3.9e-7)' };
/** Float64 against float64: the same sums in another order. */
const F64: Tolerance = { atol: 1e-12, rtol: 1e-10, why: 'float64 both ways, summed in another order' };

/** The plain composition's out with Keras' fully masked rows (the mean of v) replaced by the fused op's documented 0. */
async function expected(run: typeof onReference, c: Case, ins: ReturnType<typeof attentionInputs>): Promise<Float64Array> {
  const out = await plainAttention(run, c, ins);
  for (const r of fullyMaskedRows(c, ins)) out.fill(0, r * c.Dv, (r + 1) * c.Dv);
  return out;
}

describe('attention forward: the float64 reference', () => {
  it.each(AWKWARD.map((c) => [label(c), c] as const))('%s equals the plain composition of ops', async (_l, c) => {
    const ins = attentionInputs(c, 40);
    const [out, lse] = reference(attention, ins, c.attrs);
    expectClose(out, await expected(onReference, c, ins), F64, 'out');
    expect(lse.every(Number.isFinite)).toBe(true);
  });

  it.each(AWKWARD.map((c) => [label(bthd(c)), c] as const))('%s: out and lse are the default layout\'s, heads moved', (_l, c) => {
    const [out, lse] = reference(attention, attentionInputs(bthd(c), 40), bthd(c).attrs);
    const [wantOut, wantLse] = reference(attention, attentionInputs(c, 40), c.attrs);
    // The same sums in the same order: only where each row is read and written differs.
    expect(Array.from(swapHeads(out, [c.B, c.T, c.H, c.Dv]))).toEqual(Array.from(wantOut));
    expect(Array.from(swapHeads(lse, [c.B, c.T, c.H]))).toEqual(Array.from(wantLse));
  });

  it("gives a fully masked query 0, where the composition with Keras' −1e9 attends every key as if unmasked", async () => {
    const c = AWKWARD[6];
    const ins = attentionInputs(c, 40);
    const rows = fullyMaskedRows(c, ins);
    expect(rows.length).toBeGreaterThanOrEqual(2 * c.H);
    const [out] = reference(attention, ins, c.attrs);
    const keras = await plainAttention(onReference, c, ins);
    // −1e9 on every score of the row cancels in float64: the row is the unmasked softmax (in float32 it swamps the scores: near-uniform).
    const [unmasked] = reference(attention, ins.slice(0, 3), {});
    for (const r of rows) {
      const row = (a: Float64Array) => a.subarray(r * c.Dv, (r + 1) * c.Dv);
      expectClose(row(keras), row(unmasked), { atol: 1e-6, rtol: 1e-6, why: 'x − 1e9 in float64 keeps x to ~1e-7' }, "Keras' row");
      expect(Array.from(row(out))).toEqual(new Array(c.Dv).fill(0));
    }
  });

  it('keeps the expected value under dropout: the mean over 4,000 steps is the output without dropout, within 5 standard errors', () => {
    const c: Case = { B: 1, H: 2, T: 3, S: 6, D: 4, Dv: 3, attrs: { dropout: 0.4, seed: 9 } };
    const ins = attentionInputs(c, 50);
    const [plain] = reference(attention, ins.slice(0, 3), {});
    const n = 4000;
    const sum = new Float64Array(plain.length);
    const sq = new Float64Array(plain.length);
    for (let step = 0; step < n; step++) {
      const [o] = reference(attention, [...ins.slice(0, 3), { info: { shape: [1], dtype: 'i32' }, data: Int32Array.of(step) }], c.attrs);
      o.forEach((v, i) => ((sum[i] += v), (sq[i] += v * v)));
    }
    const mean = sum.map((s) => s / n);
    const se = mean.map((m, i) => Math.sqrt((sq[i] / n - m * m) / n));
    expect(Math.min(...se)).toBeGreaterThan(0);
    expectClose(mean, plain, { atol: se.map((s) => 5 * s), rtol: 0, why: '5 standard errors of a mean over 4,000 draws' }, 'E[out]');
  });
});

describe.each(backends)('attention forward on %s', (_name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  it.each(AWKWARD.map((c) => [label(c), c] as const))('%s: the fused op against the float64 reference and the composition run here', async (_l, c) => {
    const ins = attentionInputs(c, 40);
    const [out, lse] = await runOn(be, attention, ins, c.attrs);
    const [wantOut, wantLse] = reference(attention, ins, c.attrs);
    expectClose(out, wantOut, F32, 'out vs reference');
    expectClose(lse, wantLse, F32, 'lse vs reference');
    // The composition in float32 on this backend carries its own rounding: the sum of both bounds.
    expectClose(out, await expected(onBackend(be), c, ins), { ...F32, atol: 2 * (F32.atol as number), rtol: 2 * F32.rtol }, 'out vs composition');
  });

  it.each(AWKWARD.map((c) => [label(bthd(c)), c] as const))('%s: the fused op against the default layout\'s float64 reference, heads moved', async (_l, c) => {
    const [out, lse] = await runOn(be, attention, attentionInputs(bthd(c), 40), bthd(c).attrs);
    const [wantOut, wantLse] = reference(attention, attentionInputs(c, 40), c.attrs);
    expectClose(swapHeads(out, [c.B, c.T, c.H, c.Dv]), wantOut, F32, 'out vs reference');
    expectClose(swapHeads(lse, [c.B, c.T, c.H]), wantLse, F32, 'lse vs reference');
  });

  it.each([{}, { layout: 'bthd' } as const].map((a) => [a.layout ?? 'bhtd', a] as const))('folds more than 65,535 workgroups into two dimensions: B·H = 70,000 heads of one query (%s)', async (_l, layout) => {
    const c: Case = { B: 700, H: 100, T: 1, S: 3, D: 4, Dv: 4, attrs: layout };
    const ins = attentionInputs(c, 45);
    const [out] = await runOn(be, attention, ins, c.attrs);
    expectClose(out, reference(attention, ins, c.attrs)[0], F32, 'out');
  });
});

describe('attention refuses what it cannot do, naming it', () => {
  const f = (shape: number[]) => ({ shape, dtype: 'f32' as const });
  const step = { shape: [1], dtype: 'i32' as const };
  it.each([
    [() => attention.outputs([f([2, 2, 5, 8]), f([2, 2, 7, 8]), f([2, 2, 7, 8])], { causal: true }), /causal mask needs as many queries as keys, got 5 queries and 7 keys/],
    [() => attention.outputs([f([1, 1, 4, 129]), f([1, 1, 4, 129]), f([1, 1, 4, 8])], {}), new RegExp(`head dim \\(129\\) and value dim \\(8\\) may be at most ${ATTENTION_HEAD_CAP}`)],
    [() => attention.outputs([f([1, 1, 4, 8]), f([1, 1, 4, 8]), f([1, 1, 4, 130])], {}), /value dim \(130\) may be at most 128/],
    [() => attention.outputs([f([2, 2, 5, 8]), f([2, 2, 7, 6]), f([2, 2, 7, 8])], {}), /k must be f32 \[2, 2, keys, 8\] \(q's batch, heads and headDim\), got f32\[2, 2, 7, 6\]/],
    [() => attention.outputs([f([2, 2, 5, 8]), f([2, 2, 7, 8]), f([2, 2, 6, 8])], {}), /v must be f32 \[2, 2, 7, valueDim\]/],
    [() => attention.outputs([f([2, 2, 5, 8]), f([2, 2, 7, 8]), f([2, 2, 7, 8]), f([2, 7, 5])], { masked: true }), /mask must be f32 \[2, 5, 7\] \(\[batch, queries, keys\]/],
    [() => attention.outputs([f([2, 2, 5, 8]), f([2, 2, 7, 8]), f([2, 2, 7, 8]), f([2, 5, 7])], { masked: true, keyMask: true }), /mask must be f32 \[2, 7\] \(\[batch, keys\]; 1 attend, 0 not\), got f32\[2, 5, 7\]/],
    [() => attention.outputs([f([2, 2, 5, 8]), f([2, 2, 7, 8]), f([2, 2, 7, 8])], { keyMask: true }), /keyMask says how the mask is shaped \(\[batch, keys\]\); it needs masked: true/],
    [() => attention.outputs([f([2, 2, 5, 8]), f([2, 2, 7, 8]), f([2, 2, 7, 8])], { dropout: 0.1 }), /takes the inputs q, k, v, step, got fewer/],
    [() => attention.outputs([f([2, 2, 5, 8]), f([2, 2, 7, 8]), f([2, 2, 7, 8]), step], { dropout: 1 }), /dropout must be a number in \[0, 1\), got 1/],
    [() => attention.outputs([f([2, 2, 5, 8]), f([2, 2, 7, 8]), f([2, 2, 7, 8])], { scale: 0 }), /scale must be a finite number > 0, got 0/],
    [() => attention.outputs([f([2, 5, 3, 8]), f([2, 7, 2, 8]), f([2, 7, 3, 8])], { layout: 'bthd' }), /k must be f32 \[2, keys, 3, 8\] \(q's batch, heads and headDim\), got f32\[2, 7, 2, 8\]/],
    [() => attention.outputs([f([2, 5, 3, 8]), f([2, 7, 3, 8]), f([2, 6, 3, 8])], { layout: 'bthd' }), /v must be f32 \[2, 7, 3, valueDim\]/],
    [() => attention.outputs([f([2, 2, 5, 8]), f([2, 2, 7, 8]), f([2, 2, 7, 8])], { layout: 'btdh' as never }), /layout must be 'bhtd' .* or 'bthd' .*, got "btdh"/],
  ])('%#', (fn, message) => expect(fn).toThrow(message));

  it('picks tiles that fit 16 KiB of workgroup memory: 64 keys at D = Dv = 32, 16 at the cap', () => {
    const ctx = { maxWorkgroupStorageSize: 32768 };
    expect(attentionTile(64, ctx)).toBe(64);
    expect(attentionTile(256, ctx)).toBe(16);
    expect(attentionTile(258, ctx) * 258 * 4).toBeLessThanOrEqual(16384);
  });
});
