import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeExport } from '../../src/cli/export.js';
import { Random } from '../../src/core/random.js';
import { pytorchExport } from '../../src/interop/export-pytorch.js';
import { importPytorch } from '../../src/interop/import-pytorch.js';
import { conv2d, dense, dropout, flatten, gru, lstm, simpleRNN } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import { expectClose } from '../helpers/check.js';
import { runPython } from '../helpers/python.js';

/*
 * dropout and recurrentDropout through the PyTorch export (#26): in eval()
 * the exported model is plain nn.LSTM / nn.GRU / nn.RNN and predicts as
 * webgrad does; in train() a layer with a rate runs model.py's
 * variational_recurrent, Keras' masks (one per sequence, kept for every step)
 * over the module's own parameters. CI installs python3-torch (.ci/run);
 * elsewhere the torch cases are skipped, saying why.
 */
const PYTHON = '/usr/bin/python3';
const probe = runPython(['-c', 'import torch, numpy']);
const hasTorch = probe.status === 0;
if (!hasTorch && process.env.CI) throw new Error(`CI needs python3-torch for the recurrent dropout export tests (apt-get install python3-torch): ${probe.stderr || probe.error}`);
if (!hasTorch) console.warn(`recurrent-dropout-export: torch cases skipped: ${PYTHON} cannot import torch and numpy (apt-get install python3-torch)`);

