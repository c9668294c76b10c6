"""A model exported by webgrad: a torch.nn.Module, its weights and its optimizer.

    from model import load_model
    model = load_model('this folder')    # eval mode: dropout off, batch normalization's running statistics
    y = model(x)                         # x: float32 [n, *INPUT_SHAPE], as webgrad's predict takes it

The output is what webgrad's predict returns (after the last activation);
model(x, logits=True) stops before a final softmax or sigmoid, which the loss
(loss_fn) then applies itself, as webgrad trains. Images are NHWC, as in
webgrad and Keras; the module permutes them for torch. A functional model
with several inputs takes a list of them, model([a, b]) (INPUT_SHAPES), and
with several outputs returns a tuple (OUTPUT_COUNT), which loss_fn takes
with a list of targets.

To go on training: load_optimizer(model, folder) is the optimizer with the
state webgrad had, make_scheduler(optimizer) its learning-rate schedule from
the next step on, and clip_gradients(model), called between backward() and
step(), clips the gradients as webgrad did; train.py runs them under torchrun with
DistributedDataParallel; save_webgrad(model, path) writes a file webgrad loads.

This file is webgrad's template (src/interop/python/model.py): the export
replaces each line that is only a `# <slot>` comment with code generated
from the model's layers. Every string that comes from the model file (its
name, its layers' names) is written as an escaped literal, never as code.
"""
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# <constants>
HERE = os.path.dirname(os.path.abspath(__file__))


def read_safetensors(path):
    """A safetensors file as ({name: tensor}, metadata): an 8-byte little-endian header length, a JSON header, raw data."""
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for key, info in header.items():
        if key == '__metadata__':
            continue
        if info['dtype'] != 'F32':
            raise ValueError(f"{path}: tensor {key} is {info['dtype']}; this reader takes F32")
        begin, end = info['data_offsets']
        out[key] = torch.from_numpy(np.frombuffer(data[begin:end], dtype='<f4').reshape(info['shape']).copy())
    return out, header.get('__metadata__', {})


def write_safetensors(path, tensors, metadata):
    """Writes {name: tensor} as float32 safetensors, atomically (a temporary file, then a rename)."""
    header, chunks, offset = {'__metadata__': metadata}, [], 0
    for key, t in tensors.items():
        b = t.detach().cpu().contiguous().numpy().astype('<f4').tobytes()
        header[key] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [offset, offset + len(b)]}
        chunks.append(b)
        offset += len(b)
    text = json.dumps(header).encode()
    text += b' ' * (-len(text) % 8)
    tmp = f'{path}.tmp-{os.getpid()}'
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(chunks))
    os.replace(tmp, path)


class WebgradModel(nn.Module):
    def __init__(self):
        super().__init__()
        # <init>

    def forward(self, x, logits=False):
        # <forward>
        return x

    def penalty(self):
        """The regularizers' penalty, part of the loss as in webgrad (Keras): l1·Σ|w| + l2·Σw²."""
        p = torch.zeros(())
        # <penalty>
        return p


