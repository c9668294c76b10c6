// Fuzzing PyTorch imports (importPytorch, what `webgrad import` runs): a torch
// state_dict as safetensors.torch.save_file writes it (header sorted by dtype,
// then name; BatchNorm's I64 num_batches_tracked; one tensor F64, one F16),
// for a small CNN given as a layer spec, mutated a few thousand times. The
// contract is the model file's: the intact weights, other finite weights the
// file honestly holds (a flipped bit in tensor bytes), or a one-line
// WebgradError naming the file.
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import { importPytorch } from '../../src/interop/import-pytorch.js';
import type { Failure } from './mutate.js';
import { judgePredictions } from './predict.js';
import { concat, expectNoFailures, mutateBytes, mutateJson, pick, PROTO_NAMES, Random, attempt } from './mutate.js';

const SOURCE = 'fuzzed-torch.safetensors';
const CASES = 2000;
const SEED = 1913;
const SPEC = 'conv2:3,bn,flatten,8';
const OPTIONS = { inputShape: [4, 4, 1], source: SOURCE };

interface Stored {
  name: string;
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

const BYTES: Record<string, number> = { F32: 4, F64: 8, F16: 2, BF16: 2, I64: 8 };

/** Values of a tensor in a dtype, little-endian (F16: values that are exact halves). */
function tensor(rng: Random, name: string, dtype: string, shape: number[]): Stored {
  const n = shape.reduce((a, b) => a * b, 1);
  const bytes = new Uint8Array(n * BYTES[dtype]);
  const v = new DataView(bytes.buffer);
  for (let i = 0; i < n; i++) {
    const x = Math.round(rng.uniform(-1, 1) * 64) / 64;
    if (dtype === 'F32') v.setFloat32(4 * i, x, true);
    else if (dtype === 'F64') v.setFloat64(8 * i, x, true);
    else if (dtype === 'I64') v.setBigInt64(8 * i, 7n, true);
    else v.setUint16(2 * i, x === 0 ? 0 : (x < 0 ? 0x8000 : 0) | ((Math.floor(Math.log2(Math.abs(x))) + 15) << 10) | Math.round((Math.abs(x) / 2 ** Math.floor(Math.log2(Math.abs(x))) - 1) * 1024), true);
  }
  return { name, dtype, shape, bytes };
}

/** The file as torch's writer lays it out: sorted by dtype, then name, packed. */
function build(tensors: Stored[], metadata: Record<string, string> | null = { format: 'pt' }): Uint8Array {
  const sorted = [...tensors].sort((a, b) => (a.dtype === b.dtype ? (a.name < b.name ? -1 : 1) : a.dtype < b.dtype ? -1 : 1));
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let at = 0;
  for (const t of sorted) {
    Object.defineProperty(header, t.name, { value: { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.bytes.length] }, enumerable: true, configurable: true, writable: true });
    at += t.bytes.length;
  }
  return withHeader(header, concat(...sorted.map((t) => t.bytes)));
}

function withHeader(header: unknown, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = concat(new Uint8Array(8), json, data);
  new DataView(out.buffer).setUint32(0, json.length, true);
  return out;
}

function intactTensors(): Stored[] {
  const r = new Random(5);
  return [
    tensor(r, '0.weight', 'F32', [2, 1, 3, 3]),
    tensor(r, '0.bias', 'F32', [2]),
    tensor(r, '1.weight', 'F32', [2]),
    tensor(r, '1.bias', 'F16', [2]),
    tensor(r, '1.running_mean', 'F32', [2]),
    { ...tensor(r, '1.running_var', 'F64', [2]), bytes: new Uint8Array(new Float64Array([0.5, 2]).buffer) },
    tensor(r, '1.num_batches_tracked', 'I64', []),
    tensor(r, '4.weight', 'F32', [8, 8]),
    tensor(r, '4.bias', 'F32', [8]),
    tensor(r, '6.weight', 'F32', [3, 8]),
    tensor(r, '6.bias', 'F32', [3]),
  ];
}


