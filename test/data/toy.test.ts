import { describe, expect, it } from 'vitest';
import type { ToyName, ToyPoint } from '../../src/data/toy.js';
import { multigaussLabel, TOY_DATASETS, toyDataset, toyPoints } from '../../src/data/toy.js';

/* TensorFlow Playground's data sets, against the rules of its src/dataset.ts. */

const radius = (p: ToyPoint) => Math.hypot(p.x, p.y);
const share = <T>(xs: readonly T[], f: (x: T) => boolean) => xs.filter(f).length / xs.length;
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const variance = (v: number[]) => mean(v.map((x) => (x - mean(v)) ** 2));

describe('the generators at noise 0', () => {
  it("have the Playground's point counts, or the count asked for, odd ones too", () => {
    for (const name of TOY_DATASETS) {
      expect(toyPoints(name).length, name).toBe(name === 'plane' || name === 'multigauss' ? 1200 : 500);
      expect(toyPoints(name, { points: 37 }).length, name).toBe(37);
    }
  });

  it('circle: +1 inside radius 2.5, −1 in the ring 3.5 to 5, half each', () => {
    const points = toyPoints('circle', { seed: 1 });
    expect(share(points, (p) => p.label === 1)).toBe(0.5);
    for (const p of points) {
      if (p.label === 1) expect(radius(p)).toBeLessThan(2.5);
      else expect(radius(p) >= 3.5 && radius(p) < 5).toBe(true);
    }
  });

  it("xor: each coordinate 0.3 to 5.3 from the axis, labelled by the sign of x·y", () => {
    for (const p of toyPoints('xor', { seed: 2 })) {
      for (const v of [p.x, p.y]) expect(Math.abs(v) >= 0.3 && Math.abs(v) <= 5.3).toBe(true);
      expect(p.label).toBe(p.x * p.y >= 0 ? 1 : -1);
    }
  });

  it('gauss: two clouds of variance 0.5 around (2, 2) (+1) and (−2, −2) (−1); at noise 50, variance 4', () => {
    for (const [noise, v] of [[0, 0.5], [50, 4]]) {
      const points = toyPoints('gauss', { seed: 3, noise, points: 20_000 });
      for (const [label, c] of [[1, 2], [-1, -2]]) {
        const cloud = points.filter((p) => p.label === label);
        expect(cloud.length).toBe(10_000);
        // Means within 5 standard errors, variances within 5% (20,000 draws: the standard error of a variance is v·√(2/n) ≈ 1.4%·v).
        for (const axis of ['x', 'y'] as const) {
          const values = cloud.map((p) => p[axis]);
          expect(Math.abs(mean(values) - c)).toBeLessThan(5 * Math.sqrt(v / 10_000));
          expect(Math.abs(variance(values) / v - 1)).toBeLessThan(0.05);
        }
      }
    }
  });

  it('spiral: two arms half a turn apart, 1.75 turns each, the radius growing from 0 to 5', () => {
    const points = toyPoints('spiral', { seed: 4 });
    for (const p of points) {
      const r = radius(p);
      expect(r).toBeLessThan(5);
      // On arm +1 the angle from the y axis is 1.75 turns·r/5; arm −1 is half a turn on.
      const t = (1.75 * r) / 5 * 2 * Math.PI + (p.label === 1 ? 0 : Math.PI);
      expect(Math.hypot(p.x - r * Math.sin(t), p.y - r * Math.cos(t))).toBeLessThan(1e-9);
    }
    expect(share(points, (p) => p.label === 1)).toBe(0.5);
  });

  it('plane: uniform in [−6, 6]², labelled (x + y)/10; multigauss: the strongest of six bumps, in [−1, 1]', () => {
    for (const p of toyPoints('plane', { seed: 5 })) {
      expect(Math.max(Math.abs(p.x), Math.abs(p.y))).toBeLessThanOrEqual(6);
      expect(p.label).toBeCloseTo((p.x + p.y) / 10, 12);
    }
    const multi = toyPoints('multigauss', { seed: 5 });
    for (const p of multi) expect(p.label).toBe(multigaussLabel(p.x, p.y));
    // The bumps' peaks and the rule between them: (−4, 2.5) is +1, (0, 2.5) is −1, a point 1 from (4, −2.5) is −0.5, far from all is 0.
    expect([multigaussLabel(-4, 2.5), multigaussLabel(0, 2.5), multigaussLabel(5, -2.5), multigaussLabel(-2, 0)]).toEqual([1, -1, -0.5, 0]);
    expect(share(multi, (p) => p.label !== 0)).toBeGreaterThan(0.3);
  });
});

