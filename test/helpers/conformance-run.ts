/*
 * Runs the conformance matrix (conformance-cases.ts): builds each model with
 * random weights, predicts with webgrad's CPU backend, writes both exports,
 * then runs every PyTorch export in one python3 process and every ONNX
 * export in this process, so that ~400 models cost seconds, not minutes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Random } from '../../src/core/random.js';
import { onnxExport } from '../../src/interop/export-onnx.js';
import { pytorchExport } from '../../src/interop/export-pytorch.js';
import type { LayerActivation, ParamSpec } from '../../src/nn/layers.js';
import { activationLayer, flatten } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import type { Case, Stage } from './conformance-cases.js';
import { IDS_VOCABULARY } from './conformance-cases.js';
import type { Ort } from './onnxruntime.js';

/** What each stage gave for one case: an output, or the error that stopped it. */
export interface Outcome {
  webgrad?: Float32Array;
  pytorch?: Float32Array;
  onnx?: Float32Array;
  readonly errors: Partial<Record<Stage, string>>;
}

/** Samples per model: more than one, so a mix-up between the batch and another axis shows. */
export const BATCH = 3;

/**
 * Random values for each weight, by its part, so that an export that
 * transposes a kernel or swaps γ and β cannot pass: kernels with variance
 * 1/fan-in (outputs of order 1), moving variances positive and away from 1.
 */
const WEIGHT_VALUES: Record<string, (r: Random, shape: number[]) => [number, number]> = {
  kernel: (_r, shape) => {
    const s = Math.sqrt(3 / shape.slice(0, -1).reduce((a, b) => a * b, 1));
    return [-s, s];
  },
  bias: () => [-0.5, 0.5],
  embeddings: () => [-1, 1],
  recurrent_kernel: (_r, shape) => {
    const s = Math.sqrt(3 / shape[0]);
    return [-s, s];
  },
  recurrent_bias: () => [-0.5, 0.5],
  gamma: () => [0.5, 1.5],
  beta: () => [-0.5, 0.5],
  moving_mean: () => [-0.5, 0.5],
  moving_variance: () => [0.3, 2],
};

export function randomWeights(specs: readonly ParamSpec[], seed: number): Float32Array[] {
  const r = new Random(seed);
  return specs.map((p) => {
    const part = p.name.slice(p.name.lastIndexOf('/') + 1);
    const range = WEIGHT_VALUES[part];
    if (!range) throw new Error(`conformance: no random values for weight ${p.name}; add its part '${part}' to WEIGHT_VALUES in test/helpers/conformance-run.ts`);
    const [lo, hi] = range(r, p.shape);
    return r.fill(new Float32Array(p.shape.reduce((a, b) => a * b, 1)), lo, hi);
  });
}

/**
 * Whether alpha changes what webgrad's activation `a` computes (leakyRelu's
 * slope, elu's scale): asked of webgrad itself, so that a new activation with
 * an alpha gets it tested. Some kinds ignore an alpha rather than refuse it.
 */
export async function takesAlphaOf(activations: readonly LayerActivation[]): Promise<(a: LayerActivation) => boolean> {
  const x = { data: Float32Array.of(-1.5, -0.5, 0.5, 1.5), shape: [1, 4] };
  const outputOf = async (a: LayerActivation, alpha: number | undefined) => {
    let m;
    try {
      m = sequential([activationLayer(a, { alpha, inputShape: [4] })]);
      m.compile({ optimizer: 'sgd', loss: 'meanSquaredError', backend: 'cpu' });
      return Array.from((await m.predict(x)).data);
    } catch (e) {
      if (alpha !== undefined && /takes no alpha/.test((e as Error).message)) return null;
      throw e;
    } finally {
      m?.dispose();
    }
  };
  const yes = new Set<LayerActivation>();
  for (const a of activations) {
    const [plain, other] = [await outputOf(a, undefined), await outputOf(a, 0.3)];
    if (other && other.some((v, i) => v !== plain![i])) yes.add(a);
  }
  return (a) => yes.has(a);
}

