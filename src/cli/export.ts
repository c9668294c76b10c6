// `webgrad export MODEL --to pytorch DIR`: a saved model as a PyTorch state_dict and model.py.
// `webgrad export MODEL --to onnx FILE.onnx`: a saved model as an ONNX inference graph.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ValueError } from '../core/errors.js';
import { isToyName } from '../data/toy.js';
import { onnxExport } from '../interop/export-onnx.js';
import { pytorchExport } from '../interop/export-pytorch.js';
import { pyStr } from '../interop/python-source.js';
import { writeFileAtomic } from '../nn/file.js';
import { loadModel } from '../nn/saving.js';
import { oneOf, parseArgs } from './args.js';
import { BUILTIN_TEXT, builtinText } from './data.js';

/** Writes each file atomically into `dir` (created if missing). */
export async function writeExport(dir: string, files: Record<string, Uint8Array | string>): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const [name, contents] of Object.entries(files)) {
    const path = join(dir, name);
    await writeFileAtomic(path, typeof contents === 'string' ? new TextEncoder().encode(contents) : contents);
    written.push(path);
  }
  return written;
}

/** The built-in text corpus as a file of the export (what train.py reads for a model trained on it). */
const BUILTIN_TEXT_FILE = `${BUILTIN_TEXT}.txt`;

const USAGE = 'webgrad export MODEL.safetensors --to pytorch DIR, or --to onnx FILE.onnx';

export async function exportCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['to'], []);
  const [model, dest, ...extra] = args.positional;
  if (!model || !dest || extra.length) throw new ValueError(`export takes a model file and a destination: ${USAGE}`);
  const to = oneOf('to', args.flags.get('to'), ['pytorch', 'onnx'] as const, 'pytorch');
  if (!args.flags.has('to')) throw new ValueError('export: say what to export to, --to pytorch or --to onnx');
  if (to === 'onnx') {
    const bytes = await onnxExport(await loadModel(model));
    await mkdir(dirname(dest), { recursive: true });
    await writeFileAtomic(dest, bytes);
    console.log(`wrote ${dest}`);
    console.log(`in Python: import onnxruntime; y = onnxruntime.InferenceSession('${dest}').run(None, {'x': x})[0]  # x: float32 [n, ...input shape], images NHWC`);
    return 0;
  }
  const loaded = await loadModel(model);
  const files = await pytorchExport(loaded);
  // train.py reads files: a model trained on the built-in corpus gets the corpus beside it, as the CLI read it.
  if (loaded.trainingData?.data === BUILTIN_TEXT) files[BUILTIN_TEXT_FILE] = builtinText();
  for (const path of await writeExport(dest, files)) console.log(`wrote ${path}`);
  console.log(`in Python: import sys; sys.path.insert(0, ${pyStr(dest)}); from model import load_model; model = load_model(${pyStr(dest)})`);
  const { command, note } = torchrunCommand(dest, loaded.trainingData);
  console.log(`to train on: ${command}`);
  if (note) console.log(`  (${note})`);
  return 0;
}

/** `s` as one shell word: as it is where that is safe, else in single quotes (a path from a model file is data, never shell code). */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

/**
 * The torchrun line that continues training the export in `dest`, as it
 * runs: --standalone on one machine, one process per GPU or CPU core, the
 * flags Debian's torch 1.13 needs (--redirects 1 --tee 1), and the data the
 * model file says it was trained on; where it says none that train.py can
 * read, a placeholder and a note saying what to put there.
 */
export function torchrunCommand(dest: string, trained: { data: string; labelColumn?: string } | null): { command: string; note: string | null } {
  let data: string;
  let note: string | null = null;
  if (!trained) {
    data = 'PATH_TO_DATA';
    note = 'the model file does not say what it was trained on: replace PATH_TO_DATA with a folder of IDX files or a CSV file';
  } else if (isToyName(trained.data)) {
    data = 'PATH_TO_CSV';
    note = `the model was trained on TensorFlow Playground's '${trained.data}', which train.py cannot generate: replace PATH_TO_CSV with a CSV of the points (columns x,y,label)`;
  } else if (trained.data === BUILTIN_TEXT) {
    data = join(dest, BUILTIN_TEXT_FILE);
  } else if (trained.data === 'mnist') {
    data = 'PATH_TO_MNIST_IDX';
    note = "the model was trained on webgrad's built-in MNIST digits, which train.py cannot read: replace PATH_TO_MNIST_IDX with a folder of MNIST IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte)";
  } else {
    // A path that starts with '-' would read as a flag.
    data = trained.data.startsWith('-') ? `./${trained.data}` : trained.data;
    if (!existsSync(data)) note = `the model was trained on ${shellWord(trained.data)}, which is not found from here: give --data its path`;
  }
  const label = trained?.labelColumn === undefined ? '' : ` --label-column ${shellWord(trained.labelColumn)}`;
  const command = `torchrun --standalone --nproc_per_node auto --redirects 1 --tee 1 ${shellWord(join(dest, 'train.py'))} --data ${shellWord(data)}${label} --epochs 1 --out ${shellWord(join(dest, 'trained.safetensors'))}`;
  return { command, note };
}
