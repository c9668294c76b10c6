import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { onnxExport } from '../../src/interop/export-onnx.js';
import { conv2d, dense, flatten, maxPooling2d } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import { loadModel } from '../../src/nn/saving.js';
import { expectClose } from '../helpers/check.js';
import { runCli } from '../helpers/cli.js';
import { loadOnnxruntime } from '../helpers/onnxruntime.js';

/*
 * `webgrad export MODEL --to onnx FILE.onnx` and its refusals. Where
 * onnxruntime-node loads (always in CI: test/interop/onnx.test.ts fails there
 * without it), the written file is also run and compared with predict.
 */
// Without it (never in CI, where loading fails instead) only the refusals and the written file are checked.
const { ort } = await loadOnnxruntime();

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'webgrad-cli-onnx-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const x = { data: new Random(9).fill(new Float32Array(5 * 8 * 8), 0, 1), shape: [5, 8, 8, 1] };

describe('webgrad export --to onnx', () => {
  it('writes the ONNX file of a saved model, which predicts what the model does', async () => {
    const m = sequential([conv2d(3, 3, { activation: 'relu', padding: 'same', strides: 2, inputShape: [8, 8, 1] }), maxPooling2d(2), flatten(), dense(2, { activation: 'softmax' })], { seed: 2 });
    m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
    await m.fit(x, { data: Int32Array.of(0, 1, 0, 1, 1), shape: [5] }, { epochs: 2, verbose: 0 });
    const file = join(dir, 'm.safetensors');
    await m.save(file);
    m.dispose();
    const out = join(dir, 'sub', 'out.onnx');
    const r = await runCli(['export', file, '--to', 'onnx', out]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`wrote ${out}`);
    expect(existsSync(out)).toBe(true);
    if (!ort) return;
    const loaded = await loadModel(file);
    loaded.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
    const want = await loaded.predict(x);
    const session = await ort.InferenceSession.create(readFileSync(out));
    const got = (await session.run({ x: new ort.Tensor('float32', x.data, x.shape) })).y;
    await session.release();
    expect(got.dims.map(Number)).toEqual(want.shape);
    // As in test/interop/onnx.test.ts: float32 sums in onnxruntime against float64 sums in the CPU reference.
    expectClose(got.data as Float32Array, want.data, { atol: 2e-6, rtol: 1e-5, why: 'float32 sums in onnxruntime vs float64 sums in the CPU reference' }, 'onnxruntime vs webgrad');
    loaded.dispose();
  }, 60_000);

  it('refuses a bad --to, a missing destination or --to, and a missing model file, saying what to do', async () => {
    const file = join(dir, 'none.safetensors');
    const bad = await runCli(['export', file, '--to', 'onx', join(dir, 'a.onnx')]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("--to must be one of pytorch, onnx; got 'onx' (did you mean 'onnx'?)");
    const noDest = await runCli(['export', file, '--to', 'onnx']);
    expect(noDest.err).toContain('export takes a model file and a destination: webgrad export MODEL.safetensors --to pytorch DIR, or --to onnx FILE.onnx');
    const noTo = await runCli(['export', file, join(dir, 'a.onnx')]);
    expect(noTo.err).toContain('export: say what to export to, --to pytorch or --to onnx');
    const missing = await runCli(['export', file, '--to', 'onnx', join(dir, 'a.onnx')]);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain(`model file not found: ${file}`);
    expect(existsSync(join(dir, 'a.onnx'))).toBe(false);
  });

  it('refuses a model without an input shape or without weights', async () => {
    const shapeless = sequential([dense(3)]);
    await expect(onnxExport(shapeless)).rejects.toThrow("export to ONNX: the model's input shape is unknown; fit it or give inputShape");
    const unbuilt = sequential([dense(3, { inputShape: [4] })]);
    await expect(onnxExport(unbuilt)).rejects.toThrow('export to ONNX: the model has no weights yet; fit it or load a trained one');
    shapeless.dispose();
    unbuilt.dispose();
  });
});
