#!/usr/bin/env python3
"""PyTorch's figures for webgrad's small GPT on the same text (issue #27).

The model `webgrad train --layers gptW:B:H` builds (src/nn/gpt.ts), written in torch: token
embedding and learned positions added; B pre-norm blocks x + attention(ln(x)), x + MLP(ln(x)),
causal multi-head self-attention of H heads (query, key, value and output projections with
biases, scores scaled by 1/sqrt(W/H)), a 4x GELU MLP (erf GELU, as Keras' and torch's default);
a final LayerNorm; a Linear head with a bias; layer norms at eps 1e-5. Softmax cross-entropy at
every position, the mean over a batch's positions; Adam (betas 0.9/0.999, eps 1e-7, Keras');
batch 32; the windows shuffled each epoch; 2 threads.

Initialised as Keras initialises webgrad's layers (src/nn/initializers.ts, attention-layer.ts):
the token embedding uniform in [-0.05, 0.05]; the position table glorot uniform over
[context, W]; each attention projection glorot uniform with Keras' fans for its EinsumDense
kernel ([W, H, W/H]: fan-in H*W, fan-out (W/H)*W; the output [H, W/H, W]: fan-in W, fan-out
H*W); the MLP's and the head's kernels glorot uniform; every bias zero, every norm 1 and 0.

The data as webgrad reads them (src/data/text.ts): the vocabulary is the text's characters sorted;
the first 90% of the text is cut into non-overlapping windows of the context with the next
character as every position's target, the last 10% likewise is the test split; nats per character.

Usage:
  python3 examples/gpt_torch.py TEXT_FILE [--seeds 1,2,3] [--epochs 10] [--lr 0.003]
        [--width 64] [--blocks 2] [--heads 2] [--context 64] [--batch-size 32]
Prints one line per epoch and a final `{"seed": ..., ...}` JSON line per seed.
"""
import argparse
import math

import torch
from torch import nn

from char_text import add_gpt_arguments, load, train


def glorot_(t, fan_in, fan_out):
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        t.uniform_(-limit, limit)


class Attention(nn.Module):
    """Keras' MultiHeadAttention as a self-attention with a causal mask, its kernels in Keras' shapes."""

    def __init__(self, width, heads):
        super().__init__()
        self.heads, self.size = heads, width // heads
        # Kernels [W, H, d] and [H, d, W] as Keras holds them; biases [H, d] and [W].
        self.wq, self.wk, self.wv = (nn.Parameter(torch.empty(width, heads, self.size)) for _ in range(3))
        self.bq, self.bk, self.bv = (nn.Parameter(torch.zeros(heads, self.size)) for _ in range(3))
        self.wo = nn.Parameter(torch.empty(heads, self.size, width))
        self.bo = nn.Parameter(torch.zeros(width))
        for w in (self.wq, self.wk, self.wv):
            glorot_(w, heads * width, self.size * width)
        glorot_(self.wo, self.size * heads, width * heads)

    def forward(self, x):
        B, T, _ = x.shape
        q = torch.einsum('btf,fhd->bhtd', x, self.wq) + self.bq[None, :, None, :]
        k = torch.einsum('btf,fhd->bhtd', x, self.wk) + self.bk[None, :, None, :]
        v = torch.einsum('btf,fhd->bhtd', x, self.wv) + self.bv[None, :, None, :]
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.size)
        causal = torch.ones(T, T, dtype=torch.bool).tril()
        p = torch.softmax(scores.masked_fill(~causal, float('-inf')), dim=-1)
        return torch.einsum('bhtd,hdo->bto', p @ v, self.wo) + self.bo


def dense(fan_in, fan_out):
    layer = nn.Linear(fan_in, fan_out)
    with torch.no_grad():
        nn.init.xavier_uniform_(layer.weight)
        layer.bias.zero_()
    return layer


class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(width, eps=1e-5), nn.LayerNorm(width, eps=1e-5)
        self.attention = Attention(width, heads)
        self.mlp_in, self.mlp_out = dense(width, 4 * width), dense(4 * width, width)

    def forward(self, x):
        x = x + self.attention(self.ln1(x))
        return x + self.mlp_out(nn.functional.gelu(self.mlp_in(self.ln2(x))))


class Gpt(nn.Module):
    def __init__(self, vocabulary, context, width, blocks, heads):
        super().__init__()
        # In gpt.ts' order of layers: the draws of a seed follow it.
        self.tokens = nn.Embedding(vocabulary, width)
        with torch.no_grad():
            nn.init.uniform_(self.tokens.weight, -0.05, 0.05)
        self.positions = nn.Parameter(torch.empty(context, width))
        glorot_(self.positions, context, width)
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(blocks))
        self.ln = nn.LayerNorm(width, eps=1e-5)
        self.head = dense(width, vocabulary)

    def forward(self, ids):
        x = self.tokens(ids) + self.positions[: ids.shape[1]]
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x))


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('text')
    p.add_argument('--seeds', default='1,2,3')
    add_gpt_arguments(p, epochs=10)
    a = p.parse_args()
    torch.set_num_threads(2)
    n, chars, train_set, test_set = load(a.text, a.context)
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads', flush=True)
    print(f'data: {n} characters, {len(chars)} distinct, {len(train_set[0])} training windows / {len(test_set[0])} test windows of {a.context}', flush=True)
    for seed in (int(s) for s in a.seeds.split(',')):
        train(seed, lambda: Gpt(len(chars), a.context, a.width, a.blocks, a.heads), a.epochs, a.lr, a.batch_size, len(chars), train_set, test_set)


if __name__ == '__main__':
    main()
