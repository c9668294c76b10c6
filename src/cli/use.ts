import { ValueError } from '../core/errors.js';
import { sameShape, sizeOf } from '../core/shape.js';
import type { Dataset } from '../data/dataset.js';
import type { Model } from '../nn/model.js';
import { firstNonFinite } from '../nn/model.js';
import { describeSamples, featureSize } from '../data/dataset.js';
import { blankImageNotice, toMnistInput } from '../data/image.js';
import { loadModel } from '../nn/saving.js';
import { oneOf, parseArgs } from './args.js';
import { loadData } from './data.js';
import { int, trainOptions } from './train-options.js';
import { readPng } from './png.js';
import { predictRows } from './predict-rows.js';
import { describeDevice } from './selfcheck.js';
import { cliBackend } from './train.js';

async function openModel(path: string | undefined, backendFlag: string | undefined, what: string) {
  if (!path) throw new ValueError(`${what}: give the model file, e.g. webgrad ${what} model.safetensors ...`);
  const model = await loadModel(path);
  const backend = await cliBackend(backendFlag ? oneOf('backend', backendFlag, ['webgpu', 'cpu'] as const, 'webgpu') : undefined, (s) => console.error(s));
  model.compile({ ...model.compileOptions!, backend });
  return { model, backend };
}

/**
 * `webgrad evaluate MODEL --data ...`: loss and metrics of a saved model on
 * the test part of a data set: the IDX t10k files, --test-data, or the 20% of
 * a CSV that `train` held out, drawn with --seed (by default the seed the
 * model was trained with, saved in the file, so it is the same test split and
 * never rows the model trained on). Labels are mapped by the model's class
 * names; features go through its saved scaler.
 */
export async function evaluate(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['data', 'test-data', 'label-column', 'backend', 'batch-size', 'seed', 'noise', 'points', 'test-percent'], ['json']);
  if (args.positional.length > 1) throw new ValueError(`evaluate takes one model file; got ${args.positional.map((p) => `'${p}'`).join(', ')} (the data goes with --data)`);
  const seedFlag = int('seed', args.flags.get('seed'), 0);
  const batchSize = int('batch-size', args.flags.get('batch-size'), 1);
  const { model, backend } = await openModel(args.positional[0], args.flags.get('backend'), 'evaluate');
  try {
    const seed = seedFlag ?? model.seed;
    const data = loadData({ data: args.flags.get('data'), testData: args.flags.get('test-data'), labelColumn: args.flags.get('label-column'), seed, classNames: model.classNames ?? undefined, toy: toyFlags(args.flags), ...textFlags(model) });
    for (const n of data.notices) console.error(`webgrad evaluate: ${n}`);
    const logs = await model.evaluate(asModelTakes(model.inputShape ?? [], data.test, 'evaluate'), { data: data.test.y, shape: data.test.yShape }, { batchSize });
    // As predict: finite weights can still overflow float32 on the data; a NaN is no answer.
    const bad = Object.entries(logs).find(([, v]) => !Number.isFinite(v));
    if (bad) throw new ValueError(`evaluate: ${args.positional[0]} gives ${bad[0]} ${bad[1]} on ${data.source}: its arithmetic overflows float32; the file is damaged or its training diverged, so no figure is printed`);
    console.log(`model: ${args.positional[0]} on ${backend.kind} — ${describeDevice(backend.describe())}`);
    console.log(`data: ${data.source}: ${data.test.xShape[0]} test samples`);
    for (const [k, v] of Object.entries(logs)) console.log(`${k}: ${v.toFixed(4)}`);
    if (args.flags.get('json') === 'true') console.log(JSON.stringify(Object.fromEntries(Object.entries(logs).map(([k, v]) => [`test_${k}`, v]))));
    return 0;
  } finally {
    model.dispose();
    backend.dispose();
  }
}

/**
 * The test features in the sample shape the model takes. Where the shapes
 * differ but the sizes agree the same values are viewed in the model's shape,
 * row-major: images [n, 28, 28, 1] for a model that takes 784 features (files
 * written before the loaders gave images), or a CSV's 784 pixel columns for a
 * CNN. Otherwise the data cannot be what the model was trained on.
 */
function asModelTakes(inputShape: readonly number[], test: Dataset, command: string): { data: Float32Array; shape: number[] } {
  const sample = test.xShape.slice(1);
  if (sameShape(sample, inputShape)) return { data: test.x, shape: test.xShape };
  if (sizeOf(inputShape) !== featureSize(test.xShape)) {
    throw new ValueError(`${command}: the model takes ${describeSamples([0, ...inputShape])}, the data has ${describeSamples(test.xShape)}`);
  }
  return { data: test.x, shape: [test.xShape[0], ...inputShape] };
}

