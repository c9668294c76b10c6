import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeExport } from '../../src/cli/export.js';
import { pytorchExport } from '../../src/interop/export-pytorch.js';
import { importPytorch } from '../../src/interop/import-pytorch.js';
import type { SafetensorsTensor } from '../../src/interop/safetensors.js';
import { encodeSafetensors } from '../../src/interop/safetensors.js';
import { dense, gru, lstm, simpleRNN } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import { l1, l2 } from '../../src/nn/regularizers.js';
import { PYTHON, python, sequenceData, torchStepThenWebgrad } from '../helpers/torch-step.js';
import { runPython } from '../helpers/python.js';

/*
 * The recurrent layers through the PyTorch export and back (#26): torch
 * continues training from webgrad's weights and optimizer state, and
 * save_webgrad writes a file webgrad loads and goes on from (the GRU's gate
 * reorder both ways, the frozen bias_hh, the regularizers); the import's
 * refusals by name. CI installs python3-torch (.ci/run); elsewhere the torch
 * cases are skipped, saying why.
 */
const probe = runPython(['-c', 'import torch, numpy']);
const hasTorch = probe.status === 0;
if (!hasTorch && process.env.CI) throw new Error(`CI needs python3-torch for the recurrent export tests (apt-get install python3-torch): ${probe.stderr || probe.error}`);
if (!hasTorch) console.warn(`recurrent-export: torch cases skipped: ${PYTHON} cannot import torch and numpy (apt-get install python3-torch)`);

