import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { gpt } from '../../src/nn/gpt.js';
import { backends } from '../helpers/backends.js';
import { expectClose } from '../helpers/check.js';
import { python } from '../helpers/torch-step.js';

/*
 * webgrad's gpt() against the same GPT written in torch (examples/gpt_torch.py, the model the
 * README's figures compare with): torch's weights set into webgrad's model by name, the same
 * predictions, then three Adam steps on the same batch giving the same losses and weights.
 */

const [V, T, W, B, H] = [7, 8, 16, 2, 2];
const N = 4;
const STEPS = 3;
const LR = 0.01;
/**
 * Adam's ε, larger than Keras' 1e-7: a weight whose true gradient is about 0 (the key bias,
 * which the softmax cancels; a unit GELU leaves flat) would otherwise take lr-sized steps from
 * each engine's float32 noise, |g| / (|g| + ε) ≈ 1, and no two engines agree on noise.
 */
const EPS = 1e-3;

/** Each webgrad weight's torch tensor (in gpt_torch.py's module), and whether torch holds it transposed (Linear's [out, in]). */
function torchName(name: string): [string, boolean] {
  const fixed: Record<string, [string, boolean]> = {
    'token_embedding/embeddings': ['tokens.weight', false],
    'position_embedding/embeddings': ['positions', false],
    'final_ln/gamma': ['ln.weight', false],
    'final_ln/beta': ['ln.bias', false],
    'output/kernel': ['head.weight', true],
    'output/bias': ['head.bias', false],
  };
  if (fixed[name]) return fixed[name];
  const m = /^block(\d+)_(\w+)\/(\w+)(?:\/(\w+))?$/.exec(name);
  if (!m) throw new Error(`no torch name for ${name}`);
  const [, b, layer, part, sub] = m;
  const at = `blocks.${Number(b) - 1}`;
  if (layer === 'ln1' || layer === 'ln2') return [`${at}.${layer}.${part === 'gamma' ? 'weight' : 'bias'}`, false];
  if (layer === 'mlp_in' || layer === 'mlp_out') return [`${at}.${layer}.${part === 'kernel' ? 'weight' : 'bias'}`, part === 'kernel'];
  const short = { query: 'q', key: 'k', value: 'v', attention_output: 'o' }[part]!;
  return [`${at}.attention.${sub === 'kernel' ? 'w' : 'b'}${short}`, false];
}