function mutate(rng: Random, tensors: Stored[], bytes: Uint8Array) {
  const headerEnd = 8 + new DataView(bytes.buffer).getUint32(0, true);
  switch (rng.int(5)) {
    case 0:
      return mutateBytes(rng, bytes, 0, headerEnd);
    case 1: {
      if (rng.int(2)) return { ...mutateBytes(rng, bytes, headerEnd), region: 'data' };
      // One float32 set to an edge value: a negative variance, the largest float, a subnormal, NaN.
      const t = pick(rng, tensors.filter((u) => u.dtype === 'F32'));
      const at = 4 * rng.int(t.bytes.length / 4);
      const v = pick(rng, [-1, -0, -1e-3, 3.4028234663852886e38, -3e38, 1e30, 1.4e-45, Infinity, NaN]);
      const changed = t.bytes.slice();
      new DataView(changed.buffer).setFloat32(at, v, true);
      return { input: build(tensors.map((u) => (u === t ? { ...t, bytes: changed } : u))), what: `tensor '${t.name}' float ${at / 4} set to ${v}`, region: 'data' };
    }
    case 2: {
      const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, headerEnd)));
      const { value, what } = mutateJson(rng, header);
      return { input: withHeader(value, bytes.subarray(headerEnd)), what: `header: ${what}` };
    }
    case 3: {
      // Tensors missing, extra, renamed (to names every object has, or torch's buffers), the file otherwise valid.
      const t = pick(rng, tensors);
      const rest = tensors.filter((u) => u !== t);
      const proto = pick(rng, PROTO_NAMES);
      const to = pick(rng, [proto, `${proto}.weight`, `0.${proto}`, `${t.name.split('.')[0]}.${proto}`, 'input_mean', 'input_std', '7.weight', '1.num_batches_tracked', `${t.name}.weight`, '']);
      switch (rng.int(3)) {
        case 0:
          return { input: build(rest), what: `tensor '${t.name}' removed` };
        case 1:
          return { input: build([...tensors, { ...t, name: to }]), what: `extra tensor '${to}' (${t.dtype} [${t.shape}])` };
        default:
          return tensors.some((u) => u.name === to) ? { input: build(rest), what: `tensor '${t.name}' removed` } : { input: build([...rest, { ...t, name: to }]), what: `tensor '${t.name}' renamed '${to}'` };
      }
    }
    default: {
      // One entry's dtype or shape changed with its bytes to match (valid layout), or its offsets set to something absurd.
      const t = pick(rng, tensors);
      const rest = tensors.filter((u) => u !== t);
      const field = rng.int(3);
      if (field === 0) {
        const dtype = pick(rng, ['F32', 'F64', 'F16', 'BF16', 'I64', 'I32', 'U8', 'BOOL', ...PROTO_NAMES]);
        const size = BYTES[dtype] ?? 4;
        const n = t.shape.reduce((a, b) => a * b, 1);
        const data = new Uint8Array(n * size).map((_, i) => t.bytes[i % t.bytes.length]);
        return { input: build([...rest, { ...t, dtype, bytes: data }]), what: `tensor '${t.name}' retyped ${dtype}` };
      }
      if (field === 1) {
        const shape = pick(rng, [[], [0], [1], [...t.shape, 1], t.shape.slice(1), [...t.shape].reverse(), [t.shape.reduce((a, b) => a * b, 1)], [2 ** 20, 0], [0, 2 ** 31]]);
        const n = shape.reduce((a, b) => a * b, 1);
        const size = BYTES[t.dtype];
        const data = new Uint8Array(n * size).map((_, i) => t.bytes[i % t.bytes.length]);
        return { input: build([...rest, { ...t, shape, bytes: data }]), what: `tensor '${t.name}' reshaped [${shape}]` };
      }
      const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, headerEnd)));
      const [b, e] = header[t.name].data_offsets;
      header[t.name].data_offsets = pick(rng, [[0, 2 ** 40], [b, e + 8], [e, b], [2 ** 53, 2 ** 53 + 8], [b + 2, e + 2], [b, 2 ** 32 + b]]);
      return { input: withHeader(header, bytes.subarray(headerEnd)), what: `tensor '${t.name}' data_offsets set to ${JSON.stringify(header[t.name].data_offsets)}` };
    }
  }
}

describe('fuzzing PyTorch imports', () => {
  it(`${CASES} mutations of a torch state_dict import as the intact weights, honest other weights, or a one-line error naming the file`, async () => {
    const tensors = intactTensors();
    const bytes = build(tensors);
    const weightsOf = async (b: Uint8Array) => (await importPytorch(b, SPEC, OPTIONS).getWeights()).map((w) => Array.from(w));
    const intact = JSON.stringify(await weightsOf(bytes));
    const rng = new Random(SEED);
    const backend = new CpuBackend();
    const failures: Failure[] = [];
    const outcomes = { same: 0, different: 0, error: 0 };
    const x = { data: Float32Array.from({ length: 32 }, (_, i) => (i % 5) / 5), shape: [2, 4, 4, 1] };
    for (let i = 0; i < CASES; i++) {
      const m = mutate(rng, tensors, bytes);
      const model = attempt(() => importPytorch(m.input, SPEC, OPTIONS), m, { failures, outcomes }, { source: SOURCE, bound: 8 * m.input.length + (1 << 20) });
      if (model === undefined) continue;
      const got = JSON.stringify((await model.getWeights()).map((w) => Array.from(w)));
      if (got === intact) {
        outcomes.same++;
        continue;
      }
      outcomes.different++;
      if (process.env.FUZZ_VERBOSE === '2') console.log(`different: ${m.what}`);
      const bad = await judgePredictions(model, backend, x, SOURCE);
      if (bad) failures.push({ ...bad, what: m.what });
    }
    backend.dispose();
    expect(outcomes.same + outcomes.different + outcomes.error).toBe(CASES);
    expectNoFailures('torch state_dict', CASES, failures, outcomes);
  }, 60_000);

  it('refuses a negative running_var, naming the tensor (a flipped sign bit; normalization would give NaN)', () => {
    const tensors = intactTensors().map((t) => (t.name === '1.running_var' ? { ...t, bytes: new Uint8Array(new Float64Array([0.5, -2]).buffer) } : t));
    expect(() => importPytorch(build(tensors), SPEC, OPTIONS)).toThrow(`${SOURCE}: tensor '1.running_var' holds -2 at index 1; a variance is never negative`);
  });
});
