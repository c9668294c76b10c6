import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random.js';
import { pytorchExport } from '../../src/interop/export-pytorch.js';
import { importPytorch } from '../../src/interop/import-pytorch.js';
import { decodeSafetensors, encodeSafetensors } from '../../src/interop/safetensors.js';
import { input, model } from '../../src/nn/functional.js';
import { gpt } from '../../src/nn/gpt.js';
import { add, conv2d, dense, flatten, multiHeadAttention } from '../../src/nn/layers.js';
import type { Model } from '../../src/nn/model.js';
import { saveModel } from '../../src/nn/saving.js';
import { backends } from '../helpers/backends.js';
import { expectClose } from '../helpers/check.js';
import { lastJson, runCli } from '../helpers/cli.js';
import { drawWeights } from '../helpers/model-file.js';
import { python } from '../helpers/torch-step.js';

/*
 * The PyTorch import of functional models (#27): a GPT written in torch as nanoGPT writes it,
 * with torch's own nn.MultiheadAttention and nn.Embedding positions, loads into webgrad's gpt()
 * and predicts as torch, then trains three Adam steps to torch's losses and weights, on both
 * backends; a cross-attention of two inputs takes an nn.MultiheadAttention whose key and value
 * have other widths (q_proj_weight, k_proj_weight, v_proj_weight); webgrad's own exports come
 * back as they left; `webgrad import --like` makes a GPT file that `generate` takes.
 */

const [V, T, W, B, H] = [7, 8, 16, 2, 2];
const N = 4;
const STEPS = 3;
const LR = 0.01;
/** Adam's ε as in gpt-torch.test.ts: at 1e-7 a weight whose true gradient is about 0 (the key bias) steps by lr on float32 noise. */
const EPS = 1e-3;
/** The cross-attention: a query of TQ steps of FQ features attends S steps of FK features. */
const [TQ, S, FQ, FK] = [5, 3, 6, 4];

/** nanoGPT's module of each of gpt()'s weighted layers: what a user gives as `modules` (--modules). */
function nanoGptModule(layer: string): string {
  const fixed: Record<string, string> = { token_embedding: 'wte', position_embedding: 'wpe', final_ln: 'ln_f', output: 'lm_head' };
  if (fixed[layer]) return fixed[layer];
  const m = /^block(\d+)_(ln1|ln2|attention|mlp_in|mlp_out)$/.exec(layer);
  if (!m) throw new Error(`no nanoGPT module for ${layer}`);
  return `h.${Number(m[1]) - 1}.${{ ln1: 'ln_1', ln2: 'ln_2', attention: 'attn', mlp_in: 'mlp.0', mlp_out: 'mlp.2' }[m[2]]}`;
}

