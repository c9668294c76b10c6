// Recurrent layers over a whole sequence, one launch each way: the ops under
// SimpleRNN, LSTM and GRU (Keras 2's cells, activation tanh, recurrent
// activation sigmoid). The layer records
//   xp = x·W + b (every step's input projection, one matmul) viewed as [B, T, G·U]
//   [hs, hprev, cache] = recurrentSequence(xp, whh (, bhh) (, mask) (, recurrentMask))
//   out = returnSequences ? hs : lastStep(hs)
// and the gradient rule (src/graph/rules.ts) records recurrentSequenceBackward,
// then dwhh = hprevᵀ·drec as one matmul over the B·T rows and dbhh = biasGrad(drec).
// A training step thus launches, per layer and whatever T: recurrentSequence,
// lastStep (without returnSequences), lastStepBackward, recurrentSequenceBackward,
// the dwhh matmul and (GRU) dbhh's biasGrad, beside the input projection's own
// matmul, bias and their gradients.
import { ShapeError, ValueError } from '../core/errors.js';
import type { TensorInfo } from '../core/shape.js';
import { f32, fmt, sizeOf } from '../core/shape.js';
import library from '../../shaders/activation-math.wgsl?raw';
import code from '../../shaders/recurrent.wgsl?raw';
import type { GpuContext, GpuLaunch } from './kernel.js';
import { defineKernel, grid1d } from './kernel.js';
import type { Dims, RecurrentCell } from './recurrent-reference.js';
import { cacheWidth, recurrentBackward, recurrentForward } from './recurrent-reference.js';

export type { RecurrentCell } from './recurrent-reference.js';

const shader = { name: 'recurrent', code: `${library}\n\n${code}` };

export interface RecurrentAttrs {
  readonly cell: RecurrentCell;
  readonly units: number;
  /** Keras' go_backwards: the steps are read from the last to the first; hs comes out in that (processing) order. */
  readonly goBackwards?: boolean;
  /** GRU only: Keras 2's reset_after (the default, true): the reset gate multiplies h_prev·whh_h + bhh_h. */
  readonly resetAfter?: boolean;
  /** A step mask f32 [B, T] follows the other inputs: 1 where step t of sample b is real, 0 where it is padding (Keras' mask). */
  readonly masked?: boolean;
  /** A recurrent dropout mask f32 [B, U] follows last: 0 or 1/(1 − rate) per sample and unit, one for every step and gate. */
  readonly recurrentDropout?: boolean;
}

export interface LastStepBackwardAttrs {
  /** T, the steps of the sequence the gradient goes back into. */
  readonly steps: number;
}

/** Gates per cell, in Keras' order: LSTM i, f, c, o; GRU z, r, h. */
export const RECURRENT_GATES: { readonly [C in RecurrentCell]: number } = { simpleRnn: 1, lstm: 4, gru: 3 };

/**
 * The most units each cell takes: the state, the step's pre-activations or
 * their gradients, and dh (LSTM: c, dc) live in workgroup memory, which is
 * 16 KiB on every WebGPU device; the most a cell keeps there is 2U floats
 * (SimpleRNN), 4U (GRU's backward), 7U (LSTM's forward).
 */
export const RECURRENT_UNIT_CAP: { readonly [C in RecurrentCell]: number } = { simpleRnn: 2048, lstm: 512, gru: 1024 };

function dims(op: string, xpOrHs: TensorInfo | undefined, attrs: RecurrentAttrs, arg: 'xp' | 'dhs'): Dims {
  const { cell, units: U, goBackwards = false, resetAfter, masked = false, recurrentDropout = false } = attrs;
  const G = RECURRENT_GATES[cell];
  if (G === undefined) throw new ValueError(`${op}: cell must be 'simpleRnn', 'lstm' or 'gru', got ${JSON.stringify(cell)}`);
  if (!Number.isInteger(U) || U < 1) throw new ValueError(`${op}: units must be a whole number ≥ 1, got ${U}`);
  const cap = RECURRENT_UNIT_CAP[cell];
  if (U > cap) throw new ValueError(`${op}: ${cell} takes at most ${cap} units (its backward keeps each step's gate gradients in 16 KiB of workgroup memory), got ${U}; use fewer units or stack layers`);
  if (typeof goBackwards !== 'boolean') throw new ValueError(`${op}: goBackwards must be true or false, got ${JSON.stringify(goBackwards)}`);
  if (resetAfter !== undefined && cell !== 'gru') throw new ValueError(`${op}: resetAfter is a GRU option; a ${cell} cell takes none`);
  for (const [k, v] of [['resetAfter', resetAfter ?? false], ['masked', masked], ['recurrentDropout', recurrentDropout]] as const) {
    if (typeof v !== 'boolean') throw new ValueError(`${op}: ${k} must be true or false, got ${JSON.stringify(v)}`);
  }
  const width = arg === 'xp' ? G * U : U;
  const what = arg === 'xp' ? `[batch, steps, ${G}·${U}] (${cell}'s ${G} gate${G > 1 ? 's' : ''} × units)` : `[batch, steps, ${U}]`;
  if (!xpOrHs || xpOrHs.dtype !== 'f32' || xpOrHs.shape.length !== 3 || xpOrHs.shape[2] !== width) {
    throw new ShapeError(`${op}: ${arg} must be f32 ${what}, got ${xpOrHs ? fmt(xpOrHs) : 'nothing'}`);
  }
  const [B, T] = xpOrHs.shape;
  return { cell, B, T, U, G, backwards: goBackwards, resetAfter: cell === 'gru' && resetAfter !== false, masked, dropout: recurrentDropout };
}

