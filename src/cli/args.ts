import { ValueError } from '../core/errors.js';

/** Parsed `--flag value` / `--flag` arguments and the positional rest. */
export interface Args {
  readonly flags: Map<string, string>;
  readonly positional: string[];
}

/**
 * Parses GNU-style flags. `booleans` take no value; every other flag needs
 * one. Unknown flags are refused, naming the flag and the known ones.
 */
export function parseArgs(argv: readonly string[], known: readonly string[], booleans: readonly string[] = []): Args {
  const flags = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    if (!known.includes(name) && !booleans.includes(name)) {
      throw new ValueError(`unknown flag --${name} (known: ${[...known, ...booleans].map((k) => `--${k}`).join(' ')})`);
    }
    if (booleans.includes(name)) {
      flags.set(name, eq < 0 ? 'true' : a.slice(eq + 1));
      continue;
    }
    const value = eq >= 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new ValueError(`--${name} needs a value`);
    flags.set(name, value);
  }
  return { flags, positional };
}

export function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ValueError(`--${flag} must be one of ${allowed.join(', ')}; got '${value}'`);
  }
  return value as T;
}
