// CSV text → Dataset: one label column, every other column a numeric
// feature. Browser-safe; csv.ts reads the file (Node).
import { ValueError } from '../core/errors.js';
import { didYouMean } from '../core/options.js';
import type { CsvRecord } from './csv-format.js';
import { parseCsvRecords } from './csv-format.js';
import type { Dataset } from './dataset.js';
import { printable } from '../core/text.js';

export interface CsvOptions {
  /** Name of the label column. Default: the last column. */
  labelColumn?: string;
  /**
   * Inferred when absent: integer labels with at most MAX_INFERRED_CLASSES
   * distinct values, or any non-numeric label, mean classification.
   */
  task?: 'classification' | 'regression';
  /**
   * Fixed class names, index = position: labels are looked up here (a
   * numeric label also matches a name of equal value: '1.0' is '1'). Pass
   * the training set's or a saved model's classNames so that indices agree,
   * even when this file lacks a class.
   */
  classNames?: string[];
  /**
   * The class indices a label may take, e.g. those a training set holds when
   * reading its test file: any other label is refused with its line. Sets
   * `classes` to the largest + 1.
   */
  knownClasses?: readonly number[];
  /** Where classNames / knownClasses come from, for messages: "the training data train.csv". */
  classesFrom?: string;
  /** Told what was assumed when the task is inferred from labels that could be read either way. */
  onNotice?: (message: string) => void;
}

/** Integer label columns with more distinct values than this are taken as regression targets unless task says otherwise. */
export const MAX_INFERRED_CLASSES = 20;

/** Features and targets are float32: a number past its range would become Infinity (1e-50 rounds to 0, as in numpy's float32). */
const FLOAT32_RANGE = "is past float32's range (at most 3.4e38 in size), in which webgrad holds data";
/** Class indices stand for output units, one per class: a label past this is a regression target or a typo. */
export const MAX_CLASSES = 65_536;

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const NOT_FINITE = /^[+-]?(nan|inf|infinity)$/i;

/**
 * A cell's text in a message, quoted: line breaks and other control
 * characters (a quoted field may hold them) are escaped so that every error
 * stays one line.
 */
const q = (text: string | number | undefined): string => `'${printable(String(text))}'`;

interface Cell {
  value: string;
  line: number;
  column: string;
}

function parseNumber(cell: Cell, source: string): number {
  const where = `${source}: line ${cell.line}, column ${q(cell.column)}`;
  if (cell.value === '') throw new ValueError(`${where}: empty value (every feature must be a number)`);
  if (NOT_FINITE.test(cell.value)) throw new ValueError(`${where}: value ${q(cell.value)} is not finite (NaN and Inf are not allowed)`);
  if (!NUMBER.test(cell.value)) throw new ValueError(`${where}: value ${q(cell.value)} is not a number`);
  const v = Number(cell.value);
  if (!Number.isFinite(v)) throw new ValueError(`${where}: value ${q(cell.value)} overflows to ${v}`);
  if (!Number.isFinite(Math.fround(v))) throw new ValueError(`${where}: value ${q(cell.value)} ${FLOAT32_RANGE}`);
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
    if (prev !== undefined) throw new ValueError(`${source}: line ${header.line}: column name ${q(name)} appears twice (columns ${prev + 1} and ${i + 1})`);
    seen.set(name, i);
  });
  if (header.fields.length < 2) {
    throw new ValueError(`${source}: the header has ${header.fields.length} column (${q(header.fields[0])}); need at least one feature column and a label column`);
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
    throw new ValueError(`${source}: unknown label column ${q(options.labelColumn)}; the columns are: ${names.map((n) => `${q(n)}`).join(', ')}`);
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
  for (const cell of labels) {
    if (cell.value === '') throw new ValueError(`${source}: line ${cell.line}, column ${q(cell.column)}: empty label`);
    if (NOT_FINITE.test(cell.value)) throw new ValueError(`${source}: line ${cell.line}, column ${q(cell.column)}: label ${q(cell.value)} is not finite (NaN and Inf are not allowed)`);
  }
  if ((options.classNames || options.knownClasses) && options.task === 'regression') {
    throw new ValueError(`${source}: classNames or knownClasses were given but task is 'regression'`);
  }
  const targets = classify(labels, source, options);
  if (options.knownClasses && targets.y instanceof Int32Array) checkKnown(targets, labels, options.knownClasses, source, options.classesFrom);
  return targets;
}

