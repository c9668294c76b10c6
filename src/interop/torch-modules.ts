// What a torch state_dict file holds, for the PyTorch import (import-pytorch.ts):
// its float tensors, grouped by the module that owns them, and the order in
// which those modules meet the architecture's weighted layers.
import { ValueError } from '../core/errors.js';
import type { Layer } from '../nn/layers.js';
import type { Model } from '../nn/model.js';
import { firstNonFinite } from '../nn/model.js';
import { FORMAT } from '../nn/saving.js';
import { torchModuleNames } from './export-pytorch.js';
import { C_ATTN, C_PROJ, isTorchAttention, OUT_PROJ } from './import-attention.js';
import { decodeSafetensors } from './safetensors.js';

export type TorchTensor = { shape: number[]; data: Float32Array };

/** Refuses, naming it, the first tensor of a module that no weight took. */
export function refuseLeftOver(tensors: Map<string, TorchTensor>, module: string, why: string, source: string): void {
  const [part, t] = [...tensors][0] ?? [];
  if (t) throw new ValueError(`${source}: tensor '${module ? `${module}.${part}` : part}' [${t.shape.join(', ')}] is left over: ${why}`);
}

/**
 * Tensors by module: 'features.0.weight' is parameter 'weight' of module
 * 'features.0'. An nn.MultiheadAttention's child 'attn.out_proj' is part of
 * module 'attn' (as its parts 'out_proj.weight' and 'out_proj.bias'), and
 * nanoGPT's 'attn.c_attn' and 'attn.c_proj' make module 'attn': each is one
 * layer in webgrad.
 */
export function groupModules(tensors: Map<string, TorchTensor>): Map<string, Map<string, TorchTensor>> {
  const modules = new Map<string, Map<string, TorchTensor>>();
  for (const [name, t] of tensors) {
    const dot = name.lastIndexOf('.');
    const [module, part] = dot < 0 ? ['', name] : [name.slice(0, dot), name.slice(dot + 1)];
    if (!modules.has(module)) modules.set(module, new Map());
    modules.get(module)!.set(part, t);
  }
  const childOf = (module: string, child: string) => (module === '' ? child : `${module}.${child}`);
  const fold = (into: Map<string, TorchTensor>, module: string, child: string) => {
    for (const [part, t] of modules.get(childOf(module, child))!) into.set(`${child}.${part}`, t);
    modules.delete(childOf(module, child));
  };
  for (const [module, parts] of modules) {
    if (modules.has(childOf(module, OUT_PROJ)) && isTorchAttention(parts.keys())) fold(parts, module, OUT_PROJ);
  }
  // nanoGPT's attention module holds no tensor itself: its c_attn (q, k and v: [3E, E]) and c_proj become one module.
  for (const name of [...modules.keys()]) {
    const parent = name === C_ATTN ? '' : name.endsWith(`.${C_ATTN}`) ? name.slice(0, -C_ATTN.length - 1) : null;
    const w = modules.get(name)?.get('weight');
    if (parent === null || !modules.has(childOf(parent, C_PROJ)) || !w || w.shape.length !== 2 || w.shape[0] !== 3 * w.shape[1]) continue;
    // nanoGPT without flash attention keeps its causal mask as a buffer, attn.bias [1, 1, T, T]; its own from_pretrained discards it, as here.
    const own = modules.get(parent);
    const mask = own?.get('bias');
    if (own && !(own.size === 1 && mask && mask.shape.length === 4)) continue;
    modules.delete(parent);
    const parts = new Map<string, TorchTensor>();
    fold(parts, parent, C_ATTN);
    fold(parts, parent, C_PROJ);
    modules.set(parent, parts);
  }
  return modules;
}

/** The file's modules in the order of the weighted layers, and the hint errors add about it. */
export function moduleOrder(model: Model, plan: { layer: Layer }[], modules: Map<string, unknown>, given: string[] | undefined, source: string): { order: string[]; how: string } {
  const names = [...modules.keys()];
  if (given) {
    const unknown = given.find((m) => !modules.has(m));
    if (unknown !== undefined) throw new ValueError(`importPytorch: modules names '${unknown}', which ${source} does not have (its modules: ${names.join(', ')})`);
    const twice = given.find((m, i) => given.indexOf(m) !== i);
    if (twice !== undefined) throw new ValueError(`importPytorch: modules names '${twice}' twice`);
    const rest = names.filter((m) => !given.includes(m));
    return { order: [...given, ...rest], how: ` (modules matched in the order given: ${given.join(', ')})` };
  }
  const exported = torchModuleNames(model.layers);
  const byName = plan.map((w) => exported.get(w.layer.name)!);
  if (byName.length === names.length && byName.every((n) => modules.has(n))) return { order: byName, how: ' (modules matched by name)' };
  const order = [...names].sort(naturalCompare);
  return { order, how: ` (modules matched in natural name order: ${order.join(', ')}; if torch defined them in another order, give it: modules / --modules)` };
}


/** Natural order: runs of digits compare as numbers (fc2 < fc10, 2 < 10), the rest by code unit. */
export function naturalCompare(a: string, b: string): number {
  const x = a.match(/\d+|\D+/g) ?? [];
  const y = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] === y[i]) continue;
    const numeric = /^\d/.test(x[i]) && /^\d/.test(y[i]);
    if (numeric && Number(x[i]) !== Number(y[i])) return Number(x[i]) - Number(y[i]);
    return x[i] < y[i] ? -1 : 1;
  }
  return x.length - y.length;
}

/**
 * The float tensors of a torch safetensors file as float32, and its metadata:
 * F16, BF16 and F64 widened, torch's I64 num_batches_tracked (a counter for
 * BatchNorm's momentum=None, which webgrad's moving averages do not use) left out.
 */
export function readTorchFile(bytes: Uint8Array, source: string): { tensors: Map<string, TorchTensor>; metadata: Record<string, string> } {
  if (!(bytes instanceof Uint8Array)) throw new ValueError(`importPytorch: the file must be given as its bytes, a Uint8Array; got ${typeof bytes}`);
  const file = decodeSafetensors(bytes, source, { widenFloats: true, skip: (name) => name === 'num_batches_tracked' || name.endsWith('.num_batches_tracked') });
  if (file.metadata.format === FORMAT) throw new ValueError(`${source} is a webgrad model file, not a torch state_dict; load it with loadModel (webgrad predict and evaluate take it as it is)`);
  const tensors = new Map<string, TorchTensor>();
  for (const [name, { dtype, shape, data }] of Object.entries(file.tensors)) {
    if (dtype !== 'F32') throw new ValueError(`${source}: tensor '${name}' is ${dtype} [${shape.join(', ')}]; weights must be float: F32 (F16, BF16 and F64 are converted to float32)`);
    const bad = firstNonFinite(data as Float32Array);
    if (bad >= 0) throw new ValueError(`${source}: tensor '${name}' [${shape.join(', ')}] holds ${data[bad]} at index ${bad}; weights must be finite`);
    tensors.set(name, { shape, data: data as Float32Array });
  }
  return { tensors, metadata: file.metadata };
}