/** A character model reads a text with its own characters, in windows as long as the ones it trained on. */
function textFlags(model: Model) {
  const chars = model.vocabulary;
  return chars ? { vocabulary: chars, context: model.inputShape?.[0] } : {};
}

/** evaluate's --noise, --points and --test-percent, checked as train checks them: they must be the ones the model trained with to give its test split. */
function toyFlags(f: Map<string, string>) {
  return trainOptions({ flags: new Map([...f].filter(([k]) => ['noise', 'points', 'test-percent'].includes(k))), positional: [] }).toy;
}

/** `webgrad predict MODEL image.png`: class probabilities for a picture of a digit, preprocessed as MNIST's were. */
export async function predict(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['backend'], ['json']);
  const [modelPath, ...images] = args.positional;
  if (images.length === 0) throw new ValueError('predict: give one or more PNG files after the model (webgrad predict model.safetensors digit.png), or a CSV of samples (webgrad predict model.safetensors points.csv)');
  const csv = images.filter((p) => /\.csv$/i.test(p));
  if (csv.length > 0 && (csv.length > 1 || images.length > 1)) throw new ValueError(`predict: give one CSV file of samples, or PNG pictures of digits; got ${images.map((p) => `'${p}'`).join(', ')}`);
  const { model, backend } = await openModel(modelPath, args.flags.get('backend'), 'predict');
  try {
    if (csv.length === 1) {
      await predictRows(model, csv[0], args.flags.get('json') === 'true', (data, k, rows) => refuseNonFinite(data, k, model, modelPath!, rows));
      return 0;
    }
    const inputShape = model.inputShape ?? [];
    if (sizeOf(inputShape) !== 784) throw new ValueError(`predict: pictures of digits need a model that takes 28×28 pixels ([28, 28, 1] images, or 784 features); ${modelPath} takes ${describeSamples([0, ...inputShape])}`);
    const x = new Float32Array(784 * images.length);
    images.forEach((path, i) => {
      const img = readPng(path);
      const blank = blankImageNotice(img, path);
      if (blank) console.error(`webgrad predict: ${blank}`);
      x.set(toMnistInput(img), i * 784);
    });
    const names = model.classNames;
    const label = (c: number) => names?.[c] ?? String(c);
    const { data, shape } = await model.predict({ data: x, shape: [images.length, ...inputShape] });
    const k = shape[1];
    await refuseNonFinite(data, k, model, modelPath!, images);
    images.forEach((path, i) => {
      const p = Array.from(data.subarray(i * k, (i + 1) * k));
      const best = p.indexOf(Math.max(...p));
      if (args.flags.get('json') === 'true') {
        console.log(JSON.stringify({ image: path, class: best, ...(names ? { name: names[best] } : {}), probabilities: p }));
        return;
      }
      console.log(`${path}: ${label(best)} (${(p[best] * 100).toFixed(1)}%)`);
      console.log(p.map((v, c) => `  ${label(c)}: ${(v * 100).toFixed(1).padStart(5)}% ${'#'.repeat(Math.round(v * 40))}`).join('\n'));
    });
    return 0;
  } finally {
    model.dispose();
    backend.dispose();
  }
}

/**
 * Refuses outputs that are not numbers, rather than print NaN as an answer:
 * finite weights can still overflow float32 on an input (a weight of 1e37,
 * as a flipped bit in a file gives, or training that blew up), and the file
 * cannot say so before it runs.
 */
export async function refuseNonFinite(data: Float32Array, k: number, model: Model, modelPath: string, inputs: readonly string[]): Promise<void> {
  const i = firstNonFinite(data);
  if (i < 0) return;
  const weights = await model.getWeights();
  let largest = { v: 0, name: '' };
  model.paramSpecs().forEach((p, w) => weights[w].forEach((v) => {
    if (Math.abs(v) > largest.v) largest = { v: Math.abs(v), name: p.name };
  }));
  throw new ValueError(
    `predict: ${modelPath} gives ${data[i]} for ${inputs[Math.floor(i / k)]}: its arithmetic overflows float32 (its largest weight, in ${largest.name}, is ${largest.v.toExponential(2)} in size); ` +
      'the file is damaged or its training diverged, so no prediction is printed',
  );
}