function classify(labels: Cell[], source: string, options: CsvOptions): Targets {
  const n = labels.length;
  const from = options.classesFrom;
  if (options.classNames) return byName(labels, options.classNames, source, from);
  const nonNumeric = labels.find((c) => !NUMBER.test(c.value));
  if (nonNumeric) {
    if (options.task === 'regression') {
      throw new ValueError(`${source}: line ${nonNumeric.line}, column ${q(nonNumeric.column)}: label ${q(nonNumeric.value)} is not a number (task 'regression')`);
    }
    if (options.knownClasses) {
      throw notAClass(nonNumeric, options.knownClasses.map(String), source, from);
    }
    return byName(labels, [...new Set(labels.map((c) => c.value))].sort(), source, from);
  }
  const values = labels.map((c) => Number(c.value));
  const huge = labels.findIndex((_, i) => !Number.isFinite(Math.fround(values[i])));
  if (huge >= 0) throw new ValueError(`${source}: line ${labels[huge].line}, column ${q(labels[huge].column)}: label ${q(labels[huge].value)} ${FLOAT32_RANGE}`);
  const integral = values.every(Number.isInteger);
  const distinct = [...new Set(values)].sort((a, b) => a - b);
  const inferred = options.task === undefined && !options.knownClasses;
  const asClasses = inferred ? integral && distinct.length <= MAX_INFERRED_CLASSES : options.task !== 'regression';
  if (!asClasses) {
    if (inferred && options.onNotice) inferenceNotice(labels, values, source, options.onNotice);
    return { y: Float32Array.from(values), yShape: [n, 1] };
  }
  const bad = labels.find((_, i) => !Number.isInteger(values[i]));
  if (bad) throw new ValueError(`${source}: line ${bad.line}, column ${q(bad.column)}: class label ${q(bad.value)} is not an integer`);
  // Negative labels become indices in sorted order (below), whatever their size; others are indices as they stand.
  const far = distinct[0] >= 0 || options.knownClasses ? labels.find((_, i) => values[i] >= MAX_CLASSES) : undefined;
  if (far) {
    throw new ValueError(
      `${source}: line ${far.line}, column ${q(far.column)}: class label ${q(far.value)} is past ${MAX_CLASSES - 1}, the largest class index webgrad takes (a model has an output unit per class); if the column is a regression target, pass task 'regression' (--task regression)`,
    );
  }
  if (options.knownClasses) {
    // Indices as they stand, sized by the classes known, not by this file.
    return { y: Int32Array.from(values), yShape: [n], classes: Math.max(0, ...options.knownClasses) + 1 };
  }
  if (distinct[0] >= 0) {
    // Non-negative integers are class indices as they stand: label 3 is class 3.
    return { y: Int32Array.from(values), yShape: [n], classes: distinct[distinct.length - 1] + 1 };
  }
  // Negative labels (say -1 / 1) become indices in sorted order, named by their values.
  const index = new Map(distinct.map((v, i) => [v, i]));
  return { y: Int32Array.from(values, (v) => index.get(v)!), yShape: [n], classes: distinct.length, classNames: distinct.map(String) };
}

/**
 * The task was inferred as regression. Says so when the labels were nearly
 * class labels: whole numbers but for a few fractional ones (a typo such as
 * 1.5 among 0, 1, 2 would otherwise turn a classifier into a regression in
 * silence), or more distinct whole numbers than MAX_INFERRED_CLASSES.
 */
function inferenceNotice(labels: Cell[], values: number[], source: string, notice: (message: string) => void): void {
  const column = labels[0].column;
  const fractional = labels.filter((_, i) => !Number.isInteger(values[i]));
  const whole = [...new Set(values.filter(Number.isInteger))];
  const force = "pass task 'classification' (--task classification) to treat it as class labels, or task 'regression' to silence this";
  if (fractional.length === 0) {
    notice(`${source}: column ${q(column)} holds ${whole.length} distinct whole numbers, more than ${MAX_INFERRED_CLASSES}, so it is taken as a regression target; ${force}`);
    return;
  }
  if (fractional.length > 0.1 * labels.length || whole.length > MAX_INFERRED_CLASSES) return; // plainly a regression target
  const first = fractional[0];
  const others = fractional.length > 1 ? ` (and ${fractional.length - 1} more fractional label${fractional.length > 2 ? 's' : ''})` : '';
  notice(
    `${source}: column ${q(column)} is taken as a regression target because of the fractional value ${q(first.value)} on line ${first.line}${others}; ` +
      `the other ${labels.length - fractional.length} labels are whole numbers (${whole.length} distinct), as class labels would be. ` +
      `If they are classes, fix that line, or ${force}`,
  );
}

const listClasses = (names: readonly string[]) => names.map((s) => `${q(s)}`).join(', ');

function notAClass(cell: Cell, known: readonly string[], source: string, from: string | undefined): ValueError {
  const of = from ? ` of ${from}` : '';
  const near = NUMBER.test(cell.value) ? '' : didYouMean(cell.value, known); // '2' is no typo of '0'
  return new ValueError(
    `${source}: line ${cell.line}, column ${q(cell.column)}: label ${q(cell.value)} is not one of the classes ${listClasses(known)}${of}${near}`,
  );
}

/** Refuses a label whose class index is not among `known`. */
function checkKnown(t: Targets, labels: Cell[], known: readonly number[], source: string, from: string | undefined): void {
  const ok = new Set(known);
  const y = t.y as Int32Array;
  for (let i = 0; i < y.length; i++) {
    if (ok.has(y[i])) continue;
    const names = [...known].sort((a, b) => a - b).map((k) => t.classNames?.[k] ?? String(k));
    throw notAClass(labels[i], names, source, from);
  }
}

function byName(labels: Cell[], classNames: string[], source: string, from: string | undefined): Targets {
  const index = new Map(classNames.map((name, i) => [name, i]));
  // Numeric names match labels of equal value too: '1.0' is class '1'.
  const numeric = new Map(classNames.flatMap((name, i) => (NUMBER.test(name) ? [[Number(name), i] as const] : [])));
  const y = new Int32Array(labels.length);
  labels.forEach((cell, i) => {
    const c = index.get(cell.value) ?? (NUMBER.test(cell.value) ? numeric.get(Number(cell.value)) : undefined);
    if (c === undefined) throw notAClass(cell, classNames, source, from);
    y[i] = c;
  });
  return { y, yShape: [labels.length], classes: classNames.length, classNames: classNames.slice() };
}
