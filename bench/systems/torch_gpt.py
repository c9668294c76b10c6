"""W7's GPT in torch for the bench's torch-cpu system (imported by torch_worker.py).

nanoGPT's model (model.py, its non-flash attention path: torch 1.13 has no
scaled_dot_product_attention), as webgrad's gpt() builds it: token and learned
position embeddings added, pre-norm blocks x + attn(ln1(x)), x + mlp(ln2(x))
with causal multi-head attention (q, k, v and output projections, all with
biases, scale 1/sqrt(head size)) and a 4x GELU MLP (erf, as Keras' gelu),
LayerNorm(eps 1e-5) at the end, and a Linear head with a bias giving logits
(webgrad's softmax is inside torch's cross_entropy here). No dropout.

The weights come from the bench under webgrad's names and layouts (Keras'):
Dense kernels [in, out] (torch's Linear weight is [out, in]), the attention's
EinsumDense kernels [D, H, dk] and [H, dv, D] and biases [H, dk], LayerNorm's
gamma and beta, the embedding tables [rows, D].
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(width, eps=1e-5)
        self.q = nn.Linear(width, width)
        self.k = nn.Linear(width, width)
        self.v = nn.Linear(width, width)
        self.out = nn.Linear(width, width)
        self.ln2 = nn.LayerNorm(width, eps=1e-5)
        self.mlp_in = nn.Linear(width, 4 * width)
        self.mlp_out = nn.Linear(4 * width, width)

    def attention(self, x, mask):
        B, T, D = x.shape
        H = self.heads
        split = lambda y: y.view(B, T, H, D // H).transpose(1, 2)  # [B, H, T, dk]
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(D // H))
        att = F.softmax(att.masked_fill(mask[:T, :T] == 0, float("-inf")), dim=-1)
        return self.out((att @ v).transpose(1, 2).contiguous().view(B, T, D))

    def forward(self, x, mask):
        x = x + self.attention(self.ln1(x), mask)
        return x + self.mlp_out(F.gelu(self.mlp_in(self.ln2(x))))


class GPT(nn.Module):
    def __init__(self, spec, weights, load):
        super().__init__()
        V, T, D = spec["vocabulary"], spec["context"], spec["width"]
        self.token = nn.Embedding(V, D)
        self.position = nn.Embedding(T, D)
        self.blocks = nn.ModuleList([Block(D, spec["heads"]) for _ in range(spec["blocks"])])
        self.ln = nn.LayerNorm(D, eps=1e-5)
        self.head = nn.Linear(D, V)
        self.register_buffer("mask", torch.tril(torch.ones(T, T)))
        self.register_buffer("steps", torch.arange(T))
        targets = self.targets()
        names = [w["name"] for w in weights]
        if sorted(names) != sorted(targets):
            raise ValueError(f"W7's weights do not match the torch GPT's: unmapped {sorted(set(names) - set(targets))}, missing {sorted(set(targets) - set(names))}")
        with torch.no_grad():
            for w in weights:
                param, convert = targets[w["name"]]
                param.copy_(convert(load(w)))

    def targets(self):
        """webgrad's name of each weight -> (the torch parameter, the conversion from webgrad's layout)."""
        same = lambda a: a
        rows = lambda a: a.reshape(a.shape[0], -1).t()  # [in, ...out] -> Linear [out, in]
        heads_in = lambda a: a.reshape(-1, a.shape[-1]).t()  # [H, dv, D] -> Linear [D, H*dv]
        flat = lambda a: a.reshape(-1)
        t = {"token_embedding/embeddings": (self.token.weight, same), "position_embedding/embeddings": (self.position.weight, same),
             "final_ln/gamma": (self.ln.weight, same), "final_ln/beta": (self.ln.bias, same),
             "output/kernel": (self.head.weight, rows), "output/bias": (self.head.bias, same)}
        for i, b in enumerate(self.blocks, start=1):
            p = f"block{i}"
            for ln, mod in (("ln1", b.ln1), ("ln2", b.ln2)):
                t[f"{p}_{ln}/gamma"], t[f"{p}_{ln}/beta"] = (mod.weight, same), (mod.bias, same)
            for part, mod in (("query", b.q), ("key", b.k), ("value", b.v)):
                t[f"{p}_attention/{part}/kernel"], t[f"{p}_attention/{part}/bias"] = (mod.weight, rows), (mod.bias, flat)
            t[f"{p}_attention/attention_output/kernel"] = (b.out.weight, heads_in)
            t[f"{p}_attention/attention_output/bias"] = (b.out.bias, same)
            for part, mod in (("mlp_in", b.mlp_in), ("mlp_out", b.mlp_out)):
                t[f"{p}_{part}/kernel"], t[f"{p}_{part}/bias"] = (mod.weight, rows), (mod.bias, same)
        return t

    def forward(self, ids):
        x = self.token(ids) + self.position(self.steps[: ids.shape[1]])
        for block in self.blocks:
            x = block(x, self.mask)
        return self.head(self.ln(x))
