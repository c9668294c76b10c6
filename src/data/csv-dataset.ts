// CSV text → Dataset: one label column, every other column a numeric
// feature. Browser-safe; csv.ts reads the file (Node).
import { ValueError } from '../core/errors.js';
import type { CsvRecord } from './csv-format.js';
import { parseCsvRecords } from './csv-format.js';
import type { Dataset } from './dataset.js';

export interface CsvOptions {
  /** Name of the label column. Default: the last column. */
  labelColumn?: string;
  /**
   * Inferred when absent: integer labels with at most MAX_INFERRED_CLASSES
   * distinct values, or any non-numeric label, mean classification.
   */
  task?: 'classification' | 'regression';
  /**
   * Fixed class names, index = position: labels are looked up here. Pass the
   * training set's classNames when reading its test file, so both agree.
   */
  classNames?: string[];
}

/** Integer label columns with more distinct values than this are taken as regression targets unless task says otherwise. */
export const MAX_INFERRED_CLASSES = 20;

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const NOT_FINITE = /^[+-]?(nan|inf|infinity)$/i;

interface Cell {
  value: string;
  line: number;
  column: string;
}

function parseNumber(cell: Cell, source: string): number {
  const where = `${source}: line ${cell.line}, column '${cell.column}'`;
  if (cell.value === '') throw new ValueError(`${where}: empty value (every feature must be a number)`);
  if (NOT_FINITE.test(cell.value)) throw new ValueError(`${where}: value '${cell.value}' is not finite (NaN and Inf are not allowed)`);
  if (!NUMBER.test(cell.value)) throw new ValueError(`${where}: value '${cell.value}' is not a number`);
  const v = Number(cell.value);
  if (!Number.isFinite(v)) throw new ValueError(`${where}: value '${cell.value}' overflows to ${v}`);
  return v;
}

/** Parses CSV text (header required) into a Dataset; `source` names the file in errors. */
export function parseCsv(text: string, source: string, options: CsvOptions = {}): Dataset {
  return csvToDataset(parseCsvRecords(text, source), source, options);
}

function checkHeader(header: CsvRecord, source: string): void {
  const seen = new Map<string, number>();
  header.fields.forEach((name, i) => {
    const prev = seen.get(name);
    if (prev !== undefined) throw new ValueError(`${source}: line ${header.line}: column name '${name}' appears twice (columns ${prev + 1} and ${i + 1})`);
    seen.set(name, i);
  });
  if (header.fields.length < 2) {
    throw new ValueError(`${source}: the header has ${header.fields.length} column ('${header.fields[0]}'); need at least one feature column and a label column`);
  }
}

export function csvToDataset(records: CsvRecord[], source: string, options: CsvOptions = {}): Dataset {
  if (records.length === 0) throw new ValueError(`${source}: empty file (a header row naming the columns is required)`);
  const [header, ...rows] = records;
  checkHeader(header, source);
  const names = header.fields;
  if (rows.length === 0) throw new ValueError(`${source}: no data rows after the header (line ${header.line})`);
  const labelAt = options.labelColumn === undefined ? names.length - 1 : names.indexOf(options.labelColumn);
  if (labelAt < 0) {
    throw new ValueError(`${source}: unknown label column '${options.labelColumn}'; the columns are: ${names.map((n) => `'${n}'`).join(', ')}`);
  }
  const F = names.length - 1;
  const n = rows.length;
  const x = new Float32Array(n * F);
  const labels: Cell[] = [];
  rows.forEach((row, r) => {
    if (row.fields.length !== names.length) {
      throw new ValueError(`${source}: line ${row.line}: expected ${names.length} fields (as in the header), got ${row.fields.length}`);
    }
    let f = 0;
    row.fields.forEach((value, c) => {
      if (c === labelAt) labels.push({ value, line: row.line, column: names[c] });
      else x[r * F + f++] = parseNumber({ value, line: row.line, column: names[c] }, source);
    });
  });
  const ds: Dataset = { x, xShape: [n, F], ...labelsToTargets(labels, source, options) };
  ds.featureNames = names.filter((_, c) => c !== labelAt);
  return ds;
}

type Targets = Pick<Dataset, 'y' | 'yShape' | 'classes' | 'classNames'>;

function labelsToTargets(labels: Cell[], source: string, options: CsvOptions): Targets {
  const n = labels.length;
  for (const cell of labels) {
    if (cell.value === '') throw new ValueError(`${source}: line ${cell.line}, column '${cell.column}': empty label`);
    if (NOT_FINITE.test(cell.value)) throw new ValueError(`${source}: line ${cell.line}, column '${cell.column}': label '${cell.value}' is not finite (NaN and Inf are not allowed)`);
  }
  if (options.classNames) {
    if (options.task === 'regression') throw new ValueError(`${source}: classNames were given but task is 'regression'`);
    return byName(labels, options.classNames, source);
  }
  const nonNumeric = labels.find((c) => !NUMBER.test(c.value));
  if (nonNumeric) {
    if (options.task === 'regression') {
      throw new ValueError(`${source}: line ${nonNumeric.line}, column '${nonNumeric.column}': label '${nonNumeric.value}' is not a number (task 'regression')`);
    }
    return byName(labels, [...new Set(labels.map((c) => c.value))].sort(), source);
  }
  const values = labels.map((c) => Number(c.value));
  const integral = values.every(Number.isInteger);
  const distinct = [...new Set(values)].sort((a, b) => a - b);
  const classify = options.task === 'classification' || (options.task === undefined && integral && distinct.length <= MAX_INFERRED_CLASSES);
  if (!classify) return { y: Float32Array.from(values), yShape: [n, 1] };
  const bad = labels.find((_, i) => !Number.isInteger(values[i]));
  if (bad) throw new ValueError(`${source}: line ${bad.line}, column '${bad.column}': class label '${bad.value}' is not an integer`);
  if (distinct[0] >= 0) {
    // Non-negative integers are class indices as they stand: label 3 is class 3.
    return { y: Int32Array.from(values), yShape: [n], classes: distinct[distinct.length - 1] + 1 };
  }
  // Negative labels (say -1 / 1) become indices in sorted order, named by their values.
  const index = new Map(distinct.map((v, i) => [v, i]));
  return { y: Int32Array.from(values, (v) => index.get(v)!), yShape: [n], classes: distinct.length, classNames: distinct.map(String) };
}

function byName(labels: Cell[], classNames: string[], source: string): Targets {
  const index = new Map(classNames.map((name, i) => [name, i]));
  const y = new Int32Array(labels.length);
  labels.forEach((cell, i) => {
    const c = index.get(cell.value);
    if (c === undefined) {
      throw new ValueError(`${source}: line ${cell.line}, column '${cell.column}': label '${cell.value}' is not one of the classes ${classNames.map((s) => `'${s}'`).join(', ')}`);
    }
    y[i] = c;
  });
  return { y, yShape: [labels.length], classes: classNames.length, classNames: classNames.slice() };
}
