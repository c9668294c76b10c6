#!/usr/bin/env python3
"""A GPT written as a PyTorch user writes one (nanoGPT's module names, torch's own nn.MultiheadAttention),
trained on a text in torch and saved as a state_dict in safetensors, for `webgrad import` (examples/gpt_import.sh).

The model: token and position tables (nn.Embedding wte, wpe), pre-norm blocks h.0, h.1, ... of
x + attn(ln_1(x)) (causal self-attention, attn_mask) and x + mlp(ln_2(x)) (Linear, GELU, Linear), a final
LayerNorm ln_f and a Linear head lm_head; torch's default initialisation. The text is cut as webgrad cuts
it (char_text.py), trained with Adam, and its test loss printed in nats per character.

Usage: python3 examples/nanogpt_torch.py TEXT_FILE OUT.safetensors [--epochs 5] [--lr 0.003]
       [--width 64] [--blocks 2] [--heads 2] [--context 64] [--batch-size 32] [--seed 1]
Prints one line per epoch, a JSON line, and the --modules list webgrad's import takes.
"""
import argparse
import json
import struct

import torch
from torch import nn

from char_text import add_gpt_arguments, load, train


class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))

    def forward(self, x):
        steps = x.shape[1]
        future = torch.ones(steps, steps, dtype=torch.bool, device=x.device).triu(1)  # True: may not attend
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, attn_mask=future, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class Gpt(nn.Module):
    def __init__(self, vocabulary, context, width, blocks, heads):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocabulary, width), nn.Embedding(context, width)
        self.h = nn.ModuleList(Block(width, heads) for _ in range(blocks))
        self.ln_f, self.lm_head = nn.LayerNorm(width), nn.Linear(width, vocabulary)

    def forward(self, ids):
        x = self.wte(ids) + self.wpe(torch.arange(ids.shape[1], device=ids.device))
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))


def save_safetensors(path, state):
    """A state_dict as safetensors (what safetensors.torch.save_file writes), with no package but torch."""
    items = sorted((k, list(t.shape), t.detach().cpu().float().numpy().astype('<f4').tobytes()) for k, t in state.items())
    header, offset = {}, 0
    for k, shape, raw in items:
        header[k] = {'dtype': 'F32', 'shape': shape, 'data_offsets': [offset, offset + len(raw)]}
        offset += len(raw)
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * (-len(text) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(raw for _, _, raw in items))


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('text')
    p.add_argument('out')
    add_gpt_arguments(p, epochs=5)
    p.add_argument('--seed', type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(2)
    _, chars, train_set, test_set = load(a.text, a.context)
    print(f'torch {torch.__version__}; data: {len(chars)} distinct characters, {len(train_set[0])} training windows / {len(test_set[0])} test windows of {a.context}', flush=True)
    model = train(a.seed, lambda: Gpt(len(chars), a.context, a.width, a.blocks, a.heads), a.epochs, a.lr, a.batch_size, len(chars), train_set, test_set)
    save_safetensors(a.out, model.state_dict())
    blocks = [f'h.{b}.{m}' for b in range(a.blocks) for m in ('ln_1', 'attn', 'ln_2', 'mlp.0', 'mlp.2')]
    print(f'saved {a.out}; webgrad import takes its modules in the order of gpt()\'s layers:')
    print('--modules ' + ','.join(['wte', 'wpe', *blocks, 'ln_f', 'lm_head']))


if __name__ == '__main__':
    main()
