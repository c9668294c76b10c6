import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { featureRecord, featureWgsl, POINT_FEATURES, pointFeatures, pointFeaturesBackward } from '../../src/ops/features.js';
import type { PointFeature } from '../../src/ops/features.js';
import { backends } from '../helpers/backends.js';
import { expectClose, FD_TOL, numericGradient, randn, reference, rng, runOn } from '../helpers/check.js';

/* The Playground's features of points (x, y): the op under PointFeatures and its gradient. */

/** The features written out by hand, apart from the records: what the records must compute. */
const BY_HAND: Record<PointFeature, (x: number, y: number) => number> = {
  x: (x) => x,
  y: (_x, y) => y,
  xSquared: (x) => x ** 2,
  ySquared: (_x, y) => y ** 2,
  xTimesY: (x, y) => x * y,
  sinX: (x) => Math.sin(x),
  sinY: (_x, y) => Math.sin(y),
};

describe('the feature records', () => {
  it('are the Playground\'s seven, in its order, each the function it names', () => {
    expect(POINT_FEATURES).toEqual(['x', 'y', 'xSquared', 'ySquared', 'xTimesY', 'sinX', 'sinY']);
    for (const f of POINT_FEATURES) {
      for (const [x, y] of [[0.3, -2], [-5.5, 4.25], [0, 6]]) expect(featureRecord(f).f(x, y), f).toBe(BY_HAND[f](x, y));
    }
  });

  it('give partial derivatives that finite differences agree with', () => {
    for (const f of POINT_FEATURES) {
      const r = featureRecord(f);
      for (const [x, y] of [[0.3, -2], [-5.5, 4.25]]) {
        const h = 1e-6;
        const num = [(r.f(x + h, y) - r.f(x - h, y)) / (2 * h), (r.f(x, y + h) - r.f(x, y - h)) / (2 * h)];
        expectClose(r.grad(x, y), num, FD_TOL, f);
      }
    }
  });

  it('generate one WGSL case per feature, numbered by the table', () => {
    const wgsl = featureWgsl();
    POINT_FEATURES.forEach((f, i) => expect(wgsl).toContain(`case ${i}u: { return ${featureRecord(f).wgsl.f}; } // ${f}`));
  });
});

describe('pointFeatures against finite differences (CPU reference)', () => {
  it('the backward is the gradient of ⟨features(x), w⟩ for every feature at once, and for a subset in another order', () => {
    for (const features of [POINT_FEATURES, ['sinY', 'x', 'xTimesY'] as PointFeature[]]) {
      const x = randn(rng(3), [5, 2], -6, 6);
      const w = randn(rng(4), [5, features.length]);
      const attrs = { features };
      const loss = (v: Float64Array) => reference(pointFeatures, [{ info: x.info, data: v }], attrs)[0].reduce((s, e, i) => s + e * w.data[i], 0);
      expectClose(reference(pointFeaturesBackward, [x, w], attrs)[0], numericGradient(loss, Float64Array.from(x.data)), FD_TOL, features.join());
    }
  });

  it('refuses what it cannot do, naming it', () => {
    const pts = { shape: [4, 2], dtype: 'f32' as const };
    expect(() => pointFeatures.outputs([{ shape: [4, 3], dtype: 'f32' }], { features: ['x'] })).toThrow(/pointFeatures: x must be f32 points \[n, 2\] \(x, y\), got f32\[4, 3\]/);
    expect(() => pointFeatures.outputs([pts], { features: ['xSqared' as PointFeature] })).toThrow(/unknown feature "xSqared" \(did you mean 'xSquared'\?\)/);
    expect(() => pointFeatures.outputs([pts], { features: ['x', 'x'] })).toThrow(/names 'x' twice/);
    expect(() => pointFeatures.outputs([pts], { features: [] })).toThrow(/must be a non-empty list/);
    expect(() => pointFeaturesBackward.outputs([pts, { shape: [4, 2], dtype: 'f32' }], { features: ['x'] })).toThrow(/d must be f32 \[4, 1\], got f32\[4, 2\]/);
  });
});

describe.each(backends)('pointFeatures on %s', (_name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  // f32 against the float64 reference: sin and cos of |x| ≤ 6 within a few ulp of 1 (WGSL's sin is
  // accurate to 2^-11 absolute on [-π, π] at worst, looser outside on some drivers), products within 1 ulp.
  const TOL = { atol: 2e-3, rtol: 1e-5, why: "WGSL's sin/cos: absolute error 2^-11 on [-π, π] (spec), beyond it the driver's" };

  // One point, a prime count, and enough to need more than one row of workgroups' worth of columns.
  it.each([
    [1, POINT_FEATURES],
    [67, ['sinY', 'xTimesY'] as PointFeature[]],
    [4099, ['ySquared', 'x', 'sinX', 'y'] as PointFeature[]],
    [100_003, POINT_FEATURES],
  ])('%i points, features %j: forward and backward against the reference', async (n, features) => {
    const x = randn(rng(n), [n, 2], -6, 6);
    const d = randn(rng(n + 1), [n, features.length]);
    const attrs = { features };
    const [got] = await runOn(be, pointFeatures, [x], attrs);
    expectClose(got, reference(pointFeatures, [x], attrs)[0], TOL, 'features');
    const [dx] = await runOn(be, pointFeaturesBackward, [x, d], attrs);
    // Per axis one cos term (|d| ≤ 1: error 2^-11) plus float32 rounding of ≤ 7 terms below 12 each (~5e-6): the same bound.
    expectClose(dx, reference(pointFeaturesBackward, [x, d], attrs)[0], TOL, 'd(x)');
  });
});
