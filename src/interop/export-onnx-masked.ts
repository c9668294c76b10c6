// The ONNX export of a recurrent or Bidirectional layer that an Embedding's
// maskZero mask reaches. ONNX's RNN, LSTM and GRU skip steps only through
// sequence_lens (the steps after each sequence's end, giving 0 there), while a
// Keras mask may pad anywhere (pad_sequences pads before by default) and a
// padded step carries the state on. So the layer runs one step at a time: its
// own operator on that step from the carried state, then Where(mask, new,
// carried) for h (and LSTM's c). T operator nodes a layer: fine for the short
// sequences such models take; sequence_lens alone would be wrong.
import type { BidirectionalConfig } from '../nn/bidirectional-layer.js';
import type { RecurrentConfig } from '../nn/recurrent-layers.js';
import type { ExportedWeight } from './export-common.js';
import { merge } from './export-onnx-bidirectional.js';
import { recurrentOperator } from './export-onnx-recurrent.js';
import type { OnnxGraph } from './export-onnx.js';

const ints = (g: OnnxGraph, v: number[]) => g.once(`ints ${v.join(',')}`, () => g.weight(`ints_${v.join('_')}`, [v.length], BigInt64Array.from(v, BigInt)));

/** Input step t of the mask: [1, N, 1], true at a real step (id ≠ 0), built once for every layer that reads it. */
function stepMask(g: OnnxGraph, t: number): string {
  const ids = g.maskIds;
  // maskCarried names an Embedding with maskZero before any layer that gets here, and that case sets maskIds.
  if (ids === null) throw new Error('export to ONNX: a masked recurrent layer without the ids of its Embedding (a bug in the export)');
  const all = g.once('mask', () => {
    const zero = g.weight('padding_id', [], BigInt64Array.of(0n));
    const real = g.op('Not', [g.op('Equal', [ids, zero], 'mask/padding')], 'mask/real');
    // [N, T] → [T, N, 1]: a step's mask broadcasts over the units.
    return g.op('Unsqueeze', [g.op('Transpose', [real], 'mask/steps_first', { perm: { ints: [1, 0] } }), ints(g, [2])], 'mask/steps');
  });
  return g.once(`mask ${t}`, () => g.op('Gather', [all, ints(g, [t])], `mask/step_${t}`, { axis: { int: 0 } }));
}

/**
 * One direction over xs [T, N, F] (steps first), step by step in the order the
 * layer reads them (goBackwards: last to first). Returns each step's output
 * [1, N, U] in that order (the carried state, or 0 at a padded step with
 * zeroPadded: Keras' zero_output_for_mask, as Bidirectional sets it) and the
 * last carried state [1, N, U].
 */
function unrolled(g: OnnxGraph, c: RecurrentConfig, weight: (part: string) => ExportedWeight, prefix: string, xs: string, T: number, zeroPadded: boolean): { steps: string[]; last: string } {
  const { op, inputs, attrs } = recurrentOperator(g, c, weight, prefix);
  const [W, R, B = ''] = inputs;
  const lstm = op === 'LSTM';
  const zero = g.scalar(0);
  let h: string | null = null;
  let cell: string | null = null;
  const steps: string[] = [];
  for (let s = 0; s < T; s++) {
    const t = c.goBackwards ? T - 1 - s : s;
    const at = `${prefix}/step_${s}`;
    const x = g.op('Gather', [xs, ints(g, [t])], `${at}/x`, { axis: { int: 0 } });
    const real = stepMask(g, t);
    // X, W, R, B, sequence_lens (none), initial_h, initial_c: the first step starts from ONNX's zeros, as webgrad's state.
    const args = [x, W, R, B, '', h ?? '', ...(lstm ? [cell ?? ''] : [])];
    while (args[args.length - 1] === '') args.pop();
    const outs = g.outputs(op, args, [`${at}/y`, `${at}/y_h`, ...(lstm ? [`${at}/y_c`] : [])], attrs);
    // A padded step keeps the carried state (zeros before the first real step).
    h = g.op('Where', [real, outs[1], h ?? zero], `${at}/h`);
    if (lstm) cell = g.op('Where', [real, outs[2], cell ?? zero], `${at}/c`);
    steps.push(zeroPadded ? g.op('Where', [real, outs[1], zero], `${at}/output`) : h);
  }
  return { steps, last: h! };
}

/** [1, N, U] states → [N, T, U], in the order given. */
function sequence(g: OnnxGraph, states: string[], name: string): string {
  const steps = g.op('Concat', states, `${name}/states`, { axis: { int: 0 } });
  return g.op('Transpose', [steps], `${name}/batch_first`, { perm: { ints: [1, 0, 2] } });
}

/**
 * A masked recurrent layer on the current value [N, T, F], leaving what
 * webgrad gives: [N, U] (the last carried state) or [N, T, U] (every step's,
 * in the order processed: goBackwards gives them last step first).
 */
export function maskedRecurrentNodes(g: OnnxGraph, c: RecurrentConfig, weight: (part: string) => ExportedWeight): void {
  const T = g.shape[0];
  const xs = g.op('Transpose', [g.x], `${c.name}/to_steps_first`, { perm: { ints: [1, 0, 2] } });
  const { steps, last } = unrolled(g, c, weight, c.name, xs, T, false);
  g.x = c.returnSequences ? sequence(g, steps, c.name) : g.op('Squeeze', [last, ints(g, [0])], `${c.name}/last_state`);
}

/**
 * A masked Bidirectional layer on the current value [N, T, F]: both halves
 * step by step, the backward half's outputs flipped so that step s of both
 * read the same input step (as webgrad's layer), padded steps 0 with
 * returnSequences, then merged as mergeMode says.
 */
export function maskedBidirectionalNodes(g: OnnxGraph, c: BidirectionalConfig, weight: (half: string, part: string) => ExportedWeight): void {
  const T = g.shape[0];
  const seq = c.layer.returnSequences;
  const xs = g.op('Transpose', [g.x], `${c.name}/to_steps_first`, { perm: { ints: [1, 0, 2] } });
  const [f, b] = [c.layer, c.backwardLayer].map((h) => unrolled(g, h, (part) => weight(h.name, part), `${c.name}/${h.name}`, xs, T, seq));
  const [y, yRev] = seq
    ? [sequence(g, f.steps, `${c.name}/${c.layer.name}`), sequence(g, [...b.steps].reverse(), `${c.name}/${c.backwardLayer.name}`)]
    : [f.last, b.last].map((v) => g.op('Squeeze', [v, ints(g, [0])], `${v}/squeezed`));
  g.x = merge(g, c.name, c.mergeMode, y, yRev);
}
