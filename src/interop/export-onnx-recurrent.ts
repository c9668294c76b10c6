// The ONNX export of the recurrent layers: ONNX's RNN, LSTM and GRU operators
// (opset 17), one direction, layout 0 ([steps, batch, features]: onnxruntime's
// CPU kernels take no other), with transposes in and out.
import type { RecurrentConfig } from '../nn/recurrent-layers.js';
import type { ExportedWeight } from './export-common.js';
import { reorderGates, transposed } from './export-common.js';
import type { OnnxGraph } from './export-onnx.js';
import type { Attribute } from './onnx-proto.js';

/** Each kind's operator and the order ONNX wants Keras' gate blocks in: LSTM i, f, c, o → i, o, f, c; GRU z, r, h is ONNX's own. */
const OPERATOR = {
  simpleRNN: { op: 'RNN', gates: [0] },
  lstm: { op: 'LSTM', gates: [0, 3, 1, 2] },
  gru: { op: 'GRU', gates: [0, 1, 2] },
} as const;

/**
 * A recurrent layer on the current value [N, T, F], leaving [N, U] (the
 * last state processed) or [N, T, U] (every state, in the order processed,
 * as webgrad gives them). goBackwards reverses the input's steps (a Slice of
 * step −1) and runs forward: direction 'reverse' would give the states in
 * input order instead. dropout and recurrentDropout act in training only, and
 * an ONNX export is for inference: the rates are not exported, as Keras' and
 * torch's ONNX exporters leave dropout out of an inference graph.
 */
export function recurrentNodes(g: OnnxGraph, c: RecurrentConfig, weight: (part: string) => ExportedWeight): void {
  const { op, inputs, attrs } = recurrentOperator(g, c, weight, c.name);
  g.apply('Transpose', `${c.name}/to_steps_first`, { perm: { ints: [1, 0, 2] } });
  if (c.goBackwards) {
    const at = (what: string, v: number) => g.weight(`${c.name}/reverse_${what}`, [1], BigInt64Array.of(BigInt(v)));
    // From the last step to before the first, by −1: the steps reversed (an end below −T is clamped to before 0).
    g.x = g.op('Slice', [g.x, at('start', -1), at('end', -(2 ** 62)), at('axis', 0), at('step', -1)], `${c.name}/go_backwards`);
  }
  // Outputs Y [T, 1, N, U] (every state) and Y_h [1, N, U] (the last).
  const [y, yh] = g.outputs(op, [g.x, ...inputs], [`${c.name}/${op.toLowerCase()}_y`, `${c.name}/${op.toLowerCase()}_y_h`], attrs);
  const axis = (v: number) => g.weight(`${c.name}/axis_${v}`, [1], BigInt64Array.of(BigInt(v)));
  if (c.returnSequences) {
    g.x = g.op('Squeeze', [y, axis(1)], `${c.name}/states`);
    g.apply('Transpose', `${c.name}/to_batch_first`, { perm: { ints: [1, 0, 2] } });
  } else {
    g.x = g.op('Squeeze', [yh, axis(0)], `${c.name}/last_state`);
  }
}

/**
 * A one-direction layer's operator, its W, R and B initializers (named after
 * `prefix`; no B without a bias) and attributes. ONNX's W [1, G·U, F] and
 * R [1, G·U, U] are Keras' kernels [F, G·U] and [U, G·U] transposed, gates reordered.
 */
export function recurrentOperator(g: OnnxGraph, c: RecurrentConfig, weight: (part: string) => ExportedWeight, prefix: string): { op: string; inputs: string[]; attrs: Record<string, Attribute> } {
  const U = c.units;
  const { op, gates } = OPERATOR[c.type];
  const G = gates.length;
  const onnxLayout = (w: ExportedWeight) => reorderGates(transposed(w.shape, w.data), gates, U * w.shape[0]);
  const k = weight('kernel');
  const F = k.shape[0];
  const inputs = [g.weight(`${prefix}/W`, [1, G * U, F], onnxLayout(k)), g.weight(`${prefix}/R`, [1, G * U, U], onnxLayout(weight('recurrent_kernel')))];
  const resetAfter = c.type === 'gru' && c.resetAfter;
  if (c.useBias) {
    // B is [Wb, Rb]: Keras' one bias is Wb; Rb is the GRU's recurrent bias with resetAfter, zeros otherwise.
    const B = new Float32Array(2 * G * U);
    B.set(reorderGates(weight('bias').data, gates, U));
    if (resetAfter) B.set(weight('recurrent_bias').data, G * U);
    inputs.push(g.weight(`${prefix}/B`, [1, 2 * G * U], B));
  }
  return { op, inputs, attrs: { hidden_size: { int: U }, ...(c.type === 'gru' ? { linear_before_reset: { int: resetAfter ? 1 : 0 } } : {}) } };
}