const TORCH = String.raw`
import json, sys, numpy as np, torch
from torch import nn
out = sys.argv[1] if len(sys.argv) > 1 else OUT
torch.manual_seed(0)

# The GPT a torch user writes (nanoGPT's names, nn.MultiheadAttention), as examples/gpt_import.sh trains it.
sys.path.insert(0, EXAMPLES)
from nanogpt_torch import Gpt, save_safetensors as save

model = Gpt(${V}, ${T}, ${W}, ${B}, ${H})
with torch.no_grad():
    # Biases and norms away from their initial zeros and ones, so that a wrong mapping shows.
    for n, p in model.named_parameters():
        if 'ln' in n or 'bias' in n: p.add_(0.1 * torch.randn_like(p))
save(f'{out}/gpt.safetensors', model.state_dict())
x = torch.from_numpy(np.fromfile(f'{out}/x.i32', dtype='<i4').astype('int64').reshape(${N}, ${T}))
y = torch.from_numpy(np.fromfile(f'{out}/y.i32', dtype='<i4').astype('int64').reshape(${N}, ${T}))
model.eval()
with torch.no_grad(): probs = torch.softmax(model(x), -1).numpy().ravel().tolist()
model.train()
opt = torch.optim.Adam(model.parameters(), lr=${LR}, eps=${EPS})
losses = []
for _ in range(${STEPS}):
    loss = nn.functional.cross_entropy(model(x).reshape(-1, ${V}), y.reshape(-1))
    losses.append(loss.item())
    opt.zero_grad(); loss.backward(); opt.step()
save(f'{out}/gpt_after.safetensors', model.state_dict())

# Karpathy's nanoGPT (model.py) as its train.py builds it (bias=False: no bias in any Linear or LayerNorm): attention as
# two Linears c_attn and c_proj, the causal mask a buffer attn.bias, the MLP c_fc and c_proj, lm_head tied to wte.
import math
class NanoLayerNorm(nn.Module):
    def __init__(self, ndim, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None
    def forward(self, x):
        return nn.functional.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)
class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, block_size):
        super().__init__()
        self.c_attn, self.c_proj, self.n_head = nn.Linear(n_embd, 3 * n_embd, bias=False), nn.Linear(n_embd, n_embd, bias=False), n_head
        self.register_buffer('bias', torch.tril(torch.ones(block_size, block_size)).view(1, 1, block_size, block_size))
    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = torch.softmax(att.masked_fill(self.bias[:, :, :T, :T] == 0, float('-inf')), dim=-1)
        return self.c_proj((att @ v).transpose(1, 2).contiguous().view(B, T, C))
class NanoMLP(nn.Module):
    def __init__(self, n_embd):
        super().__init__()
        self.c_fc, self.gelu, self.c_proj = nn.Linear(n_embd, 4 * n_embd, bias=False), nn.GELU(), nn.Linear(4 * n_embd, n_embd, bias=False)
    def forward(self, x):
        return self.c_proj(self.gelu(self.c_fc(x)))
class NanoBlock(nn.Module):
    def __init__(self, n_embd, n_head, block_size):
        super().__init__()
        self.ln_1, self.attn, self.ln_2, self.mlp = NanoLayerNorm(n_embd, False), CausalSelfAttention(n_embd, n_head, block_size), NanoLayerNorm(n_embd, False), NanoMLP(n_embd)
    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))
class NanoGPT(nn.Module):
    def __init__(self, vocab_size, block_size, n_embd, n_layer, n_head):
        super().__init__()
        self.transformer = nn.ModuleDict(dict(wte=nn.Embedding(vocab_size, n_embd), wpe=nn.Embedding(block_size, n_embd),
            h=nn.ModuleList(NanoBlock(n_embd, n_head, block_size) for _ in range(n_layer)), ln_f=NanoLayerNorm(n_embd, False)))
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight
    def forward(self, idx):
        t = self.transformer
        x = t.wte(idx) + t.wpe(torch.arange(idx.shape[1]))
        for block in t.h:
            x = block(x)
        return self.lm_head(t.ln_f(x))
nano = NanoGPT(${V}, ${T}, ${W}, ${B}, ${H})
with torch.no_grad():
    for n, p in nano.named_parameters():
        if 'ln' in n: p.add_(0.1 * torch.randn_like(p))
nano.eval()
with torch.no_grad(): nano_probs = torch.softmax(nano(x), -1).numpy().ravel().tolist()
save(f'{out}/nanogpt.safetensors', nano.state_dict())

# Cross-attention with a key and value narrower than the query: q_proj_weight, k_proj_weight, v_proj_weight.
cross = nn.MultiheadAttention(${FQ}, ${H}, kdim=${FK}, vdim=${FK}, batch_first=True)
with torch.no_grad():
    for p in cross.parameters(): p.add_(0.1 * torch.randn_like(p))
cross.eval()
q, v = torch.randn(2, ${TQ}, ${FQ}), torch.randn(2, ${S}, ${FK})
with torch.no_grad(): attended = cross(q, v, v, need_weights=False)[0]
save(f'{out}/cross.safetensors', {f'attn.{k}': t for k, t in cross.state_dict().items()})
json.dump({'probs': probs, 'nano_probs': nano_probs, 'losses': losses, 'q': q.numpy().ravel().tolist(), 'v': v.numpy().ravel().tolist(), 'attended': attended.numpy().ravel().tolist()}, open(f'{out}/torch.json', 'w'))
`;

