"""Keras' default initialisation of an LSTM and a Dense layer, on torch modules (webgrad's, src/nn/initializers).

Shared by the example scripts that train PyTorch beside webgrad (lstm_digits_torch.py, char_model_torch.py):
the input kernel glorot uniform (xavier_uniform_ on weight_ih: the same fans), the recurrent kernel
orthogonal (orthogonal_ on weight_hh, the transpose of Keras' kernel with orthonormal rows), biases zero but
the forget gate's at 1 (unitForgetBias: rows units..2*units of bias_ih in torch's i, f, g, o order; bias_hh
stays 0, so the sum is Keras' one bias); a Dense layer glorot uniform with a zero bias. The draws come in
this order, which the recorded runs in examples/results depend on.
"""
import torch
from torch import nn


def keras_lstm_(lstm):
    """A one-layer nn.LSTM initialised as Keras' LSTM (unit_forget_bias), in place."""
    units = lstm.hidden_size
    with torch.no_grad():
        nn.init.xavier_uniform_(lstm.weight_ih_l0)
        nn.init.orthogonal_(lstm.weight_hh_l0)
        lstm.bias_ih_l0.zero_()
        lstm.bias_ih_l0[units:2 * units] = 1.0
        lstm.bias_hh_l0.zero_()


def keras_dense_(linear):
    """An nn.Linear initialised as Keras' Dense, in place."""
    with torch.no_grad():
        nn.init.xavier_uniform_(linear.weight)
        linear.bias.zero_()
