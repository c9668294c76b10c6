// Reading a CSV file into a Dataset. Node-only; the parsing is in csv-format.ts
// and csv-dataset.ts, which the browser can use on text it already has.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { ValueError } from '../core/errors.js';
import type { CsvOptions } from './csv-dataset.js';
import { parseCsv } from './csv-dataset.js';
import type { Dataset } from './dataset.js';

/**
 * Reads a CSV file with a header row: the label column (default: the last)
 * becomes y, every other column a numeric feature of x [n, features].
 */
export function readCsv(path: string, options: CsvOptions = {}): Dataset {
  if (!existsSync(path)) throw new ValueError(`readCsv: no such file ${path} (expected a CSV file with a header row)`);
  if (statSync(path).isDirectory()) throw new ValueError(`readCsv: ${path} is a directory, expected a CSV file`);
  const text = readFileSync(path, 'utf8');
  if (text.trim() === '') throw new ValueError(`${path}: empty file (a header row naming the columns is required)`);
  return parseCsv(text, path, options);
}
