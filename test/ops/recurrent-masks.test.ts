import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import type { RecurrentAttrs } from '../../src/ops/recurrent.js';
import { RECURRENT_GATES, recurrentSequence, recurrentSequenceBackward } from '../../src/ops/recurrent.js';
import { backends } from '../helpers/backends.js';
import { expectSequenceGradients } from '../helpers/recurrent-grad.js';
import type { HostTensor, Tolerance } from '../helpers/check.js';
import { expectClose, randn, reference, rng, runOn, tensor } from '../helpers/check.js';

/*
 * The recurrent kernels' two optional inputs: the step mask [B, T] (Keras'
 * mask from an embedding's maskZero: a padded step keeps the state and
 * outputs the carried one) and the recurrent dropout mask [B, U] (Keras 3's
 * recurrent_dropout: h_prev ⊙ m where it enters the recurrent matmul). The
 * reference against finite differences and against the meaning of a mask,
 * then every backend against the reference. recurrent.test.ts holds the
 * unmasked cases.
 */

type Case = RecurrentAttrs & { B: number; T: number };
const G = (a: RecurrentAttrs) => RECURRENT_GATES[a.cell];
const hasBias = (a: RecurrentAttrs) => a.cell === 'gru' && a.resetAfter !== false;
const label = (c: Case) =>
  [c.cell, c.goBackwards && 'goBackwards', c.resetAfter === false && 'resetAfter false', c.masked && 'masked', c.recurrentDropout && 'recurrent dropout', `B${c.B} T${c.T} U${c.units}`].filter(Boolean).join(' ');
const attrsOf = ({ B: _b, T: _t, ...a }: Case): RecurrentAttrs => a;

/** The weights as recurrent.test.ts draws them: xp in ±1, whh in ±1/√U (contractive), bhh in ±0.5. */
function weights(c: Case, seed: number): HostTensor[] {
  const GU = G(c) * c.units;
  const s = 1 / Math.sqrt(c.units);
  const ins = [randn(rng(seed), [c.B, c.T, GU]), randn(rng(seed + 1), [c.units, GU], -s, s)];
  return hasBias(c) ? [...ins, randn(rng(seed + 2), [GU], -0.5, 0.5)] : ins;
}

/**
 * Sample b's step mask: padding at the start (b % 4 = 0), in the middle and at
 * the end (1), everywhere (2: a fully masked sample), nowhere (3).
 */
function stepMask(B: number, T: number): HostTensor {
  const m = new Float32Array(B * T).fill(1);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const kind = b % 4;
      if ((kind === 0 && t < Math.ceil(T / 3)) || (kind === 1 && (t === T - 1 || t === Math.floor(T / 2))) || kind === 2) m[b * T + t] = 0;
    }
  }
  return tensor([B, T], m);
}

/** A recurrent dropout mask of rate 0.25: each unit of each sample 0 or 1/0.75. */
function dropMask(B: number, U: number, seed: number): HostTensor {
  const r = randn(rng(seed), [B, U], 0, 1);
  return tensor([B, U], Array.from(r.data, (v) => (v < 0.25 ? 0 : 1 / 0.75)));
}

/** The kernel's inputs for a case: the weights, then the masks its attrs name. */
function inputs(c: Case, seed: number): HostTensor[] {
  return [...weights(c, seed), ...(c.masked ? [stepMask(c.B, c.T)] : []), ...(c.recurrentDropout ? [dropMask(c.B, c.units, seed + 7)] : [])];
}

const exact = (shape: readonly number[], v: ArrayLike<number>): HostTensor => ({ info: { shape: [...shape], dtype: 'f32' }, data: Float64Array.from(v) });

/** The backward's inputs from the forward's outputs: dhs, hs, cache (not SimpleRNN), whh, the masks. */
function backwardInputs(c: Case, ins: HostTensor[], outs: HostTensor[], dhs: HostTensor): HostTensor[] {
  const masks = ins.slice(hasBias(c) ? 3 : 2);
  return [dhs, outs[0], ...(c.cell === 'simpleRnn' ? [] : [outs[2]]), ins[1], ...masks];
}