let dir: string;
let torch: { weights: Record<string, number[]>; shapes: Record<string, number[]>; probs: number[]; losses: number[]; after: Record<string, number[]> };
const r = new Random(11);
const ids = Float32Array.from({ length: N * T }, () => Math.floor(r.uniform(0, V)));
const next = Int32Array.from({ length: N * T }, (_, i) => (i % T === T - 1 ? ids[i - T + 1] : ids[i + 1]));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'webgrad-gpt-torch-'));
  writeFileSync(join(dir, 'x.i32'), Int32Array.from(ids));
  writeFileSync(join(dir, 'y.i32'), next);
  const out = join(dir, 'torch.json');
  python([
    'import sys, json, numpy as np, torch',
    `sys.path.insert(0, ${JSON.stringify(resolve('examples'))})`,
    'from gpt_torch import Gpt',
    'torch.manual_seed(0)',
    `model = Gpt(${V}, ${T}, ${W}, ${B}, ${H})`,
    // Biases and norms away from their initial zeros and ones, so that a wrong mapping shows.
    'with torch.no_grad():',
    '    for n, p in model.named_parameters():',
    "        if 'ln' in n or n.endswith('bias') or n.split('.')[-1].startswith('b'): p.add_(0.1 * torch.randn_like(p))",
    'weights = {n: p.detach().numpy().ravel().tolist() for n, p in model.named_parameters()}',
    'shapes = {n: list(p.shape) for n, p in model.named_parameters()}',
    `x = torch.from_numpy(np.fromfile(${JSON.stringify(join(dir, 'x.i32'))}, dtype='<i4').astype('int64').reshape(${N}, ${T}))`,
    `y = torch.from_numpy(np.fromfile(${JSON.stringify(join(dir, 'y.i32'))}, dtype='<i4').astype('int64').reshape(${N}, ${T}))`,
    'model.eval()',
    'with torch.no_grad(): probs = torch.softmax(model(x), -1).numpy().ravel().tolist()',
    'model.train()',
    `opt = torch.optim.Adam(model.parameters(), lr=${LR}, betas=(0.9, 0.999), eps=${EPS})`,
    'losses = []',
    `for _ in range(${STEPS}):`,
    `    loss = torch.nn.functional.cross_entropy(model(x).reshape(-1, ${V}), y.reshape(-1))`,
    '    losses.append(loss.item())',
    '    opt.zero_grad(); loss.backward(); opt.step()',
    'after = {n: p.detach().numpy().ravel().tolist() for n, p in model.named_parameters()}',
    `json.dump({'weights': weights, 'shapes': shapes, 'probs': probs, 'losses': losses, 'after': after}, open(${JSON.stringify(out)}, 'w'))`,
  ]);
  torch = JSON.parse(readFileSync(out, 'utf8'));
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A torch tensor in webgrad's layout: a Linear's weight [out, in] transposed to a kernel [in, out]. */
function fromTorch(values: number[], shape: number[], transposed: boolean): Float32Array {
  if (!transposed) return Float32Array.from(values);
  const [out, inp] = shape;
  const t = new Float32Array(values.length);
  for (let o = 0; o < out; o++) for (let i = 0; i < inp; i++) t[i * out + o] = values[o * inp + i];
  return t;
}

describe.each(backends)('gpt() against the same GPT in torch on %s', (name) => {
  it('predicts as torch from torch\'s weights, and three Adam steps give the same losses and weights', async () => {
    const m = gpt({ vocabularySize: V, contextLength: T, width: W, blocks: B, heads: H });
    m.compile({ optimizer: { type: 'adam', learningRate: LR, epsilon: EPS, epsilonHat: false }, loss: 'sparseCategoricalCrossentropy', backend: name === 'cpu' ? 'cpu' : 'webgpu' });
    const specs = m.paramSpecs();
    // Every torch parameter is used once.
    expect(specs.map((p) => torchName(p.name)[0]).sort()).toEqual(Object.keys(torch.weights).sort());
    m.setWeights(specs.map((p) => {
      const [t, transposed] = torchName(p.name);
      return fromTorch(torch.weights[t], torch.shapes[t], transposed);
    }));
    const x = { data: ids, shape: [N, T] };
    const y = { data: next, shape: [N, T] };
    const probs = await m.predict(x);
    // float32 through two blocks on both sides: probabilities agree to a few float32 ulps of 1.
    expectClose(probs.data, Float64Array.from(torch.probs), { atol: 2e-6, rtol: 1e-4, why: 'float32 through two Transformer blocks in two engines' }, 'probabilities');
    const h = await m.fit(x, y, { epochs: STEPS, batchSize: N, shuffle: false, verbose: 0 });
    expectClose(Float64Array.from(h.history.loss), Float64Array.from(torch.losses), { atol: 1e-6, rtol: 1e-4, why: 'the loss before each step, float32 in two engines (the issue asks 1e-4)' }, 'losses');
    const after = await m.getWeights();
    specs.forEach((p, i) => {
      const [t, transposed] = torchName(p.name);
      // Adam's first steps move each weight by about lr; float32 differences of the gradients change that by far less.
      expectClose(after[i], Float64Array.from(fromTorch(torch.after[t], torch.shapes[t], transposed)), { atol: 1e-5, rtol: 1e-4, why: 'three Adam steps of 0.01 from the same weights, float32 in two engines' }, p.name);
    });
    m.dispose();
  }, 120_000);
});
