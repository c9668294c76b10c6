import { ValueError } from './errors.js';

/*
 * An option set is declared once: each key's kind, range, default and help.
 * That one declaration gives the TypeScript type (OptionsOf), the runtime
 * check (an unknown key is refused by name, with the nearest valid one and
 * the whole list), and the help text. A key nobody reads cannot slip through.
 */

export interface Opt<T> {
  readonly kind: string;
  readonly help: string;
  /** Returns what is wrong with a value, or null when it is fine. */
  readonly problem: (v: unknown) => string | null;
  /** Only for the type: never set. */
  readonly __type?: T;
}

export type OptionSpec = Record<string, Opt<unknown>>;
export type OptionsOf<S extends OptionSpec> = { [K in keyof S]?: S[K] extends Opt<infer T> ? T : never };

interface NumberRange {
  readonly min?: number;
  readonly max?: number;
  /** min itself refused: "> min". */
  readonly minExclusive?: boolean;
  readonly maxExclusive?: boolean;
}

function rangeText(r: NumberRange): string {
  const lo = r.min === undefined ? '' : `${r.minExclusive ? '>' : '>='} ${r.min}`;
  const hi = r.max === undefined ? '' : `${r.maxExclusive ? '<' : '<='} ${r.max}`;
  return [lo, hi].filter(Boolean).join(' and ');
}

function outOfRange(v: number, r: NumberRange): boolean {
  if (r.min !== undefined && (r.minExclusive ? v <= r.min : v < r.min)) return true;
  return r.max !== undefined && (r.maxExclusive ? v >= r.max : v > r.max);
}

const show = (v: unknown) => (typeof v === 'string' ? `'${v}'` : typeof v === 'function' ? 'a function' : JSON.stringify(v) ?? String(v));

/** Builders for one option each. */
export const opt = {
  number(help: string, range: NumberRange = {}): Opt<number> {
    const need = ['a finite number', rangeText(range)].filter(Boolean).join(' ');
    return { kind: 'number', help, problem: (v) => (typeof v !== 'number' || !Number.isFinite(v) || outOfRange(v, range) ? `must be ${need}, got ${show(v)}` : null) };
  },
  integer(help: string, range: NumberRange = {}): Opt<number> {
    const need = ['a whole number', rangeText(range)].filter(Boolean).join(' ');
    return { kind: 'integer', help, problem: (v) => (typeof v !== 'number' || !Number.isInteger(v) || outOfRange(v, range) ? `must be ${need}, got ${show(v)}` : null) };
  },
  boolean(help: string): Opt<boolean> {
    return { kind: 'boolean', help, problem: (v) => (typeof v !== 'boolean' ? `must be true or false, got ${show(v)}` : null) };
  },
  string(help: string): Opt<string> {
    return { kind: 'string', help, problem: (v) => (typeof v !== 'string' ? `must be a string, got ${show(v)}` : null) };
  },
  oneOf<const V extends string | number>(values: readonly V[], help: string): Opt<V> {
    return {
      kind: values.join('|'),
      help,
      problem: (v) => ((values as readonly unknown[]).includes(v) ? null : `must be one of ${values.map(show).join(', ')}, got ${show(v)}${didYouMean(v, values.map(String))}`),
    };
  },
  /** A value checked by its own function (a schedule, a list of layers, a backend object). */
  custom<T>(kind: string, help: string, problem: (v: unknown) => string | null): Opt<T> {
    return { kind, help, problem };
  },
};

/** Edit distance, case-insensitive: how far a typo is from a valid name. */
export function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[y.length];
}

/** The valid name nearest to `name`, if one is near enough to be the intended one. */
export function nearest(name: string, valid: readonly string[]): string | null {
  const flat = (s: string) => s.toLowerCase().replace(/[-_ ]/g, '');
  const same = valid.find((v) => flat(v) === flat(name));
  if (same) return same;
  let best: string | null = null;
  let bestD = Infinity;
  for (const v of valid) {
    const d = editDistance(name, v);
    if (d < bestD) [best, bestD] = [v, d];
  }
  return best !== null && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : null;
}

/** " (did you mean 'x'?)" or "". */
export function didYouMean(name: unknown, valid: readonly string[], quote = "'"): string {
  if (typeof name !== 'string') return '';
  const n = nearest(name, valid);
  return n ? ` (did you mean ${quote}${n}${quote}?)` : '';
}

export interface OptionSet<S extends OptionSpec> {
  /** Who takes the options, for messages: 'compile', 'fit', "optimizer 'sgd'". */
  readonly owner: string;
  readonly spec: S;
  readonly keys: readonly string[];
  /** Checks every key and value; returns the options without the keys set to undefined. */
  check(given: unknown): OptionsOf<S>;
  /** One line per option: `name  help`. */
  help(): string[];
}

/**
 * Names from other libraries that mean one of ours (PyTorch's `lr`): refused
 * with ours named, so a user never trains at a default they did not ask for.
 */
export type ForeignNames = Readonly<Record<string, string>>;

export function defineOptions<S extends OptionSpec>(owner: string, spec: S, foreign: ForeignNames = {}): OptionSet<S> {
  const keys = Object.keys(spec);
  return {
    owner,
    spec,
    keys,
    check(given) {
      if (given === undefined || given === null) return {} as OptionsOf<S>;
      if (typeof given !== 'object' || Array.isArray(given)) throw new ValueError(`${owner}: options must be an object { ${keys.join(', ')} }, got ${show(given)}`);
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(given)) {
        if (!Object.prototype.hasOwnProperty.call(spec, k)) throw new ValueError(unknownKey(owner, k, keys, foreign));
        if (v === undefined) continue;
        const problem = spec[k].problem(v);
        if (problem) throw new ValueError(`${owner}: ${k} ${problem}`);
        out[k] = v;
      }
      return out as OptionsOf<S>;
    },
    help: () => keys.map((k) => `${k.padEnd(20)} ${spec[k].help}`),
  };
}

export function unknownKey(owner: string, key: string, valid: readonly string[], foreign: ForeignNames = {}): string {
  const ours = foreign[key];
  if (ours) return `${owner}: unknown option '${key}'; webgrad calls it ${ours} (valid: ${valid.join(', ')})`;
  return `${owner}: unknown option '${key}'${didYouMean(key, valid)} (valid: ${valid.join(', ')})`;
}
