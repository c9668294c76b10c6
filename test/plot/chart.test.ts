import { describe, expect, it } from 'vitest';
import { renderChart, type Chart, type ChartSpec, type SeriesSpec } from '../../src/plot/chart.js';
import type { Rect, Rgb } from '../../src/plot/canvas.js';
import { PALETTE } from '../../src/plot/palette.js';

const RED: Rgb = [230, 20, 20];
const BLUE: Rgb = [20, 40, 230];
const GREEN: Rgb = [10, 150, 40];
const PURPLE: Rgb = [150, 30, 170];

const epochs = Array.from({ length: 20 }, (_, i) => i + 1);
const curve = (f: (e: number) => number) => epochs.map((e) => [e, f(e)] as [number, number]);

function twoByTwo(legend: boolean): ChartSpec {
  return {
    width: 900,
    height: 400,
    legend,
    panels: [
      {
        title: 'loss',
        xLabel: 'epoch',
        yLabel: 'loss',
        series: [
          { name: 'train', color: [...RED], points: curve((e) => 2.3 * Math.exp(-e / 4)) },
          { name: 'val', color: [...BLUE], dashed: true, points: curve((e) => 2.3 * Math.exp(-e / 5) + 0.1) },
        ],
      },
      {
        title: 'accuracy',
        xLabel: 'epoch',
        yLabel: 'accuracy',
        series: [
          { name: 'train acc', color: [...GREEN], points: curve((e) => 1 - 0.9 * Math.exp(-e / 3)) },
          { name: 'val acc', color: [...PURPLE], dashed: true, points: curve((e) => 0.95 - 0.9 * Math.exp(-e / 3)) },
        ],
      },
    ],
  };
}

function px(img: Chart, x: number, y: number): Rgb {
  const i = (y * img.width + x) * 4;
  return [img.rgba[i], img.rgba[i + 1], img.rgba[i + 2]];
}

const same = (a: Rgb, b: Rgb) => a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
const isGray = (c: Rgb) => c[0] === c[1] && c[1] === c[2];
const inside = (r: Rect, x: number, y: number) => x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h;

/** Every pixel of exactly colour `c`. */
function pixelsOf(img: Chart, c: Rgb): [number, number][] {
  const out: [number, number][] = [];
  for (let y = 0; y < img.height; y++) for (let x = 0; x < img.width; x++) if (same(px(img, x, y), c)) out.push([x, y]);
  return out;
}

/** Plot-area coordinates of data point (x, y) under the padded auto range [lo - 5%, hi + 5%]. */
function toPixel(plot: Rect, x: number, y: number, xr: [number, number], yr: [number, number]): [number, number] {
  const pad = (r: [number, number]) => [r[0] - 0.05 * (r[1] - r[0]), r[1] + 0.05 * (r[1] - r[0])];
  const [x0, x1] = pad(xr);
  const [y0, y1] = pad(yr);
  return [Math.floor(plot.x + ((x - x0) / (x1 - x0)) * plot.w), Math.floor(plot.y + plot.h - ((y - y0) / (y1 - y0)) * plot.h)];
}

