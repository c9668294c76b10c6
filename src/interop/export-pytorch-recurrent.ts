// The PyTorch export of the recurrent layers: SimpleRNN, LSTM and GRU as
// nn.RNN, nn.LSTM and nn.GRU (one layer, batch_first; Bidirectional as
// bidirectional=True), their
// weights in torch's layout and gate order, what the module's forward does
// around them (goBackwards, returnSequences), their dropout while training
// (model.py's variational_recurrent) and their regularizers. Where an
// Embedding's maskZero mask reaches them, the same loop keeps the state at
// padded steps (torch.where), which torch's modules cannot do.
import { ValueError } from '../core/errors.js';
import type { BidirectionalConfig } from '../nn/bidirectional-layer.js';
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
export function recurrentCode(b: Builder, c: RecurrentConfig, a: string, shape: number[], masked = false): void {
  refuseUnmapped(c, c.name);
  b.init.push(`self.${a} = ${moduleOf(c, shape[1])})`);
  direction(b, c, a, c.name, 'kernel', '');
  // webgrad reads the steps last to first and gives the states in that order: the input flipped, the output as torch gives it.
  if (c.goBackwards) b.body.push('x = torch.flip(x, dims=[1])  # goBackwards');
  if (masked) {
    // The mask in the order the layer reads the steps; the layers after it get it as it was, as Keras hands it on.
    const mask = c.goBackwards ? 'torch.flip(mask, dims=[1])' : 'mask';
    const rate = (r: number) => (r > 0 ? `${pyNum(r)} if self.training else 0.0` : '0.0');
    b.body.push(`x = variational_recurrent(self.${a}, ${pyStr(CELL[c.type])}, x, ${rate(c.dropout)}, ${rate(c.recurrentDropout)}, mask=${mask})  # padded steps keep the state`);
  } else if (c.dropout > 0 || c.recurrentDropout > 0) {
    // Keras' variational masks while training, which torch's module cannot apply: model.py runs the cell step by step then.
    b.body.push(`if self.training:\n    x = variational_recurrent(self.${a}, ${pyStr(CELL[c.type])}, x, ${pyNum(c.dropout)}, ${pyNum(c.recurrentDropout)})\nelse:\n    x, _ = self.${a}(x)`);
  } else {
    b.body.push(`x, _ = self.${a}(x)`);
  }
  if (!c.returnSequences) b.body.push('x = x[:, -1]  # the last state processed');
}

/** A torch module's constructor call, without its closing parenthesis: the direction(s) of one layer. */
const moduleOf = (c: RecurrentConfig, F: number) => `${MODULE[c.type]}(${pyNums([F, c.units])}${c.type === 'simpleRNN' ? ", nonlinearity='tanh'" : ''}, batch_first=True, bias=${pyBool(c.useBias)}`;

function refuseUnmapped(c: RecurrentConfig, layer: string): void {
  if (c.type === 'gru' && !c.resetAfter) {
    throw new ValueError(`export to PyTorch: ${layer} is a GRU with resetAfter false, which torch's nn.GRU has no counterpart for (it applies the reset gate after the recurrent matmul); build it with resetAfter: true (Keras' default) to export it`);
  }
}

/**
 * One direction's tensors, `suffix` '' (torch's forward direction, l0) or
 * '_reverse': weight_ih / weight_hh the kernels transposed, the biases, and
 * the regularizers on them. `layer`/`prefix` name the webgrad weights
 * (`dense_1`, `kernel`; a bidirectional half's `bi`, `forward_lstm/kernel`).
 */
function direction(b: Builder, c: RecurrentConfig, a: string, layer: string, prefix: string, suffix: string): void {
  const gru = c.type === 'gru';
  const part = (w: string) => prefix.replace(/kernel$/, w);
  const t = (w: string) => `${w}_l0${suffix}`;
  // weight_ih_l0 [G·U, F] is the kernel [F, G·U] transposed, weight_hh_l0 [G·U, U] the recurrent kernel's.
  b.put(`${a}.${t('weight_ih')}`, layer, part('kernel'), gru ? 'gruGates' : 'linear');
  b.put(`${a}.${t('weight_hh')}`, layer, part('recurrent_kernel'), gru ? 'gruGates' : 'linear');
  if (c.useBias) {
    b.put(`${a}.${t('bias_ih')}`, layer, part('bias'), gru ? 'gruBias' : 'same');
    if (gru) {
      // Keras' second bias row (resetAfter) is torch's bias_hh.
      b.put(`${a}.${t('bias_hh')}`, layer, part('recurrent_bias'), 'gruBias');
    } else {
      // torch adds two biases where webgrad (Keras) has one: bias_hh stays zero and
      // frozen, so that torch trains the one bias webgrad has; save_webgrad
      // refuses a model in which it moved (FROZEN_ZERO in model.py).
      b.zeros(`${a}.${t('bias_hh')}`, [c.units * (c.type === 'lstm' ? 4 : 1)]);
      b.init.push(`self.${a}.${t('bias_hh')}.requires_grad_(False)  # zero: webgrad's one bias is bias_ih`);
    }
  }
  b.penalties.push(
    ...penaltyTerms(a, [
      [c.kernelRegularizer, t('weight_ih')],
      [c.recurrentRegularizer, t('weight_hh')],
      [c.useBias ? c.biasRegularizer : undefined, t('bias_ih')],
      // webgrad regularizes the GRU's recurrent bias with the bias regularizer too.
      [c.useBias && gru ? c.biasRegularizer : undefined, t('bias_hh')],
    ]),
  );
}

