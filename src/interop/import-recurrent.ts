// The PyTorch import of the recurrent layers: a torch nn.RNN, nn.LSTM or
// nn.GRU of one layer and one direction (weight_ih_l0, weight_hh_l0,
// bias_ih_l0, bias_hh_l0) into webgrad's SimpleRNN, LSTM or GRU.
import { ValueError } from '../core/errors.js';
import type { Layer, ParamSpec } from '../nn/layers.js';
import type { RecurrentConfig } from '../nn/recurrent-layers.js';
import { reorderGates, TORCH_GRU_ORDER, transposed } from './export-common.js';
import type { Expected } from './import-pytorch.js';

/**
 * How each weight of a recurrent layer comes from torch's: the kernels
 * transposed ([G·U, in] → [in, G·U]), a GRU's gate blocks from torch's r, z, n
 * to Keras' z, r, h; an RNN's or LSTM's one bias the sum bias_ih + bias_hh
 * (torch adds both at every step); a GRU's bias from bias_ih and its
 * recurrent bias from bias_hh. torch's GRU is Keras' resetAfter form: a
 * GRU built with resetAfter false is refused by name.
 */
export function recurrentExpected(layer: Layer, specs: readonly ParamSpec[]): Expected[] {
  const c = layer.config as RecurrentConfig;
  const gru = c.type === 'gru';
  if (gru && !c.resetAfter) {
    throw new ValueError(`importPytorch: layer ${c.name} is a GRU with resetAfter false; torch's nn.GRU applies the reset gate after the recurrent matmul, with a recurrent bias: build the layer with resetAfter: true (Keras' default) to load it`);
  }
  const U = c.units;
  const gates = (data: Float32Array, block: number) => (gru ? reorderGates(data, TORCH_GRU_ORDER, block) : data);
  return specs.map((spec): Expected => {
    const part = spec.name.slice(c.name.length + 1);
    if (part === 'kernel' || part === 'recurrent_kernel') {
      const [K, GU] = spec.shape;
      return { spec, part: part === 'kernel' ? 'weight_ih_l0' : 'weight_hh_l0', shape: [GU, K], convert: (t) => transposed([GU, K], gates(t, U * K)) };
    }
    if (part === 'recurrent_bias') return { spec, part: 'bias_hh_l0', shape: spec.shape, convert: (t) => gates(t, U) };
    if (gru) return { spec, part: 'bias_ih_l0', shape: spec.shape, convert: (t) => gates(t, U) };
    return { spec, part: 'bias_ih_l0', also: 'bias_hh_l0', shape: spec.shape, convert: (t, hh) => Float32Array.from(t, (v, i) => v + hh![i]) };
  });
}

/** A tensor of a second layer (num_layers > 1) or of the reverse direction (bidirectional), which no one webgrad layer holds. */
export function refuseStackedOrReverse(module: string, parts: Iterable<string>, layer: Layer, source: string): void {
  for (const part of parts) {
    const m = /^(weight|bias)_(ih|hh)_l(\d+)(_reverse)?$/.exec(part);
    if (!m || (m[3] === '0' && !m[4])) continue;
    const what = m[4] ? 'the reverse direction of a bidirectional module' : `layer ${m[3]} of a module with num_layers > 1`;
    throw new ValueError(`${source}: tensor '${module ? `${module}.${part}` : part}' is ${what}; layer ${layer.name} (${layer.config.type}) takes one layer in one direction (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0): save torch's module with num_layers=1 and bidirectional=False, one per webgrad layer`);
  }
}
