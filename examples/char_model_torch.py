#!/usr/bin/env python3
"""PyTorch's figures for webgrad's character model on its own corpus (issue #26).

The architecture `webgrad train --data webgrad-docs` builds by default (embed64,lstm128): an
nn.Embedding(V, 64), an nn.LSTM(64, 128) over the whole window (batch_first), and an
nn.Linear(128, V) at every step, V the text's distinct characters; softmax cross-entropy at every
position, the mean over all of a batch's positions (webgrad counts each step 1/steps of its
sample: the same mean); Adam lr 0.002, betas 0.9/0.999, eps 1e-7 (Keras' epsilon; torch adds it
to sqrt(v_hat), Keras to sqrt(v): a difference far below anything measured here); batch 32;
the windows shuffled each epoch; 2 threads.

The data as webgrad reads them (src/data/text.ts): the vocabulary is the text's characters
(code points) sorted; the first 90% of the text (floor(n * 0.9) characters) is cut into
non-overlapping windows of 64 characters with the next character as every position's target,
and the last 10% likewise is the test split. The loss is in nats per character.

Initialised as Keras initialises webgrad's layers (src/nn/initializers): the embedding uniform in
[-0.05, 0.05] (Keras' 'uniform'), the LSTM's input kernel glorot uniform (xavier_uniform_ on
weight_ih: fan-in 64, fan-out 512), its recurrent kernel orthogonal (orthogonal_ on weight_hh,
the transpose of Keras' kernel with orthonormal rows), biases zero but the forget gate's at 1
(unitForgetBias: rows 128..255 of bias_ih in torch's i, f, g, o order; bias_hh stays 0), the
head glorot uniform with a zero bias.

Usage:
  python3 examples/char_model_torch.py TEXT_FILE [--seeds 1,2,3] [--epochs 10] [--vocabulary JSON]
--vocabulary: the code points webgrad saved (webgrad.json's metadata), checked against the text's.
Prints one line per epoch and a final `{"seed": ..., ...}` JSON line per seed.
"""
import argparse
import json

import torch
from torch import nn

from char_text import load, train
from keras_init import keras_dense_, keras_lstm_

EMBED, UNITS, CONTEXT = 64, 128, 64


class CharModel(nn.Module):
    def __init__(self, vocabulary):
        super().__init__()
        self.embed = nn.Embedding(vocabulary, EMBED)
        self.lstm = nn.LSTM(EMBED, UNITS, batch_first=True)
        self.head = nn.Linear(UNITS, vocabulary)
        with torch.no_grad():
            nn.init.uniform_(self.embed.weight, -0.05, 0.05)
        keras_lstm_(self.lstm)
        keras_dense_(self.head)

    def forward(self, ids):
        hs, _ = self.lstm(self.embed(ids))
        return self.head(hs)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('text')
    p.add_argument('--seeds', default='1,2,3')
    p.add_argument('--epochs', type=int, default=10)
    p.add_argument('--lr', type=float, default=0.002)
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--vocabulary', default=None, help="the webgrad model's vocabulary as a JSON list of code points")
    a = p.parse_args()
    torch.set_num_threads(2)
    n, chars, train_set, test_set = load(a.text, CONTEXT, json.loads(a.vocabulary) if a.vocabulary else None)
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads', flush=True)
    print(f'data: {n} characters, {len(chars)} distinct, {len(train_set[0])} training windows / {len(test_set[0])} test windows of {CONTEXT}', flush=True)
    for seed in (int(s) for s in a.seeds.split(',')):
        train(seed, lambda: CharModel(len(chars)), a.epochs, a.lr, a.batch_size, len(chars), train_set, test_set)


if __name__ == '__main__':
    main()
