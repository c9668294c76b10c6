import { ValueError } from '../core/errors.js';

/** An axis: its range and the tick values with their labels. */
export interface Axis {
  readonly lo: number;
  readonly hi: number;
  readonly step: number;
  readonly ticks: number[];
  readonly labels: string[];
}

/** The smallest 1, 2 or 5 × 10^k that is at least `raw` (> 0). */
export function niceStep(raw: number): number {
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5]) if (m * mag >= raw * (1 - 1e-9)) return m * mag;
  return 10 * mag;
}

/** Multiples of `step` inside [lo, hi], rounded so that 3 × 0.1 reads 0.3. */
export function ticksIn(lo: number, hi: number, step: number): number[] {
  const first = Math.ceil(lo / step - 1e-9);
  const last = Math.floor(hi / step + 1e-9);
  const out: number[] = [];
  // Count with a small integer: `first` may be too large for k++ to change it.
  for (let i = 0; i <= last - first; i++) {
    const v = Number(((first + i) * step).toPrecision(12));
    out.push(v === 0 ? 0 : v); // no "-0"
  }
  return out;
}

/**
 * Labels with as many decimals as the step needs (0.5 → "0.5", "1.0"), or in
 * exponent form ("2e-5", "1.5e6") where plain digits would be too long.
 */
export function formatTicks(values: readonly number[], step: number): string[] {
  const stepExp = Math.floor(Math.log10(step) + 1e-9);
  const maxAbs = Math.max(0, ...values.map(Math.abs));
  if (maxAbs >= 1e6 || stepExp <= -4) {
    return values.map((v) => {
      if (v === 0) return '0';
      const digits = Math.max(0, Math.min(15, Math.floor(Math.log10(Math.abs(v)) + 1e-9) - stepExp));
      const [mant, exp] = v.toExponential(digits).split('e');
      const m = mant.includes('.') ? mant.replace(/\.?0+$/, '') : mant;
      return `${m}e${exp.replace('+', '')}`;
    });
  }
  return values.map((v) => v.toFixed(Math.max(0, -stepExp)));
}

/**
 * The range drawn for data in [lo, hi]: 5% margin each side, and a constant
 * series (lo = hi) widened so that the axis never has zero height.
 */
export function paddedRange(lo: number, hi: number): [number, number] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1]; // no finite data
  // Values equal up to float noise (0.3 and 0.30000000000000004) are a constant series.
  if (hi - lo <= Math.abs(lo + hi) * 1e-12) {
    const mid = (lo + hi) / 2;
    const pad = mid === 0 ? 1 : Math.abs(mid) * 0.05;
    return [mid - pad, mid + pad];
  }
  const pad = (hi - lo) * 0.05;
  const range: [number, number] = [lo - pad, hi + pad];
  if (!Number.isFinite(range[1] - range[0])) throw new ValueError(`plot: values from ${lo} to ${hi} span more than a float can hold`);
  return range;
}

/**
 * Picks the finest 1-2-5 step whose ticks are `comfortable` pixels apart on
 * an axis `lengthPx` long; if that leaves fewer than two ticks, the coarsest
 * step with two or more whose labels still do not touch (`minSpacing`).
 * `integer` axes (epochs) never get a step below 1.
 */
export function chooseAxis(
  lo: number,
  hi: number,
  lengthPx: number,
  minSpacing: (labels: string[]) => number,
  comfortable: (labels: string[]) => number,
  integer: boolean,
): Axis {
  const span = hi - lo;
  if (!(span > 0) || !Number.isFinite(span)) throw new ValueError(`plot: axis range [${lo}, ${hi}] must have lo < hi, both finite`);
  let step = niceStep(Math.max(span / Math.max(1, lengthPx / 4), integer ? 1 : 0));
  let twoOrMore: Axis | undefined;
  for (let tries = 0; ; tries++) {
    const ticks = ticksIn(lo, hi, step);
    const axis: Axis = { lo, hi, step, ticks, labels: formatTicks(ticks, step) };
    const px = (step / span) * lengthPx;
    if (ticks.length >= 2 && px >= minSpacing(axis.labels)) twoOrMore = axis;
    if (px >= comfortable(axis.labels) || tries > 60) return ticks.length >= 2 ? axis : (twoOrMore ?? axis);
    step = niceStep(step * 1.5);
  }
}
