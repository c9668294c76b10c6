import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { writeExport } from '../../src/cli/export.js';
import { pytorchExport } from '../../src/interop/export-pytorch.js';
import type { Model } from '../../src/nn/model.js';
import { loadModel } from '../../src/nn/saving.js';
import { expectClose } from './check.js';
import { python } from './torch-step.js';

/*
 * Functional models through the PyTorch export (#27): torch's predictions of
 * several exports in one Python process (torch's import is most of a run's
 * time here), and one Adam step in torch from an export against webgrad's.
 */

/** A weight whose gradient is rounding noise moves by at most lr·|g|/ε per step, |g| ~1e-8 here: well under 1e-4 over the two steps. */
const NOISE = { atol: 1e-4, rtol: 0, why: "a gradient that is 0 in exact arithmetic: each framework's update is its rounding noise through Adam's ε" };

/** Data as the tests hand it to webgrad and write it for torch. */
export interface Data {
  readonly data: Float32Array | Int32Array;
  readonly shape: number[];
}

/** One export folder and the inputs to run it on; `targets` also asks for loss_fn(model(x, logits=True), targets). */
export interface TorchCase {
  readonly folder: string;
  readonly xs: readonly Data[];
  readonly targets?: readonly Data[];
}

const arrays = (folder: string, prefix: string, list: readonly Data[]) =>
  list.map((d, k) => {
    const path = join(folder, `${prefix}${k}.bin`);
    writeFileSync(path, d.data);
    return { path, shape: d.shape, dtype: d.data instanceof Int32Array ? '<i4' : '<f4' };
  });

/** Each case's outputs (a list, one per model output, flattened) and, with targets, its loss_fn, from one Python run. */
export function torchPredictAll(cases: readonly TorchCase[]): { outputs: number[][]; loss: number | null }[] {
  const spec = cases.map((c) => ({ folder: c.folder, xs: arrays(c.folder, 'x', c.xs), targets: c.targets ? arrays(c.folder, 'y', c.targets) : null }));
  return JSON.parse(
    python([
      'import importlib.util, json, numpy as np, torch',
      `cases = json.loads(${JSON.stringify(JSON.stringify(spec))})`,
      'def read(a, long=False):',
      "    t = torch.from_numpy(np.fromfile(a['path'], dtype=a['dtype']).reshape(a['shape']))",
      "    return t.long() if a['dtype'] == '<i4' else t",
      'out = []',
      'for i, c in enumerate(cases):',
      "    spec = importlib.util.spec_from_file_location(f'exported_{i}', c['folder'] + '/model.py')",
      '    mod = importlib.util.module_from_spec(spec)',
      '    spec.loader.exec_module(mod)',
      "    model = mod.load_model(c['folder'])",
      "    xs = [read(a).float() for a in c['xs']]",
      '    x = xs[0] if len(xs) == 1 else xs',
      '    with torch.no_grad():',
      '        y = model(x)',
      '        ys = y if isinstance(y, tuple) else (y,)',
      "        targets = [read(a) for a in c['targets']] if c['targets'] else None",
      '        loss = None if targets is None else float(mod.loss_fn(model(x, logits=True), targets[0] if len(targets) == 1 else targets) + model.penalty())',
      // .numpy() as the conformance matrix reads outputs: it refuses a tensor that still requires grad.
      "    out.append({'outputs': [t.numpy().flatten().tolist() for t in ys], 'loss': loss})",
      'print(json.dumps(out))',
    ]),
  ) as { outputs: number[][]; loss: number | null }[];
}

/**
 * `m` (compiled with Adam at 0.01, epsilonHat false, on the CPU) trains one
 * epoch on x, y; torch takes one step from the export on the first `n`
 * samples, and the file its save_webgrad writes holds what webgrad's own
 * step on them gives; one more webgrad step from it equals a second one of
 * webgrad's (the optimizer's state came back too). Weights matching `noise`
 * have a gradient that is 0 in exact arithmetic (attention's key bias: q·b is
 * the same for every key, and the softmax ignores it), so both frameworks move
 * them by rounding noise through Adam's ε: those are held only to stay within
 * `NOISE` of each other.
 */
export async function torchStepMatches(m: Model, dir: string, x: Data, y: Data, n: number, noise?: RegExp): Promise<void> {
  await m.fit(x, y, { epochs: 1, batchSize: n, shuffle: false, verbose: 0 });
  const folder = mkdtempSync(join(dir, 'step-'));
  await writeExport(folder, await pytorchExport(m));
  const first = (d: Data): Data => ({ data: d.data.slice(0, (d.data.length / d.shape[0]) * n), shape: [n, ...d.shape.slice(1)] });
  const [bx, by] = [first(x), first(y)];
  const [ax, ay] = [...arrays(folder, 'bx', [bx]), ...arrays(folder, 'by', [by])];
  const out = join(folder, 'stepped.safetensors');
  const f = JSON.stringify(folder);
  python([
    'import sys, numpy as np, torch',
    `sys.path.insert(0, ${f})`,
    'from model import load_model, load_optimizer, loss_fn, clip_gradients, save_webgrad, OPTIMIZER_STEP',
    `model = load_model(${f}).train()`,
    `opt = load_optimizer(model, ${f})`,
    `x = torch.from_numpy(np.fromfile(${JSON.stringify(ax.path)}, dtype=${JSON.stringify(ax.dtype)}).reshape(${ax.shape.join(', ')})).float()`,
    `y = torch.from_numpy(np.fromfile(${JSON.stringify(ay.path)}, dtype='<i4').astype('int64').reshape(${ay.shape.join(', ')}))`,
    'opt.zero_grad()',
    '(loss_fn(model(x, logits=True), y, x) + model.penalty()).backward()',
    'clip_gradients(model)',
    'opt.step()',
    `save_webgrad(model.eval(), ${JSON.stringify(out)}, ${f}, optimizer=opt, step=OPTIMIZER_STEP + 1)`,
  ]);
  const before = await m.getWeights();
  await m.fit(bx, by, { epochs: 1, batchSize: n, shuffle: false, verbose: 0 });
  const want = await m.getWeights();
  const stepped = await loadModel(out);
  stepped.compile({ ...stepped.compileOptions!, backend: 'cpu' });
  const got = await stepped.getWeights();
  const names = m.paramSpecs().map((p) => p.name);
  const moved = Math.max(...want.map((w, i) => Math.max(...w.map((v, j) => Math.abs(v - before[i][j])))));
  expect(moved, 'the step moves the weights').toBeGreaterThan(1e-3);
  // Adam's update from the same state (each element moves by about lr = 0.01): gradients that differ by float32
  // rounding (sums in other orders: einsum against webgrad's matmuls) move it by a small fraction of that.
  const stepTol = { atol: 1e-6, rtol: 1e-4, why: "one Adam update from the same state; torch's gradients differ from webgrad's by float32 rounding only" };
  const tol = (i: number, t: typeof stepTol) => (noise?.test(names[i]) ? NOISE : t);
  got.forEach((g, i) => expectClose(g, want[i], tol(i, stepTol), `${names[i]} after torch's step`));
  for (const model of [m, stepped]) await model.fit(bx, by, { epochs: 1, batchSize: n, shuffle: false, verbose: 0 });
  const [again, resumed] = [await m.getWeights(), await stepped.getWeights()];
  resumed.forEach((g, i) => expectClose(g, again[i], tol(i, { ...stepTol, atol: 2e-6, why: 'two updates, each from the same state up to float32 rounding' }), `${names[i]} after one more webgrad step`));
  stepped.dispose();
}
