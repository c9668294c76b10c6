import { ValueError, WebgradError } from '../core/errors.js';
import type { CompileOptions, InputScaler, Topology } from './model.js';
import type { Model } from './model.js';
import { firstNonFinite } from './model.js';
import { modelFromTopology } from './functional.js';
import { isTrainable } from './layer-base.js';
import type { ParamSpec } from './layers.js';
import { makeOptimizer } from '../optim/optimizers.js';
import { checkModelStrings } from './names.js';
import { quoted } from '../core/text.js';
import type { SafetensorsTensor } from '../interop/safetensors.js';
import { decodeSafetensors, encodeSafetensors } from '../interop/safetensors.js';

/**
 * The model file: safetensors, which other tools read. Weights are
 * `weights/<layer>/<kernel|bias>`, optimizer slots
 * `optimizer/<layer>/<kernel|bias>/<k>`; the metadata holds the format
 * version, the topology and compile options as JSON, and the optimizer step.
 */
export const FORMAT = 'webgrad-model';
export const FORMAT_VERSION = '1';

export async function modelToBytes(model: Model): Promise<Uint8Array> {
  const specs = model.paramSpecs();
  const weights = await model.getWeights();
  const tensors: Record<string, SafetensorsTensor> = {};
  specs.forEach((p, i) => {
    if (weights[i].length === 0) throw new ValueError('save: the model has no weights yet; fit it or call setWeights() first');
    refuseNonFinite('save', `weight '${p.name}'`, weights[i]);
    tensors[`weights/${p.name}`] = { dtype: 'F32', shape: p.shape, data: weights[i] };
  });
  const opt = await model.optimizerState();
  // Slots belong to the trainable weights only.
  const trained = specs.filter(isTrainable);
  opt?.slots.forEach((slots, i) =>
    slots.forEach((s, k) => {
      refuseNonFinite('save', `optimizer state '${trained[i].name}/${k}'`, s);
      tensors[`optimizer/${trained[i].name}/${k}`] = { dtype: 'F32', shape: trained[i].shape, data: s };
    }),
  );
  const metadata = modelMetadata(model, opt?.step ?? 0);
  // A file this save writes must load: its names are held to the grammar load checks (src/nn/names.ts).
  checkModelStrings('save', metadata, Object.keys(tensors));
  return encodeSafetensors(tensors, metadata);
}

/**
 * A model file's metadata: the format version, the topology and compile
 * options as JSON, the optimizer step, and what predictions depend on
 * besides the weights (class names, input scaler). Exports that write a file
 * webgrad loads back (the PyTorch export's train.py) take it from here.
 */
export function modelMetadata(model: Model, optimizerStep: number): Record<string, string> {
  const metadata: Record<string, string> = {
    format: FORMAT,
    format_version: FORMAT_VERSION,
    topology: JSON.stringify(model.topology()),
    // The backend is where this process ran it, not part of the model.
    compile: JSON.stringify(model.compileOptions ? { ...model.compileOptions, backend: undefined } : null),
    optimizer_step: String(optimizerStep),
  };
  // What predictions depend on besides the weights: the class names in label order and the input scaler.
  if (model.classNames) metadata.class_names = JSON.stringify(model.classNames);
  if (model.scaler) metadata.scaler = JSON.stringify(model.scaler);
  // A character model's characters as code points: numbers, so a newline in the vocabulary is no control character in the file's strings.
  if (model.vocabulary) metadata.vocabulary = JSON.stringify(model.vocabulary.map((c) => c.codePointAt(0)));
  // Where the training data came from (the CLI's --data), so that an export can name it.
  if (model.trainingData) {
    metadata.data = model.trainingData.data;
    if (model.trainingData.labelColumn !== undefined) metadata.label_column = model.trainingData.labelColumn;
  }
  return metadata;
}

