// `webgrad export MODEL --to pytorch DIR`: a saved model as a PyTorch state_dict and model.py.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ValueError } from '../core/errors.js';
import { pytorchExport } from '../nn/export-pytorch.js';
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

export async function exportCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['to'], []);
  const [model, dir, ...extra] = args.positional;
  if (!model || !dir || extra.length) throw new ValueError('export takes a model file and a folder: webgrad export MODEL.safetensors --to pytorch DIR');
  oneOf('to', args.flags.get('to'), ['pytorch'] as const, 'pytorch');
  if (!args.flags.has('to')) throw new ValueError('export: say what to export to, --to pytorch');
  const files = await pytorchExport(await loadModel(model));
  for (const path of await writeExport(dir, files)) console.log(`wrote ${path}`);
  console.log(`in Python: import sys; sys.path.insert(0, '${dir}'); from model import load_model; model = load_model('${dir}')`);
  return 0;
}