const dir = mkdtempSync(join(tmpdir(), 'webgrad-recurrent-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const [T, F] = [5, 3];
/** Every kind stacked, each with a regularizer torch must apply to the right tensor, one reading backwards. */
const stack = () =>
  sequential(
    [
      lstm(4, { returnSequences: true, inputShape: [T, F], kernelRegularizer: l2(1e-2), biasRegularizer: l1(1e-2) }),
      gru(3, { returnSequences: true, goBackwards: true, recurrentRegularizer: l2(1e-2), biasRegularizer: l2(1e-2) }),
      simpleRNN(5, { biasRegularizer: l2(1e-2) }),
      dense(3, { activation: 'softmax' }),
    ],
    { seed: 4 },
  );

const data = (n: number, seed: number) => sequenceData(n, seed, T, F);

describe('recurrent layers exported to PyTorch', () => {
  it.skipIf(!hasTorch)("one Adam step in torch equals one more in webgrad, and webgrad goes on from torch's state", async () => {
    const m = stack();
    m.compile({ optimizer: { type: 'adam', learningRate: 0.01, epsilonHat: false }, loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
    await torchStepThenWebgrad(m, dir, [T, F], [
      "assert sorted(FROZEN_ZERO) == ['lstm_1.bias_hh_l0', 'simple_rnn_1.bias_hh_l0'], FROZEN_ZERO",
    ]);
  }, 120_000);

  it.skipIf(!hasTorch)('save_webgrad refuses a bias_hh that moved (webgrad has one bias), naming it, and writes nothing', async () => {
    const m = sequential([lstm(2, { inputShape: [T, F] }), dense(2)], { seed: 1 });
    m.compile({ optimizer: 'sgd', loss: 'meanSquaredError', backend: 'cpu' });
    await m.predict(data(1, 1).x);
    const folder = mkdtempSync(join(dir, 'frozen-'));
    await writeExport(folder, await pytorchExport(m));
    const out = join(folder, 'never.safetensors');
    const f = JSON.stringify(folder);
    const said = python([
      'import sys, torch',
      `sys.path.insert(0, ${f})`,
      'from model import load_model, make_optimizer, save_webgrad',
      `model = load_model(${f})`,
      "assert not model.lstm_1.bias_hh_l0.requires_grad and all(p is not model.lstm_1.bias_hh_l0 for g in make_optimizer(model).param_groups for p in g['params'])",
      'with torch.no_grad():',
      '    model.lstm_1.bias_hh_l0[1] = 0.5',
      'try:',
      `    save_webgrad(model, ${JSON.stringify(out)}, ${f})`,
      "    print('written')",
      'except ValueError as e:',
      '    print(e)',
    ]);
    expect(said).toMatch(/lstm_1\.bias_hh_l0: nonzero, but webgrad's layer has one bias \(torch's bias_ih\): keep lstm_1\.bias_hh_l0 frozen at zero/);
    expect(existsSync(out)).toBe(false);
    m.dispose();
  }, 60_000);

  it('a GRU with resetAfter false is refused by name', async () => {
    const m = sequential([gru(2, { resetAfter: false, inputShape: [T, F] })], { seed: 1 });
    m.compile({ optimizer: 'sgd', loss: 'meanSquaredError', backend: 'cpu' });
    await m.predict(data(1, 1).x);
    await expect(pytorchExport(m)).rejects.toThrow(/export to PyTorch: gru_\d+ is a GRU with resetAfter false, which torch's nn\.GRU has no counterpart for .* build it with resetAfter: true/);
    m.dispose();
  });
});

describe('recurrent layers imported from PyTorch', () => {
  it("webgrad's own export imports back by name, weights as they were", async () => {
    const m = stack();
    m.compile({ optimizer: 'sgd', loss: 'meanSquaredError', backend: 'cpu' });
    await m.predict(data(1, 1).x);
    const files = await pytorchExport(m);
    const back = importPytorch(files['model.safetensors'] as Uint8Array, m.topology());
    const want = await m.getWeights();
    (await back.getWeights()).forEach((w, i) => expect(Array.from(w), m.paramSpecs()[i].name).toEqual(Array.from(want[i])));
    m.dispose();
  });

  /** A torch-like state_dict of nn.LSTM(3, 2) named 'rnn' and nn.Linear(2, 2) named 'top', with some tensors changed. */
  const f32 = (shape: number[]) => ({ dtype: 'F32', shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i / 10) }) as SafetensorsTensor;
  const state = (change: Record<string, SafetensorsTensor | null> = {}) => {
    const t: Record<string, SafetensorsTensor> = { 'rnn.weight_ih_l0': f32([8, 3]), 'rnn.weight_hh_l0': f32([8, 2]), 'rnn.bias_ih_l0': f32([8]), 'rnn.bias_hh_l0': f32([8]), 'top.weight': f32([2, 2]), 'top.bias': f32([2]) };
    for (const [k, v] of Object.entries(change)) if (v) t[k] = v; else delete t[k];
    return encodeSafetensors(t);
  };
  const arch = () => [lstm(2, { inputShape: [T, F] }), dense(2)];

  it("an LSTM's one bias is torch's bias_ih + bias_hh", async () => {
    const [, , bias] = await importPytorch(state(), arch()).getWeights();
    expect(Array.from(bias)).toEqual(Array.from({ length: 8 }, (_, i) => Math.fround(i / 10) + Math.fround(i / 10)));
  });

  it('refuses, by name, a second layer, a reverse direction, a GRU without resetAfter, a missing bias_hh', () => {
    expect(() => importPytorch(state({ 'rnn.weight_ih_l1': f32([8, 2]) }), arch())).toThrow(
      "torch file: tensor 'rnn.weight_ih_l1' is layer 1 of a module with num_layers > 1; layer lstm_",
    );
    expect(() => importPytorch(state({ 'rnn.weight_hh_l0_reverse': f32([8, 2]) }), arch())).toThrow(/tensor 'rnn.weight_hh_l0_reverse' is the reverse direction of a bidirectional module; .* save torch's module with num_layers=1 and bidirectional=False/);
    expect(() => importPytorch(state(), [gru(2, { resetAfter: false, inputShape: [T, F] }), dense(2)])).toThrow(/importPytorch: layer gru_\d+ is a GRU with resetAfter false; .* build the layer with resetAfter: true/);
    expect(() => importPytorch(state({ 'rnn.bias_hh_l0': null }), arch())).toThrow(/torch file: tensor 'rnn.bias_hh_l0' is missing; layer lstm_\d+ \(lstm, bias \[8\]\) expects torch's LSTM.bias_hh_l0 \[8\]/);
    expect(() => importPytorch(state({ 'rnn.weight_hh_l0': f32([8, 3]) }), arch())).toThrow(/tensor 'rnn.weight_hh_l0' is \[8, 3\]; layer lstm_\d+ \(lstm, recurrent_kernel \[2, 8\]\) expects \[8, 2\] \(torch's LSTM.weight_hh_l0\)/);
  });
});
