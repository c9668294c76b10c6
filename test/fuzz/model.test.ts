// Fuzzing webgrad model files (modelFromBytes, what loadModel and every CLI
// command that takes a model run): a small CNN with batch normalization,
// optimizer state, class names and an input scaler, saved, then mutated a
// few thousand times. The contract: the intact model, a different model the
// file honestly describes (a bit flip in tensor bytes gives other weights;
// there is no checksum), or a one-line WebgradError naming the file.
// A model that loads must hold only finite weights, survive a save and
// reload unchanged, and predict finite numbers.
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/backend/cpu.js';
import { conv2d } from '../../src/nn/conv-layers.js';
import { dense, dropout, flatten } from '../../src/nn/layers.js';
import { sequential, type Model } from '../../src/nn/model.js';
import { batchNormalization } from '../../src/nn/norm-layers.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/interop/safetensors.js';
import { modelFromBytes, modelToBytes } from '../../src/nn/saving.js';
import type { Failure } from './mutate.js';
import { judgePredictions } from './predict.js';
import { concat, expectNoFailures, mutateBytes, mutateJson, pick, PROTO_NAMES, Random, attempt } from './mutate.js';

const SOURCE = 'fuzzed.safetensors';
const CASES = 2000;
const SEED = 2024;

async function intactFile(): Promise<Uint8Array> {
  const r = new Random(1);
  const m = sequential([conv2d(2, 3, { inputShape: [4, 4, 1], activation: 'relu' }), batchNormalization(), flatten(), dense(3, { activation: 'tanh' }), dropout(0.25), dense(3, { activation: 'softmax' })], { seed: 7 });
  m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const specs = m.paramSpecs();
  m.setWeights(specs.map((p) => r.fill(new Float32Array(p.shape.reduce((a, b) => a * b, 1)))));
  const trainable = specs.filter((p) => !/moving_/.test(p.name));
  m.setOptimizerState({ slots: trainable.map((p) => [0, 1].map(() => r.fill(new Float32Array(p.shape.reduce((a, b) => a * b, 1)), 0, 1))), step: 12 });
  m.setClassNames(['cat', 'dog', 'toString']);
  m.setScaler({ mean: Array.from({ length: 16 }, () => r.uniform(0, 1)), std: Array.from({ length: 16 }, () => r.uniform(0.5, 2)) });
  return modelToBytes(m);
}

/** Everything a loaded model is, as comparable values. */
async function snapshot(m: Model) {
  const opt = await m.optimizerState();
  return {
    topology: JSON.stringify(m.topology()),
    compile: JSON.stringify(m.compileOptions),
    classNames: m.classNames,
    scaler: m.scaler,
    weights: (await m.getWeights()).map((w) => Array.from(w)),
    optimizer: opt && { step: opt.step, slots: opt.slots.map((s) => s.map((t) => Array.from(t))) },
  };
}

/** The header as JSON and the data after it. */
function split(bytes: Uint8Array) {
  const n = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, any>, data: bytes.subarray(8 + n) };
}

/** A file with `header` (padded as the writer pads) in front of `data`. */
function join(header: unknown, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const pad = (8 - (json.length % 8)) % 8;
  const out = concat(new Uint8Array(8), json, new Uint8Array(pad).fill(0x20), data);
  new DataView(out.buffer).setUint32(0, json.length + pad, true);
  return out;
}