describe('noise', () => {
  it('circle and xor: points stay where they were drawn, labels near the boundary flip', () => {
    const circle = toyPoints('circle', { seed: 6, noise: 50 });
    const flipped = share(circle, (p) => (radius(p) < 2.5 ? 1 : -1) !== p.label);
    expect(flipped).toBeGreaterThan(0.05);
    expect(flipped).toBeLessThan(0.5);
    expect(Math.max(...circle.map(radius))).toBeLessThan(5);
    const xor = toyPoints('xor', { seed: 6, noise: 50 });
    expect(share(xor, (p) => (p.x * p.y >= 0 ? 1 : -1) !== p.label)).toBeGreaterThan(0.05);
    expect(Math.max(...xor.map((p) => Math.max(Math.abs(p.x), Math.abs(p.y))))).toBeLessThanOrEqual(5.3);
  });

  it('spiral: points move off the arms by at most ±noise/100 on each axis', () => {
    const clean = toyPoints('spiral', { seed: 7 });
    const noisy = toyPoints('spiral', { seed: 7, noise: 40 });
    // The same stream draws the arms' points in the same order: match them by label and radius order is fragile, so bound instead.
    for (const p of noisy) expect(radius(p)).toBeLessThan(5 + 0.4 * Math.SQRT2);
    expect(share(noisy, (p) => {
      const r = radius(p);
      const t = (1.75 * r) / 5 * 2 * Math.PI + (p.label === 1 ? 0 : Math.PI);
      return Math.hypot(p.x - r * Math.sin(t), p.y - r * Math.cos(t)) > 1e-6;
    })).toBeGreaterThan(0.9);
    expect(clean.length).toBe(noisy.length);
  });

  it('plane and multigauss: the label is read at a moved position', () => {
    const plane = toyPoints('plane', { seed: 8, noise: 30 });
    expect(share(plane, (p) => Math.abs(p.label - (p.x + p.y) / 10) > 1e-9)).toBeGreaterThan(0.9);
    // The move is up to ±1.8 on each axis: the label is off by at most 0.36.
    for (const p of plane) expect(Math.abs(p.label - (p.x + p.y) / 10)).toBeLessThanOrEqual(0.36 + 1e-12);
  });
});

describe('seeds and the split', () => {
  it('the same seed gives the same points; another seed other points', () => {
    for (const name of TOY_DATASETS) {
      expect(toyPoints(name, { seed: 11, noise: 20 })).toEqual(toyPoints(name, { seed: 11, noise: 20 }));
      expect(toyPoints(name, { seed: 11 })).not.toEqual(toyPoints(name, { seed: 12 }));
    }
  });

  it('the points come shuffled, and the split takes the first (100 − testPercent)% to train, as percTrainData', () => {
    const points = toyPoints('circle', { seed: 13 });
    // Unshuffled, the first 250 would all be +1.
    expect(share(points.slice(0, 250), (p) => p.label === 1)).toBeLessThan(0.6);
    const { train, test, task } = toyDataset('circle', { seed: 13, testPercent: 30 });
    expect(task).toBe('classification');
    expect([train.xShape, test.xShape]).toEqual([[350, 2], [150, 2]]);
    expect(Array.from(train.x.slice(0, 2))).toEqual([Math.fround(points[0].x), Math.fround(points[0].y)]);
    expect(Array.from(test.x.slice(0, 2))).toEqual([Math.fround(points[350].x), Math.fround(points[350].y)]);
    expect(toyDataset('circle').train.xShape).toEqual([250, 2]);
  });

  it('labels as the loss needs them: classes 0/1, ±1 or 0/1 targets; regression targets [n, 1]', () => {
    const points = toyPoints('xor', { seed: 14 });
    const classes = toyDataset('xor', { seed: 14 }).train;
    expect(classes).toMatchObject({ yShape: [250], classes: 2, classNames: ['-1', '1'] });
    expect(classes.y).toBeInstanceOf(Int32Array);
    expect(classes.y[0]).toBe(points[0].label === 1 ? 1 : 0);
    const signed = toyDataset('xor', { seed: 14, labels: 'signed' }).train;
    expect([signed.yShape, signed.y[0]]).toEqual([[250, 1], points[0].label]);
    expect(new Set(toyDataset('xor', { seed: 14, labels: 'binary' }).train.y)).toEqual(new Set([0, 1]));
    const plane = toyDataset('plane', { seed: 14 });
    expect([plane.task, plane.train.yShape, plane.test.yShape]).toEqual(['regression', [600, 1], [600, 1]]);
  });

  it('refuses what it cannot do, naming it', () => {
    expect(() => toyDataset('spirals' as ToyName)).toThrow(/toyDataset: unknown data set "spirals" \(known: circle, xor, gauss, spiral, plane, multigauss\)/);
    expect(() => toyDataset('circle', { noise: 60 })).toThrow(/toyDataset: noise must be a finite number >= 0 and <= 50, got 60/);
    expect(() => toyDataset('circle', { percTrainData: 50 } as never)).toThrow(/percTrainData.*testPercent/);
    expect(() => toyDataset('plane', { labels: 'signed' })).toThrow(/labels applies to the classification sets/);
    expect(() => toyDataset('circle', { points: 3, testPercent: 90 })).toThrow(/leave 0 to train and 3 to test/);
    expect(() => toyPoints('xor', { points: 1.5 })).toThrow(/toyPoints: points must be a whole number/);
  });
});