describe('renderChart', () => {
  it('draws 2 panels × 2 series inside their plot areas on white, RGBA and opaque', () => {
    const img = renderChart(twoByTwo(false));
    expect([img.width, img.height, img.rgba.length]).toEqual([900, 400, 900 * 400 * 4]);
    expect(img.plots).toHaveLength(2);
    for (let i = 3; i < img.rgba.length; i += 4) if (img.rgba[i] !== 255) throw new Error(`pixel ${(i - 3) / 4} has alpha ${img.rgba[i]}`);
    const [left, right] = img.plots;
    expect(left.x + left.w).toBeLessThan(450);
    expect(right.x).toBeGreaterThan(450);
    for (const [color, plot] of [[RED, left], [BLUE, left], [GREEN, right], [PURPLE, right]] as const) {
      const hits = pixelsOf(img, color);
      expect(hits.length).toBeGreaterThan(100);
      const outside = hits.filter(([x, y]) => !inside(plot, x, y));
      expect(outside, `colour ${color} outside its plot area`).toEqual([]);
    }
    // Outside the plot areas there is only white and the grays of text, frame and grid.
    for (let y = 0; y < img.height; y++) {
      for (let x = 0; x < img.width; x++) {
        if (img.plots.some((p) => inside(p, x, y))) continue;
        if (!isGray(px(img, x, y))) throw new Error(`coloured pixel ${px(img, x, y)} at (${x}, ${y}) outside the plot areas`);
      }
    }
    for (const [x, y] of [[0, 0], [899, 0], [0, 399], [899, 399], [450, 200], [3, 200]]) expect(px(img, x, y)).toEqual([255, 255, 255]);
  });

  it('puts each curve where its data is: the loss starts high on the left, the accuracy ends high on the right', () => {
    const img = renderChart(twoByTwo(false));
    const [left, right] = img.plots;
    const loss = curve((e) => 2.3 * Math.exp(-e / 4));
    // The y range spans both series: train's last value up to val's first.
    const yr: [number, number] = [2.3 * Math.exp(-20 / 4), 2.3 * Math.exp(-1 / 5) + 0.1];
    for (const e of [1, 7, 20]) {
      const [x, y] = toPixel(left, e, loss[e - 1][1], [1, 20], yr);
      const near = [[0, 0], [-1, 0], [0, -1], [-1, -1]].some(([dx, dy]) => same(px(img, x + dx, y + dy), RED));
      expect(near, `loss at epoch ${e} near (${x}, ${y})`).toBe(true);
    }
    const redYs = pixelsOf(img, RED).sort((a, b) => a[0] - b[0]);
    expect(redYs[0][1]).toBeLessThan(left.y + left.h * 0.2); // first epoch near the top
    expect(redYs[redYs.length - 1][1]).toBeGreaterThan(left.y + left.h * 0.8); // last near the bottom
    const green = pixelsOf(img, GREEN).sort((a, b) => a[0] - b[0]);
    expect(green[0][1]).toBeGreaterThan(right.y + right.h * 0.8);
    expect(green[green.length - 1][1]).toBeLessThan(right.y + right.h * 0.2);
  });

  it('draws a legend strip under the panels: a solid swatch, a dashed one, one entry per series', () => {
    const img = renderChart(twoByTwo(true));
    const below = Math.max(...img.plots.map((p) => p.y + p.h)) + 20; // past the tick labels and the x label
    for (const [color, dashed] of [[RED, false], [BLUE, true], [GREEN, false], [PURPLE, true]] as const) {
      const hits = pixelsOf(img, color).filter(([, y]) => y > below);
      expect(hits.length, `swatch of ${color}`).toBeGreaterThan(10);
      const row = hits[0][1];
      const xs = hits.filter(([, y]) => y === row).map(([x]) => x);
      const runs = xs.filter((x, i) => i === 0 || xs[i - 1] !== x - 1).length;
      expect(runs, `runs in the swatch of ${color}`).toBe(dashed ? 2 : 1);
      expect(Math.max(...xs) - Math.min(...xs)).toBeGreaterThanOrEqual(18);
    }
    const withLegend = img.plots[0].h;
    expect(withLegend).toBeLessThan(renderChart(twoByTwo(false)).plots[0].h); // the legend takes room from the panels
  });

  it('lists a series once in the legend when it appears in several panels with the same colour and dash', () => {
    const s = (dashed: boolean): SeriesSpec => ({ name: dashed ? 'val' : 'train', color: [...RED], dashed, points: curve((e) => e) });
    const img = renderChart({ panels: [{ series: [s(false), s(true)] }, { series: [s(false), s(true)] }] });
    const below = Math.max(...img.plots.map((p) => p.y + p.h)) + 20;
    const hits = pixelsOf(img, RED).filter(([, y]) => y > below);
    const row = hits[0][1];
    const xs = hits.filter(([, y]) => y === row).map(([x]) => x);
    expect(xs.filter((x, i) => i === 0 || xs[i - 1] !== x - 1).length).toBe(3); // one solid + one dashed swatch
  });

  it('gives up to 12 unnamed-colour series 12 distinct palette colours, the same name the same colour', () => {
    const series = Array.from({ length: 12 }, (_, r) => ({ name: `run ${r}`, points: curve((e) => Math.sin(e / 3 + r)) }));
    const img = renderChart({ width: 900, height: 500, panels: [{ series }, { series: series.slice(0, 3) }] });
    const legendTop = Math.max(...img.plots.map((p) => p.y + p.h)) + 20;
    PALETTE.forEach((c) => expect(pixelsOf(img, c).some(([, y]) => y > legendTop), `palette colour ${c} in the legend`).toBe(true));
    for (let i = 0; i < PALETTE.length; i++) {
      for (let j = 0; j < i; j++) {
        const d = Math.hypot(...PALETTE[i].map((v, k) => v - PALETTE[j][k]));
        expect(d, `palette ${i} vs ${j}`).toBeGreaterThan(60);
      }
    }
    // 'run 0' is palette colour 0 in both panels.
    const right = img.plots[1];
    expect(pixelsOf(img, PALETTE[0]).some(([x, y]) => inside(right, x, y))).toBe(true);
    expect(pixelsOf(img, PALETTE[5]).some(([x, y]) => inside(right, x, y))).toBe(false);
  });

  it('skips NaN and ±Infinity: they neither draw nor change the axes', () => {
    const clean: [number, number][] = [[0, 0], [1, 1], [2, 2]];
    const dirty: [number, number][] = [...clean, [3, Infinity], [NaN, 5], [4, NaN], [-Infinity, 1]];
    const a = renderChart({ panels: [{ series: [{ name: 's', color: [...RED], points: clean }] }] });
    const b = renderChart({ panels: [{ series: [{ name: 's', color: [...RED], points: dirty }] }] });
    expect(Buffer.from(b.rgba).equals(Buffer.from(a.rgba))).toBe(true);
  });

  it('breaks the line at a non-finite point and draws a lone point as a dot', () => {
    const line = renderChart({ legend: false, panels: [{ series: [{ name: 's', color: [...RED], points: [[0, 0], [1, 1], [2, 2]] }] }] });
    const gap = renderChart({ legend: false, panels: [{ series: [{ name: 's', color: [...RED], points: [[0, 0], [1, NaN], [2, 2]] }] }] });
    const [mx, my] = toPixel(line.plots[0], 1, 1, [0, 2], [0, 2]);
    expect(same(px(line, mx, my), RED)).toBe(true);
    expect(same(px(gap, mx, my), RED)).toBe(false);
    const [ex, ey] = toPixel(gap.plots[0], 2, 2, [0, 2], [0, 2]);
    expect(same(px(gap, ex, ey), RED)).toBe(true); // the end points are dots
    const dot = renderChart({ legend: false, panels: [{ series: [{ name: 'one', color: [...BLUE], points: [[5, 1]] }] }] });
    const p = dot.plots[0];
    const cx = Math.floor(p.x + p.w / 2);
    const cy = Math.floor(p.y + p.h / 2);
    expect(same(px(dot, cx, cy), BLUE)).toBe(true);
    const hits = pixelsOf(dot, BLUE);
    expect(hits.every(([x, y]) => Math.hypot(x - cx, y - cy) <= 4)).toBe(true);
    expect(hits.length).toBeGreaterThanOrEqual(9);
  });

  it('draws a constant series as a level line across the middle of the plot', () => {
    const img = renderChart({ legend: false, panels: [{ series: [{ name: 'c', color: [...GREEN], points: [[0, 0.5], [1, 0.5], [2, 0.5]] }] }] });
    const p = img.plots[0];
    const ys = new Set(pixelsOf(img, GREEN).map(([, y]) => y));
    expect([...ys].every((y) => Math.abs(y - (p.y + p.h / 2)) <= 1.5)).toBe(true);
    const zero = renderChart({ legend: false, panels: [{ series: [{ name: 'z', color: [...GREEN], points: [[0, 0], [3, 0]] }] }] });
    expect(pixelsOf(zero, GREEN).length).toBeGreaterThan(0.85 * zero.plots[0].w); // x spans 90% of the width
  });

  it('honours fixed ranges, clipping data outside them to the plot area', () => {
    const img = renderChart({
      legend: false,
      panels: [{ yRange: [0, 1], xRange: [0, 10], series: [{ name: 's', color: [...RED], points: [[-5, -3], [5, 0.5], [20, 9]] }] }],
    });
    const p = img.plots[0];
    const hits = pixelsOf(img, RED);
    expect(hits.length).toBeGreaterThan(50);
    expect(hits.every(([x, y]) => inside(p, x, y))).toBe(true);
  });

  it('stacks panels with columns: 1 and scales text', () => {
    const spec = { ...twoByTwo(false), columns: 1, height: 600 };
    const img = renderChart(spec);
    expect(img.plots[0].y + img.plots[0].h).toBeLessThan(img.plots[1].y);
    expect(img.plots[0].x).toBe(img.plots[1].x);
    const big = renderChart({ ...spec, textScale: 2 });
    expect(big.plots[0].x).toBeGreaterThan(img.plots[0].x); // wider tick labels push the axis right
  });

  it('refuses bad specs with the place and the problem named', () => {
    const ok: SeriesSpec = { name: 'train', points: [[0, 1]] };
    const bad = (spec: unknown) => () => renderChart(spec as ChartSpec);
    expect(bad({ panels: [] })).toThrow(/spec.panels must be a non-empty array/);
    expect(bad({ panels: [{ title: 'loss', series: [ok, { name: 'val', points: [[0, 1], [1, 2], [2, 3], [3]] }] }] })).toThrow(
      /panel 0 \('loss'\) series 1 \('val'\) point 3 must be an \[x, y\] pair of numbers, got \[3\]/,
    );
    expect(bad({ panels: [{ series: [{ name: 'a', points: [['1', 2]] }] }] })).toThrow(/point 0 must be an \[x, y\] pair of numbers/);
    expect(bad({ panels: [{ series: [{ ...ok, color: '#12345' }] }] })).toThrow(/panel 0 series 0 \('train'\): colour must be '#rgb' or '#rrggbb', got '#12345'/);
    expect(bad({ panels: [{ series: [{ ...ok, color: [300, 0, 0] }] }] })).toThrow(/\[r, g, b\] in 0..255, got \[300,0,0\]/);
    expect(bad({ panels: [{ series: [ok], yRange: [1, 1] }] })).toThrow(/panel 0 yRange must be \[lo, hi\] with finite lo < hi, got \[1,1\]/);
    expect(bad({ panels: [{ series: [ok] }], width: 0 })).toThrow(/width must be an integer in 1..16384, got 0/);
    expect(bad({ panels: [{ series: [ok] }], columns: 2 })).toThrow(/columns must be an integer in 1..1/);
    expect(bad({ panels: [{ series: [ok] }], textScale: 1.5 })).toThrow(/textScale must be an integer/);
    expect(bad({ panels: [{ series: 'x' }] })).toThrow(/panel 0 needs a series array/);
    expect(bad({ panels: [{ series: [ok] }, { series: [ok] }], width: 100, height: 80 })).toThrow(
      /panel 0 has a plot area of only -?\d+×-?\d+ px inside its 50×\d+ px cell/,
    );
  });

  it('draws an empty panel (no series, or only NaN) as bare axes', () => {
    const img = renderChart({ legend: false, panels: [{ title: 'empty', series: [] }, { series: [{ name: 'nan', points: [[NaN, NaN]] }] }] });
    expect(img.plots).toHaveLength(2);
    for (let y = 0; y < img.height; y++) for (let x = 0; x < img.width; x++) if (!isGray(px(img, x, y))) throw new Error(`colour at ${x},${y}`);
  });
});