/** One mutation of the model file: bytes, the header's JSON, a metadata field's JSON, or the set of tensors. */
function mutate(rng: Random, bytes: Uint8Array) {
  const { header, data } = split(bytes);
  const dataStart = bytes.length - data.length;
  switch (rng.int(6)) {
    case 0:
      return mutateBytes(rng, bytes, 0, dataStart);
    case 1: {
      if (rng.int(2)) return { ...mutateBytes(rng, bytes, dataStart), region: 'data' };
      // One float32 in the data set to an edge value: a negative variance, the largest float, a subnormal.
      const out = bytes.slice();
      const at = dataStart + 4 * rng.int(data.length / 4);
      const v = pick(rng, [-1, -0, -1e-3, 3.4028234663852886e38, -3e38, 1e30, 1.4e-45, Infinity, NaN]);
      new DataView(out.buffer).setFloat32(at, v, true);
      return { input: out, what: `float32 at ${at} set to ${v}`, region: 'data' };
    }
    case 2: {
      const { value, what } = mutateJson(rng, header);
      return { input: join(value, data), what: `header: ${what}` };
    }
    case 3: {
      const field = pick(rng, ['topology', 'compile', 'class_names', 'scaler', 'optimizer_step', 'format_version']);
      const meta = { ...header.__metadata__ };
      let what: string;
      if (field === 'optimizer_step' || field === 'format_version') {
        meta[field] = pick(rng, ['', '-1', '1.5', '1e400', 'NaN', '0x10', ' 12', '9007199254740993', '2', '0']);
        what = `${field} set to ${JSON.stringify(meta[field])}`;
      } else {
        const m = mutateJson(rng, JSON.parse(meta[field]));
        meta[field] = JSON.stringify(m.value) ?? 'undefined';
        what = `${field}: ${m.what}`;
      }
      return { input: join({ ...header, __metadata__: meta }, data), what: `metadata ${what}` };
    }
    case 4: {
      // Whole tensors missing, extra, renamed (to names every object has) or retyped, the file otherwise valid.
      const { tensors, metadata } = decodeSafetensors(bytes, SOURCE);
      const names = Object.keys(tensors);
      const name = pick(rng, names);
      const t = tensors[name];
      const out: Record<string, any> = { ...tensors };
      const how = rng.int(4);
      let what: string;
      if (how === 0) {
        delete out[name];
        what = `tensor '${name}' removed`;
      } else if (how === 1) {
        const extra = pick(rng, [...PROTO_NAMES, ...PROTO_NAMES.map((p) => `weights/${p}`), `${name}/${pick(rng, PROTO_NAMES)}`, 'optimizer/dense_1/kernel/2']);
        Object.defineProperty(out, extra, { value: t, enumerable: true, configurable: true, writable: true });
        what = `extra tensor '${extra}'`;
      } else if (how === 2) {
        const to = pick(rng, [...PROTO_NAMES, `weights/${pick(rng, PROTO_NAMES)}`, name.replace(/[^/]+$/, pick(rng, PROTO_NAMES))]);
        delete out[name];
        Object.defineProperty(out, to, { value: t, enumerable: true, configurable: true, writable: true });
        what = `tensor '${name}' renamed '${to}'`;
      } else {
        out[name] = { dtype: 'I32', shape: t.shape, data: new Int32Array(t.data.buffer.slice(0)) };
        what = `tensor '${name}' stored as I32`;
      }
      return { input: encodeSafetensors(out, metadata), what };
    }
    default: {
      // A tensor entry's dtype, shape or offsets changed in the header: wrong lengths and huge declared sizes.
      const name = pick(rng, Object.keys(header).filter((k) => k !== '__metadata__'));
      const entry = { ...header[name] };
      const field = pick(rng, ['dtype', 'shape', 'data_offsets']);
      entry[field] = field === 'dtype'
        ? pick(rng, ['F16', 'F64', 'I64', 'BOOL', 'f32', 'F32 ', ...PROTO_NAMES])
        : field === 'shape'
          ? pick(rng, [[], [0], [2 ** 31, 2 ** 31], [2 ** 32], [...entry.shape, 1], entry.shape.slice(1), [-1, ...entry.shape.slice(1)], [1.5]])
          : pick(rng, [[0, 2 ** 40], [entry.data_offsets[0], entry.data_offsets[1] + 4], [entry.data_offsets[1], entry.data_offsets[0]], [2 ** 53, 2 ** 53 + 8], [entry.data_offsets[0] + 4, entry.data_offsets[1] + 4]]);
      return { input: join({ ...header, [name]: entry }, data), what: `tensor '${name}' ${field} set to ${JSON.stringify(entry[field])}` };
    }
  }
}

describe('fuzzing webgrad model files', () => {
  it(`${CASES} mutations of a model file load as the intact model, an honest different one, or a one-line error naming the file`, async () => {
    const bytes = await intactFile();
    const intact = JSON.stringify(await snapshot(modelFromBytes(bytes, SOURCE)));
    const rng = new Random(SEED);
    const backend = new CpuBackend();
    const failures: Failure[] = [];
    const outcomes = { same: 0, different: 0, error: 0 };
    const x = { data: Float32Array.from({ length: 32 }, (_, i) => (i % 7) / 7), shape: [2, 4, 4, 1] };
    for (let i = 0; i < CASES; i++) {
      const m = mutate(rng, bytes);
      // The largest tensor copy is the file's own size; anything far past that is a size taken from the header on trust.
      const model = attempt(() => modelFromBytes(m.input, SOURCE), m, { failures, outcomes }, { source: SOURCE, bound: 4 * m.input.length + (1 << 20) });
      if (model === undefined) continue;
      const got = JSON.stringify(await snapshot(model));
      if (got === intact) {
        outcomes.same++;
        continue;
      }
      outcomes.different++;
      if (process.env.FUZZ_VERBOSE === '2') console.log(`different: ${m.what}`);
      const again = JSON.stringify(await snapshot(modelFromBytes(await modelToBytes(model), SOURCE)));
      if (again !== got) failures.push({ kind: 'loaded model changes when saved and reloaded', what: m.what, detail: '' });
      const bad = await judgePredictions(model, backend, x, SOURCE);
      if (bad) failures.push({ ...bad, what: m.what });
    }
    backend.dispose();
    expect(outcomes.same + outcomes.different + outcomes.error).toBe(CASES);
    expectNoFailures('model file', CASES, failures, outcomes);
  }, 60_000);

  it('refuses a negative moving variance at load, naming the tensor (a flipped sign bit; normalization would give NaN)', async () => {
    const bytes = await intactFile();
    const { tensors, metadata } = decodeSafetensors(bytes, SOURCE);
    const name = Object.keys(tensors).find((k) => k.endsWith('/moving_variance'))!;
    tensors[name].data[1] = -0.5;
    expect(() => modelFromBytes(encodeSafetensors(tensors, metadata), SOURCE)).toThrow(`${SOURCE}: tensor '${name}' holds -0.5 at index 1; a variance is never negative`);
  });
});
