"""The text side of the character-model scripts that train PyTorch beside webgrad (char_model_torch.py,
gpt_torch.py): the text cut as webgrad cuts it (src/data/text.ts), the loss in nats per character, and
the training loop both run (Adam with Keras' epsilon, the windows shuffled each epoch by a generator
seeded with the run's seed, one line per epoch and a JSON line at the end).

The data: the vocabulary is the text's characters (code points) sorted; the first 90% of the text
(floor(n * 0.9) characters) is cut into non-overlapping windows of the context with the next
character as every position's target, and the last 10% likewise is the test split.
"""
import json
import math
import time

import numpy as np
import torch
from torch import nn

TEST_FRACTION = 0.1


def windows(ids, context):
    n = (len(ids) - 1) // context
    return torch.from_numpy(ids[:n * context].reshape(n, context)), torch.from_numpy(ids[1:n * context + 1].reshape(n, context))


def load(path, context, saved=None):
    """(characters in the text, its sorted characters, training windows, test windows); `saved`: code points webgrad saved, checked."""
    with open(path, encoding='utf-8', errors='replace', newline='') as f:
        text = f.read()
    chars = sorted(set(text))
    if saved is not None and [ord(c) for c in chars] != saved:
        raise SystemExit(f'{path}: its {len(chars)} characters are not the {len(saved)} of the webgrad model: not the text it trained on')
    index = {c: i for i, c in enumerate(chars)}
    ids = np.array([index[c] for c in text], dtype=np.int64)
    cut = math.floor(len(ids) * (1 - TEST_FRACTION))
    return len(text), chars, windows(ids[:cut], context), windows(ids[cut:], context)


def loss_of(model, x, y, batch=256):
    model.eval()
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            logits = model(x[i:i + batch])
            total += nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y[i:i + batch].reshape(-1), reduction='sum').item()
    model.train()
    return total / y.numel()


def add_gpt_arguments(parser, epochs):
    """The GPT recipe's flags, as `webgrad train --layers gptW:B:H` takes them: its size, context, batch, rate and epochs."""
    parser.add_argument('--epochs', type=int, default=epochs)
    parser.add_argument('--lr', type=float, default=0.003)
    parser.add_argument('--width', type=int, default=64)
    parser.add_argument('--blocks', type=int, default=2)
    parser.add_argument('--heads', type=int, default=2)
    parser.add_argument('--context', type=int, default=64)
    parser.add_argument('--batch-size', type=int, default=32)


def train(seed, make_model, epochs, lr, batch, vocabulary, train_set, test_set):
    """torch.manual_seed(seed), then make_model() and Adam (betas 0.9/0.999, eps 1e-7: Keras'); prints each epoch and a JSON line; returns the model."""
    torch.manual_seed(seed)
    model = make_model()
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-7)
    xtr, ytr = train_set
    shuffle = torch.Generator().manual_seed(seed)
    start = time.time()
    for epoch in range(1, epochs + 1):
        order = torch.randperm(len(xtr), generator=shuffle)
        total, chars, t0 = 0.0, 0, time.time()
        for i in range(0, len(xtr), batch):
            idx = order[i:i + batch]
            logits = model(xtr[idx])
            loss = nn.functional.cross_entropy(logits.reshape(-1, vocabulary), ytr[idx].reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * ytr[idx].numel()
            chars += ytr[idx].numel()
        print(f'seed {seed} epoch {epoch}/{epochs} - {time.time() - t0:.0f}s - loss: {total / chars:.4f} nats/char', flush=True)
    test_loss = loss_of(model, *test_set)
    print(json.dumps({'seed': seed, 'epochs': epochs, 'train_loss': round(total / chars, 4), 'test_nats_per_char': round(test_loss, 4),
                      'seconds': round(time.time() - start, 1)}), flush=True)
    return model