/** The masks after an op's fixed inputs: their checks, and the count that must follow (0, 1 or 2). */
function expectMasks(op: string, d: Dims, rest: readonly TensorInfo[], fixed: string): void {
  const want: [string, number[], string][] = [];
  if (d.masked) want.push(['mask', [d.B, d.T], 'the step mask [batch, steps], as masked: true says']);
  if (d.dropout) want.push(['recurrentMask', [d.B, d.U], 'the recurrent dropout mask [batch, units], as recurrentDropout: true says']);
  if (rest.length !== want.length) {
    const names = [fixed, ...want.map(([n]) => n)].join(', ');
    throw new ShapeError(`${op}: a ${d.cell}${d.masked ? ', masked' : ''}${d.dropout ? ', with recurrent dropout' : ''} takes the inputs ${names}: ${rest.length > want.length ? 'more' : 'fewer'} were given (set masked / recurrentDropout for each mask passed)`);
  }
  want.forEach(([name, shape, why], i) => expectShape(op, rest[i], shape, name, why));
}

function expectShape(op: string, v: TensorInfo | undefined, shape: readonly number[], arg: string, why: string): void {
  if (!v || v.dtype !== 'f32' || fmt(v.shape) !== fmt(shape)) throw new ShapeError(`${op}: ${arg} must be f32${fmt(shape)} (${why}), got ${v ? fmt(v) : 'nothing'}`);
}

/** hprev's shape: [B, T, U], and for a GRU without resetAfter [2, B, T, U] (h_prev, then r ⊙ h_prev). */
function hprevShape({ cell, B, T, U, resetAfter }: Dims): number[] {
  return cell === 'gru' && !resetAfter ? [2, B, T, U] : [B, T, U];
}

/** The workgroup: a power of two from 32 up to U (one invocation a unit where it can), at most 256 and the device's limit. */
export function recurrentWorkgroup(U: number, ctx: Pick<GpuContext, 'maxInvocationsPerWorkgroup'>): number {
  let wg = 32;
  while (wg < U && wg < 256 && wg * 2 <= ctx.maxInvocationsPerWorkgroup) wg *= 2;
  return wg;
}

/**
 * The launch of one entry. `fixed` inputs come first, the masks after them;
 * the bindings after the uniform block are `extra` (forward LSTM and GRU: the
 * GRU's bhh or a stand-in) then the step mask and the dropout mask, where an
 * absent one binds input 0 in its place, unread (WGSL has no optional
 * bindings): one binding layout per entry, whatever the options.
 */
function launch(entry: string, d: Dims, ctx: GpuContext, fixed: number, leading: number, extra: readonly number[]): GpuLaunch {
  const constants: Record<string, number> = { UNITS: d.U, WG: recurrentWorkgroup(d.U, ctx), MASKED: d.masked ? 1 : 0, REC_DROPOUT: d.dropout ? 1 : 0 };
  if (d.cell === 'gru') constants.RESET_AFTER = d.resetAfter ? 1 : 0;
  // LSTM's backward keeps its gate gradients as vec4s; the others' scalar array is GATES·U long.
  if (entry.endsWith('backward') && d.cell !== 'lstm') constants.GATES = d.G;
  return {
    entry,
    constants,
    params: [['u32', d.B], ['u32', d.T], ['u32', d.backwards ? 1 : 0], ['u32', 0]],
    // One workgroup per sample.
    workgroups: grid1d(d.B, 1, ctx),
    leading,
    extra: [...extra, d.masked ? fixed : 0, d.dropout ? fixed + (d.masked ? 1 : 0) : 0],
  };
}

const ENTRY = { simpleRnn: 'rnn', lstm: 'lstm', gru: 'gru' } as const;