const both = { masked: true, recurrentDropout: true } as const;
const SMALL: Case[] = [
  { cell: 'simpleRnn', units: 3, B: 4, T: 5, ...both },
  { cell: 'simpleRnn', units: 3, B: 4, T: 5, goBackwards: true, ...both },
  { cell: 'lstm', units: 3, B: 4, T: 5, ...both },
  { cell: 'lstm', units: 3, B: 4, T: 5, goBackwards: true, ...both },
  { cell: 'gru', units: 3, B: 4, T: 5, ...both },
  { cell: 'gru', units: 3, B: 4, T: 5, goBackwards: true, ...both },
  { cell: 'gru', units: 3, B: 4, T: 5, resetAfter: false, ...both },
  { cell: 'gru', units: 3, B: 4, T: 5, resetAfter: false, goBackwards: true, ...both },
];

describe('masked recurrent kernels, the CPU reference (float64)', () => {
  it.each(SMALL.map((c) => [label(c), c] as const))('%s: d(xp), d(whh), d(bhh) of ⟨hs, W⟩ against finite differences', (_l, c) => {
    const a = attrsOf(c);
    const ins = inputs(c, 40);
    const W = randn(rng(41), [c.B, c.T, c.units]);
    const loss = (vals: HostTensor[]) => reference(recurrentSequence, vals, a)[0].reduce((s, v, i) => s + v * W.data[i], 0);
    const infos = recurrentSequence.outputs(ins.map((t) => t.info), a);
    const outs = reference(recurrentSequence, ins, a).map((o, i) => exact(infos[i].shape, o));
    const [dxp, drec = dxp] = reference(recurrentSequenceBackward, backwardInputs(c, ins, outs, exact(W.info.shape, W.data)), a);
    expectSequenceGradients(a, ins, outs[1].data, dxp, drec, loss);
  });

  const CELLS: RecurrentAttrs[] = [{ cell: 'simpleRnn', units: 3 }, { cell: 'lstm', units: 3 }, { cell: 'gru', units: 3 }, { cell: 'gru', units: 3, resetAfter: false }];
  const name = (a: RecurrentAttrs) => `${a.cell}${a.resetAfter === false ? ' resetAfter false' : ''}`;

  it.each(CELLS.map((a) => [name(a), a] as const))('%s: padding before a sequence leaves its last state as without it; a padded step outputs the carried state', (_n, a) => {
    // Sample 0: 2 padded steps, then sample 1's 4 real steps, one of them followed by a padded step.
    const T = 7;
    const GU = G(a) * a.units;
    const [xp, whh, bhh] = weights({ ...a, B: 2, T }, 50);
    const real = [0, 0, 1, 1, 0, 1, 1];
    const data = new Float32Array(2 * T * GU);
    data.set(xp.data.subarray(0, T * GU));
    const realRows = real.flatMap((v, t) => (v ? [t] : []));
    realRows.forEach((t, i) => data.set(xp.data.subarray(t * GU, (t + 1) * GU), (T + i) * GU));
    const mask = tensor([2, T], [...real, 1, 1, 1, 1, 0, 0, 0]);
    const ins = [tensor([2, T, GU], data), whh, ...(bhh ? [bhh] : []), mask];
    const [hs] = reference(recurrentSequence, ins, { ...a, masked: true });
    const U = a.units;
    const at = (b: number, s: number) => Array.from(hs.subarray((b * T + s) * U, (b * T + s + 1) * U));
    expect(at(0, 6)).toEqual(at(1, 3));
    expect(at(0, 0)).toEqual(new Array(U).fill(0));
    expect(at(0, 4)).toEqual(at(0, 3));
    expect(at(1, 6)).toEqual(at(1, 3));
    // Without a mask the padding changes the state: the check above is not vacuous.
    const [plain] = reference(recurrentSequence, ins.slice(0, -1), a);
    expect(Array.from(plain.subarray(6 * U, 7 * U))).not.toEqual(at(1, 3));
  });

  it.each(CELLS.map((a) => [name(a), a] as const))("%s: one sample's dropout mask m acts as whh's rows scaled by m (h_prev ⊙ m enters the matmul only)", (_n, a) => {
    const c = { ...a, B: 1, T: 4 };
    const [xp, whh, bhh] = weights(c, 60);
    const m = tensor([1, a.units], [1 / 0.75, 0, 1 / 0.75]);
    const scaled = exact(whh.info.shape, Array.from(whh.data, (v, i) => v * m.data[Math.floor(i / (G(a) * a.units))]));
    const [got] = reference(recurrentSequence, [xp, whh, ...(bhh ? [bhh] : []), m], { ...a, recurrentDropout: true });
    const [want] = reference(recurrentSequence, [xp, scaled, ...(bhh ? [bhh] : [])], a);
    // whh·m computed exactly in float64 (m's float32 value times whh's): the same sums, products reassociated.
    expectClose(got, want, { atol: 1e-15, rtol: 1e-12, why: 'the same float64 sums, products reassociated' }, 'hs');
  });
});