const TORCH_MERGE = { concat: 'torch.cat([x_f, x_b], dim=-1)', sum: 'x_f + x_b', mul: 'x_f * x_b', ave: '(x_f + x_b) / 2' } as const;

/**
 * A bidirectional layer as one torch module with bidirectional=True. torch's
 * output [N, T, 2U] holds its forward direction, then its reverse one, both
 * in the input's step order: the half that does not go backwards is torch's
 * forward direction (weight_ih_l0, ...), the other its reverse
 * (weight_ih_l0_reverse, ...). Keras' concat of every step is torch's output
 * as it is; the last states are the forward direction's at the last step and
 * the reverse one's at the first (h_n[-2] and h_n[-1]).
 */
export function bidirectionalCode(b: Builder, c: BidirectionalConfig, a: string, shape: number[], masked = false): void {
  const { layer: f, backwardLayer: k } = c;
  for (const h of [f, k]) refuseUnmapped(h, `${c.name}/${h.name}`);
  if (f.useBias !== k.useBias) throw new ValueError(`export to PyTorch: ${c.name}'s halves differ in useBias (${f.useBias}, ${k.useBias}); torch's bidirectional module has one bias flag for both directions`);
  // torch's forward direction is the half that reads the steps in order.
  const [ahead, behind] = f.goBackwards ? [k, f] : [f, k];
  b.init.push(`self.${a} = ${moduleOf(f, shape[1])}, bidirectional=True)`);
  direction(b, ahead, a, c.name, `${ahead.name}/kernel`, '');
  direction(b, behind, a, c.name, `${behind.name}/kernel`, '_reverse');
  const U = f.units;
  const layout = `# [N, T, 2·${U}]: the forward direction, then the reverse one, both in the input's step order`;
  const dropped = [f, k].some((h) => h.dropout > 0 || h.recurrentDropout > 0);
  if (masked || dropped) {
    // torch's module can neither keep the state at padded steps nor drop Keras' way: model.py's loop runs each
    // direction over the module's own parameters (the reverse one on the steps flipped), laid out as the module's output.
    const rate = (r: number) => (r === 0 ? '0.0' : masked ? `${pyNum(r)} if self.training else 0.0` : pyNum(r));
    const run = (h: RecurrentConfig, input: string, mask: string, reverse: string) => `variational_recurrent(self.${a}, ${pyStr(CELL[h.type])}, ${input}, ${rate(h.dropout)}, ${rate(h.recurrentDropout)}, mask=${mask}${reverse})`;
    const loop = [
      `x_ahead = ${run(ahead, 'x', masked ? 'mask' : 'None', '')}`,
      `x_behind = torch.flip(${run(behind, 'torch.flip(x, dims=[1])', masked ? 'torch.flip(mask, dims=[1])' : 'None', ", direction='_reverse'")}, dims=[1])`,
      `x = torch.cat([x_ahead, x_behind], dim=-1)  ${layout}`,
    ];
    b.body.push(masked ? loop.join('\n') : `if self.training:\n${loop.map((l) => `    ${l}`).join('\n')}\nelse:\n    x, _ = self.${a}(x)`);
  } else {
    b.body.push(`x, _ = self.${a}(x)  ${layout}`);
  }
  // Keras' Bidirectional gives zeros at padded steps with returnSequences (zero_output_for_mask on its halves).
  // Its output's steps run backwards where its forward half reads backwards: so do the zeros.
  const padding = f.goBackwards ? 'torch.flip(mask, dims=[1])' : 'mask';
  const zeroPadded = () => masked && f.returnSequences && b.body.push(`x = x * ${padding}.unsqueeze(-1).to(x.dtype)  # zeros at padded steps, as Keras' Bidirectional`);
  if (f.returnSequences && c.mergeMode === 'concat' && !f.goBackwards) {
    zeroPadded();
    return;
  }
  const [fwd, rev] = [`x[..., :${U}]`, `x[..., ${U}:]`];
  if (f.returnSequences) {
    // Keras' forward half's states in the order it reads, and its backward half's flipped back: torch's own order unless the forward half goes backwards.
    b.body.push(f.goBackwards ? `x_f, x_b = torch.flip(${rev}, dims=[1]), torch.flip(${fwd}, dims=[1])` : `x_f, x_b = ${fwd}, ${rev}`);
  } else {
    const [last, first] = [`x[:, -1, :${U}]`, `x[:, 0, ${U}:]`];
    b.body.push(f.goBackwards ? `x_f, x_b = ${first}, ${last}` : `x_f, x_b = ${last}, ${first}`);
  }
  b.body.push(`x = ${TORCH_MERGE[c.mergeMode]}  # mergeMode ${c.mergeMode}`);
  zeroPadded();
}