export function modelFromBytes(bytes: Uint8Array, source = 'model file'): Model {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  if (metadata.format !== FORMAT) throw new ValueError(`${source}: not a webgrad model (metadata format is ${metadata.format === undefined ? 'missing' : quoted(metadata.format)}, expected "${FORMAT}")`);
  if (metadata.format_version !== FORMAT_VERSION) {
    const newer = Number(metadata.format_version) > Number(FORMAT_VERSION);
    throw new ValueError(
      `${source}: format version ${quoted(metadata.format_version ?? '')} is ${newer ? 'newer than this webgrad reads' : 'not supported'} (this webgrad reads version ${FORMAT_VERSION})${newer ? '; update webgrad to load it' : ''}`,
    );
  }
  // Every string of the file, before any of it is used or shown: names as the grammar says, nothing that is markup in a terminal.
  checkModelStrings(source, metadata, Object.keys(tensors));
  const topology = parseJson<Topology>(metadata.topology, source, 'topology');
  // Without compile options the model loads uncompiled: predict needs none, fit asks for compile().
  const compile = metadata.compile === undefined ? null : parseJson<CompileOptions | null>(metadata.compile, source, 'compile');
  const model = inFile(source, 'topology', () => modelFromTopology(topology));
  if (compile) inFile(source, 'compile options', () => model.compile(compile));
  if (metadata.class_names !== undefined) inFile(source, 'class_names', () => model.setClassNames(parseJson<string[]>(metadata.class_names, source, 'class_names')));
  if (metadata.vocabulary !== undefined) inFile(source, 'vocabulary', () => model.setVocabulary(codePoints(parseJson<unknown>(metadata.vocabulary, source, 'vocabulary'), source)));
  if (metadata.scaler !== undefined) inFile(source, 'scaler', () => model.setScaler(float32Scaler(parseJson<InputScaler>(metadata.scaler, source, 'scaler'), source)));
  if (metadata.data !== undefined) model.trainingData = { data: metadata.data, ...(metadata.label_column === undefined ? {} : { labelColumn: metadata.label_column }) };
  const specs = inFile(source, 'topology', () => model.paramSpecs());
  const used = new Set<string>();
  const take = (name: string, shape: number[]): Float32Array => {
    used.add(name);
    const t = tensors[name];
    if (!t) throw new ValueError(`${source}: tensor '${name}' is missing`);
    if (t.dtype !== 'F32' || t.shape.join() !== shape.join()) {
      throw new ValueError(`${source}: tensor '${name}' is ${t.dtype}[${t.shape.join(', ')}], the model needs F32[${shape.join(', ')}]`);
    }
    refuseNonFinite(source, `tensor '${name}'`, t.data as Float32Array);
    refuseNegativeVariance(source, name, t.data as Float32Array);
    return t.data as Float32Array;
  };
  model.setWeights(specs.map((p) => take(`weights/${p.name}`, p.shape)));
  const hasOptimizer = Object.keys(tensors).some((k) => k.startsWith('optimizer/'));
  if (hasOptimizer) {
    const slots = specs.filter(isTrainable).map((p) => {
      const out: Float32Array[] = [];
      for (let k = 0; tensors[`optimizer/${p.name}/${k}`]; k++) out.push(take(`optimizer/${p.name}/${k}`, p.shape));
      return out;
    });
    checkSlotCounts(slots, specs.filter(isTrainable), compile, source);
    const step = readStep(metadata.optimizer_step, source);
    model.setOptimizerState({ slots, step });
  }
  // A tensor no weight or slot of the topology takes means the file and its topology disagree: refused, never dropped.
  const unused = Object.keys(tensors).filter((k) => !used.has(k));
  if (unused.length) {
    throw new ValueError(`${source}: tensor${unused.length > 1 ? 's' : ''} ${unused.slice(0, 5).map((k) => `'${k}'`).join(', ')}${unused.length > 5 ? ` and ${unused.length - 5} more` : ''} ${unused.length > 1 ? 'are' : 'is'} not used by the model's topology (its weights: ${specs.map((p) => p.name).join(', ')})`);
  }
  return model;
}

/**
 * Every trainable weight has as many optimizer slot tensors as the optimizer
 * keeps (Adam 2, momentum 1, SGD none): a file missing one, or holding slots
 * for some weights only, is refused here rather than crash the first step.
 */
