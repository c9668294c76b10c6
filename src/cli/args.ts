import { ValueError } from '../core/errors.js';
import { didYouMean, nearest } from '../core/options.js';

/** Parsed `--flag value` / `--flag` arguments and the positional rest. */
export interface Args {
  readonly flags: Map<string, string>;
  readonly positional: string[];
}

/**
 * Parses GNU-style flags. `booleans` take no value (or `=true` / `=false`);
 * every other flag needs one. Refused, each naming the flag: an unknown flag
 * (with the nearest known one), a missing value, another flag where a value
 * belongs (`--plot --json` would otherwise write a file named "--json"), a
 * flag given twice (the first value would be dropped without a word).
 */
export function parseArgs(argv: readonly string[], known: readonly string[], booleans: readonly string[] = []): Args {
  const flags = new Map<string, string>();
  const positional: string[] = [];
  const all = [...known, ...booleans];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    if (!all.includes(name)) {
      const near = name === '' ? null : nearest(name, all);
      throw new ValueError(`unknown flag --${name}${near ? ` (did you mean --${near}?)` : ''}; known: ${all.map((k) => `--${k}`).join(' ')}`);
    }
    let value: string;
    if (booleans.includes(name)) {
      value = eq < 0 ? 'true' : a.slice(eq + 1);
      if (value !== 'true' && value !== 'false') throw new ValueError(`--${name} takes no value (or =true / =false), got '${value}'`);
    } else if (eq >= 0) {
      value = a.slice(eq + 1); // --name=--x is explicit: the value is meant
    } else {
      const next = argv[++i];
      if (next === undefined) throw new ValueError(`--${name} needs a value`);
      if (next.startsWith('--')) throw new ValueError(`--${name} needs a value, got the flag ${next} (write --${name}=${next} if that is the value)`);
      value = next;
    }
    const before = flags.get(name);
    if (before !== undefined) throw new ValueError(`--${name} is given twice ('${before}' and '${value}'); give it once`);
    flags.set(name, value);
  }
  return { flags, positional };
}

export function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ValueError(`--${flag} must be one of ${allowed.join(', ')}; got '${value}'${didYouMean(value, allowed)}`);
  }
  return value as T;
}
