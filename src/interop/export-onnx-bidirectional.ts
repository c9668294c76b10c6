// The ONNX export of a Bidirectional layer: one RNN, LSTM or GRU operator
// with direction "bidirectional" (opset 17, layout 0), its two directions'
// outputs merged as the layer's mergeMode says.
import { ValueError } from '../core/errors.js';
import type { BidirectionalConfig, MergeMode } from '../nn/bidirectional-layer.js';
import type { RecurrentConfig } from '../nn/recurrent-layers.js';
import type { ExportedWeight } from './export-common.js';
import { reorderGates, transposed } from './export-common.js';
import type { OnnxGraph } from './export-onnx.js';

/** Each kind's operator and the order ONNX wants Keras' gate blocks in: LSTM i, f, c, o → i, o, f, c; GRU z, r, h is ONNX's own. */
const OPERATOR = {
  simpleRNN: { op: 'RNN', gates: [0] },
  lstm: { op: 'LSTM', gates: [0, 3, 1, 2] },
  gru: { op: 'GRU', gates: [0, 1, 2] },
} as const;

/** One direction's W [G·U, F], R [G·U, U] and B [2·G·U] (Keras' bias, then the GRU's recurrent bias; zeros where the half has none). */
function direction(h: RecurrentConfig, weight: (part: string) => ExportedWeight): { W: Float32Array; R: Float32Array; B: Float32Array } {
  const U = h.units;
  const { gates } = OPERATOR[h.type];
  const G = gates.length;
  const onnxLayout = (w: ExportedWeight) => reorderGates(transposed(w.shape, w.data), gates, U * w.shape[0]);
  const B = new Float32Array(2 * G * U);
  if (h.useBias) {
    B.set(reorderGates(weight('bias').data, gates, U));
    if (h.type === 'gru' && h.resetAfter) B.set(weight('recurrent_bias').data, G * U);
  }
  return { W: onnxLayout(weight('kernel')), R: onnxLayout(weight('recurrent_kernel')), B };
}

const joined = (a: Float32Array, b: Float32Array) => {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
};

/**
 * A bidirectional layer on the current value [N, T, F], leaving what webgrad
 * gives: [N, T, 2U] or [N, 2U] (concat), [N, T, U] or [N, U] (the others).
 * ONNX's forward direction (0) is the half that reads the steps in order,
 * its reverse one (1) the other; Y [T, 2, N, U] holds both in the input's
 * step order, Y_h [2, N, U] their last states (the reverse one's after step 0).
 */
export function bidirectionalNodes(g: OnnxGraph, c: BidirectionalConfig, weight: (half: string, part: string) => ExportedWeight): void {
  const { layer: f, backwardLayer: k } = c;
  const [ahead, behind] = f.goBackwards ? [k, f] : [f, k];
  const resetAfter = (h: RecurrentConfig) => h.type === 'gru' && h.resetAfter;
  const gru = f.type === 'gru';
  // ONNX's linear_before_reset is one attribute for both directions.
  if (gru && resetAfter(f) !== resetAfter(k)) throw new ValueError(`export to ONNX: ${c.name}'s halves differ in resetAfter (${resetAfter(f)}, ${resetAfter(k)}); ONNX's GRU takes one linear_before_reset for both directions`);
  const U = f.units;
  const { op, gates } = OPERATOR[f.type];
  const G = gates.length;
  const [a, b] = [ahead, behind].map((h) => direction(h, (part) => weight(h.name, part)));
  const F = a.W.length / (G * U);
  const useBias = f.useBias || k.useBias;
  const inputs = [g.weight(`${c.name}/W`, [2, G * U, F], joined(a.W, b.W)), g.weight(`${c.name}/R`, [2, G * U, U], joined(a.R, b.R))];
  if (useBias) inputs.push(g.weight(`${c.name}/B`, [2, 2 * G * U], joined(a.B, b.B)));
  g.apply('Transpose', `${c.name}/to_steps_first`, { perm: { ints: [1, 0, 2] } });
  const attrs = { hidden_size: { int: U }, direction: { string: 'bidirectional' }, ...(gru ? { linear_before_reset: { int: resetAfter(f) ? 1 : 0 } } : {}) };
  const [y, yh] = g.outputs(op, [g.x, ...inputs], [`${c.name}/${op.toLowerCase()}_y`, `${c.name}/${op.toLowerCase()}_y_h`], attrs);
  const ints = (what: string, v: number[]) => g.weight(`${c.name}/${what}`, [v.length], BigInt64Array.from(v, BigInt));
  if (f.returnSequences && c.mergeMode === 'concat' && !f.goBackwards) {
    // [T, 2, N, U] → [N, T, 2, U] → [N, T, 2U]: each step the forward states, then the reverse ones (Keras' concat).
    const steps = g.op('Transpose', [y], `${c.name}/to_batch_first`, { perm: { ints: [2, 0, 1, 3] } });
    g.x = g.op('Reshape', [steps, ints('concat_shape', [0, 0, 2 * U])], `${c.name}/concat`);
    return;
  }
  // The two directions apart: [T, N, U] each (every step) or [N, U] (the last states).
  const seq = f.returnSequences;
  const [d0, d1] = g.outputs('Split', [seq ? y : yh], [`${c.name}/forward_direction`, `${c.name}/reverse_direction`], { axis: { int: seq ? 1 : 0 } });
  const squeeze = (v: string) => g.op('Squeeze', [v, ints(`axis_${seq ? 1 : 0}`, [seq ? 1 : 0])], `${v}/squeezed`);
  let [fwd, rev] = [squeeze(d0), squeeze(d1)];
  if (f.goBackwards) {
    // Keras' forward half is ONNX's reverse direction: its states in the order it reads them, and the other half's flipped.
    [fwd, rev] = [rev, fwd];
    if (seq) [fwd, rev] = [fwd, rev].map((v) => g.op('Slice', [v, ints('start', [-1]), ints('end', [-(2 ** 62)]), ints('axis_0', [0]), ints('step', [-1])], `${v}/flipped`));
  }
  if (seq) [fwd, rev] = [fwd, rev].map((v) => g.op('Transpose', [v], `${v}/batch_first`, { perm: { ints: [1, 0, 2] } }));
  g.x = merge(g, c.name, c.mergeMode, fwd, rev);
}

/** The two halves' outputs merged as mergeMode says (Keras' Bidirectional). */
export function merge(g: OnnxGraph, name: string, mode: MergeMode, y: string, yRev: string): string {
  switch (mode) {
    case 'concat':
      return g.op('Concat', [y, yRev], `${name}/concat`, { axis: { int: -1 } });
    case 'sum':
      return g.op('Add', [y, yRev], `${name}/sum`);
    case 'mul':
      return g.op('Mul', [y, yRev], `${name}/mul`);
    case 'ave':
      // (y + y_rev) / 2: halving is exact, as webgrad's scale by 0.5.
      return g.op('Mul', [g.op('Add', [y, yRev], `${name}/sum`), g.scalar(0.5)], `${name}/ave`);
    default: {
      const unknown: never = mode;
      throw new ValueError(`export to ONNX: ${name}: mergeMode ${JSON.stringify(unknown)} is unknown`);
    }
  }
}