class MultiHeadAttention(nn.Module):
    """Keras' MultiHeadAttention, its weights in Keras' shapes as webgrad holds them: query, key and value kernels
    [features, heads, dim] and biases [heads, dim], the output kernel [heads, value_dim, out] and bias [out].
    forward(query, value, key=None, causal=False, mask=None): query [n, T, F], value and key [n, S, F'];
    causal lets step t attend keys s <= t only, mask [n, T, S] (1: attend, 0: not) is Keras' attention_mask.
    A query that may attend no key gives 0 from the heads (only the output bias), as webgrad's kernel does,
    where a plain masked softmax would give NaN. Dropout on the probabilities while training."""

    def __init__(self, query_features, key_features, value_features, heads, key_dim, value_dim, out_features, bias=True, dropout=0.0):
        super().__init__()
        # Registered in this order: torch's parameter order, which the exported optimizer state follows.
        for part, features, dim in (('query', query_features, key_dim), ('key', key_features, key_dim), ('value', value_features, value_dim)):
            self.register_parameter(f'{part}_kernel', nn.Parameter(torch.zeros(features, heads, dim)))
            self.register_parameter(f'{part}_bias', nn.Parameter(torch.zeros(heads, dim)) if bias else None)
        self.output_kernel = nn.Parameter(torch.zeros(heads, value_dim, out_features))
        self.register_parameter('output_bias', nn.Parameter(torch.zeros(out_features)) if bias else None)
        self.scale = 1 / math.sqrt(key_dim)
        self.dropout = dropout

    @staticmethod
    def heads(x, kernel, bias):
        """x [n, T, F] projected to heads [n, H, T, d]."""
        y = torch.einsum('ntf,fhd->nhtd', x, kernel)
        return y if bias is None else y + bias.unsqueeze(1)

    def forward(self, query, value, key=None, causal=False, mask=None):
        key = value if key is None else key
        q = self.heads(query, self.query_kernel, self.query_bias)
        k = self.heads(key, self.key_kernel, self.key_bias)
        v = self.heads(value, self.value_kernel, self.value_bias)
        scores = torch.matmul(q, k.transpose(-1, -2)) * self.scale  # [n, H, T, S]
        allowed = None
        if causal:
            allowed = torch.ones(scores.shape[-2:], dtype=torch.bool, device=scores.device).tril()
        if mask is not None:
            given = (mask != 0).unsqueeze(1)  # [n, 1, T, S], the same for every head
            allowed = given if allowed is None else allowed & given
        if allowed is None:
            p = torch.softmax(scores, dim=-1)
        else:
            # A row with no key allowed would be softmax of -inf only (NaN): its scores are zeros instead, its probabilities then 0.
            any_key = allowed.any(dim=-1, keepdim=True)
            scores = scores.masked_fill(~allowed, float('-inf')).masked_fill(~any_key, 0.0)
            p = torch.softmax(scores, dim=-1).masked_fill(~any_key, 0.0)
        if self.dropout > 0:
            p = F.dropout(p, self.dropout, self.training)
        y = torch.einsum('nhtd,hdo->nto', torch.matmul(p, v), self.output_kernel)
        return y if self.output_bias is None else y + self.output_bias


def dropout_mask(ones, rate):
    """0 or 1/(1 - rate) per element (inverted dropout of ones), a fresh draw at each call."""
    return F.dropout(ones, rate, training=True)


def variational_recurrent(module, cell, x, dropout, recurrent_dropout, mask=None, direction=''):
    """A recurrent layer while training with Keras' dropout and recurrent_dropout, as webgrad trains it;
    and, with `mask` (bool [n, steps], False at the padded steps of an Embedding's mask_zero, in the order
    the layer reads the steps), one whose padded steps keep the state, their output the state carried (Keras).

    The masks are variational (Keras' DropoutRNNCell; Gal and Ghahramani 2016): one input mask per sample and
    feature and one recurrent mask per sample and unit, drawn once per call and kept for every step. The input
    mask multiplies x; the recurrent mask multiplies h_prev where it enters the recurrent matmul only (a GRU's
    z * h_prev and an LSTM's c are not masked). torch's nn.RNN, nn.LSTM and nn.GRU cannot do this, so the cell
    runs step by step over the module's own parameters, its gates in torch's order (LSTM i, f, g, o; GRU r, z, n).
    x: [n, steps, features] in the order the layer reads it; returns every step's state [n, steps, units], as
    module(x)[0] does (and equals it with both rates 0). direction '_reverse' runs a bidirectional module's
    reverse direction's parameters (weight_ih_l0_reverse, ...) on x as given: flip x (and the mask) for it.
    """
    n, steps, features = x.shape
    units = module.hidden_size
    if dropout > 0:
        x = x * dropout_mask(x.new_ones(n, 1, features), dropout)
    keep = dropout_mask(x.new_ones(n, units), recurrent_dropout) if recurrent_dropout > 0 else None
    def weight(name):
        return getattr(module, f'{name}_l0{direction}')
    xp = F.linear(x, weight('weight_ih'), weight('bias_ih') if module.bias else None)
    bias_hh = weight('bias_hh') if module.bias else None
    h = x.new_zeros(n, units)
    c = x.new_zeros(n, units)
    states = []
    for t in range(steps):
        hh = F.linear(h if keep is None else h * keep, weight('weight_hh'), bias_hh)
        c_new = c
        if cell == 'lstm':
            i, f, g, o = (xp[:, t] + hh).chunk(4, 1)
            c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h_new = torch.sigmoid(o) * torch.tanh(c_new)
        elif cell == 'gru':
            xr, xz, xn = xp[:, t].chunk(3, 1)
            hr, hz, hn = hh.chunk(3, 1)
            r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
            h_new = (1 - z) * torch.tanh(xn + r * hn) + z * h
        elif cell == 'rnn':
            h_new = torch.tanh(xp[:, t] + hh)
        else:
            raise ValueError(f'variational_recurrent: unknown cell {cell!r}')
        if mask is None:
            h, c = h_new, c_new
        else:
            real = mask[:, t:t + 1]
            h, c = torch.where(real, h_new, h), torch.where(real, c_new, c)
        states.append(h)
    return torch.stack(states, 1)


