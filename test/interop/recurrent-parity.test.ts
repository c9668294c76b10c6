import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { importPytorch } from '../../src/interop/import-pytorch.js';
import type { Layer } from '../../src/nn/layers.js';
import { bidirectional, dense, flatten, gru, lstm, simpleRNN } from '../../src/nn/layers.js';
import { backends } from '../helpers/backends.js';
import { expectClose } from '../helpers/check.js';
import { runPython } from '../helpers/python.js';

/*
 * Training parity with PyTorch (#26): an LSTM, a GRU and a SimpleRNN with a
 * Dense head, and each as a bidirectional layer (torch's bidirectional=True), built in Debian's python3-torch with its own initial weights,
 * saved as safetensors, imported into webgrad, then trained 3 SGD steps on
 * the same 3 batches in both: the same loss at every step and the same
 * weights after, on every backend. CI installs python3-torch (.ci/run) and
 * there this file fails without it; elsewhere it is skipped, saying why.
 */
const PYTHON = '/usr/bin/python3';
const probe = runPython(['-c', 'import torch, numpy']);
const hasTorch = probe.status === 0;
if (!hasTorch && process.env.CI) throw new Error(`CI needs python3-torch for the recurrent parity tests (apt-get install python3-torch): ${probe.stderr || probe.error}`);
if (!hasTorch) console.warn(`recurrent-parity: skipped: ${PYTHON} cannot import torch and numpy (apt-get install python3-torch)`);

const [B, T, F, U, C, LR, STEPS] = [8, 5, 3, 6, 4, 0.5, 3];

const TORCH = String.raw`
import json, struct, sys, numpy as np, torch
from torch import nn
out = sys.argv[1]
torch.set_num_threads(1)
B, T, F, U, C, LR, STEPS = ${[B, T, F, U, C, LR, STEPS].join(', ')}

def save(path, state):
    header, raw, off = {}, [], 0
    for k, t in sorted(state.items()):
        b = t.detach().numpy().astype('<f4').tobytes()
        header[k] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [off, off + len(b)]}
        raw.append(b)
        off += len(b)
    text = json.dumps(header).encode()
    text += b' ' * (-len(text) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(raw))

class Net(nn.Module):
    def __init__(self, cls, merge=None, **kw):
        super().__init__()
        self.rnn = cls(F, U, batch_first=True, **kw)
        self.merge = merge
        width = {None: U, 'last': 2 * U, 'concat': 2 * T * U, 'ave': T * U}[merge]
        self.head = nn.Linear(width, C)
    def forward(self, x):
        y, _ = self.rnn(x)
        if self.merge is None:
            return self.head(y[:, -1])
        if self.merge == 'last':
            # Keras' forward half's last state and its backward half's (the reverse direction's, after step 0).
            return self.head(torch.cat([y[:, -1, :U], y[:, 0, U:]], dim=-1))
        if self.merge == 'ave':
            y = (y[..., :U] + y[..., U:]) / 2
        return self.head(y.reshape(y.shape[0], -1))

g = torch.Generator().manual_seed(7)
xs = torch.randn(STEPS, B, T, F, generator=g)
ys = torch.randint(0, C, (STEPS, B), generator=g)
xs.numpy().astype('<f4').tofile(f'{out}/x.f32')
ys.numpy().astype('<i4').tofile(f'{out}/y.i32')
bi = {'bidirectional': True}
for kind, cls, kw in [('lstm', nn.LSTM, {}), ('gru', nn.GRU, {}), ('rnn', nn.RNN, {'nonlinearity': 'tanh'}),
                      ('bilstm', nn.LSTM, {'merge': 'last', **bi}), ('bigru', nn.GRU, {'merge': 'ave', **bi}),
                      ('birnn', nn.RNN, {'merge': 'concat', 'nonlinearity': 'tanh', **bi})]:
    torch.manual_seed(1)
    net = Net(cls, **kw)  # torch's own initialization: every weight and both biases drawn from U(-1/sqrt(U), 1/sqrt(U))
    if not kind.endswith('gru'):
        # webgrad's (Keras') RNN and LSTM have one bias, bias_ih + bias_hh on import; torch trains both, which
        # moves their sum at twice the rate. bias_hh frozen (not zero): torch trains the sum as webgrad does.
        for name, p in net.rnn.named_parameters():
            if name.startswith('bias_hh'):
                p.requires_grad_(False)
    save(f'{out}/{kind}_0.safetensors', net.state_dict())
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=LR)
    losses = []
    for s in range(STEPS):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(xs[s]), ys[s].long())
        loss.backward()
        opt.step()
        losses.append(loss.item())
    np.array(losses, dtype='<f8').tofile(f'{out}/{kind}_losses.f64')
    save(f'{out}/{kind}_3.safetensors', net.state_dict())
`;

