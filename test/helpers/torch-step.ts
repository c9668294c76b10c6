import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { writeExport } from '../../src/cli/export.js';
import { Random } from '../../src/core/random.js';
import { pytorchExport } from '../../src/interop/export-pytorch.js';
import type { Sequential } from '../../src/nn/model.js';
import { loadModel } from '../../src/nn/saving.js';
import { expectClose } from './check.js';
import { runPython } from './python.js';

/*
 * The sequence models' round trip through the PyTorch export (#26), shared by
 * the recurrent and bidirectional export tests: webgrad trains, torch takes
 * one Adam step from webgrad's weights and optimizer state, save_webgrad
 * writes a file webgrad loads, and webgrad goes on from it.
 */
export const PYTHON = '/usr/bin/python3';

/** Runs Python lines; fails, with its stderr, when Python does. */
export function python(lines: string[]): string {
  const r = runPython(['-c', lines.join('\n')], { timeout: 120_000 });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** n sequences [T, F] in [-1, 1] and 3 classes that depend on the first value and the sample's parity. */
export function sequenceData(n: number, seed: number, T: number, F: number) {
  const r = new Random(seed);
  const x = r.fill(new Float32Array(n * T * F), -1, 1);
  return { x: { data: x, shape: [n, T, F] }, y: { data: Int32Array.from({ length: n }, (_, i) => (x[i * T * F] > 0 ? 1 : 0) + (i % 2)), shape: [n] } };
}

/**
 * `m` (compiled with Adam at 0.01, epsilonHat false, on the CPU) trains two
 * epochs on 32 sequences; torch takes one step on the first 16 from the
 * export, `checks` (Python lines, with `model` loaded in train mode) run
 * before it; the file torch writes holds what one more webgrad step gives,
 * and one webgrad step after it equals a second one of webgrad's.
 */
export async function torchStepThenWebgrad(m: Sequential, dir: string, [T, F]: readonly [number, number], checks: string[]): Promise<void> {
  const { x, y } = sequenceData(32, 6, T, F);
  await m.fit(x, y, { epochs: 2, batchSize: 8, shuffle: false, verbose: 0 });
  const folder = mkdtempSync(join(dir, 'continue-'));
  await writeExport(folder, await pytorchExport(m));
  const batch = { x: { data: x.data.slice(0, 16 * T * F), shape: [16, T, F] }, y: { data: y.data.slice(0, 16), shape: [16] } };
  writeFileSync(join(folder, 'bx.f32'), batch.x.data);
  writeFileSync(join(folder, 'by.i32'), batch.y.data);
  const out = join(folder, 'stepped.safetensors');
  const f = JSON.stringify(folder);
  python([
    'import sys, numpy as np, torch',
    `sys.path.insert(0, ${f})`,
    'from model import load_model, load_optimizer, loss_fn, save_webgrad, OPTIMIZER_STEP, FROZEN_ZERO',
    `model = load_model(${f}).train()`,
    ...checks,
    `opt = load_optimizer(model, ${f})`,
    `x = torch.from_numpy(np.fromfile(${JSON.stringify(join(folder, 'bx.f32'))}, dtype='<f4').reshape(16, ${T}, ${F}))`,
    `y = torch.from_numpy(np.fromfile(${JSON.stringify(join(folder, 'by.i32'))}, dtype='<i4').astype('int64'))`,
    'opt.zero_grad()',
    '(loss_fn(model(x, logits=True), y) + model.penalty()).backward()',
    'opt.step()',
    `save_webgrad(model.eval(), ${JSON.stringify(out)}, ${f}, optimizer=opt, step=OPTIMIZER_STEP + 1)`,
  ]);
  const before = await m.getWeights();
  await m.fit(batch.x, batch.y, { epochs: 1, batchSize: 16, shuffle: false, verbose: 0 });
  const want = await m.getWeights();
  const stepped = await loadModel(out);
  stepped.compile({ ...stepped.compileOptions!, backend: 'cpu' });
  const got = await stepped.getWeights();
  const moved = Math.max(...want.map((w, i) => Math.max(...w.map((v, j) => Math.abs(v - before[i][j])))));
  expect(moved, 'the step moves the weights').toBeGreaterThan(1e-3);
  // One Adam update (at most lr = 0.01) from the same state; the gradients differ by float32 rounding only.
  const stepTol = { atol: 1e-6, rtol: 1e-5, why: 'one update from the same state; gradients differ by float32 rounding only' };
  got.forEach((g, i) => expectClose(g, want[i], stepTol, `${m.paramSpecs()[i].name} after torch's step`));
  for (const model of [m, stepped]) await model.fit(batch.x, batch.y, { epochs: 1, batchSize: 16, shuffle: false, verbose: 0 });
  const [again, resumed] = [await m.getWeights(), await stepped.getWeights()];
  resumed.forEach((g, i) => expectClose(g, again[i], { ...stepTol, atol: 2e-6, why: 'two updates, each from the same state up to float32 rounding' }, `${m.paramSpecs()[i].name} after one more webgrad step`));
  m.dispose();
  stepped.dispose();
}