def loss_fn(output, target, x=None):
    """The compiled loss of model(x, logits=True) against the targets, averaged over the batch (x: the model's input, which a mask of padded steps comes from)."""
    # <loss>


def make_optimizer(model):
    """The optimizer webgrad compiled, in torch; OPTIMIZER_DIFFERS says where torch's rule is not webgrad's (None: the same rule)."""
    params = [p for p in model.parameters() if p.requires_grad]  # not an RNN's frozen bias_hh (FROZEN_ZERO)
    # <make_optimizer>


# <optimizer_constants>


def clip_gradients(model):
    """Clips the gradients as webgrad's optimizer does before its update (Keras' clipnorm, global_clipnorm or
    clipvalue, compiled with the model); call it between loss.backward() and optimizer.step()."""
    params = [p for p in model.parameters() if p.requires_grad and p.grad is not None]
    # <clip_gradients>


def make_scheduler(optimizer):
    """torch's LambdaLR that gives the optimizer webgrad's learning-rate schedule from its next step
    (OPTIMIZER_STEP + 1) on; call its step() after each optimizer.step(). None for a constant rate."""
    # <make_scheduler>


def load_model(folder=HERE):
    """The model with its weights loaded, in eval mode."""
    model = WebgradModel()
    state, _ = read_safetensors(os.path.join(folder, 'model.safetensors'))
    for key, module in model.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            state[f'{key}.num_batches_tracked'] = torch.tensor(0, dtype=torch.long)
    model.load_state_dict(state, strict=True)
    return model.eval()


def load_optimizer(model, folder=HERE):
    """make_optimizer(model) holding the state webgrad's optimizer had (its slots, in torch's layout, and its step)."""
    opt = make_optimizer(model)
    path = os.path.join(folder, 'optimizer.safetensors')
    if not os.path.exists(path):
        return opt  # the model had not trained: the state starts at zero, as webgrad's
    tensors, meta = read_safetensors(path)
    params = [p for p in model.parameters() if p.requires_grad]  # make_optimizer's, in its order
    step = int(meta['step'])
    state = {}
    for i, p in enumerate(params):
        s = {name: tensors.pop(f'state.{i}.{name}').to(p.device) for name in OPTIMIZER_STATE}
        if isinstance(opt, (torch.optim.Adam, torch.optim.AdamW)):
            s['step'] = torch.tensor(float(step))
        elif isinstance(opt, torch.optim.RMSprop):
            s['step'] = step
        if s:
            state[i] = s
    if tensors:
        raise ValueError(f'{path}: tensors {sorted(tensors)} belong to no parameter of the model')
    opt.load_state_dict({'state': state, 'param_groups': opt.state_dict()['param_groups']})
    return opt