let dir: string;
let torch: { probs: number[]; nano_probs: number[]; losses: number[]; q: number[]; v: number[]; attended: number[] };
const r = new Random(11);
const ids = Float32Array.from({ length: N * T }, () => Math.floor(r.uniform(0, V)));
const next = Int32Array.from({ length: N * T }, (_, i) => (i % T === T - 1 ? ids[i - T + 1] : ids[i + 1]));
const file = (name: string) => new Uint8Array(readFileSync(join(dir, name)));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'webgrad-functional-import-'));
  writeFileSync(join(dir, 'x.i32'), Int32Array.from(ids));
  writeFileSync(join(dir, 'y.i32'), next);
  python([`OUT = ${JSON.stringify(dir)}`, `EXAMPLES = ${JSON.stringify(resolve('examples'))}`, TORCH]);
  torch = JSON.parse(readFileSync(join(dir, 'torch.json'), 'utf8'));
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The names of a model's layers that have weights, in order. */
const weightedLayers = (m: Model) => m.layers.filter((l) => m.paramSpecs().some((p) => p.name.startsWith(`${l.name}/`))).map((l) => l.name);

/** gpt()'s topology, and nanoGPT's modules in the order of its weighted layers. */
function gptArchitecture() {
  const m = gpt({ vocabularySize: V, contextLength: T, width: W, blocks: B, heads: H });
  const modules = weightedLayers(m).map(nanoGptModule);
  return { topology: m.topology(), modules, model: m };
}

describe.each(backends)('a nanoGPT with nn.MultiheadAttention imported from torch on %s', (name) => {
  it('predicts as torch, and three Adam steps give torch\'s losses and weights', async () => {
    const { topology, modules } = gptArchitecture();
    const m = importPytorch(file('gpt.safetensors'), topology, { modules, source: 'gpt.safetensors' });
    m.compile({ optimizer: { type: 'adam', learningRate: LR, epsilon: EPS, epsilonHat: false }, loss: 'sparseCategoricalCrossentropy', backend: name === 'cpu' ? 'cpu' : 'webgpu' });
    const x = { data: ids, shape: [N, T] };
    const probs = await m.predict(x);
    expectClose(probs.data, Float64Array.from(torch.probs), { atol: 2e-6, rtol: 1e-4, why: 'float32 through two Transformer blocks in two engines' }, 'probabilities');
    const h = await m.fit(x, { data: next, shape: [N, T] }, { epochs: STEPS, batchSize: N, shuffle: false, verbose: 0 });
    expectClose(Float64Array.from(h.history.loss), Float64Array.from(torch.losses), { atol: 1e-6, rtol: 1e-4, why: 'the loss before each step, float32 in two engines (the issue asks 1e-4)' }, 'losses');
    // torch's weights after its steps, read by the same import: each of webgrad's weights against torch's.
    const after = await importPytorch(file('gpt_after.safetensors'), topology, { modules }).getWeights();
    const mine = await m.getWeights();
    m.paramSpecs().forEach((p, i) => {
      expectClose(mine[i], Float64Array.from(after[i]), { atol: 1e-5, rtol: 1e-4, why: 'three Adam steps of 0.01 from the same weights, float32 in two engines' }, p.name);
    });
    m.dispose();
  }, 120_000);
});

/** Karpathy's nanoGPT's module of each of gpt()'s weighted layers. */
const karpathyModule = (layer: string) => {
  const m = nanoGptModule(layer);
  return m === 'lm_head' ? m : `transformer.${m.replace(/^h\.(\d+)\.mlp\.0$/, 'h.$1.mlp.c_fc').replace(/^h\.(\d+)\.mlp\.2$/, 'h.$1.mlp.c_proj')}`;
};

