// The PyTorch export of the recurrent layers: SimpleRNN, LSTM and GRU as
// nn.RNN, nn.LSTM and nn.GRU (one layer, one direction, batch_first), their
// weights in torch's layout and gate order, what the module's forward does
// around them (goBackwards, returnSequences), their dropout while training
// (model.py's variational_recurrent) and their regularizers.
import { ValueError } from '../core/errors.js';
import type { RecurrentConfig } from '../nn/recurrent-layers.js';
import type { Builder } from './export-pytorch.js';
import { penaltyTerms } from './export-pytorch-train.js';
import { pyBool, pyNum, pyNums, pyStr } from './python-source.js';

const MODULE = { simpleRNN: 'nn.RNN', lstm: 'nn.LSTM', gru: 'nn.GRU' } as const;
/** The cell model.py's variational_recurrent runs. */
const CELL = { simpleRNN: 'rnn', lstm: 'lstm', gru: 'gru' } as const;

/**
 * The module and forward lines of a recurrent layer named `a` on sequences
 * [steps, features]. torch's LSTM gates i, f, g, o are Keras' i, f, c, o: the
 * kernels are only transposed. torch's GRU gates r, z, n are Keras' z, r, h
 * reordered, and torch's GRU is Keras' resetAfter form (the reset gate on
 * the recurrent projection and its own bias), so resetAfter false has no
 * torch counterpart and is refused by name.
 */
export function recurrentCode(b: Builder, c: RecurrentConfig, a: string, shape: number[]): void {
  if (c.type === 'gru' && !c.resetAfter) {
    throw new ValueError(`export to PyTorch: ${c.name} is a GRU with resetAfter false, which torch's nn.GRU has no counterpart for (it applies the reset gate after the recurrent matmul); build it with resetAfter: true (Keras' default) to export it`);
  }
  const F = shape[1];
  const gru = c.type === 'gru';
  // weight_ih_l0 [G·U, F] is the kernel [F, G·U] transposed, weight_hh_l0 [G·U, U] the recurrent kernel's.
  b.put(`${a}.weight_ih_l0`, c.name, 'kernel', gru ? 'gruGates' : 'linear');
  b.put(`${a}.weight_hh_l0`, c.name, 'recurrent_kernel', gru ? 'gruGates' : 'linear');
  const nonlinearity = c.type === 'simpleRNN' ? ", nonlinearity='tanh'" : '';
  b.init.push(`self.${a} = ${MODULE[c.type]}(${pyNums([F, c.units])}${nonlinearity}, batch_first=True, bias=${pyBool(c.useBias)})`);
  if (c.useBias) {
    b.put(`${a}.bias_ih_l0`, c.name, 'bias', gru ? 'gruBias' : 'same');
    if (gru) {
      // Keras' second bias row (resetAfter) is torch's bias_hh.
      b.put(`${a}.bias_hh_l0`, c.name, 'recurrent_bias', 'gruBias');
    } else {
      // torch adds two biases where webgrad (Keras) has one: bias_hh stays zero and
      // frozen, so that torch trains the one bias webgrad has; save_webgrad
      // refuses a model in which it moved (FROZEN_ZERO in model.py).
      b.zeros(`${a}.bias_hh_l0`, [c.units * (c.type === 'lstm' ? 4 : 1)]);
      b.init.push(`self.${a}.bias_hh_l0.requires_grad_(False)  # zero: webgrad's one bias is bias_ih`);
    }
  }
  b.penalties.push(
    ...penaltyTerms(a, [
      [c.kernelRegularizer, 'weight_ih_l0'],
      [c.recurrentRegularizer, 'weight_hh_l0'],
      [c.useBias ? c.biasRegularizer : undefined, 'bias_ih_l0'],
      // webgrad regularizes the GRU's recurrent bias with the bias regularizer too.
      [c.useBias && gru ? c.biasRegularizer : undefined, 'bias_hh_l0'],
    ]),
  );
  // webgrad reads the steps last to first and gives the states in that order: the input flipped, the output as torch gives it.
  if (c.goBackwards) b.body.push('x = torch.flip(x, dims=[1])  # goBackwards');
  if (c.dropout > 0 || c.recurrentDropout > 0) {
    // Keras' variational masks while training, which torch's module cannot apply: model.py runs the cell step by step then.
    b.body.push(`if self.training:\n    x = variational_recurrent(self.${a}, ${pyStr(CELL[c.type])}, x, ${pyNum(c.dropout)}, ${pyNum(c.recurrentDropout)})\nelse:\n    x, _ = self.${a}(x)`);
  } else {
    b.body.push(`x, _ = self.${a}(x)`);
  }
  if (!c.returnSequences) b.body.push('x = x[:, -1]  # the last state processed');
}
