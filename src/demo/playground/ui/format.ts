/** A loss as the Playground prints it (three decimals), NaN and infinities in words. */
export function fmtLoss(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  return v >= 1000 ? v.toExponential(2) : v.toFixed(3);
}

/** 12,345 */
export const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');

/** A rate to three significant digits, grouped: 1,230 or 41.2 or 0.512. */
export function fmtRate(n: number): string {
  if (!Number.isFinite(n) || n <= 0) return '–';
  return n >= 100 ? fmtInt(n) : n.toPrecision(3);
}
