// Grids of hyperparameters: every combination of a few lists. Browser-safe.
import { ValueError } from '../core/errors.js';

/** One combination of a grid: a value for each key. */
export type Combination<G extends Record<string, readonly unknown[]>> = { [K in keyof G]: G[K][number] };

/**
 * Every combination of the lists in `space`, in a fixed order: the first key
 * varies slowest, as nested loops written in the keys' order would. An empty
 * list is refused (it would silently give no runs at all).
 */
export function grid<G extends Record<string, readonly unknown[]>>(space: G): Combination<G>[] {
  const keys = Object.keys(space) as (keyof G & string)[];
  for (const k of keys) {
    if (!Array.isArray(space[k]) || space[k].length === 0) throw new ValueError(`grid: '${k}' needs a non-empty list of values, got ${JSON.stringify(space[k])}`);
  }
  let out: Record<string, unknown>[] = [{}];
  for (const k of keys) out = out.flatMap((partial) => space[k].map((v) => ({ ...partial, [k]: v })));
  return out as Combination<G>[];
}

/** How a setting's value is written in names and tables: layer lists as `64,30` (`none` when empty). */
export function formatValue(v: unknown): string {
  if (Array.isArray(v)) return v.length === 0 ? 'none' : v.join(',');
  if (v === undefined) return 'default';
  return String(v);
}

/** `lr=0.01 layers=64,30`: a combination's name, from the keys that vary. */
export function settingName(params: Readonly<Record<string, string>>): string {
  const parts = Object.entries(params).map(([k, v]) => `${k}=${v}`);
  return parts.length > 0 ? parts.join(' ') : 'model';
}
