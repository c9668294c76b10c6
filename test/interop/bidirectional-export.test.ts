import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeExport } from '../../src/cli/export.js';
import { Random } from '../../src/core/random.js';
import { onnxExport } from '../../src/interop/export-onnx.js';
import { pytorchExport } from '../../src/interop/export-pytorch.js';
import { importPytorch } from '../../src/interop/import-pytorch.js';
import type { SafetensorsTensor } from '../../src/interop/safetensors.js';
import { encodeSafetensors } from '../../src/interop/safetensors.js';
import { bidirectional, dense, embedding, gru, lstm, simpleRNN } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import { l1, l2 } from '../../src/nn/regularizers.js';
import { expectClose } from '../helpers/check.js';
import { PYTHON, python, sequenceData, torchStepThenWebgrad } from '../helpers/torch-step.js';
import { runPython } from '../helpers/python.js';

/*
 * Bidirectional layers through the PyTorch export and back (#26): one torch
 * module with bidirectional=True per layer; torch continues training from
 * webgrad's weights and optimizer state, and save_webgrad writes a file
 * webgrad loads (both directions' tensors mapped back, the frozen bias_hh of
 * each, the regularizers on each); with a mask of padded steps or dropout,
 * model.py's loop runs each direction. Predictions in torch and onnxruntime
 * are otherwise the conformance matrix's (its bidirectional examples).
 * CI installs python3-torch (.ci/run); elsewhere the torch cases are skipped.
 */
const probe = runPython(['-c', 'import torch, numpy']);
const hasTorch = probe.status === 0;
if (!hasTorch && process.env.CI) throw new Error(`CI needs python3-torch for the bidirectional export tests (apt-get install python3-torch): ${probe.stderr || probe.error}`);
if (!hasTorch) console.warn(`bidirectional-export: torch cases skipped: ${PYTHON} cannot import torch and numpy (apt-get install python3-torch)`);