/** webgrad's words for the torch models above; torch's modules 'rnn' and 'head' sort the other way, so the import is given their order. */
const ARCHITECTURES: [string, () => Layer[]][] = [
  ['lstm', () => [lstm(U, { inputShape: [T, F] }), dense(C, { activation: 'softmax' })]],
  ['gru', () => [gru(U, { inputShape: [T, F] }), dense(C, { activation: 'softmax' })]],
  ['rnn', () => [simpleRNN(U, { inputShape: [T, F] }), dense(C, { activation: 'softmax' })]],
  // torch's bidirectional=True modules: the last states concatenated, every step averaged and concatenated (the backward half's states flipped back), flattened into the head.
  ['bilstm', () => [bidirectional(lstm(U), { inputShape: [T, F] }), dense(C, { activation: 'softmax' })]],
  ['bigru', () => [bidirectional(gru(U, { returnSequences: true }), { mergeMode: 'ave', inputShape: [T, F] }), flatten(), dense(C, { activation: 'softmax' })]],
  ['birnn', () => [bidirectional(simpleRNN(U, { returnSequences: true }), { inputShape: [T, F] }), flatten(), dense(C, { activation: 'softmax' })]],
];
const MODULES = { modules: ['rnn', 'head'] };

const dir = mkdtempSync(join(tmpdir(), 'webgrad-recurrent-parity-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string) => readFileSync(join(dir, name));
const f32 = (name: string) => new Float32Array(new Uint8Array(file(name)).buffer);

beforeAll(() => {
  if (!hasTorch) return;
  writeFileSync(join(dir, 'parity.py'), TORCH);
  const r = runPython([join(dir, 'parity.py'), dir], { timeout: 120_000 });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
}, 120_000);

/*
 * float32 in both engines with sums in other orders, through 5 recurrent
 * steps and 3 updates at a large rate (0.5). Seen on CPU and WebGPU
 * (llvmpipe): losses within 1 ulp (9e-8 relative), weights within 3e-8. The
 * issue asks for 1e-4 relative; atol for weights that pass near zero. A gate
 * block out of place or a bias left out misses by far more (the first loss
 * differs in its second digit).
 */
const LOSS = { atol: 0, rtol: 1e-4, why: "the issue's bound: float32 forward passes in other orders" };
const WEIGHTS = { atol: 1e-6, rtol: 1e-4, why: "the issue's bound; atol for weights near zero after 3 float32 updates" };

describe.each(backends)('training parity with PyTorch on %s', (_name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  it.skipIf(!hasTorch).each(ARCHITECTURES)('%s with a Dense head: 3 SGD steps give the losses and weights torch gives', async (kind, layers) => {
    const model = importPytorch(new Uint8Array(file(`${kind}_0.safetensors`)), layers(), MODULES);
    const before = await model.getWeights();
    model.compile({ optimizer: { type: 'sgd', learningRate: LR }, loss: 'sparseCategoricalCrossentropy', backend: be });
    const [x, y] = [f32('x.f32'), new Int32Array(new Uint8Array(file('y.i32')).buffer)];
    const losses: number[] = [];
    for (let s = 0; s < STEPS; s++) {
      const xb = { data: x.slice(s * B * T * F, (s + 1) * B * T * F), shape: [B, T, F] };
      const yb = { data: y.slice(s * B, (s + 1) * B), shape: [B] };
      const h = await model.fit(xb, yb, { epochs: 1, batchSize: B, shuffle: false, verbose: 0 });
      losses.push(h.history.loss[0]);
    }
    const torchLosses = new Float64Array(new Uint8Array(file(`${kind}_losses.f64`)).buffer);
    expectClose(Float64Array.from(losses), torchLosses, LOSS, `${kind}: the loss at each step, webgrad vs torch`);
    const got = await model.getWeights();
    const want = await importPytorch(new Uint8Array(file(`${kind}_3.safetensors`)), layers(), MODULES).getWeights();
    const moved = Math.max(...got.map((w, i) => Math.max(...w.map((v, j) => Math.abs(v - before[i][j])))));
    expect(moved, 'the steps move the weights').toBeGreaterThan(1e-2);
    got.forEach((w, i) => expectClose(w, want[i], WEIGHTS, `${kind}: ${model.paramSpecs()[i].name} after ${STEPS} steps`));
    model.dispose();
  }, 120_000);
});

describe('a recurrent spec imports from PyTorch', () => {
  it.skipIf(!hasTorch)("lstm6, gru6, rnn6 and bilstm6 with the head's width from the file give the layers' weights", async () => {
    for (const [kind, layers] of ARCHITECTURES.filter(([k]) => k !== 'bigru' && k !== 'birnn')) {
      const spec = importPytorch(new Uint8Array(file(`${kind}_0.safetensors`)), `${kind}${U}`, { inputShape: [T, F], ...MODULES });
      expect(spec.layers.map((l) => l.config.type)).toEqual(layers().map((l) => l.config.type));
      const want = await importPytorch(new Uint8Array(file(`${kind}_0.safetensors`)), layers(), MODULES).getWeights();
      (await spec.getWeights()).forEach((w, i) => expect(Array.from(w), `${kind}${U}: ${spec.paramSpecs()[i].name}`).toEqual(Array.from(want[i])));
      spec.dispose();
    }
  });
});
