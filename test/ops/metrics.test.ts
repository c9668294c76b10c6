import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { argmaxAccuracy, binaryAccuracy } from '../../src/ops/metrics.js';
import type { BinaryAccuracyAttrs } from '../../src/ops/metrics.js';
import { backends } from '../helpers/backends.js';
import { expectClose, randLabels, reference, rng, runOn, tensor } from '../helpers/check.js';
import type { HostTensor } from '../helpers/check.js';
import type { Random } from '../../src/core/random.js';

const U = 2 ** -24; // float32 unit roundoff

// Argmax accuracy is 0 or 1 per sample: no tolerance at all.
const EXACT = { atol: 0, rtol: 0, why: 'a 0/1 outcome per sample' };

/** Values from a few levels only, so that rows have many ties (and equal the threshold 0.5 often). */
function quantized(r: Random, shape: number[], levels: number): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(shape, Array.from({ length: n }, () => r.int(levels) / (levels - 1)));
}

function oneHot(labels: Int32Array, C: number): HostTensor {
  const d = new Float32Array(labels.length * C);
  labels.forEach((l, b) => (d[b * C + l] = 1));
  return { info: { shape: [labels.length, C], dtype: 'f32' }, data: d };
}

/**
 * A binary accuracy is hits/D: the count is exact, but hits·fl(1/D) takes two
 * roundings (1/D to f32, then the product), so the value is within (2u+u²)
 * of hits/D, far below the 1/D between counts. Check both: the count exactly,
 * and the value within the bound.
 */
function expectBinary(got: Float64Array, want: Float64Array, D: number, label: string): void {
  const badCount = got.findIndex((g, b) => Math.round(g * D) !== Math.round(want[b] * D));
  expect(badCount, `${label}: first row with a wrong count: got ${got[badCount] * D}, expected ${want[badCount] * D}`).toBe(-1);
  expectClose(got, want, { atol: 0, rtol: 2 * U + U * U, why: 'exact count times fl(1/D): two roundings' }, label);
}