const dir = mkdtempSync(join(tmpdir(), 'webgrad-bidirectional-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const [T, F] = [5, 3];
/** Every cell and every merge but concat-of-every-step (the matrix has it), a forward half reading backwards, regularizers on both halves. */
const stack = () =>
  sequential(
    [
      bidirectional(lstm(4, { returnSequences: true, kernelRegularizer: l2(1e-2), biasRegularizer: l1(1e-2) }), { mergeMode: 'ave', inputShape: [T, F] }),
      bidirectional(gru(3, { returnSequences: true, goBackwards: true, recurrentRegularizer: l2(1e-2) }), { mergeMode: 'mul' }),
      bidirectional(simpleRNN(3, { biasRegularizer: l2(1e-2) })),
      dense(3, { activation: 'softmax' }),
    ],
    { seed: 4 },
  );

const data = (n: number, seed: number) => sequenceData(n, seed, T, F);

describe('bidirectional layers exported to PyTorch', () => {
  it.skipIf(!hasTorch)("one Adam step in torch equals one more in webgrad, and webgrad goes on from torch's state", async () => {
    const m = stack();
    m.compile({ optimizer: { type: 'adam', learningRate: 0.01, epsilonHat: false }, loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
    await torchStepThenWebgrad(m, dir, [T, F], [
      "assert sorted(FROZEN_ZERO) == ['bidirectional_1.bias_hh_l0', 'bidirectional_1.bias_hh_l0_reverse', 'bidirectional_3.bias_hh_l0', 'bidirectional_3.bias_hh_l0_reverse'], FROZEN_ZERO",
      "assert model.bidirectional_2.bidirectional and model.bidirectional_2.hidden_size == 3, model.bidirectional_2",
    ]);
  }, 120_000);

  it('refuses by name what one torch or ONNX module cannot hold', async () => {
    const built = async (layers: ReturnType<typeof bidirectional>[]) => {
      const m = sequential(layers, { seed: 1 }).compile({ loss: 'meanSquaredError', backend: 'cpu' });
      await m.predict(data(1, 1).x);
      return m;
    };
    const biases = await built([bidirectional(lstm(2), { backwardLayer: lstm(2, { goBackwards: true, useBias: false }), inputShape: [T, F], name: 'bi' })]);
    await expect(pytorchExport(biases)).rejects.toThrow(/export to PyTorch: bi's halves differ in useBias \(true, false\); torch's bidirectional module has one bias flag/);
    // ONNX's B holds zeros for the half without biases: the same model exports there.
    await expect(onnxExport(biases)).resolves.toBeInstanceOf(Uint8Array);
    const gruBefore = await built([bidirectional(gru(2, { resetAfter: false }), { inputShape: [T, F], name: 'bi' })]);
    await expect(pytorchExport(gruBefore)).rejects.toThrow(/export to PyTorch: bi\/forward_gru is a GRU with resetAfter false, which torch's nn\.GRU has no counterpart for/);
    const mixed = await built([bidirectional(gru(2), { backwardLayer: gru(2, { goBackwards: true, resetAfter: false }), inputShape: [T, F], name: 'bi' })]);
    await expect(onnxExport(mixed)).rejects.toThrow(/export to ONNX: bi's halves differ in resetAfter \(true, false\); ONNX's GRU takes one linear_before_reset/);
    for (const m of [biases, gruBefore, mixed]) m.dispose();
  });

  /** Runs the exported model in torch on x [n, ...shape] (ids or sequences), in eval mode; returns its output, flat. */
  async function torchPredicts(files: Awaited<ReturnType<typeof pytorchExport>>, x: { data: Float32Array; shape: number[] }, extra: string[] = []): Promise<number[]> {
    const folder = mkdtempSync(join(dir, 'predict-'));
    await writeExport(folder, files);
    writeFileSync(join(folder, 'x.f32'), x.data);
    const f = JSON.stringify(folder);
    const out = python([
      'import json, sys, numpy as np, torch',
      `sys.path.insert(0, ${f})`,
      'from model import load_model, variational_recurrent',
      `x = torch.from_numpy(np.fromfile(${JSON.stringify(join(folder, 'x.f32'))}, dtype='<f4').reshape(${x.shape.join(', ')}))`,
      `model = load_model(${f})`,
      ...extra,
      'with torch.no_grad():',
      '    print(json.dumps(model(x).flatten().tolist()))',
    ]);
    return JSON.parse(out.trim().split('\n').at(-1)!) as number[];
  }

  it.skipIf(!hasTorch)("with an embedding's mask, torch runs both directions in model.py's loop and predicts as webgrad, zeros at padded steps included", async () => {
    const [V, S] = [9, 7];
    const r = new Random(3);
    // Padding before (even samples) or after (odd) 1 to 7 real steps, and a sample of padding only.
    const x = new Float32Array(12 * S);
    for (let i = 0; i < 11; i++) {
      const L = 1 + r.int(S);
      for (let t = 0; t < L; t++) x[i * S + (i % 2 === 0 ? S - L + t : t)] = 1 + r.int(V - 1);
    }
    const ids = { data: x, shape: [12, S] };
    const models = [
      // Stacked: every step (the forward half reading backwards, its output's steps and zeros reversed), then the last states.
      sequential([embedding(V, 4, { maskZero: true, inputShape: [S] }), bidirectional(lstm(4, { returnSequences: true, goBackwards: true }), { mergeMode: 'sum' }), bidirectional(gru(3)), dense(3, { activation: 'softmax' })], { seed: 7 }),
      // Every step as the output: the zeros at padded steps are what the model gives.
      sequential([embedding(V, 3, { maskZero: true, inputShape: [S] }), bidirectional(simpleRNN(2, { returnSequences: true, goBackwards: true }))], { seed: 8 }),
      sequential([embedding(V, 3, { maskZero: true, inputShape: [S] }), bidirectional(lstm(2, { returnSequences: true }), { mergeMode: 'ave' })], { seed: 9 }),
    ];
    for (const [i, m] of models.entries()) {
      m.compile({ optimizer: 'sgd', loss: 'meanSquaredError', backend: 'cpu' });
      const want = await m.predict(ids);
      const files = await pytorchExport(m);
      expect(files['model.py'] as string).toContain("direction='_reverse'");
      // As masking-export.test.ts: recurrent layers in float32 in both, sums in different orders.
      expectClose(await torchPredicts(files, ids), want.data, { atol: 1e-6, rtol: 1e-5, why: 'recurrent layers in float32, sums in different orders' }, `model ${i}: torch predictions`);
      m.dispose();
    }
  }, 120_000);

  it.skipIf(!hasTorch)("with dropout: eval() is the module, train() runs each direction in model.py's loop, which with rates 0 is the module's own direction", async () => {
    const m = sequential([bidirectional(gru(3, { returnSequences: true, dropout: 0.3, recurrentDropout: 0.2 }), { mergeMode: 'concat', inputShape: [T, F] }), bidirectional(lstm(2, { recurrentDropout: 0.4 }), { mergeMode: 'mul' }), dense(2)], { seed: 5 });
    m.compile({ optimizer: 'sgd', loss: 'meanSquaredError', backend: 'cpu' });
    const { x } = data(6, 2);
    await m.fit(x, { data: new Float32Array(12), shape: [6, 2] }, { epochs: 1, batchSize: 6, verbose: 0 });
    const files = await pytorchExport(m);
    expect(files['model.py'] as string).toContain('if self.training:');
    const want = await m.predict(x);
    const tol = { atol: 1e-6, rtol: 1e-5, why: 'recurrent layers in float32, sums in different orders' };
    expectClose(await torchPredicts(files, x), want.data, tol, 'torch eval() predictions');
    // The loop over the reverse direction (the steps flipped in, its states flipped out) is the module's reverse half; and train() draws masks.
    const check = [
      'with torch.no_grad():',
      '    out, _ = model.bidirectional_1(x)',
      "    ahead = variational_recurrent(model.bidirectional_1, 'gru', x, 0.0, 0.0)",
      "    behind = torch.flip(variational_recurrent(model.bidirectional_1, 'gru', torch.flip(x, dims=[1]), 0.0, 0.0, direction='_reverse'), dims=[1])",
      '    assert torch.allclose(ahead, out[..., :3], atol=1e-6) and torch.allclose(behind, out[..., 3:], atol=1e-6), (ahead, behind, out)',
      '    model.train()',
      '    a, b = model(x), model(x)',
      '    assert not torch.equal(a, b), "train() draws new masks per call"',
      '    model.eval()',
    ];
    expectClose(await torchPredicts(files, x, check), want.data, tol, 'torch eval() predictions after train()');
    m.dispose();
  }, 120_000);
});

describe('bidirectional layers imported from PyTorch', () => {
  it("webgrad's own export imports back by name, both directions as they were", async () => {
    const m = stack();
    m.compile({ optimizer: 'sgd', loss: 'meanSquaredError', backend: 'cpu' });
    await m.predict(data(1, 1).x);
    const back = importPytorch((await pytorchExport(m))['model.safetensors'] as Uint8Array, m.topology());
    const want = await m.getWeights();
    (await back.getWeights()).forEach((w, i) => expect(Array.from(w), m.paramSpecs()[i].name).toEqual(Array.from(want[i])));
    m.dispose();
  });

  /** A torch-like state_dict of nn.GRU(3, 2, bidirectional=True) named 'rnn' and nn.Linear(4, 2) named 'top'. */
  const f32 = (shape: number[]) => ({ dtype: 'F32', shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i / 10) }) as SafetensorsTensor;
  const state = (change: Record<string, SafetensorsTensor | null> = {}) => {
    const t: Record<string, SafetensorsTensor> = { 'top.weight': f32([2, 4]), 'top.bias': f32([2]) };
    for (const s of ['', '_reverse']) Object.assign(t, { [`rnn.weight_ih_l0${s}`]: f32([6, 3]), [`rnn.weight_hh_l0${s}`]: f32([6, 2]), [`rnn.bias_ih_l0${s}`]: f32([6]), [`rnn.bias_hh_l0${s}`]: f32([6]) });
    for (const [k, v] of Object.entries(change)) if (v) t[k] = v; else delete t[k];
    return encodeSafetensors(t);
  };
  const arch = () => [bidirectional(gru(2), { inputShape: [T, F], name: 'bi' }), dense(2)];

  it('the reverse direction goes to the half that reads backwards; refused by name: a missing direction, a second layer', async () => {
    const [k, , , , kRev] = await importPytorch(state({ 'rnn.weight_ih_l0_reverse': { ...f32([6, 3]), data: new Float32Array(18).fill(7) } }), arch(), { modules: ['rnn', 'top'] }).getWeights();
    expect(k.every((v) => v !== 7)).toBe(true);
    expect(kRev.every((v) => v === 7)).toBe(true);
    expect(() => importPytorch(state({ 'rnn.weight_hh_l0_reverse': null }), arch(), { modules: ['rnn', 'top'] })).toThrow(/torch file: tensor 'rnn.weight_hh_l0_reverse' is missing; layer bi \(bidirectional, backward_gru\/recurrent_kernel \[2, 6\]\) expects torch's GRU\(bidirectional=True\).weight_hh_l0_reverse \[6, 2\]/);
    expect(() => importPytorch(state({ 'rnn.weight_ih_l1': f32([6, 4]) }), arch(), { modules: ['rnn', 'top'] })).toThrow(/tensor 'rnn.weight_ih_l1' is layer 1 of a module with num_layers > 1; layer bi \(bidirectional\) takes one layer in both directions/);
  });
});
