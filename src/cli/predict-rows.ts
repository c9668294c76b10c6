// `webgrad predict MODEL rows.csv`: predictions for rows of features, for any
// model that takes flat samples (a table's columns, the Playground's x and y).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { ValueError } from '../core/errors.js';
import { sizeOf } from '../core/shape.js';
import { parseCsvRecords } from '../data/csv-format.js';
import type { Model } from '../nn/model.js';

/**
 * The rows of a CSV with a header, as the model's inputs: exactly as many
 * columns as the model takes features (a file with one more, a label column,
 * is refused rather than guessed at), every value a finite number.
 */
function readRows(path: string, features: number): { x: Float32Array; n: number; header: string[] } {
  if (!existsSync(path)) throw new ValueError(`predict: no such file ${path}`);
  if (statSync(path).isDirectory()) throw new ValueError(`predict: ${path} is a directory, expected a CSV file`);
  const [head, ...rows] = parseCsvRecords(readFileSync(path, 'utf8'), path);
  if (!head || rows.length === 0) throw new ValueError(`predict: ${path} has no rows to predict (a header naming the columns, then one row per sample)`);
  if (head.fields.length !== features) {
    throw new ValueError(`predict: ${path} has ${head.fields.length} columns (${head.fields.join(', ')}); the model takes ${features} features per sample, so give exactly those columns`);
  }
  const x = new Float32Array(rows.length * features);
  rows.forEach((r, i) => {
    if (r.fields.length !== features) throw new ValueError(`predict: ${path} line ${r.line} has ${r.fields.length} values, the header ${features}`);
    r.fields.forEach((v, j) => {
      const n = Number(v);
      if (v.trim() === '' || !Number.isFinite(n)) throw new ValueError(`predict: ${path} line ${r.line}, column '${head.fields[j]}': ${JSON.stringify(v)} is not a number`);
      x[i * features + j] = n;
    });
  });
  return { x, n: rows.length, header: head.fields };
}

/** Prints one line per row: the class and its probability (a softmax or sigmoid output) or the predicted values. */
export async function predictRows(model: Model, path: string, json: boolean, checkFinite: (data: Float32Array, k: number, rows: string[]) => Promise<void>): Promise<void> {
  const inputShape = model.inputShape ?? [];
  if (inputShape.length !== 1) throw new ValueError(`predict: ${path}: rows of a CSV are flat samples; the model takes samples of shape [${inputShape.join(', ')}]`);
  const { x, n, header } = readRows(path, sizeOf(inputShape));
  const { data, shape } = await model.predict({ data: x, shape: [n, ...inputShape] });
  const k = shape[1] ?? 1;
  const rowNames = Array.from({ length: n }, (_, i) => `${path} row ${i + 1}`);
  await checkFinite(data, k, rowNames);
  const last = model.outputLayer.activation;
  const names = model.classNames;
  const label = (c: number) => names?.[c] ?? String(c);
  for (let i = 0; i < n; i++) {
    const inputs = Object.fromEntries(header.map((h, j) => [h, x[i * header.length + j]]));
    const p = Array.from(data.subarray(i * k, (i + 1) * k));
    const where = header.map((h, j) => `${h}=${x[i * header.length + j]}`).join(', ');
    if (last === 'softmax' || (last === 'sigmoid' && k === 1 && names)) {
      // A one-unit sigmoid gives the probability of class 1; a softmax every class's.
      const probs = last === 'sigmoid' ? [1 - p[0], p[0]] : p;
      const best = probs.indexOf(Math.max(...probs));
      if (json) console.log(JSON.stringify({ row: i + 1, inputs, class: best, ...(names ? { name: names[best] } : {}), probabilities: probs }));
      else console.log(`row ${i + 1} (${where}): ${label(best)} (${(probs[best] * 100).toFixed(1)}%)`);
    } else if (json) {
      console.log(JSON.stringify({ row: i + 1, inputs, output: p }));
    } else {
      console.log(`row ${i + 1} (${where}): ${p.map((v) => v.toPrecision(5)).join(', ')}`);
    }
  }
}