/** The input of case i: values in [-2, 2], past the bends of the activations; token ids in [0, IDS_VOCABULARY) for the 'ids' rank and an embedding first. */
export function inputOf(c: Case, i: number): { data: Float32Array; shape: number[] } {
  const n = BATCH * c.input.reduce((a, b) => a * b, 1);
  const r = new Random(1000 + i);
  const data = c.rank === 'ids' || c.position === 'afterEmbedding' ? Float32Array.from({ length: n }, () => r.int(IDS_VOCABULARY)) : r.fill(new Float32Array(n), -2, 2);
  return { data, shape: [BATCH, ...c.input] };
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Builds, predicts and exports each case; writes the PyTorch exports under dir/<i>/; returns the outcomes and the ONNX files. */
export async function buildAll(cases: readonly Case[], dir: string): Promise<{ outcomes: Outcome[]; onnxFiles: (Uint8Array | null)[] }> {
  const outcomes: Outcome[] = [];
  const onnxFiles: (Uint8Array | null)[] = [];
  for (const [i, c] of cases.entries()) {
    const errors: Outcome['errors'] = {};
    let webgrad: Float32Array | undefined;
    let onnx: Uint8Array | null = null;
    const x = inputOf(c, i);
    let m;
    try {
      m = sequential(c.layers(), { inputShape: c.input, seed: 1 });
      const weights = randomWeights(m.paramSpecs(), 2000 + i);
      m.setWeights(weights);
      m.compile({ optimizer: 'sgd', loss: 'meanSquaredError', backend: 'cpu' });
      webgrad = (await m.predict(x)).data;
    } catch (e) {
      errors.webgrad = message(e);
    }
    if (m && webgrad) {
      const folder = join(dir, String(i));
      try {
        const files = await pytorchExport(m);
        mkdirSync(folder, { recursive: true });
        for (const [name, content] of Object.entries(files)) writeFileSync(join(folder, name), content);
        writeFileSync(join(folder, 'x.f32'), x.data);
      } catch (e) {
        errors.pytorch = message(e);
      }
      try {
        onnx = await onnxExport(m);
      } catch (e) {
        errors.onnx = message(e);
      }
    }
    m?.dispose();
    outcomes.push({ webgrad, errors });
    onnxFiles.push(onnx);
  }
  return { outcomes, onnxFiles };
}

/** Runs every PyTorch export written under dir in one python3 process; returns each output, or its error. */
export function runTorch(python: string, dir: string, count: number): (Float32Array | string | null)[] {
  const folders = Array.from({ length: count }, (_, i) => join(dir, String(i)));
  const written = folders.filter((f) => existsSync(join(f, 'model.py')));
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(written));
  const script = new URL('./conformance-torch.py', import.meta.url).pathname;
  const r = spawnSync(python, [script, join(dir, 'manifest.json')], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`conformance: ${python} ${script} failed (status ${r.status}, ${r.error ?? ''}): ${r.stderr}`);
  return folders.map((f) => {
    if (existsSync(join(f, 'error.txt'))) return readFileSync(join(f, 'error.txt'), 'utf8');
    if (!existsSync(join(f, 'y.f32'))) return null;
    const b = readFileSync(join(f, 'y.f32'));
    return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  });
}

/** Runs an ONNX export in onnxruntime on x; returns y, or why not. */
export async function runOnnx(ort: Ort, bytes: Uint8Array, x: { data: Float32Array; shape: number[] }): Promise<Float32Array | string> {
  let session;
  try {
    session = await ort.InferenceSession.create(bytes);
    const out = await session.run({ x: new ort.Tensor('float32', x.data, x.shape) });
    return out.y.data as Float32Array;
  } catch (e) {
    return message(e);
  } finally {
    await session?.release();
  }
}
