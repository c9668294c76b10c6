"""Continues training a model exported by webgrad, on PyTorch, across processes and machines.

    torchrun --standalone --nproc_per_node auto --redirects 1 --tee 1 train.py --data PATH --epochs E --out FILE.safetensors

DistributedDataParallel over gloo on CPUs, nccl on GPUs: --nproc_per_node
auto starts one process per GPU, or one per CPU core without a GPU; give a
number to choose. --redirects 1 --tee 1 are needed by Debian's torch 1.13 on
Python 3.11, which otherwise fails at start with "'NoneType' object has no
attribute 'get'"; they are harmless elsewhere. On several machines, replace
--standalone with torchrun's --nnodes and --rdzv_endpoint options.
Without torchrun it runs as one process. --data takes what webgrad reads:
a folder of IDX files (MNIST / Fashion-MNIST layout, optionally .gz; pixels
scaled to [0, 1], images NHWC) or a CSV file with a header (the label column
is the last unless --label-column names another); for a character model
(one trained on text: its vocabulary is in webgrad.json) a UTF-8 text file,
read as webgrad reads it: the model's characters, the first 90% of the text
cut into windows of the model's context with the next character as every
position's target, the last 10% held out and its loss printed each epoch in
nats per character. The optimizer starts from
the state webgrad's had (model.load_optimizer), with its learning-rate
schedule from the next step on (model.make_scheduler) and its gradient
clipping (model.clip_gradients). --batch-size is per process,
so a step of N processes sees N times as many samples. The model and the
optimizer's state are written with model.save_webgrad: webgrad loads it
(webgrad predict / evaluate) and its fit goes on from there.
"""
import argparse
import csv
import gzip
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as exported  # noqa: E402

IDX_FILES = ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte')


def read_idx(path):
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as f:
        data = f.read()
    zero, kind, rank = struct.unpack('>HBB', data[:4])
    if zero != 0 or kind != 0x08:
        raise ValueError(f'{path}: not an IDX file of unsigned bytes')
    shape = struct.unpack('>' + 'I' * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(shape)


def find(folder, base):
    for name in (base, base + '.gz', base.replace('-idx', '.idx'), base.replace('-idx', '.idx') + '.gz'):
        if os.path.exists(os.path.join(folder, name)):
            return os.path.join(folder, name)
    raise FileNotFoundError(f'{folder}: no {base} (or {base}.gz)')


def load_data(path, label_column, class_names):
    """(x [n, *INPUT_SHAPE] float32, y labels int64 [n] or targets float32 [n, k])."""
    if os.path.isdir(path):
        images = read_idx(find(path, IDX_FILES[0])).astype(np.float32) / 255
        labels = read_idx(find(path, IDX_FILES[1])).astype(np.int64)
        x = images.reshape(len(images), -1)
        y = labels
    else:
        with open(path, newline='') as f:
            rows = list(csv.reader(f))
        header, rows = rows[0], rows[1:]
        at = len(header) - 1 if label_column is None else header.index(label_column)
        x = np.array([[float(v) for i, v in enumerate(r) if i != at] for r in rows], dtype=np.float32)
        raw = [r[at] for r in rows]
        if class_names:
            index = {name: i for i, name in enumerate(class_names)}
            unknown = sorted(set(raw) - set(index))
            if unknown:
                raise ValueError(f'{path}: labels {unknown[:5]} are not among the model\'s classes {class_names}')
            y = np.array([index[v] for v in raw], dtype=np.int64)
        else:
            y = np.array([float(v) for v in raw])
    size = int(np.prod(exported.INPUT_SHAPE))
    if x.shape[1] != size:
        raise ValueError(f'{path}: {x.shape[1]} values per sample; the model takes {size} {list(exported.INPUT_SHAPE)}')
    return torch.from_numpy(x.reshape(len(x), *exported.INPUT_SHAPE)), torch.from_numpy(y)


TEST_FRACTION = 0.1  # the share of a text, from its end, that webgrad holds out (src/data/text.ts)


def read_text(path):
    """A text file as webgrad's CLI reads it: UTF-8, undecodable bytes as U+FFFD, line endings untouched."""
    with open(path, encoding='utf-8', errors='replace', newline='') as f:
        return f.read()


def text_windows(ids, context):
    """Non-overlapping windows of `context` ids (x) and the id after each position (y), as webgrad cuts them."""
    n = (len(ids) - 1) // context
    x = ids[:n * context].reshape(n, context)
    y = ids[1:n * context + 1].reshape(n, context)
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.int64))


def load_text(path, vocabulary):
    """(train, test): windows of a character model's context from the first 90% and the last 10% of a text."""
    text = read_text(path)
    index = {chr(c): i for i, c in enumerate(vocabulary)}
    ids = np.empty(len(text), dtype=np.int64)
    for i, ch in enumerate(text):
        if ch not in index:
            raise ValueError(f'{path}: the character {ch!r} (U+{ord(ch):04X}, at position {i}) is not in the model\'s vocabulary of {len(vocabulary)} characters')
        ids[i] = index[ch]
    context = int(exported.INPUT_SHAPE[0])
    cut = int(len(ids) * (1 - TEST_FRACTION))
    for part, chars in (('the first 90% (training)', cut), ('the last 10% (test)', len(ids) - cut)):
        if chars < context + 1:
            raise ValueError(f'{path}: {len(ids)} characters give {part} {chars}, fewer than one window of {context} and its next character')
    return text_windows(ids[:cut], context), text_windows(ids[cut:], context)