function checkSlotCounts(slots: Float32Array[][], trainable: ParamSpec[], compile: CompileOptions | null, source: string): void {
  const optimizer = compile ? makeOptimizer(compile.optimizer ?? 'adam') : null;
  const want = optimizer ? optimizer.slots : slots[0]?.length ?? 0;
  const i = slots.findIndex((s) => s.length !== want);
  if (i < 0) return;
  const name = trainable[i].name;
  const keeps = optimizer ? `its optimizer '${optimizer.config.type}' keeps ${want} per weight` : `weight '${trainable[0].name}' has ${want}`;
  throw new ValueError(`${source}: weight '${name}' has ${slots[i].length} optimizer slot tensor${slots[i].length === 1 ? '' : 's'} (optimizer/${name}/0, 1, ...) but ${keeps}; the optimizer state is incomplete or belongs to another optimizer`);
}

/** The optimizer step as the writer writes it: decimal digits, a safe integer. */
function readStep(text: string | undefined, source: string): number {
  const step = Number(text ?? '0');
  if (text !== undefined && (!/^\d+$/.test(text) || !Number.isSafeInteger(step))) throw new ValueError(`${source}: optimizer_step ${JSON.stringify(text)} is not a step count (a whole number written in decimal digits)`);
  return step;
}

/** A vocabulary saved as code points, each a whole number that is a character (no surrogate halves). */
function codePoints(v: unknown, source: string): string[] {
  if (!Array.isArray(v)) throw new ValueError(`${source}: vocabulary must be a list of code points, got ${JSON.stringify(v)?.slice(0, 40)}`);
  return v.map((c, i) => {
    if (!Number.isInteger(c) || c < 0 || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) throw new ValueError(`${source}: vocabulary[${i}] is ${JSON.stringify(c)?.slice(0, 20)}, not a character's code point`);
    return String.fromCodePoint(c);
  });
}

/**
 * The scaler as a float32 pipeline wrote it: every mean and std a float32
 * (|v| <= 3.4e38) and every std at least float32's smallest positive value,
 * so that scaling an input cannot turn it into Infinity by the file's values alone.
 */
function float32Scaler(scaler: InputScaler, source: string): InputScaler {
  for (const part of ['mean', 'std'] as const) {
    const values: unknown = scaler?.[part];
    if (!Array.isArray(values)) continue; // setScaler names the missing list
    const i = values.findIndex((v) => typeof v === 'number' && (Math.abs(v) > FLOAT32_MAX || (part === 'std' && Math.fround(v) === 0)));
    if (i >= 0) throw new ValueError(`${source}: scaler ${part}[${i}] is ${values[i]}, ${part === 'std' && Math.abs(values[i]) <= FLOAT32_MAX ? 'below' : 'past'} what float32 holds; a scaler computed from float32 data never is`);
  }
  return scaler;
}

const FLOAT32_MAX = 3.4028234663852886e38;

/** A moving variance is never negative (a flipped sign bit makes it so, and normalization then gives NaN). */
export function refuseNegativeVariance(source: string, name: string, data: Float32Array): void {
  if (!/(^|[/.])(moving_variance|running_var)$/.test(name)) return;
  const i = data.findIndex((v) => v < 0);
  if (i >= 0) throw new ValueError(`${source}: tensor '${name}' holds ${data[i]} at index ${i}; a variance is never negative`);
}

/** A model file never holds NaN or Infinity: refused on save and on load, naming the tensor. */
function refuseNonFinite(where: string, what: string, data: Float32Array): void {
  const i = firstNonFinite(data);
  if (i >= 0) throw new ValueError(`${where}: ${what} holds ${data[i]} at index ${i}; model files never hold non-finite values (did training diverge?)`);
}

/** Runs a step of reading the file; its error names the file and the part. */
function inFile<T>(source: string, part: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof WebgradError && !e.message.startsWith(source)) e.message = `${source}: ${part}: ${e.message}`;
    throw e;
  }
}

function parseJson<T>(text: string | undefined, source: string, what: string): T {
  if (text === undefined) throw new ValueError(`${source}: metadata has no ${what}`);
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new ValueError(`${source}: metadata ${what} is not valid JSON (${(e as Error).message})`);
  }
}

/** Saves to a file, atomically (Node). */
export async function saveModel(model: Model, path: string): Promise<void> {
  const { writeFileAtomic } = await import('./file.js');
  await writeFileAtomic(path, await modelToBytes(model));
}

/** Loads a model saved by saveModel (Node). */
export async function loadModel(path: string): Promise<Model> {
  const { readModelFile } = await import('./file.js');
  return modelFromBytes(await readModelFile(path), path);
}
