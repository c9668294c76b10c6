// `webgrad export MODEL --to pytorch DIR`: a saved model as a PyTorch state_dict and model.py.
// `webgrad export MODEL --to onnx FILE.onnx`: a saved model as an ONNX inference graph.
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ValueError } from '../core/errors.js';
import { onnxExport } from '../interop/export-onnx.js';
import { pytorchExport } from '../interop/export-pytorch.js';
import { writeFileAtomic } from '../nn/file.js';
import { loadModel } from '../nn/saving.js';
import { oneOf, parseArgs } from './args.js';

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
  const files = await pytorchExport(await loadModel(model));
  for (const path of await writeExport(dest, files)) console.log(`wrote ${path}`);
  console.log(`in Python: import sys; sys.path.insert(0, '${dest}'); from model import load_model; model = load_model('${dest}')`);
  console.log(`to train on: torchrun --nproc_per_node N ${join(dest, 'train.py')} --data PATH --epochs E --out FILE.safetensors`);
  return 0;
}