/**
 * The whole sequence of a recurrent layer in one launch, from zero state.
 * Inputs: xp f32 [B, T, G·U], the input projections (G = 1, 4 (i, f, c, o),
 * 3 (z, r, h)); whh f32 [U, G·U], Keras' recurrent kernel; for a GRU with
 * resetAfter (the default) bhh f32 [G·U], Keras' recurrent bias (its bias' second row);
 * then, in this order and only where attrs say so: with `masked`, mask f32
 * [B, T] in xp's time order (1 real, 0 padding; with goBackwards read in
 * processing order, as the steps are): a masked step keeps h (and LSTM's c),
 * and hs there is the carried state (Keras' zero_output_for_mask false); with
 * `recurrentDropout`, recurrentMask f32 [B, U], which multiplies h_prev where
 * it enters the recurrent matmul only (Keras 3's cells: (h_prev ⊙ m)·whh, and
 * for a GRU without resetAfter (r ⊙ h_prev ⊙ m)·whh_h; GRU's z ⊙ h_prev and
 * LSTM's c are not masked).
 * Outputs: hs [B, T, U], the state after each step in processing order (with
 * goBackwards the s-th step processed reads xp's step T − 1 − s, as Keras);
 * hprev [B, T, U], h_prev ⊙ m (m = 1 without recurrentDropout) before the step
 * that reads xp[:, t] (in xp's order t, zeros at the first step processed),
 * and for a GRU without resetAfter [2, B, T, U], that then r ⊙ h_prev ⊙ m: the
 * rows dwhh = hprevᵀ·drec pairs with; and, for the gradient, cache [B, T, ·]
 * in xp's order: LSTM 5U (i, f, g, o activated, and c, the carried c at a
 * masked step), GRU 3U (z, r, h̃) plus, with resetAfter, h_prev·whh_h + bhh_h;
 * SimpleRNN none.
 * At most RECURRENT_UNIT_CAP units (SimpleRNN 2048, GRU 1024, LSTM 512).
 */
export const recurrentSequence = defineKernel<RecurrentAttrs>({
  name: 'recurrentSequence',
  shader,
  outputs(inputs, attrs) {
    const op = 'recurrentSequence';
    const [xp, whh, third] = inputs;
    const d = dims(op, xp, attrs, 'xp');
    expectShape(op, whh, [d.U, d.G * d.U], 'whh', 'the recurrent kernel [units, gates·units]');
    if (d.resetAfter) expectShape(op, third, [d.G * d.U], 'bhh', "a GRU with resetAfter: Keras' recurrent bias");
    else if (third && third.shape.length === 1) throw new ShapeError(`${op}: a ${d.cell}${d.cell === 'gru' ? ' without resetAfter' : ''} takes 2 inputs (xp, whh), got a third, ${fmt(third)}`);
    expectMasks(op, d, inputs.slice(d.resetAfter ? 3 : 2), d.resetAfter ? 'xp, whh, bhh' : 'xp, whh');
    const outs = [f32([d.B, d.T, d.U]), f32(hprevShape(d))];
    return d.cell === 'simpleRnn' ? outs : [...outs, f32([d.B, d.T, cacheWidth(d)])];
  },
  cpu(inputs, outputs, [xp], attrs) {
    recurrentForward(dims('recurrentSequence', xp, attrs, 'xp'), inputs, outputs);
  },
  gpu([xp], attrs, ctx) {
    const d = dims('recurrentSequence', xp, attrs, 'xp');
    // LSTM and GRU bind one more input after the uniform block: the GRU's bhh, or whh standing in for it, unread.
    const extra = d.cell === 'simpleRnn' ? [] : [d.resetAfter ? 2 : 1];
    return launch(`${ENTRY[d.cell]}_forward`, d, ctx, d.resetAfter ? 3 : 2, 2, extra);
  },
});

/**
 * recurrentSequence's gradient through time, the steps in reverse in one launch.
 * Inputs: dhs [B, T, U] (the gradient of hs; 0 where a step's output is unused),
 * hs, cache (none for SimpleRNN) as recurrentSequence gave them, whh, then the
 * forward's mask and recurrentMask where attrs say so. (h_prev is hs at the
 * step processed before: hprev serves the weight gradient only.) A masked
 * step's gate gradients are 0 and dh (dc) pass to the step before it.
 * Outputs: dxp [B, T, G·U], the gradient of the pre-activations from xp; for a
 * GRU also drec, the gradient of the recurrent pre-activations (h_prev ⊙ m)·whh (+ bhh)
 * in hprev's row order, so that dwhh = hprevᵀ·drec: [B, T, 3U] with resetAfter
 * (its h block is dxp's times r), and without it [2, B, T, 3U], (dz, dr, 0)
 * against hprev's first rows and (0, 0, dxp_h) against r ⊙ h_prev ⊙ m's. For
 * SimpleRNN and LSTM drec is dxp, which hprev's rows (in xp's order) pair with as well.
 */