/*
 * Tolerances as recurrent.test.ts states them: float32 dot products over U
 * units and exp through a contractive recurrence (worst seen there 7e-7
 * forward, 1.5e-6 backward at U = 300); a masked step only copies, and a
 * dropout mask of 1/0.75 scales the state into the matmul by at most 4/3.
 */
const FWD_TOL: Tolerance = { atol: 5e-6, rtol: 5e-6, why: 'float32 dot products over U ≤ 512 units and exp, through a contractive recurrence of up to 200 steps' };
const BWD_TOL: Tolerance = { atol: 1e-5, rtol: 3e-5, why: 'as forward, plus float32 sums over G·U gate gradients per step, accumulated back through up to 200 steps' };

// One step, batch 1, U above the workgroup (256), LSTM at its cap, a long sequence; each mask alone and both.
const AWKWARD: Case[] = [
  { cell: 'simpleRnn', units: 1, B: 3, T: 1, masked: true },
  { cell: 'simpleRnn', units: 300, B: 5, T: 6, goBackwards: true, ...both },
  { cell: 'simpleRnn', units: 37, B: 2, T: 60, recurrentDropout: true },
  { cell: 'lstm', units: 1, B: 1, T: 3, masked: true },
  { cell: 'lstm', units: 37, B: 5, T: 60, goBackwards: true, ...both },
  { cell: 'lstm', units: 512, B: 3, T: 3, recurrentDropout: true },
  { cell: 'gru', units: 300, B: 4, T: 5, ...both },
  { cell: 'gru', units: 37, B: 7, T: 60, goBackwards: true, masked: true },
  { cell: 'gru', units: 37, B: 6, T: 4, resetAfter: false, recurrentDropout: true },
  { cell: 'gru', units: 300, B: 4, T: 5, resetAfter: false, goBackwards: true, ...both },
];

describe.each(backends)('masked recurrent kernels on %s', (_name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  it.each(AWKWARD.map((c) => [label(c), c] as const))('%s: forward and backward against the float64 reference', async (_l, c) => {
    const a = attrsOf(c);
    const ins = inputs(c, c.units + c.T);
    const got = await runOn(be, recurrentSequence, ins, a);
    const want = reference(recurrentSequence, ins, a);
    ['hs', 'hprev', 'cache'].slice(0, want.length).forEach((n, i) => expectClose(got[i], want[i], FWD_TOL, n));
    const infos = recurrentSequence.outputs(ins.map((t) => t.info), a);
    const state = want.map((o, i) => tensor([...infos[i].shape], o));
    const back = backwardInputs(c, ins, state, randn(rng(c.units + 5), [c.B, c.T, c.units]));
    const gb = await runOn(be, recurrentSequenceBackward, back, a);
    const wb = reference(recurrentSequenceBackward, back, a);
    ['dxp', 'drec'].slice(0, wb.length).forEach((n, i) => expectClose(gb[i], wb[i], BWD_TOL, n));
  });
});

describe('masked recurrent kernels refuse masks that do not fit, naming them', () => {
  const f = (shape: number[]) => ({ shape, dtype: 'f32' as const });
  it.each([
    [() => recurrentSequence.outputs([f([2, 3, 4]), f([4, 4])], { cell: 'simpleRnn', units: 4, masked: true }), /a simpleRnn, masked takes the inputs xp, whh, mask: fewer were given/],
    [() => recurrentSequence.outputs([f([2, 3, 4]), f([4, 4]), f([2, 4])], { cell: 'simpleRnn', units: 4, masked: true }), /mask must be f32\[2, 3\] \(the step mask \[batch, steps\]/],
    [() => recurrentSequence.outputs([f([2, 3, 4]), f([4, 4]), f([2, 3])], { cell: 'simpleRnn', units: 4 }), /takes the inputs xp, whh: more were given \(set masked \/ recurrentDropout/],
    [() => recurrentSequence.outputs([f([2, 3, 12]), f([4, 12]), f([12]), f([2, 3]), f([2, 3])], { cell: 'gru', units: 4, ...both }), /recurrentMask must be f32\[2, 4\]/],
    [() => recurrentSequence.outputs([f([2, 3, 4]), f([4, 4])], { cell: 'simpleRnn', units: 4, masked: 1 as never }), /masked must be true or false, got 1/],
  ])('%#', (fn, message) => expect(fn).toThrow(message));
});
