import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeExport } from '../../src/cli/export.js';
import { Random } from '../../src/core/random.js';
import { onnxExport } from '../../src/interop/export-onnx.js';
import { pytorchExport } from '../../src/interop/export-pytorch.js';
import { importPytorch } from '../../src/interop/import-pytorch.js';
import { encodeSafetensors } from '../../src/interop/safetensors.js';
import { dense, embedding, lstm, positionEmbedding } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import { expectClose } from '../helpers/check.js';
import { loadOnnxruntime } from '../helpers/onnxruntime.js';
import { PYTHON, python, torchStepThenWebgrad } from '../helpers/torch-step.js';
import { runPython } from '../helpers/python.js';

/*
 * positionEmbedding through the exports (#27): torch's nn.Embedding read at
 * arange(steps) and expanded over the batch (nanoGPT's wpe), ONNX's Slice
 * and Expand, the import of a torch module holding such a table, and a mask
 * of padded steps passing through it to a recurrent layer. CI installs
 * python3-torch and onnxruntime-node (.ci/run); elsewhere those cases are
 * skipped, saying why.
 */
const probe = runPython(['-c', 'import torch, numpy']);
const hasTorch = probe.status === 0;
if (!hasTorch && process.env.CI) throw new Error(`CI needs python3-torch for the position embedding export tests (apt-get install python3-torch): ${probe.stderr || probe.error}`);
if (!hasTorch) console.warn(`position-export: torch cases skipped: ${PYTHON} cannot import torch and numpy (apt-get install python3-torch)`);
const { ort, why } = await loadOnnxruntime();
if (!ort) console.warn(`position-export: the ONNX case skipped: ${why}`);