const dir = mkdtempSync(join(tmpdir(), 'webgrad-recurrent-dropout-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function python(lines: string[]): string {
  const r = runPython(['-c', lines.join('\n')], { timeout: 120_000 });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

const [T, F] = [5, 3];
const RATES = { lstm_1: [0.2, 0.3], gru_1: [0.25, 0.2], simple_rnn_1: [0, 0.4] } as const;
/** Every cell with its rates (the RNN with recurrentDropout alone), one reading backwards, and one plain GRU. */
const stack = () =>
  sequential(
    [
      lstm(4, { returnSequences: true, goBackwards: true, inputShape: [T, F], dropout: RATES.lstm_1[0], recurrentDropout: RATES.lstm_1[1] }),
      gru(3, { returnSequences: true, dropout: RATES.gru_1[0], recurrentDropout: RATES.gru_1[1] }),
      simpleRNN(5, { returnSequences: true, recurrentDropout: RATES.simple_rnn_1[1] }),
      gru(2),
      dense(3, { activation: 'softmax' }),
    ],
    { seed: 4 },
  );

function data(n: number, seed: number) {
  const r = new Random(seed);
  const x = r.fill(new Float32Array(n * T * F), -1, 1);
  return { x: { data: x, shape: [n, T, F] }, y: { data: Int32Array.from({ length: n }, (_, i) => (x[i * T * F] > 0 ? 1 : 0) + (i % 2)), shape: [n] } };
}

describe('recurrent dropout exported to PyTorch', () => {
  it('a layer with a rate runs variational_recurrent in training and its nn module in eval; one without, its module always', async () => {
    const m = stack();
    m.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
    await m.predict(data(1, 1).x);
    const py = (await pytorchExport(m))['model.py'] as string;
    for (const call of ["(self.lstm_1, 'lstm', x, 0.2, 0.3)", "(self.gru_1, 'gru', x, 0.25, 0.2)", "(self.simple_rnn_1, 'rnn', x, 0, 0.4)"]) expect(py).toContain(`x = variational_recurrent${call}`);
    // Each layer with a rate branches on the mode once (the template's attention module reads self.training too, as an argument).
    expect(py.match(/if self\.training:/g)).toHaveLength(3);
    expect(py).toContain('x, _ = self.gru_2(x)');
    expect(py).not.toContain('variational_recurrent(self.gru_2');
    m.dispose();
  });

  it.skipIf(!hasTorch)("eval() predicts as webgrad; train() runs Keras' masks: the cell loop is the module's with rates 0, the masks drop their rates, a fresh draw per call", async () => {
    const m = stack();
    m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
    const { x, y } = data(64, 6);
    await m.fit(x, y, { epochs: 1, batchSize: 16, verbose: 0 });
    const folder = mkdtempSync(join(dir, 'export-'));
    await writeExport(folder, await pytorchExport(m));
    writeFileSync(join(folder, 'x.f32'), x.data);
    const f = JSON.stringify(folder);
    const out = python([
      'import json, sys, numpy as np, torch',
      `sys.path.insert(0, ${f})`,
      'import model as exported',
      'torch.manual_seed(0)',
      `net = exported.load_model(${f})`,
      `x = torch.from_numpy(np.fromfile(${JSON.stringify(join(folder, 'x.f32'))}, dtype='<f4').reshape(64, ${T}, ${F}))`,
      'with torch.no_grad():',
      '    pred = net(x).flatten().tolist()',
      // The cell loop, masks off, against torch's own module on the features each layer reads.
      '    loop = {}',
      "    for name, cell, features in [('lstm_1', 'lstm', 3), ('gru_1', 'gru', 4), ('simple_rnn_1', 'rnn', 3), ('gru_2', 'gru', 5)]:",
      '        module = getattr(net, name)',
      '        xin = torch.randn(7, 6, features)',
      '        loop[name] = (exported.variational_recurrent(module, cell, xin, 0, 0) - module(xin)[0]).abs().max().item()',
      // Train mode: record every mask drawn.
      'masks = []',
      'draw = exported.dropout_mask',
      'def record(ones, rate):',
      '    mk = draw(ones, rate)',
      '    masks.append({"shape": list(mk.shape), "rate": rate, "dropped": (mk == 0).float().mean().item(), "values": sorted(set(round(v, 5) for v in mk.flatten().tolist()))})',
      '    return mk',
      'exported.dropout_mask = record',
      'net.train()',
      'big = torch.rand(4000, 5, 3) * 2 - 1',
      'with torch.no_grad():',
      '    a, b = net(big[:64]), net(big[:64])',
      '    net(big)',
      '    differs = (a - b).abs().max().item()',
      'net.zero_grad()',
      'loss = exported.loss_fn(net(x, logits=True), torch.from_numpy(np.array(' + JSON.stringify(Array.from(y.data)) + ')).long())',
      'loss.backward()',
      'grads = all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters() if p.requires_grad)',
      'print(json.dumps({"pred": pred, "loop": loop, "masks": masks[10:15], "calls": len(masks), "differs": differs, "grads": grads}))',
    ]);
    const r = JSON.parse(out) as { pred: number[]; loop: Record<string, number>; masks: { shape: number[]; rate: number; dropped: number; values: number[] }[]; calls: number; differs: number; grads: boolean };
    const want = await m.predict(x);
    expectClose(r.pred, want.data, { atol: 1e-6, rtol: 1e-5, why: 'four recurrent layers in float32, sums in different orders' }, 'eval() predictions');
    for (const [name, d] of Object.entries(r.loop)) expect(d, `${name}: variational_recurrent with rates 0 against the module`).toBeLessThan(1e-6);
    // Four forward passes in train mode (two on 64, one on 4000, the loss's), five masks each (the RNN has no input rate; the last GRU none).
    expect(r.calls).toBe(20);
    expect(r.masks.map((k) => [k.shape, k.rate])).toEqual([[[4000, 1, 3], 0.2], [[4000, 4], 0.3], [[4000, 1, 4], 0.25], [[4000, 3], 0.2], [[4000, 5], 0.4]]);
    for (const k of r.masks) {
      const n = k.shape.reduce((p, d) => p * d, 1);
      // Binomial over n bits: within 5σ of the rate; the kept ones scaled by 1/(1 − rate).
      expect(Math.abs(k.dropped - k.rate), JSON.stringify(k.shape)).toBeLessThan(5 * Math.sqrt((k.rate * (1 - k.rate)) / n));
      expect(k.values).toEqual([0, Number((1 / (1 - k.rate)).toFixed(5))]);
    }
    expect(r.differs, 'two calls in train() draw different masks').toBeGreaterThan(1e-3);
    expect(r.grads).toBe(true);
    m.dispose();
  }, 120_000);
});

describe("Dropout's noiseShape exported to PyTorch", () => {
  it.skipIf(!hasTorch)('eval() passes through as webgrad; train() draws a mask of the noise shape in webgrad\'s axes (sequences, and images NHWC after a conv)', async () => {
    const r = new Random(8);
    const cases = [
      { model: sequential([dense(6, { inputShape: [T, F] }), dropout(0.3, { noiseShape: [null, 1, 6] }), lstm(4), dense(2, { activation: 'softmax' })], { seed: 2 }), shape: [16, T, F], mask: [16, 1, 6] },
      { model: sequential([conv2d(3, 2, { inputShape: [5, 4, 2] }), dropout(0.5, { noiseShape: [null, 1, 1, null] }), flatten(), dense(2)], { seed: 2 }), shape: [16, 5, 4, 2], mask: [16, 1, 1, 3] },
    ];
    for (const [k, { model: m, shape, mask }] of cases.entries()) {
      m.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
      const x = { data: r.fill(new Float32Array(shape.reduce((a, b) => a * b, 1)), -1, 1), shape };
      const want = await m.predict(x);
      const folder = mkdtempSync(join(dir, `noise-${k}-`));
      await writeExport(folder, await pytorchExport(m));
      // A mask that drops feature (channel) 0 only is the first layer with that output's kernel column and bias zeroed.
      const [kernel, bias, ...rest] = await m.getWeights();
      const units = bias.length;
      await m.setWeights([kernel.map((v, i) => (i % units === 0 ? 0 : v)), bias.map((v, i) => (i === 0 ? 0 : v)), ...rest]);
      const wantDropped = await m.predict(x);
      writeFileSync(join(folder, 'x.f32'), x.data);
      const f = JSON.stringify(folder);
      const got = JSON.parse(
        python([
          'import json, sys, numpy as np, torch',
          `sys.path.insert(0, ${f})`,
          'import model as exported',
          `net = exported.load_model(${f})`,
          `x = torch.from_numpy(np.fromfile(${JSON.stringify(join(folder, 'x.f32'))}, dtype='<f4').reshape(${shape.join(', ')}))`,
          'shapes = []',
          'draw = exported.dropout_mask',
          'exported.dropout_mask = lambda ones, rate: shapes.append(list(ones.shape)) or draw(ones, rate)',
          'with torch.no_grad():',
          '    pred = net(x).flatten().tolist()',
          '    eval_shapes = list(shapes)',
          '    a, b = net.train()(x), net(x)',
          '    def first_dropped(ones, rate):',
          '        m = ones.clone()',
          '        m[..., 0] = 0',
          '        return m',
          '    exported.dropout_mask = first_dropped',
          '    dropped = net(x).flatten().tolist()',
          'print(json.dumps({"pred": pred, "eval": eval_shapes, "train": shapes, "differs": (a - b).abs().max().item(), "dropped": dropped}))',
        ]),
      ) as { pred: number[]; eval: number[][]; train: number[][]; differs: number; dropped: number[] };
      expectClose(got.pred, want.data, { atol: 1e-6, rtol: 1e-5, why: 'float32, sums in different orders' }, `case ${k}: eval() predictions`);
      expectClose(got.dropped, wantDropped.data, { atol: 1e-6, rtol: 1e-5, why: 'float32, sums in different orders' }, `case ${k}: train() with feature 0 dropped`);
      expect(got.eval).toEqual([]);
      expect(got.train).toEqual([mask, mask]);
      expect(got.differs, 'two calls in train() draw different masks').toBeGreaterThan(1e-4);
      m.dispose();
    }
  }, 120_000);
});

describe('recurrent dropout imported from PyTorch', () => {
  it("a topology carries the rates and the seed back (a torch state_dict holds none)", async () => {
    const m = sequential([lstm(4, { inputShape: [T, F], dropout: 0.2, recurrentDropout: 0.3, seed: 5 }), dense(2)], { seed: 1 });
    m.compile({ optimizer: 'sgd', loss: 'meanSquaredError', backend: 'cpu' });
    await m.predict(data(1, 1).x);
    const files = await pytorchExport(m);
    const back = importPytorch(files['model.safetensors'] as Uint8Array, m.topology());
    expect(back.layers[0].config).toMatchObject({ type: 'lstm', dropout: 0.2, recurrentDropout: 0.3, seed: 5 });
    const want = await m.getWeights();
    (await back.getWeights()).forEach((w, i) => expect(Array.from(w)).toEqual(Array.from(want[i])));
    m.dispose();
  });
});