describe('the PyTorch import of functional models', () => {
  it("Karpathy's nanoGPT (c_attn and c_proj, the mask buffer, bias=False, lm_head tied) predicts as torch", async () => {
    const m = gpt({ vocabularySize: V, contextLength: T, width: W, blocks: B, heads: H, useBias: false, headBias: false });
    const names = weightedLayers(m).map(karpathyModule);
    const imported = importPytorch(file('nanogpt.safetensors'), m.topology(), { modules: names });
    imported.compile({ loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
    const probs = await imported.predict({ data: ids, shape: [N, T] });
    expectClose(probs.data, Float64Array.from(torch.nano_probs), { atol: 2e-6, rtol: 1e-4, why: 'float32 through two Transformer blocks in two engines' }, 'probabilities');
    imported.dispose();
    m.dispose();
  });

  it('a cross-attention of two inputs from an nn.MultiheadAttention with kdim and vdim', async () => {
    const q = input({ shape: [TQ, FQ], name: 'query' });
    const v = input({ shape: [S, FK], name: 'value' });
    const arch = model({ inputs: [q, v], outputs: multiHeadAttention({ numHeads: H, keyDim: FQ / H, name: 'attn' }).apply([q, v]), name: 'cross' });
    const m = importPytorch(file('cross.safetensors'), arch.topology());
    m.compile({ loss: 'meanSquaredError', backend: 'cpu' });
    const [y] = await m.predictOutputs([{ data: Float32Array.from(torch.q), shape: [2, TQ, FQ] }, { data: Float32Array.from(torch.v), shape: [2, S, FK] }]);
    expectClose(y.data, Float64Array.from(torch.attended), { atol: 1e-6, rtol: 1e-5, why: 'one attention in float32 in two engines' }, 'attended');
    m.dispose();
  });

  it("takes back webgrad's own exports of a GPT and of a two-input model with a CNN branch, weight for weight", async () => {
    const img = input({ shape: [6, 5, 2], name: 'image' });
    const side = input({ shape: [3], name: 'side' });
    const features = dense(4, { name: 'features' }).apply(flatten().apply(conv2d(3, 3, { name: 'conv' }).apply(img)));
    const twoInputs = model({ inputs: [img, side], outputs: dense(2, { activation: 'softmax', name: 'head' }).apply(add().apply([features, dense(4, { name: 'side_dense' }).apply(side)])), name: 'two_inputs' });
    for (const m of [gptArchitecture().model, twoInputs]) {
      m.compile({ loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
      await drawWeights(m, m.topology().inputs!.map((i) => i.shape));
      const files = await pytorchExport(m);
      const back = importPytorch(files['model.safetensors'] as Uint8Array, m.topology());
      const [want, got] = [await m.getWeights(), await back.getWeights()];
      // Each weight only moved between layouts and back: equal to the bit.
      m.paramSpecs().forEach((p, i) => expect(got[i], p.name).toEqual(want[i]));
      back.dispose();
      m.dispose();
    }
  });

  it('refuses by name what does not fit', () => {
    const { topology, modules } = gptArchitecture();
    expect(() => importPytorch(file('gpt.safetensors'), topology, { modules, inputShape: [T] })).toThrow("importPytorch: inputShape applies to a Sequential architecture; 'gpt' is a functional model's topology, whose inputs carry their own shapes");
    // Without modules, nanoGPT's names sort ln_1 before attn: the first attention takes a LayerNorm's tensors, and says so.
    expect(() => importPytorch(file('gpt.safetensors'), topology)).toThrow(/matched in natural name order/);
    const q = input({ shape: [TQ, FQ] });
    const v = input({ shape: [S, FK] });
    const narrow = model({ inputs: [q, v], outputs: multiHeadAttention({ numHeads: H, keyDim: FQ / H, valueDim: 2, name: 'attn' }).apply([q, v]) });
    expect(() => importPytorch(file('cross.safetensors'), narrow.topology())).toThrow("importPytorch: layer attn (multiHeadAttention, 2 heads) cannot take torch's nn.MultiheadAttention: valueDim 2 differs from keyDim 3, where torch's heads have one head_dim");
    const cross = model({ inputs: [q, v], outputs: multiHeadAttention({ numHeads: H, keyDim: FQ / H, name: 'attn' }).apply([q, v]) });
    // torch's add_bias_kv: tensors webgrad's layer has no weight for.
    const extra = encodeSafetensors({ ...decodeSafetensors(file('cross.safetensors')).tensors, 'attn.bias_k': { dtype: 'F32', shape: [1, 1, FQ], data: new Float32Array(FQ) } }, {});
    expect(() => importPytorch(extra, cross.topology())).toThrow("torch file: tensor 'attn.bias_k' [1, 1, 6] is left over: layer attn (multiHeadAttention) takes q_proj_weight, in_proj_bias, k_proj_weight, v_proj_weight, out_proj.weight, out_proj.bias");
  });

  it('webgrad import --like a GPT file writes a model that generate takes', async () => {
    const { model: m, modules } = gptArchitecture();
    m.compile({ loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
    await drawWeights(m, m.topology().inputs!.map((i) => i.shape));
    m.setVocabulary(['\n', ' ', 'a', 'b', 'c', 'd', 'e']);
    await saveModel(m, join(dir, 'like.safetensors'));
    m.dispose();
    const out = join(dir, 'imported.safetensors');
    const imported = await runCli(['import', join(dir, 'gpt.safetensors'), '--like', join(dir, 'like.safetensors'), '--modules', modules.join(','), '--out', out]);
    expect(imported.err).toBe('');
    expect(imported.code).toBe(0);
    expect(imported.out).toContain(`wrote ${out}: webgrad generate, predict and evaluate take it`);
    const generated = await runCli(['generate', out, '--length', '20', '--prompt', 'ab', '--seed', '1', '--backend', 'cpu', '--json']);
    expect(generated.err).toBe('');
    expect(lastJson(generated.out).text).toMatch(/^[\n a-e]{20}$/);
    // Without a webgrad file: --layers gptW:B:H, the vocabulary from the text torch trained on (7 characters), the context given.
    writeFileSync(join(dir, 'text.txt'), 'abc de\n'.repeat(30));
    const fromText = join(dir, 'from-text.safetensors');
    const byText = await runCli(['import', join(dir, 'gpt.safetensors'), '--layers', `gpt${W}:${B}:${H}`, '--data', join(dir, 'text.txt'), '--context', String(T), '--modules', modules.join(','), '--out', fromText]);
    expect(byText.err).toBe('');
    expect(byText.code).toBe(0);
    const again = await runCli(['generate', fromText, '--length', '20', '--prompt', 'ab', '--seed', '1', '--backend', 'cpu', '--json']);
    // The same weights and vocabulary as the --like import: the same text.
    expect(lastJson(again.out).text).toBe(lastJson(generated.out).text);
    // Karpathy's nanoGPT with bias=False: the GPT built for it has no biases (the modules given have no '.bias').
    const karpathy = weightedLayers(gptArchitecture().model).map(karpathyModule);
    const nano = await runCli(['import', join(dir, 'nanogpt.safetensors'), '--layers', `gpt${W}:${B}:${H}`, '--data', join(dir, 'text.txt'), '--context', String(T), '--modules', karpathy.join(','), '--out', fromText]);
    expect(nano.err).toBe('');
    expect(nano.code).toBe(0);
    const refused = await runCli(['import', join(dir, 'gpt.safetensors'), '--layers', `gpt${W}:${B}:${H}`, '--modules', modules.join(','), '--out', fromText]);
    expect(refused.code).not.toBe(0);
    expect(refused.err).toContain(`import: --layers gpt${W}:${B}:${H} needs --data FILE.txt, the text the torch model was trained on`);
  }, 60_000);
});