describe.each(backends)('metrics on %s', (name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  it('argmaxAccuracy: ties go to the first maximal index, out-of-range labels count as wrong', async () => {
    const pred = tensor([6, 3], [1, 3, 3, /**/ 2, 2, 2, /**/ 0, -1, 0, /**/ 5, 1, 5, /**/ -4, -2, -3, /**/ 0.5, 0.2, 0.1]);
    const labels = tensor([6], [1, 0, 2, 2, 1, -1], 'i32');
    const [sparse] = await runOn(be, argmaxAccuracy, [pred, labels], {});
    expect([...sparse]).toEqual([1, 1, 0, 0, 1, 0]);
    expect([...(await runOn(be, argmaxAccuracy, [pred, tensor([6], [1, 0, 0, 0, 3, 0], 'i32')], {}))[0]]).toEqual([1, 1, 1, 1, 0, 1]);
    // Probability targets with ties of their own: their argmax is the first maximum too.
    const probs = tensor([6, 3], [0.2, 0.4, 0.4, /**/ 1, 0, 0, /**/ 0.3, 0.3, 0.4, /**/ 0.5, 0, 0.5, /**/ 0, 1, 0, /**/ 1 / 3, 1 / 3, 1 / 3]);
    const [dense] = await runOn(be, argmaxAccuracy, [pred, probs], {});
    expect([...dense]).toEqual([1, 1, 0, 1, 1, 1]);
  });

  // B: 1, primes, non-multiples of 256, 60000; C: 1, 2, primes, 10, 1000.
  const SHAPES = [[1, 1], [1, 10], [7, 2], [13, 13], [257, 10], [60000, 10], [60000, 1], [300, 1000]];
  it.each(SHAPES)('argmaxAccuracy vs reference, [%i, %i], sparse and one-hot, random and tied', async (B, C) => {
    const r = rng(B * 17 + C);
    const labels = randLabels(r, B, C);
    for (const pred of [quantized(r, [B, C], 1 << 20), quantized(r, [B, C], 3)]) {
      for (const target of [labels, oneHot(labels.data as Int32Array, C), quantized(r, [B, C], 3)]) {
        const [got] = await runOn(be, argmaxAccuracy, [pred, target], {});
        expectClose(got, reference(argmaxAccuracy, [pred, target], {})[0], EXACT, `[${B}, ${C}] ${target.info.dtype}`);
      }
    }
  });

  it('binaryAccuracy: strict threshold, targets above 0.5, threshold 0 for logits, f32 threshold', async () => {
    const p = tensor([3, 4], [0.5, 0.6, 0.2, 0.9, /**/ -1, 0, 2, 0.1, /**/ Math.fround(0.3), 0.31, 0.29, 1]);
    const t = tensor([3, 4], [0, 1, 0, 0, /**/ 0, 0, 1, 1, /**/ 0, 1, 0.5, 0.7]);
    const run = async (attrs: BinaryAccuracyAttrs) => [...(await runOn(be, binaryAccuracy, [p, t], attrs))[0]];
    expect(await run({})).toEqual([0.75, 0.75, 0.75]);
    expect(await run({ threshold: 0 })).toEqual([0.25, 1, 0.5]);
    // 0.3 becomes fround(0.3) (Keras casts the threshold to the predictions' dtype), so p = fround(0.3) is not above it.
    expect(await run({ threshold: 0.3 })).toEqual([0.5, 0.75, 1]);
  });

  // D: 1, 2, primes, 10, 1000 (D = 1, 2 make every value exact; the rest need the count check).
  it.each([[1, 1], [7, 2], [13, 13], [257, 3], [60000, 1], [60000, 10], [100, 1000]])('binaryAccuracy vs reference, [%i, %i]', async (B, D) => {
    const r = rng(B * 5 + D);
    const t = quantized(r, [B, D], 2);
    for (const [p, threshold] of [[quantized(r, [B, D], 5), 0.5], [quantized(r, [B, D], 1 << 20), 0.5], [quantized(r, [B, D], 5), 0.25]] as const) {
      const [got] = await runOn(be, binaryAccuracy, [p, t], { threshold });
      expectBinary(got, reference(binaryAccuracy, [p, t], { threshold })[0], D, `[${B}, ${D}] threshold ${threshold}`);
    }
  });

  // A GPU dispatch question: the CPU backend runs the same loop as the reference at every size (the 60000-row cases above cover it).
  it.runIf(name === 'webgpu')('every row is written past 65535 workgroups of 256 rows (2-D dispatch)', async () => {
    const B = 65535 * 256 + 1;
    const r = rng(9);
    const labels = randLabels(r, B, 2);
    const pred = tensor([B, 1], Float32Array.from(labels.data, (l) => l - 0.5)); // > 0.5 threshold never, > 0 when the label is 1
    const [sparse] = await runOn(be, argmaxAccuracy, [pred, labels], {});
    expectClose(sparse, reference(argmaxAccuracy, [pred, labels], {})[0], EXACT, 'sparse');
    const [dense] = await runOn(be, argmaxAccuracy, [pred, pred], {});
    expectClose(dense, new Float64Array(B).fill(1), EXACT, 'dense');
    const [binary] = await runOn(be, binaryAccuracy, [pred, pred], { threshold: 0 });
    expectClose(binary, reference(binaryAccuracy, [pred, pred], { threshold: 0 })[0], EXACT, 'binary');
  });

  it('refuses wrong shapes, dtypes and thresholds, naming what was expected', () => {
    const pred = be.allocate([4, 3]);
    const out = be.allocate([4]);
    const msg = /argmaxAccuracy: targets must be i32\[4\] class labels or f32\[4, 3\] one-hot\/probabilities to match predictions f32\[4, 3\], got /;
    expect(() => be.run(argmaxAccuracy, [pred, be.allocate([4])], [out], {})).toThrow(new RegExp(msg.source + 'f32\\[4\\]'));
    expect(() => be.run(argmaxAccuracy, [pred, be.allocate([5], 'i32')], [out], {})).toThrow(new RegExp(msg.source + 'i32\\[5\\]'));
    expect(() => be.run(argmaxAccuracy, [pred, be.allocate([4, 2])], [out], {})).toThrow(new RegExp(msg.source + 'f32\\[4, 2\\]'));
    expect(() => be.run(argmaxAccuracy, [be.allocate([12]), be.allocate([12], 'i32')], [out], {})).toThrow(/predictions must have rank 2, got f32\[12\]/);
    expect(() => be.run(argmaxAccuracy, [be.allocate([4, 3], 'i32'), be.allocate([4], 'i32')], [out], {})).toThrow(/predictions must be f32, got i32\[4, 3\]/);
    expect(() => be.run(binaryAccuracy, [pred, be.allocate([4, 2])], [out], {})).toThrow(
      /binaryAccuracy: predictions f32\[4, 3\] and targets f32\[4, 2\] must have the same shape and dtype/,
    );
    expect(() => be.run(binaryAccuracy, [pred, be.allocate([4, 3], 'i32')], [out], {})).toThrow(/targets i32\[4, 3\] must have the same shape and dtype/);
    expect(() => be.run(binaryAccuracy, [pred, be.allocate([4, 3])], [out], { threshold: NaN })).toThrow(/threshold must be a finite number, got NaN/);
    expect(() => be.run(binaryAccuracy, [pred, be.allocate([4, 3])], [be.allocate([4, 3])], {})).toThrow(/output 0 must be f32\[4\], got f32\[4, 3\]/);
  });
});
