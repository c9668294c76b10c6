#!/usr/bin/env python3
"""PyTorch's figures for `webgrad train --layers lstm128` on the built-in digits (issue #26).

nn.LSTM(28, 128, batch_first=True) over the 28 rows of each image, its last hidden state into
nn.Linear(128, 10), softmax cross-entropy (CrossEntropyLoss, the batch mean); Adam lr 0.002,
beta 0.9/0.999, eps 1e-7 (Keras' epsilon; torch adds it to sqrt(v_hat), Keras to sqrt(v): the
two differ by a factor sqrt(1 - 0.999^t) on a 1e-7 term, far below anything measured here);
batch 32, the training set shuffled each epoch, 10 epochs; 2 threads.

Initialised as Keras initialises webgrad's layers (src/nn/initializers): the input kernel
glorot uniform (xavier_uniform_ on weight_ih: the same fan-in 28 and fan-out 512), the
recurrent kernel orthogonal as one 512x128 matrix (orthogonal_ on weight_hh; Keras' (128, 512)
kernel with orthonormal rows is its transpose), biases zero but the forget gate's at 1
(unitForgetBias; torch's gate order is i, f, g, o, so rows 128..255 of bias_ih; bias_hh stays 0
so the sum is Keras' one bias); the head glorot uniform with a zero bias.

The data are the exact 8,000 / 2,000 split webgrad uses, written by examples/lstm-digits.sh from
dist/node.js's loadBuiltinMnist(): x_train.f32 [8000, 784] float32 in [0, 1], y_train.i32, and
the same for test. Usage:
  python3 examples/lstm_digits_torch.py DATA_DIR [--seeds 1,2,3] [--epochs 10]
Prints one line per epoch and a final `{"seed": ..., ...}` JSON line per seed.
"""
import argparse
import json
import os
import time

import numpy as np
import torch
from torch import nn

from keras_init import keras_dense_, keras_lstm_

UNITS, STEPS, ROW, CLASSES = 128, 28, 28, 10


class LstmDigits(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(ROW, UNITS, batch_first=True)
        self.head = nn.Linear(UNITS, CLASSES)
        keras_lstm_(self.lstm)
        keras_dense_(self.head)

    def forward(self, x):
        _, (h, _) = self.lstm(x.view(-1, STEPS, ROW))
        return self.head(h[-1])


def load(data_dir, name):
    x = np.fromfile(os.path.join(data_dir, f'x_{name}.f32'), dtype='<f4').reshape(-1, STEPS, ROW)
    y = np.fromfile(os.path.join(data_dir, f'y_{name}.i32'), dtype='<i4').astype(np.int64)
    if x.shape[0] != y.shape[0]:
        raise SystemExit(f'{data_dir}: {x.shape[0]} {name} images but {y.shape[0]} labels; rerun examples/lstm-digits.sh to rewrite them')
    return torch.from_numpy(x.copy()), torch.from_numpy(y)


def evaluate(model, x, y, batch=500):
    model.eval()
    loss_sum, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            logits = model(x[i:i + batch])
            loss_sum += nn.functional.cross_entropy(logits, y[i:i + batch], reduction='sum').item()
            correct += (logits.argmax(1) == y[i:i + batch]).sum().item()
    model.train()
    return loss_sum / x.shape[0], correct / x.shape[0]


def run(seed, epochs, lr, batch, train, test):
    torch.manual_seed(seed)
    model = LstmDigits()
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-7)
    xtr, ytr = train
    shuffle = torch.Generator().manual_seed(seed)
    start = time.time()
    for epoch in range(1, epochs + 1):
        order = torch.randperm(xtr.shape[0], generator=shuffle)
        loss_sum, correct, t0 = 0.0, 0, time.time()
        for i in range(0, xtr.shape[0], batch):
            idx = order[i:i + batch]
            logits = model(xtr[idx])
            loss = nn.functional.cross_entropy(logits, ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += loss.item() * idx.shape[0]
            correct += (logits.argmax(1) == ytr[idx]).sum().item()
        print(f'seed {seed} epoch {epoch}/{epochs} - {time.time() - t0:.0f}s - loss: {loss_sum / xtr.shape[0]:.4f} - accuracy: {correct / xtr.shape[0]:.4f}', flush=True)
    test_loss, test_acc = evaluate(model, *test)
    seconds = time.time() - start
    print(json.dumps({'seed': seed, 'epochs': epochs, 'train_loss': loss_sum / xtr.shape[0], 'train_accuracy': correct / xtr.shape[0],
                      'test_loss': test_loss, 'test_accuracy': test_acc, 'seconds': round(seconds, 1)}), flush=True)


def blas_library():
    """The BLAS this process loaded (Debian's torch links libblas.so.3, whichever one the loader finds)."""
    with open('/proc/self/maps') as maps:
        paths = {line.split()[-1] for line in maps if 'blas' in line.split()[-1]}
    return ', '.join(sorted(paths)) or 'none found in /proc/self/maps'


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('data_dir')
    p.add_argument('--seeds', default='1,2,3')
    p.add_argument('--epochs', type=int, default=10)
    p.add_argument('--lr', type=float, default=0.002)
    p.add_argument('--batch-size', type=int, default=32)
    a = p.parse_args()
    torch.set_num_threads(2)
    train, test = load(a.data_dir, 'train'), load(a.data_dir, 'test')
    # The same sums as the exporter printed: proof that both engines read the same digits.
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, BLAS {blas_library()}', flush=True)
    print(f'data: {train[0].shape[0]} train / {test[0].shape[0]} test, '
          f'pixel sums {train[0].double().sum().item():.4f} / {test[0].double().sum().item():.4f}, '
          f'label sums {train[1].sum().item()} / {test[1].sum().item()}', flush=True)
    for seed in (int(s) for s in a.seeds.split(',')):
        run(seed, a.epochs, a.lr, a.batch_size, train, test)


if __name__ == '__main__':
    main()