def mean_loss(model, x, y, device, batch=256):
    """The compiled loss over a whole set, per sample (per character for a character model), in eval mode."""
    model.eval()
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb, yb = x[i:i + batch].to(device), y[i:i + batch].to(device)
            total += exported.loss_fn(model(xb, logits=True), yb, xb).item() * len(xb)
    return total / len(x)


def targets_for(loss, y, units):
    """Labels as the compiled loss takes them: indices, one-hot rows, or float targets."""
    if loss in ('sparseCategoricalCrossentropy', 'nll'):
        return y.long()
    if loss == 'categoricalCrossentropy' and y.dim() == 1:
        return torch.nn.functional.one_hot(y.long(), units).float()
    y = y.float()
    return y.reshape(len(y), -1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data', required=True, help='a folder of IDX files, a CSV file, or for a character model a text file')
    parser.add_argument('--epochs', type=int, required=True)
    parser.add_argument('--out', required=True, help='the webgrad model file to write')
    parser.add_argument('--batch-size', type=int, default=32, help='samples per step in each process (default 32)')
    parser.add_argument('--label-column', default=None, help='the CSV label column (default: the last)')
    parser.add_argument('--max-steps', type=int, default=None, help='stop after this many steps (for a quick check)')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    if args.epochs < 1 or args.batch_size < 1:
        parser.error('--epochs and --batch-size must be positive')
    if len(exported.INPUT_SHAPES) != 1 or exported.OUTPUT_COUNT != 1:
        # The formats --data reads (IDX, CSV, text) give one input and one target per sample.
        parser.error(f'the model has {len(exported.INPUT_SHAPES)} inputs and {exported.OUTPUT_COUNT} outputs; train.py trains models of one input and one output '
                     '(train a functional model with several in your own loop: model([a, b]) gives a tuple, loss_fn(outputs, [y1, y2]) weighs their losses)')
    if not os.path.exists(args.data):
        parser.error(f'--data {args.data}: no such file or folder (give a folder of IDX files or a CSV file)')

    distributed = 'RANK' in os.environ
    cuda = torch.cuda.is_available()
    if distributed:
        dist.init_process_group('nccl' if cuda else 'gloo')
    rank = dist.get_rank() if distributed else 0
    local = int(os.environ.get('LOCAL_RANK', 0))
    device = torch.device(f'cuda:{local}' if cuda else 'cpu')
    if cuda:
        torch.cuda.set_device(device)
    torch.manual_seed(args.seed)

    info = json.load(open(os.path.join(exported.HERE, 'webgrad.json')))
    compile_options = json.loads(info['metadata']['compile']) or {}
    loss = compile_options.get('loss')
    class_names = json.loads(info['metadata']['class_names']) if 'class_names' in info['metadata'] else None
    vocabulary = json.loads(info['metadata']['vocabulary']) if 'vocabulary' in info['metadata'] else None
    if vocabulary is not None:
        if os.path.isdir(args.data):
            parser.error(f'--data {args.data} is a folder; this is a character model: give the text file it learns from')
        (x, y), test = load_text(args.data, vocabulary)
    else:
        (x, y), test = load_data(args.data, args.label_column, class_names), None

    model = exported.load_model().to(device)
    opt = exported.load_optimizer(model)
    scheduler = exported.make_scheduler(opt)
    if rank == 0 and exported.OPTIMIZER_DIFFERS:
        print(f'note: {exported.OPTIMIZER_DIFFERS}', file=sys.stderr)
    units = model(x[:1].to(device)).shape[-1]
    data = TensorDataset(x, targets_for(loss, y, units))
    sampler = DistributedSampler(data, shuffle=True, seed=args.seed) if distributed else None
    loader = DataLoader(data, batch_size=args.batch_size, sampler=sampler, shuffle=sampler is None)
    net = DistributedDataParallel(model, device_ids=[local] if cuda else None) if distributed else model

    steps = 0
    for epoch in range(args.epochs):
        if sampler is not None:
            sampler.set_epoch(epoch)
        net.train()
        total, count = 0.0, 0
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            opt.zero_grad()
            batch_loss = exported.loss_fn(net(xb, logits=True), yb, xb) + model.penalty()
            batch_loss.backward()
            exported.clip_gradients(model)  # after DistributedDataParallel's all-reduce: every rank clips the same gradients
            opt.step()
            if scheduler is not None:
                scheduler.step()
            total += batch_loss.item() * len(xb)
            count += len(xb)
            steps += 1
            if args.max_steps is not None and steps >= args.max_steps:
                break
        if rank == 0:
            held_out = f', test loss {mean_loss(model, *test, device):.4f} nats/char' if test is not None else ''
            print(f'epoch {epoch + 1}/{args.epochs}: loss {total / max(count, 1):.4f} (rank 0, {count} samples){held_out}', flush=True)
        if args.max_steps is not None and steps >= args.max_steps:
            break

    if rank == 0:
        # The optimizer's state goes too, so webgrad's next step continues this run (every rank holds the same).
        exported.save_webgrad(model.eval().cpu(), args.out, optimizer=opt, step=exported.OPTIMIZER_STEP + steps)
        print(f'wrote {args.out}: load it in webgrad (webgrad predict {args.out} ...)', flush=True)
    if distributed:
        dist.barrier()
        dist.destroy_process_group()


if __name__ == '__main__':
    main()
