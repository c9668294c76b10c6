// The PyTorch import of the recurrent layers: a torch nn.RNN, nn.LSTM or
// nn.GRU of one layer (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0)
// into webgrad's SimpleRNN, LSTM or GRU, and one with bidirectional=True
// (the same with _reverse) into a Bidirectional layer.
import { ValueError } from '../core/errors.js';
import type { BidirectionalConfig } from '../nn/bidirectional-layer.js';
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
  return directionExpected(layer.config as RecurrentConfig, layer.name, `${layer.name}/`, '', specs);
}

/**
 * A bidirectional layer's weights from one torch module with
 * bidirectional=True: the half that reads the steps in order from torch's
 * forward direction (weight_ih_l0, ...), the other from its reverse one
 * (weight_ih_l0_reverse, ...), each as a one-direction layer's.
 */
export function bidirectionalExpected(layer: Layer, specs: readonly ParamSpec[]): Expected[] {
  const c = layer.config as BidirectionalConfig;
  return [c.layer, c.backwardLayer].flatMap((h) => {
    const prefix = `${c.name}/${h.name}/`;
    return directionExpected(h, `${c.name}/${h.name}`, prefix, h.goBackwards ? '_reverse' : '', specs.filter((s) => s.name.startsWith(prefix)));
  });
}

function directionExpected(c: RecurrentConfig, layer: string, prefix: string, suffix: string, specs: readonly ParamSpec[]): Expected[] {
  const gru = c.type === 'gru';
  if (gru && !c.resetAfter) {
    throw new ValueError(`importPytorch: layer ${layer} is a GRU with resetAfter false; torch's nn.GRU applies the reset gate after the recurrent matmul, with a recurrent bias: build the layer with resetAfter: true (Keras' default) to load it`);
  }
  const U = c.units;
  const t = (w: string) => `${w}_l0${suffix}`;
  const gates = (data: Float32Array, block: number) => (gru ? reorderGates(data, TORCH_GRU_ORDER, block) : data);
  return specs.map((spec): Expected => {
    const part = spec.name.slice(prefix.length);
    if (part === 'kernel' || part === 'recurrent_kernel') {
      const [K, GU] = spec.shape;
      return { spec, part: t(part === 'kernel' ? 'weight_ih' : 'weight_hh'), shape: [GU, K], convert: (w) => transposed([GU, K], gates(w, U * K)) };
    }
    if (part === 'recurrent_bias') return { spec, part: t('bias_hh'), shape: spec.shape, convert: (w) => gates(w, U) };
    if (gru) return { spec, part: t('bias_ih'), shape: spec.shape, convert: (w) => gates(w, U) };
    return { spec, part: t('bias_ih'), also: t('bias_hh'), shape: spec.shape, convert: (w, hh) => Float32Array.from(w, (v, i) => v + hh![i]) };
  });
}

/** A tensor of a second layer (num_layers > 1), or of the reverse direction where the layer has one direction, which no one webgrad layer holds. */
export function refuseStackedOrReverse(module: string, parts: Iterable<string>, layer: Layer, source: string): void {
  const both = layer.config.type === 'bidirectional';
  for (const part of parts) {
    const m = /^(weight|bias)_(ih|hh)_l(\d+)(_reverse)?$/.exec(part);
    if (!m || (m[3] === '0' && (!m[4] || both))) continue;
    const what = m[4] && m[3] === '0' ? 'the reverse direction of a bidirectional module' : `layer ${m[3]} of a module with num_layers > 1`;
    const takes = both
      ? 'takes one layer in both directions (weight_ih_l0, ..., weight_ih_l0_reverse, ...): save torch\'s module with num_layers=1, one per webgrad layer'
      : 'takes one layer in one direction (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0): save torch\'s module with num_layers=1 and bidirectional=False, one per webgrad layer, or wrap the layer in bidirectional()';
    throw new ValueError(`${source}: tensor '${module ? `${module}.${part}` : part}' is ${what}; layer ${layer.name} (${layer.config.type}) ${takes}`);
  }
}