def _swap_gru_gates(t):
    """torch's GRU gate blocks r, z, n (rows) as Keras' z, r, h, and back: the first two swapped."""
    u = t.shape[0] // 3
    return torch.cat([t[u:2 * u], t[:u], t[2 * u:]])


def _to_webgrad(conversion, t):
    """A torch tensor in webgrad's layout: Linear, RNN and LSTM weights [out, in] to [in, out]; Conv2d [out, in, kh, kw]
    to [kh, kw, in, out]; GRU weights [3U, in] to [in, 3U] and GRU biases, their gates from r, z, n to z, r, h."""
    if conversion == 'linear':
        return t.t()
    if conversion == 'conv':
        return t.permute(2, 3, 1, 0)
    if conversion == 'gruGates':
        return _swap_gru_gates(t).t()
    if conversion == 'gruBias':
        return _swap_gru_gates(t)
    if conversion != 'same':
        raise ValueError(f'unknown conversion {conversion!r} in webgrad.json (a newer webgrad export?)')
    return t


def _from_webgrad(conversion, t):
    if conversion == 'linear':
        return t.t()
    if conversion == 'conv':
        return t.permute(3, 2, 0, 1)
    if conversion == 'gruGates':
        return _swap_gru_gates(t.t())
    if conversion == 'gruBias':
        return _swap_gru_gates(t)
    if conversion != 'same':
        raise ValueError(f'unknown conversion {conversion!r} in webgrad.json (a newer webgrad export?)')
    return t


def save_webgrad(model, path, folder=HERE, optimizer=None, step=None):
    """Writes the model as a webgrad model file (webgrad's names and layouts), which webgrad loads and trains on.

    With the optimizer (make_optimizer's or load_optimizer's) and the step count, its state goes in
    too, as webgrad's optimizer slots, so webgrad's next step continues where torch's stopped.
    """
    info = json.load(open(os.path.join(folder, 'webgrad.json')))
    state = model.state_dict()
    tensors = {}

    def put(name, key, conversion, t, shape):
        w = _to_webgrad(conversion, t.detach().float())
        if list(w.shape) != shape:
            raise ValueError(f"{key}: shape {list(w.shape)} in webgrad's layout, expected {shape}")
        if not torch.isfinite(w).all():
            raise ValueError(f"{key}: holds NaN or infinite values; not written (a webgrad model file never holds them)")
        tensors[name] = w

    for key in FROZEN_ZERO:
        if state[key].abs().max() > 0:
            raise ValueError(f"{key}: nonzero, but webgrad's layer has one bias (torch's bias_ih): keep {key} frozen at zero")
    for t in info['tensors']:
        put(f"weights/{t['name']}", t['key'], t['conversion'], state[t['key']], t['shape'])
    metadata = dict(info['metadata'])
    if optimizer is not None:
        if step is None:
            raise ValueError('save_webgrad: give the step count with the optimizer (OPTIMIZER_STEP plus the steps torch took)')
        slots = optimizer.state_dict()['state']
        for i, t in enumerate(x for x in info['tensors'] if x['trainable']):
            for k, name in enumerate(OPTIMIZER_STATE):
                if i not in slots or name not in slots[i]:
                    raise ValueError(f"save_webgrad: the optimizer holds no {name} for parameter {i} ({t['key']}); has it taken a step?")
                put(f"optimizer/{t['name']}/{k}", f"{t['key']} {name}", t['conversion'], slots[i][name], t['shape'])
        metadata['optimizer_step'] = str(int(step))
    write_safetensors(path, tensors, metadata)


def load_webgrad(path, folder=HERE):
    """A webgrad model file of this architecture (one save_webgrad wrote) as the torch module, in eval mode."""
    info = json.load(open(os.path.join(folder, 'webgrad.json')))
    weights, _ = read_safetensors(path)
    model = load_model(folder)  # the input scaler's buffers and the architecture; the weights come from the file
    state = model.state_dict()
    for t in info['tensors']:
        state[t['key']] = _from_webgrad(t['conversion'], weights[f"weights/{t['name']}"])
    model.load_state_dict(state, strict=True)
    return model.eval()
