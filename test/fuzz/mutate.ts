// The seeded mutator every loader fuzz test shares, and the rule that judges
// each outcome. A mutation is one change to a valid file: a byte-level change
// (bit flip, truncation, a range deleted, duplicated or overwritten, a 32-bit
// field set to an edge value), or, for formats with a structure, a change to
// one field that keeps the rest well formed (see each test). The outcome must
// be a result (the intact one, or a different one the change honestly
// describes) or a one-line WebgradError that names the file.
import { expect } from 'vitest';
import { WebgradError } from '../../src/core/errors.js';
import { Random } from '../../src/core/random.js';

export { Random };

/** One mutated input and what was done to it, for the failure report. */
export interface Mutation<T = Uint8Array> {
  input: T;
  what: string;
  /** Where the change falls, when the test needs it to judge a result (e.g. 'data' for tensor bytes). */
  region?: string;
}

/** Values that break size fields: zero, one, the signed and unsigned limits, and near them. */
export const EDGE_U32 = [0, 1, 2, 0x7f, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
/** Names that are properties of every JavaScript object: a loader that indexes a plain object by a name from a file trips on them. */
export const PROTO_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', '__defineGetter__'];
/** JSON values that a field of any type may be replaced with. */
export const EDGE_JSON: unknown[] = [
  null, true, false, 0, -1, 1, 0.5, -0.5, 1e39, -1e39, 1e308, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 1e-50, '', '0', '1', 'NaN', 'Infinity', '1e39',
  'x'.repeat(300), [], [0], [-1], [1, 2, 3], [2 ** 32, 2 ** 32], {}, { a: 1 }, ...PROTO_NAMES, JSON.parse('{"__proto__": 1}'),
];

/** A pick from a list. */
export const pick = <T>(rng: Random, list: readonly T[]): T => list[rng.int(list.length)];

/** Offset in [lo, hi), or in the whole buffer. */
const offsetIn = (rng: Random, length: number, lo = 0, hi = length) => lo + rng.int(Math.max(1, hi - lo));

/**
 * One byte-level mutation of `bytes`, inside [lo, hi) when given (a region
 * such as a header or the data). Never changes `bytes` itself.
 */
export function mutateBytes(rng: Random, bytes: Uint8Array, lo = 0, hi = bytes.length): Mutation {
  const out = bytes.slice();
  const at = offsetIn(rng, bytes.length, lo, hi);
  switch (rng.int(8)) {
    case 0: {
      const bit = rng.int(8);
      out[at] ^= 1 << bit;
      return { input: out, what: `bit ${bit} of byte ${at} flipped` };
    }
    case 1: {
      const n = 1 + rng.int(4);
      for (let i = 0; i < n; i++) out[offsetIn(rng, bytes.length, lo, hi)] ^= 1 << rng.int(8);
      return { input: out, what: `${n} random bits flipped in [${lo}, ${hi})` };
    }
    case 2:
      return { input: bytes.slice(0, at), what: `truncated to ${at} bytes` };
    case 3: {
      const n = 1 + rng.int(16);
      return { input: concat(bytes.subarray(0, at), bytes.subarray(at + n)), what: `${n} bytes deleted at ${at}` };
    }
    case 4: {
      const n = 1 + rng.int(16);
      return { input: concat(bytes.subarray(0, at), bytes.subarray(at, at + n), bytes.subarray(at)), what: `${n} bytes duplicated at ${at}` };
    }
    case 5: {
      if (out.length < 4) return { input: concat(out, out), what: 'bytes doubled' };
      const v = pick(rng, EDGE_U32);
      const le = rng.int(2) === 0;
      const w = Math.min(at, Math.max(0, out.length - 4));
      new DataView(out.buffer).setUint32(w, v, le);
      return { input: out, what: `u32 at ${w} set to ${v} (${le ? 'little' : 'big'}-endian)` };
    }
    case 6: {
      const n = 1 + rng.int(64);
      const extra = Uint8Array.from({ length: n }, () => rng.int(256));
      return { input: concat(bytes, extra), what: `${n} random bytes appended` };
    }
    default: {
      const v = pick(rng, [0x00, 0xff, 0x7f, 0x80, 0x22, 0x5c, 0x0a]);
      out[at] = v;
      return { input: out, what: `byte ${at} set to 0x${v.toString(16)}` };
    }
  }
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * One change to a JSON value: a field (at any depth) replaced with an edge
 * value, deleted, or an extra field added, possibly under a name that is a
 * property of every object. Returns a new value; `value` is left as it was.
 */
export function mutateJson(rng: Random, value: unknown): { value: unknown; what: string } {
  const copy = JSON.parse(JSON.stringify(value)) as unknown;
  const paths: (string | number)[][] = [];
  const walk = (v: unknown, path: (string | number)[]) => {
    paths.push(path);
    if (v && typeof v === 'object') for (const [k, c] of Object.entries(v)) walk(c, [...path, Array.isArray(v) ? Number(k) : k]);
  };
  walk(copy, []);
  const path = pick(rng, paths.slice(1).length ? paths.slice(1) : paths);
  const parent = path.slice(0, -1).reduce<any>((o, k) => o[k], copy);
  const key = path[path.length - 1];
  const where = path.join('.') || '(root)';
  if (path.length === 0) return { value: pick(rng, EDGE_JSON), what: 'the whole value replaced' };
  const kind = rng.int(4);
  if (kind === 0 && !Array.isArray(parent)) {
    delete parent[key];
    return { value: copy, what: `${where} deleted` };
  }
  if (kind === 1 && parent && typeof parent === 'object' && !Array.isArray(parent)) {
    const name = pick(rng, [...PROTO_NAMES, 'extra']);
    const v = pick(rng, EDGE_JSON);
    Object.defineProperty(parent, name, { value: v, enumerable: true, writable: true, configurable: true });
    return { value: copy, what: `${path.slice(0, -1).join('.') || '(root)'}.${name} added as ${JSON.stringify(v)?.slice(0, 40)}` };
  }
  const v = pick(rng, EDGE_JSON);
  parent[key] = typeof parent[key] === 'number' && kind === 2 ? near(rng, parent[key]) : v;
  return { value: copy, what: `${where} set to ${JSON.stringify(parent[key])?.slice(0, 40)}` };
}

/** A number near n: off by one, doubled, negated, or scaled past what any size can be. */
function near(rng: Random, n: number): number {
  return pick(rng, [n + 1, n - 1, 2 * n, -n, n * 1e6, n + 0.5]);
}

/** What went wrong with one case; `kind` groups cases for the summary. */
export interface Failure {
  kind: string;
  what: string;
  detail: string;
}

/**
 * Judges an error: a WebgradError whose message is one line and names
 * `source`; anything else is a failure of the kind seen (TypeError,
 * RangeError, ...).
 */
export function judgeError(e: unknown, source: string): Omit<Failure, 'what'> | null {
  if (!(e instanceof WebgradError)) {
    const name = e instanceof Error ? e.name : typeof e;
    return { kind: `not a WebgradError (${name})`, detail: e instanceof Error ? (e.stack ?? e.message).split('\n').slice(0, 3).join(' | ') : String(e) };
  }
  if (e.message.includes('\n')) return { kind: 'error message is more than one line', detail: e.message.slice(0, 200) };
  if (!e.message.includes(source)) return { kind: 'error message does not name the file', detail: e.message.slice(0, 200) };
  return null;
}

/**
 * Memory the call allocated in ArrayBuffers (typed arrays, Buffers), measured
 * around it; garbage left by a failed call still counts until collected, so a
 * huge allocation before a throw is seen. A lower bound: a collection inside
 * the call can hide some.
 */
export function allocatedBy<T>(f: () => T): { result?: T; error?: unknown; bytes: number; ms: number } {
  const before = process.memoryUsage().arrayBuffers;
  const t0 = performance.now();
  try {
    const result = f();
    return { result, bytes: process.memoryUsage().arrayBuffers - before, ms: performance.now() - t0 };
  } catch (error) {
    return { error, bytes: process.memoryUsage().arrayBuffers - before, ms: performance.now() - t0 };
  }
}

/** What one fuzz run tallies: the failures found and how each case came out. */
export interface Tally {
  readonly failures: Failure[];
  readonly outcomes: { same: number; different: number; error: number };
}

/**
 * Runs a loader on one mutated input and files what it did: memory past
 * `bound` bytes and, with `slowMs`, time past it are failures; an error is
 * counted and judged (a WebgradError naming `source` on one line). Returns
 * the loader's result, or undefined when it threw.
 */
export function attempt<T>(load: () => T, m: { what: string }, t: Tally, o: { source: string; bound: number; slowMs?: number }): T | undefined {
  const run = allocatedBy(load);
  if (run.bytes > o.bound) t.failures.push({ kind: 'memory past what the file needs', what: m.what, detail: `${run.bytes} bytes (bound ${o.bound})` });
  if (o.slowMs !== undefined && run.ms > o.slowMs) t.failures.push({ kind: 'slow', what: m.what, detail: `${run.ms.toFixed(0)} ms` });
  if (run.error === undefined) return run.result;
  t.outcomes.error++;
  const bad = judgeError(run.error, o.source);
  if (bad) t.failures.push({ ...bad, what: m.what });
  return undefined;
}

/** Summary of failures by kind, with the first case of each, for the assertion message. */
export function summarize(failures: Failure[]): string {
  const byKind = new Map<string, Failure[]>();
  for (const f of failures) byKind.set(f.kind, [...(byKind.get(f.kind) ?? []), f]);
  return [...byKind].map(([kind, fs]) => `${fs.length} × ${kind}; e.g. ${fs[0].what}: ${fs[0].detail}`).join('\n');
}

/** Fails the test with the summary when any case failed; logs the counts either way (FUZZ_VERBOSE=1). */
export function expectNoFailures(format: string, cases: number, failures: Failure[], outcomes: Record<string, number>): void {
  if (process.env.FUZZ_VERBOSE) console.log(`${format}: ${cases} cases, ${JSON.stringify(outcomes)}\n${summarize(failures)}`);
  expect(failures.length, `${format}: ${failures.length} of ${cases} cases failed:\n${summarize(failures)}`).toBe(0);
}
