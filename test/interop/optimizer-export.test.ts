import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeExport } from '../../src/cli/export.js';
import { Random } from '../../src/core/random.js';
import { pytorchExport } from '../../src/interop/export-pytorch.js';
import { dense } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import { loadModel } from '../../src/nn/saving.js';
import type { OptimizerConfig } from '../../src/optim/optimizers.js';
import { expectClose } from '../helpers/check.js';
import { python } from '../helpers/torch-step.js';

/*
 * What #27 adds to the optimizers, carried to torch by the PyTorch export:
 * clip_gradients (clip_grad_norm_ over all parameters or each, clip_grad_value_),
 * AdamW's param groups with weight_decay 0 for the excluded weights, and
 * make_scheduler's LambdaLR for the warmup then cosine schedule. webgrad
 * trains a few steps, the export goes on in torch for four more, and webgrad
 * takes the same four: the weights agree.
 */
const dir = mkdtempSync(join(tmpdir(), 'webgrad-optim-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hasTorch = (() => {
  try {
    python(['import torch, numpy']);
    return true;
  } catch {
    return false;
  }
})();
if (!hasTorch && process.env.CI) throw new Error('CI needs python3-torch for the PyTorch interop tests (apt-get install python3-torch)');

function data(n: number) {
  const r = new Random(5);
  const x = Float32Array.from({ length: n * 5 }, () => r.uniform(-2, 2));
  const y = Int32Array.from({ length: n }, (_, i) => (x[i * 5] > 0 ? 1 : 0) + (x[i * 5 + 1] > 0.5 ? 1 : 0));
  return { x: { data: x, shape: [n, 5] }, y: { data: y, shape: [n] } };
}

const CASES: [string, OptimizerConfig][] = [
  [
    'AdamW excluding the biases, globalClipnorm, warmup then cosine',
    {
      type: 'adamw',
      epsilonHat: false,
      weightDecay: 0.5,
      excludeFromWeightDecay: ['bias'],
      globalClipnorm: 0.05,
      learningRate: { type: 'cosineDecay', initialLearningRate: 0, decaySteps: 6, alpha: 0.1, warmupTarget: 0.02, warmupSteps: 4 },
    },
  ],
  ['SGD with momentum, clipnorm per weight, exponential decay', { type: 'sgd', learningRate: { type: 'exponentialDecay', initialLearningRate: 0.2, decaySteps: 2, decayRate: 0.7 }, momentum: 0.9, clipnorm: 0.05 }],
  ['Adam (epsilonHat false), clipvalue', { type: 'adam', learningRate: 0.01, epsilonHat: false, clipvalue: 0.02 }],
];

describe('the optimizer options of #27 in the PyTorch export', () => {
  it.skipIf(!hasTorch).each(CASES)('%s: four steps in torch equal four in webgrad, the clip biting', async (_label, optimizer) => {
    const make = () => sequential([dense(8, { activation: 'relu', inputShape: [5] }), dense(3, { activation: 'softmax' })], { seed: 4 });
    const m = make().compile({ optimizer, loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
    const { x, y } = data(32);
    // Three steps first: torch starts mid-warmup, from webgrad's optimizer state and step count.
    await m.fit({ data: x.data.slice(0, 24 * 5), shape: [24, 5] }, { data: y.data.slice(0, 24), shape: [24] }, { epochs: 1, batchSize: 8, shuffle: false, verbose: 0 });
    const folder = mkdtempSync(join(dir, 'export-'));
    await writeExport(folder, await pytorchExport(m));
    writeFileSync(join(folder, 'bx.f32'), x.data);
    writeFileSync(join(folder, 'by.i32'), y.data);
    const out = join(folder, 'stepped.safetensors');
    const f = JSON.stringify(folder);
    const said = python([
      'import sys, numpy as np, torch',
      `sys.path.insert(0, ${f})`,
      'from model import load_model, load_optimizer, make_scheduler, clip_gradients, loss_fn, save_webgrad, OPTIMIZER_STEP',
      `model = load_model(${f}).train()`,
      `opt = load_optimizer(model, ${f})`,
      'scheduler = make_scheduler(opt)',
      `x = torch.from_numpy(np.fromfile(${JSON.stringify(join(folder, 'bx.f32'))}, dtype='<f4').reshape(32, 5))`,
      `y = torch.from_numpy(np.fromfile(${JSON.stringify(join(folder, 'by.i32'))}, dtype='<i4').astype('int64'))`,
      'for k in range(4):',
      '    opt.zero_grad()',
      '    loss_fn(model(x[8 * k:8 * k + 8], logits=True), y[8 * k:8 * k + 8]).backward()',
      '    grads = [p.grad.detach().clone() for p in model.parameters()]',
      '    clip_gradients(model)',
      "    print(min(float((p.grad - g).abs().max()) for p, g in zip(model.parameters(), grads)))  # what the clip changed, in the weight it changed least",
      '    opt.step()',
      '    if scheduler is not None:',
      '        scheduler.step()',
      `save_webgrad(model.eval(), ${JSON.stringify(out)}, ${f}, optimizer=opt, step=OPTIMIZER_STEP + 4)`,
    ]);
    // The clip changed every weight's gradient at every step (their norms and values are above it), so a missed clip shows.
    said.trim().split('\n').forEach((line, k) => expect(Number(line), `what the clip changed at torch's step ${k + 1}`).toBeGreaterThan(1e-3));
    const before = await m.getWeights();
    await m.fit(x, y, { epochs: 1, batchSize: 8, shuffle: false, verbose: 0 });
    const want = await m.getWeights();
    const stepped = await loadModel(out);
    stepped.compile({ ...stepped.compileOptions!, backend: 'cpu' });
    const got = await stepped.getWeights();
    const moved = Math.max(...want.map((w, i) => Math.max(...w.map((v, j) => Math.abs(v - before[i][j])))));
    expect(moved, 'the four steps move the weights').toBeGreaterThan(1e-3);
    // Four updates from the same state; the gradients differ by float32 rounding in other orders, and torch's
    // clip_grad_norm_ divides by norm + 1e-6 where webgrad divides by max(norm, clip): 1e-6 of the norm.
    const tol = { atol: 1e-5, rtol: 1e-4, why: 'four updates from the same state: float32 rounding, and torch\'s +1e-6 in the clip' };
    got.forEach((g, i) => expectClose(g, want[i], tol, `${m.paramSpecs()[i].name} after torch's four steps`));
    m.dispose();
    stepped.dispose();
  });
});