export const recurrentSequenceBackward = defineKernel<RecurrentAttrs>({
  name: 'recurrentSequenceBackward',
  shader,
  outputs(inputs, attrs) {
    const op = 'recurrentSequenceBackward';
    const d = dims(op, inputs[0], attrs, 'dhs');
    const names = d.cell === 'simpleRnn' ? ['dhs', 'hs', 'whh'] : ['dhs', 'hs', 'cache', 'whh'];
    const fixed = names.length;
    if (inputs.length < fixed) throw new ShapeError(`${op}: a ${d.cell} takes ${fixed} inputs (${names.join(', ')}) and its masks, got ${inputs.length}`);
    expectShape(op, inputs[1], [d.B, d.T, d.U], 'hs', "recurrentSequence's");
    if (d.cell !== 'simpleRnn') expectShape(op, inputs[2], [d.B, d.T, cacheWidth(d)], 'cache', `recurrentSequence's for a ${d.cell}${d.cell === 'gru' ? ` with resetAfter ${d.resetAfter}` : ''}`);
    expectShape(op, inputs[fixed - 1], [d.U, d.G * d.U], 'whh', 'the recurrent kernel [units, gates·units]');
    expectMasks(op, d, inputs.slice(fixed), names.join(', '));
    const dxp = f32([d.B, d.T, d.G * d.U]);
    if (d.cell !== 'gru') return [dxp];
    return [dxp, f32(d.resetAfter ? [d.B, d.T, d.G * d.U] : [2, d.B, d.T, d.G * d.U])];
  },
  cpu(inputs, outputs, [dhs], attrs) {
    recurrentBackward(dims('recurrentSequenceBackward', dhs, attrs, 'dhs'), inputs, outputs);
  },
  gpu([dhs], attrs, ctx) {
    const d = dims('recurrentSequenceBackward', dhs, attrs, 'dhs');
    const fixed = d.cell === 'simpleRnn' ? 3 : 4;
    // LSTM binds a stand-in after its uniform block, so that its masks take the same bindings as the GRU's.
    return launch(`${ENTRY[d.cell]}_backward`, d, ctx, fixed, fixed, d.cell === 'lstm' ? [0] : []);
  },
});

const LWG = 256;

function sequence(op: string, x: TensorInfo | undefined, arg: string): [number, number, number] {
  if (!x || x.dtype !== 'f32' || x.shape.length !== 3) throw new ShapeError(`${op}: ${arg} must be an f32 sequence [batch, steps, units], got ${x ? fmt(x) : 'nothing'}`);
  return [x.shape[0], x.shape[1], x.shape[2]];
}

/** hs [B, T, U] → [B, U], the last step processed (Keras' returnSequences: false). */
export const lastStep = defineKernel<Readonly<Record<string, never>>>({
  name: 'lastStep',
  shader,
  outputs([hs]) {
    const [B, , U] = sequence('lastStep', hs, 'hs');
    return [f32([B, U])];
  },
  cpu([hs], [out], [info]) {
    const [B, T, U] = info.shape;
    for (let b = 0; b < B; b++) for (let j = 0; j < U; j++) out[b * U + j] = hs[(b * T + T - 1) * U + j];
  },
  gpu([hs], _attrs, ctx) {
    const [B, T, U] = hs.shape;
    return { entry: 'last_step', params: [['u32', B * U], ['u32', T], ['u32', U], ['u32', 0]], workgroups: grid1d(B * U, LWG, ctx) };
  },
});

/** lastStep's gradient: d [B, U] → [B, T, U], d at the last step, 0 at the others. */
export const lastStepBackward = defineKernel<LastStepBackwardAttrs>({
  name: 'lastStepBackward',
  shader,
  outputs([d], { steps }) {
    if (!d || d.dtype !== 'f32' || d.shape.length !== 2) throw new ShapeError(`lastStepBackward: d must be f32 [batch, units], got ${d ? fmt(d) : 'nothing'}`);
    if (!Number.isInteger(steps) || steps < 1) throw new ValueError(`lastStepBackward: steps must be a whole number ≥ 1, got ${steps}`);
    return [f32([d.shape[0], steps, d.shape[1]])];
  },
  cpu([d], [out], [info], { steps: T }) {
    const [B, U] = info.shape;
    out.fill(0);
    for (let b = 0; b < B; b++) for (let j = 0; j < U; j++) out[(b * T + T - 1) * U + j] = d[b * U + j];
  },
  gpu([d], { steps }, ctx) {
    const [B, U] = d.shape;
    const total = sizeOf([B, steps, U]);
    return { entry: 'last_step_backward', params: [['u32', total], ['u32', steps], ['u32', U], ['u32', 0]], workgroups: grid1d(total, LWG, ctx) };
  },
});
