// Fuzzing CSV files (parseCsv, what readCsv and `webgrad train --data x.csv`
// run): a small classification file and a regression one, mutated a few
// thousand times, cells replaced with values past float32 ('1e39', '-1e400',
// 'nan', 'inf', '1e-50'), names every object has, quotes, separators and line
// breaks. The contract: the intact data set, a different one the text
// honestly says (its numbers as float32 rounds them, every one finite), or a
// one-line WebgradError naming the file.
import { describe, expect, it } from 'vitest';
import { parseCsv } from '../../src/data/csv-dataset.js';
import type { Dataset } from '../../src/data/dataset.js';
import type { Failure } from './mutate.js';
import { expectNoFailures, pick, PROTO_NAMES, Random, attempt } from './mutate.js';

const SOURCE = 'fuzz/data.csv';
const CASES = 3000;
const SEED = 4180;

const CLASSIFICATION = ['x1,x2,"x,3",label', ...Array.from({ length: 8 }, (_, i) => `${(i * 0.37).toFixed(2)},${-i},"${i * 1e3}",${i % 3}`)].join('\n') + '\n';
const REGRESSION = ['a,b,target', ...Array.from({ length: 8 }, (_, i) => `${i},${(i * 1.5).toFixed(1)},${(i * 0.25 - 1).toFixed(2)}`)].join('\r\n');

/** Values a cell may hold: past float32 either way, not numbers, names every object has, CSV syntax. */
const CELLS = ['1e39', '-1e400', 'nan', 'NaN', 'inf', '-Infinity', '1e-50', '3.5e38', '-3.4e38', '1e-45', '-0', '+1', '.5', '5.', '1e', '0x10', '1_0', '', ' ', '"1"', '"', '""', '1,2', '2\n3', '3000000000', '-1', '20', '2.5', ...PROTO_NAMES];
const INSERTS = [',', '"', '\n', '\r', '\r\n', ' ', '\t', '\uFEFF', '\0', 'e', '-', '.', '\u2028'];

interface Mutated {
  input: string;
  what: string;
  /** A feature cell set to a number: its row, feature index and the value float32 must hold. */
  expect?: { row: number; feature: number; value: number };
}

function mutateText(rng: Random, text: string): Mutated {
  const at = rng.int(text.length + 1);
  switch (rng.int(4)) {
    case 0:
      return { input: text.slice(0, at), what: `truncated to ${at} characters` };
    case 1: {
      const n = 1 + rng.int(8);
      return { input: text.slice(0, at) + text.slice(at + n), what: `${n} characters deleted at ${at}` };
    }
    case 2: {
      const s = pick(rng, INSERTS);
      return { input: text.slice(0, at) + s + text.slice(at), what: `${JSON.stringify(s)} inserted at ${at}` };
    }
    default: {
      const n = 1 + rng.int(12);
      return { input: text.slice(0, at) + text.slice(at, at + n) + text.slice(at), what: `${n} characters duplicated at ${at}` };
    }
  }
}

/** One cell (a header name, a feature or a label) replaced. Rows are split naively: the files have no quoted line breaks. */
function mutateCell(rng: Random, text: string, labelAt: number): Mutated {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(eol);
  const rows = lines.filter((l) => l !== '').length;
  const r = rng.int(rows);
  const cells = splitRow(lines[r]);
  const c = rng.int(cells.length);
  const value = r === 0 ? pick(rng, [...PROTO_NAMES, cells[(c + 1) % cells.length], '', '"a""b"']) : pick(rng, CELLS);
  cells[c] = value;
  lines[r] = cells.join(',');
  const what = `${r === 0 ? 'header' : `row ${r}`} column ${c} set to ${JSON.stringify(value)}`;
  const numeric = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value.trim()) && Number.isFinite(Number(value));
  const row = r - 1;
  return { input: lines.join(eol), what, expect: r > 0 && c !== labelAt && numeric ? { row, feature: c < labelAt ? c : c - 1, value: Math.fround(Number(value)) } : undefined };
}

function splitRow(line: string): string[] {
  const out: string[] = [];
  let cell = '';
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    if (ch === ',' && !quoted) {
      out.push(cell);
      cell = '';
    } else cell += ch;
  }
  return [...out, cell];
}

function same(a: Dataset, b: Dataset): boolean {
  return JSON.stringify([a.xShape, Array.from(a.x), Array.from(a.y), a.yShape, a.classes, a.classNames, a.featureNames]) === JSON.stringify([b.xShape, Array.from(b.x), Array.from(b.y), b.yShape, b.classes, b.classNames, b.featureNames]);
}

/** What is wrong with a data set that loaded, or ''. */
function inconsistency(ds: Dataset, m: Mutated): string {
  const [n, f] = ds.xShape;
  if (ds.x.length !== n * f || ds.y.length !== n * (ds.yShape[1] ?? 1)) return `arrays disagree with shapes x [${ds.xShape}] (${ds.x.length}), y [${ds.yShape}] (${ds.y.length})`;
  const bad = ds.x.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) return `x holds ${ds.x[bad]} at row ${Math.floor(bad / f)}, feature ${bad % f}`;
  const badY = Array.from(ds.y).findIndex((v) => !Number.isFinite(v));
  if (badY >= 0) return `y holds ${ds.y[badY]} at row ${badY}`;
  if (ds.y instanceof Int32Array && !ds.y.every((v) => v >= 0 && v < ds.classes!)) return `a class index outside [0, ${ds.classes})`;
  if (ds.classes !== undefined && ds.classes > 1 << 16) return `${ds.classes} classes from ${n} rows`;
  if (m.expect && ds.x[m.expect.row * f + m.expect.feature] !== m.expect.value) return `the changed cell holds ${ds.x[m.expect.row * f + m.expect.feature]}, float32 of the text is ${m.expect.value}`;
  return '';
}

describe('fuzzing CSV files', () => {
  it(`${CASES} mutations of a CSV give the intact data set, an honest different one, or a one-line error naming the file`, () => {
    const files = [CLASSIFICATION, REGRESSION].map((text) => ({ text, intact: parseCsv(text, SOURCE) }));
    const rng = new Random(SEED);
    const failures: Failure[] = [];
    const outcomes = { same: 0, different: 0, error: 0 };
    for (let i = 0; i < CASES; i++) {
      const file = pick(rng, files);
      const m = rng.int(2) ? mutateText(rng, file.text) : mutateCell(rng, file.text, file.intact.xShape[1]);
      // float32 x and labels: at most 8 bytes a character, plus the strings of the records.
      const parsed = attempt(() => parseCsv(m.input, SOURCE), m, { failures, outcomes }, { source: SOURCE, bound: 16 * m.input.length + (1 << 20) });
      if (parsed === undefined) continue;
      if (same(parsed, file.intact)) {
        outcomes.same++;
        continue;
      }
      outcomes.different++;
      if (process.env.FUZZ_VERBOSE === '2') console.log(`different: ${m.what}`);
      const problem = inconsistency(parsed, m);
      if (problem) failures.push({ kind: problem.replace(/-?\b\d[\d.e+]*\b|'[^']*'/g, 'N'), what: m.what, detail: problem });
    }
    expect(outcomes.same + outcomes.different + outcomes.error).toBe(CASES);
    expectNoFailures('CSV', CASES, failures, outcomes);
  }, 60_000);
});