const dir = mkdtempSync(join(tmpdir(), 'webgrad-position-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const [V, T, F, S] = [6, 5, 3, 8];
/** Positions (a table longer than the steps) read by an LSTM: the input gives only its shape. */
const positions = () => sequential([positionEmbedding({ sequenceLength: S, inputShape: [T, F] }), lstm(4), dense(3, { activation: 'softmax' })], { seed: 5 });
/** Token ids with padding (id 0) at the end of every other sample: the mask passes through the positions to the LSTM. */
const masked = () => sequential([embedding(V, F, { maskZero: true, inputShape: [T] }), positionEmbedding({ sequenceLength: T }), lstm(4), dense(3, { activation: 'softmax' })], { seed: 6 });
const ids = (n: number) => ({ data: Float32Array.from({ length: n * T }, (_, i) => (i % 2 === 1 && i % T >= 3 ? 0 : 1 + ((i * 7) % (V - 1)))), shape: [n, T] });
const sequences = (n: number) => ({ data: new Random(n).fill(new Float32Array(n * T * F), -1, 1), shape: [n, T, F] });

/** torch's predictions from an export folder, for x written as float32. */
function torchPredict(folder: string, x: { data: Float32Array; shape: number[] }): number[] {
  writeFileSync(join(folder, 'x.f32'), x.data);
  const f = JSON.stringify(folder);
  return JSON.parse(
    python([
      'import json, sys, numpy as np, torch',
      `sys.path.insert(0, ${f})`,
      'from model import load_model',
      `x = torch.from_numpy(np.fromfile(${JSON.stringify(join(folder, 'x.f32'))}, dtype='<f4').reshape(${x.shape.join(', ')}))`,
      'with torch.no_grad():',
      // .numpy() as the conformance matrix reads outputs: it refuses a tensor that requires grad (a view of a weight does, in torch 1.13, even under no_grad).
      `    print(json.dumps(load_model(${f})(x).numpy().flatten().tolist()))`,
    ]),
  ) as number[];
}

describe('positionEmbedding through the exports', () => {
  it.skipIf(!hasTorch)('torch holds the table as an nn.Embedding read at arange(steps) and expanded: one Adam step there equals one in webgrad, and back', async () => {
    const m = positions();
    m.compile({ optimizer: { type: 'adam', learningRate: 0.01, epsilonHat: false }, loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
    await torchStepThenWebgrad(m, dir, [T, F], [
      `assert isinstance(model.position_embedding_1, torch.nn.Embedding) and tuple(model.position_embedding_1.weight.shape) == (${S}, ${F})`,
    ]);
  }, 120_000);

  it.skipIf(!hasTorch)('with a mask passing through it, torch predicts as webgrad, and the import of the export predicts the same', async () => {
    const m = masked().compile({ loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
    const x = ids(6);
    const want = await m.predict(x);
    const files = await pytorchExport(m);
    expect(files['model.py'] as string).toContain('x = self.position_embedding_1(torch.arange(x.shape[1], device=x.device)).unsqueeze(0).expand(x.shape[0], -1, -1)');
    const folder = mkdtempSync(join(dir, 'masked-'));
    await writeExport(folder, files);
    expectClose(torchPredict(folder, x), want.data, { atol: 1e-6, rtol: 1e-5, why: 'an LSTM over 5 steps in float32, sums in different orders' }, 'torch predictions');
    const back = importPytorch(files['model.safetensors'] as Uint8Array, m.topology()).compile({ loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
    expect(back.layers[1].config).toMatchObject({ type: 'positionEmbedding', sequenceLength: T });
    expect((await back.predict(x)).data).toEqual(want.data);
    m.dispose();
    back.dispose();
  });

  it.skipIf(!hasTorch)("imports a torch module's position table (nanoGPT's wpe: an nn.Embedding read at arange(steps)) into the layer", async () => {
    // torch's state_dict as JSON; written as safetensors here (the Python here has no safetensors package).
    const said = python([
      'import json, torch',
      'from torch import nn',
      'torch.manual_seed(0)',
      'class M(nn.Module):',
      '    def __init__(self):',
      '        super().__init__()',
      `        self.wpe, self.rnn, self.head = nn.Embedding(${S}, ${F}), nn.LSTM(${F}, 4, batch_first=True), nn.Linear(4, 3)`,
      '    def forward(self, x):',
      '        pos = self.wpe(torch.arange(x.shape[1])).unsqueeze(0).expand(x.shape[0], -1, -1)',
      '        return torch.softmax(self.head(self.rnn(pos)[1][0][-1]), dim=-1)',
      'm = M().eval()',
      'with torch.no_grad():',
      `    y = m(torch.zeros(2, ${T}, ${F}))`,
      "print(json.dumps({'state': {k: [list(v.shape), v.flatten().tolist()] for k, v in m.state_dict().items()}, 'y': y.flatten().tolist()}))",
    ]);
    const { state, y } = JSON.parse(said) as { state: Record<string, [number[], number[]]>; y: number[] };
    const bytes = encodeSafetensors(Object.fromEntries(Object.entries(state).map(([k, [shape, data]]) => [k, { dtype: 'F32', shape, data: Float32Array.from(data) }])));
    const layers = [positionEmbedding({ sequenceLength: S }), lstm(4), dense(3, { activation: 'softmax' })];
    const m = importPytorch(bytes, layers, { inputShape: [T, F], modules: ['wpe', 'rnn', 'head'] }).compile({ loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
    expect((await m.getWeights())[0]).toEqual(Float32Array.from(state['wpe.weight'][1]));
    expectClose((await m.predict(sequences(2))).data, y, { atol: 1e-6, rtol: 1e-5, why: 'an LSTM over 5 steps in float32, sums in different orders' }, 'imported predictions');
    expect(() => importPytorch(bytes, [positionEmbedding({ sequenceLength: S + 1 }), lstm(4), dense(3)], { inputShape: [T, F], modules: ['wpe', 'rnn', 'head'] })).toThrow(
      /tensor 'wpe.weight' is \[8, 3\]; layer position_embedding_\d+ \(positionEmbedding, embeddings \[9, 3\]\) expects \[9, 3\] \(torch's Embedding.weight\)/,
    );
    m.dispose();
  });

  it.runIf(ort !== null).each([
    ['positions longer than the steps, then an LSTM', positions, sequences],
    ['a mask passing through them', masked, ids],
  ] as const)('onnxruntime predicts as webgrad: %s (Slice of the table, Expand to the batch)', async (_what, make, data) => {
    const m = make().compile({ loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
    const x = data(7);
    const want = await m.predict(x);
    const session = await ort!.InferenceSession.create(await onnxExport(m));
    const out = await session.run({ x: new ort!.Tensor('float32', x.data, x.shape) });
    await session.release();
    expectClose(out.y.data as Float32Array, want.data, { atol: 1e-6, rtol: 1e-5, why: 'an LSTM over 5 steps in float32, sums in different orders' }, 'onnxruntime predictions');
    m.dispose();
  });
});
