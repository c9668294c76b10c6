import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, DeviceTensor } from '../../src/backend/backend.js';
import { gradients } from '../../src/graph/autodiff.js';
import { compileGraph } from '../../src/graph/executor.js';
import { Graph } from '../../src/graph/graph.js';
import type { Value } from '../../src/graph/graph.js';
import { add } from '../../src/ops/elementwise.js';
import { meanSquaredError } from '../../src/ops/loss.js';
import { reduceSum } from '../../src/ops/reduce.js';
import { reshape } from '../../src/ops/reshape.js';
import type { RecurrentAttrs } from '../../src/ops/recurrent.js';
import { lastStep, lastStepBackward, RECURRENT_GATES, recurrentSequence, recurrentSequenceBackward, recurrentWorkgroup } from '../../src/ops/recurrent.js';
import { backends } from '../helpers/backends.js';
import { expectSequenceGradients } from '../helpers/recurrent-grad.js';
import type { HostTensor, Tolerance } from '../helpers/check.js';
import { expectClose, numericGradient, randn, reference, rng, runOn, tensor } from '../helpers/check.js';

/*
 * SimpleRNN, LSTM and GRU over whole sequences: recurrentSequence, its
 * gradient through time, and lastStep. The CPU reference against finite
 * differences through time, then every backend against the reference.
 */

type Case = RecurrentAttrs & { B: number; T: number };
const G = (a: RecurrentAttrs) => RECURRENT_GATES[a.cell];
const label = (c: Case) => `${c.cell}${c.goBackwards ? ' goBackwards' : ''}${c.resetAfter === false ? ' resetAfter false' : ''} B${c.B} T${c.T} U${c.units}`;
const hasBias = (a: RecurrentAttrs) => a.cell === 'gru' && a.resetAfter !== false;

/** xp in [−1, 1]; whh uniform in ±1/√U (spectral radius about 0.6: the state neither saturates nor dies out over long sequences); bhh in ±0.5. */
function inputs(c: Case, seed: number): HostTensor[] {
  const GU = G(c) * c.units;
  const s = 1 / Math.sqrt(c.units);
  const ins = [randn(rng(seed), [c.B, c.T, GU]), randn(rng(seed + 1), [c.units, GU], -s, s)];
  return hasBias(c) ? [...ins, randn(rng(seed + 2), [GU], -0.5, 0.5)] : ins;
}

const f64 = (t: HostTensor, v: Float64Array): HostTensor => ({ info: t.info, data: v });
/** Float64 data handed on unrounded (tensor() rounds to float32, which finite differences would see as noise). */
const exact = (shape: number[], v: ArrayLike<number>): HostTensor => ({ info: { shape, dtype: 'f32' }, data: Float64Array.from(v) });

/** The cases of the finite-difference and autodiff checks: every cell and option, small. */
const SMALL: Case[] = [
  { cell: 'simpleRnn', units: 3, B: 2, T: 4 },
  { cell: 'simpleRnn', units: 3, B: 2, T: 4, goBackwards: true },
  { cell: 'lstm', units: 3, B: 2, T: 4 },
  { cell: 'lstm', units: 3, B: 2, T: 4, goBackwards: true },
  { cell: 'gru', units: 3, B: 2, T: 4 },
  { cell: 'gru', units: 3, B: 2, T: 4, goBackwards: true },
  { cell: 'gru', units: 3, B: 2, T: 4, resetAfter: false },
  { cell: 'gru', units: 3, B: 2, T: 4, resetAfter: false, goBackwards: true },
];

describe('recurrent gradients against finite differences through time (CPU reference, float64)', () => {
  it.each(SMALL.map((c) => [label(c), c] as const))('%s: d(xp), d(whh), d(bhh) of ⟨hs, W⟩ + ⟨lastStep(hs), w⟩', (_l, c) => {
    const { B, T, units: U, ...attrs } = c;
    const ins = inputs(c, 10);
    const W = randn(rng(20), [B, T, U]);
    const w = randn(rng(21), [B, U]);
    const loss = (vals: HostTensor[]) => {
      const [hs] = reference(recurrentSequence, vals, { ...attrs, units: U });
      const [last] = reference(lastStep, [exact([B, T, U], hs)], {});
      return hs.reduce((s, v, i) => s + v * W.data[i], 0) + last.reduce((s, v, i) => s + v * w.data[i], 0);
    };
    const a = { ...attrs, units: U };
    const outs = reference(recurrentSequence, ins, a);
    const [hs, hprev] = outs;
    const [dLast] = reference(lastStepBackward, [w], { steps: T });
    const dhs = exact([B, T, U], Array.from(W.data, (v, i) => v + dLast[i]));
    const fwd = recurrentSequence.outputs(ins.map((t) => t.info), a);
    const state = outs.map((o, i) => exact([...fwd[i].shape], o));
    const back = [dhs, state[0], ...(c.cell === 'simpleRnn' ? [] : [state[2]]), ins[1]];
    const [dxp, drec = dxp] = reference(recurrentSequenceBackward, back, a);
    expectSequenceGradients(a, ins, hprev, dxp, drec, loss);
    expect(hs.every(Number.isFinite)).toBe(true);
  });

  it("follows Keras' cells on one step by hand: LSTM c = σ(f)·0 + σ(i)·tanh(g), h = σ(o)·tanh(c); GRU h = (1 − z)·h̃", () => {
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    const xp = [0.3, -0.2, 0.5, 0.1];
    const [lstmH] = reference(recurrentSequence, [exact([1, 1, 4], xp), exact([1, 4], [1, 1, 1, 1])], { cell: 'lstm', units: 1 });
    expect(lstmH[0]).toBeCloseTo(sig(0.1) * Math.tanh(sig(0.3) * Math.tanh(0.5)), 12);
    const x3 = exact([1, 2, 3], [0.3, -0.2, 0.5, 0.4, 0.1, -0.6]);
    const [gruH] = reference(recurrentSequence, [x3, exact([1, 3], [0.7, -0.4, 0.9]), exact([3], [0.1, 0.2, -0.3])], { cell: 'gru', units: 1 });
    const h1 = (1 - sig(0.3 + 0.1)) * Math.tanh(0.5 + sig(-0.2 + 0.2) * -0.3);
    const z2 = sig(0.4 + 0.7 * h1 + 0.1);
    const r2 = sig(0.1 - 0.4 * h1 + 0.2);
    expect(gruH[0]).toBeCloseTo(h1, 12);
    expect(gruH[1]).toBeCloseTo(z2 * h1 + (1 - z2) * Math.tanh(-0.6 + r2 * (0.9 * h1 - 0.3)), 12);
  });
});

/*
 * Tolerances. Every value is O(1) (states and gates in [−1, 1], whh scaled by
 * 1/√U). float32 sums of U products carry ~√U·2⁻²⁴ relative error, which the
 * contractive recurrence (spectral radius ~0.6) keeps from growing over the
 * steps; WGSL's exp may be off by a few ulp more. The worst seen on
 * llvmpipe over the cases below: 7e-7 absolute forward (U = 300), 1.5e-6 in
 * the backward (U = 300); the bounds leave 7× or more.
 */
const FWD_TOL: Tolerance = { atol: 5e-6, rtol: 5e-6, why: 'float32 dot products over U ≤ 512 units and exp, through a contractive recurrence of up to 200 steps' };
const BWD_TOL: Tolerance = { atol: 1e-5, rtol: 3e-5, why: 'as forward, plus float32 sums over G·U gate gradients per step, accumulated back through up to 200 steps' };

// One step, one unit, batch 1, a prime U, U above the workgroup (256), LSTM at its cap, a long sequence, an odd batch.
const AWKWARD: Case[] = [
  { cell: 'simpleRnn', units: 1, B: 1, T: 1 },
  { cell: 'simpleRnn', units: 300, B: 3, T: 6, goBackwards: true },
  { cell: 'simpleRnn', units: 37, B: 5, T: 200 },
  { cell: 'lstm', units: 1, B: 3, T: 1 },
  { cell: 'lstm', units: 37, B: 1, T: 200, goBackwards: true },
  { cell: 'lstm', units: 512, B: 2, T: 3 },
  { cell: 'gru', units: 1, B: 1, T: 5 },
  { cell: 'gru', units: 300, B: 3, T: 4 },
  { cell: 'gru', units: 37, B: 7, T: 200, goBackwards: true },
  { cell: 'gru', units: 37, B: 11, T: 1, resetAfter: false },
  { cell: 'gru', units: 300, B: 2, T: 5, resetAfter: false, goBackwards: true },
];

describe.each(backends)('recurrent kernels on %s', (_name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  it.each(AWKWARD.map((c) => [label(c), c] as const))('%s: forward, backward and lastStep against the float64 reference', async (_l, c) => {
    const { B, T, units: U, ...rest } = c;
    const a = { ...rest, units: U };
    const ins = inputs(c, U + T);
    const got = await runOn(be, recurrentSequence, ins, a);
    const want = reference(recurrentSequence, ins, a);
    const infos = recurrentSequence.outputs(ins.map((t) => t.info), a);
    ['hs', 'hprev', 'cache'].slice(0, want.length).forEach((n, i) => expectClose(got[i], want[i], FWD_TOL, `${n}`));
    // The backward on the reference's states (as float32, as the device holds them).
    const state = want.map((o, i) => tensor([...infos[i].shape], o));
    const dhs = randn(rng(U + T + 5), [B, T, U]);
    const back = [dhs, state[0], ...(c.cell === 'simpleRnn' ? [] : [state[2]]), ins[1]];
    const gb = await runOn(be, recurrentSequenceBackward, back, a);
    const wb = reference(recurrentSequenceBackward, back, a);
    ['dxp', 'drec'].slice(0, wb.length).forEach((n, i) => expectClose(gb[i], wb[i], BWD_TOL, n));
    const [last] = await runOn(be, lastStep, [state[0]], {});
    expectClose(last, reference(lastStep, [state[0]], {})[0], { atol: 0, rtol: 0, why: 'a copy' }, 'lastStep');
    const d = randn(rng(3), [B, U]);
    const [dl] = await runOn(be, lastStepBackward, [d], { steps: T });
    expectClose(dl, reference(lastStepBackward, [d], { steps: T })[0], { atol: 0, rtol: 0, why: 'a copy and zeros' }, 'lastStepBackward');
  });

  it.each(SMALL.filter((_, i) => i % 2 === 0 || i === 7).map((c) => [label(c), c] as const))(
    '%s through autodiff: the gradients of an MSE on hs and on lastStep(hs) against finite differences',
    async (_l, c) => {
      const { B, T, units: U, ...rest } = c;
      const a = { ...rest, units: U };
      const ins = inputs(c, 30);
      const targets = [randn(rng(31), [B, T * U]), randn(rng(32), [B, U])];
      const g = new Graph();
      const wrt = ins.map((t, i) => g.param(['xp', 'whh', 'bhh'][i], t.info.shape));
      const [yAll, yLast] = targets.map((t, i) => g.input(`y${i}`, t.info.shape));
      const [hs] = g.apply(recurrentSequence, wrt, a);
      const mse = (p: Value, y: Value) => g.op(reduceSum, [g.op(meanSquaredError, [p, y], {})], {});
      const L = g.op(add, [mse(g.op(reshape, [hs], { shape: [B, T * U] }), yAll), mse(g.op(lastStep, [hs], {}), yLast)], {}, 'L');
      const grads = gradients(g, L, wrt);
      const bound = new Map<Value, DeviceTensor>();
      [...wrt, yAll, yLast].forEach((v, i) => {
        const t = be.allocate(v.shape);
        be.write(t, [...ins, ...targets][i].data);
        bound.set(v, t);
      });
      const compiled = await compileGraph(be, g, bound, wrt.map((v) => grads.get(v)!));
      compiled.program.run();
      const mseOf = (p: ArrayLike<number>, y: Float32Array | Float64Array | Int32Array, n: number) =>
        Array.from(p).reduce((s, v, i) => s + (v - y[i]) ** 2, 0) / n;
      const f = (vals: HostTensor[]) => {
        const [h] = reference(recurrentSequence, vals, a);
        const [last] = reference(lastStep, [exact([B, T, U], h)], {});
        return mseOf(h, targets[0].data, T * U) + mseOf(last, targets[1].data, U);
      };
      for (let k = 0; k < wrt.length; k++) {
        const want = numericGradient((v) => f(ins.map((t, i) => (i === k ? f64(t, v) : t))), Float64Array.from(ins[k].data));
        const got = await be.read(compiled.tensor(grads.get(wrt[k])!));
        expectClose(got, want, { atol: 1e-6, rtol: 1e-5, why: 'float32 forward and backward through 4 steps against float64 differences (worst seen on llvmpipe 1.6e-7)' }, `d(${wrt[k].name})`);
      }
      compiled.dispose();
      for (const t of bound.values()) be.free(t);
    },
  );
});

describe('recurrent kernels refuse bad inputs, naming them', () => {
  const f = (shape: number[]) => ({ shape, dtype: 'f32' as const });
  it.each([
    [() => recurrentSequence.outputs([f([2, 3, 12]), f([3, 12])], { cell: 'lstm', units: 4 }), /recurrentSequence: xp must be f32 \[batch, steps, 4·4\] \(lstm's 4 gates × units\), got f32\[2, 3, 12\]/],
    [() => recurrentSequence.outputs([f([2, 3, 16]), f([4, 12])], { cell: 'lstm', units: 4 }), /recurrentSequence: whh must be f32\[4, 16\] \(the recurrent kernel/],
    [() => recurrentSequence.outputs([f([2, 3, 12]), f([4, 12])], { cell: 'gru', units: 4 }), /bhh must be f32\[12\] \(a GRU with resetAfter: Keras' recurrent bias\), got nothing/],
    [() => recurrentSequence.outputs([f([2, 3, 12]), f([4, 12]), f([12])], { cell: 'gru', units: 4, resetAfter: false }), /a gru without resetAfter takes 2 inputs \(xp, whh\), got a third/],
    [() => recurrentSequence.outputs([f([2, 3, 4]), f([4, 4])], { cell: 'simpleRnn', units: 4, resetAfter: true }), /resetAfter is a GRU option; a simpleRnn cell takes none/],
    [() => recurrentSequence.outputs([f([2, 3, 4 * 513]), f([513, 4 * 513])], { cell: 'lstm', units: 513 }), /lstm takes at most 512 units .* got 513; use fewer units/],
    [() => recurrentSequence.outputs([f([2, 3, 4])], { cell: 'rnn' as never, units: 4 }), /cell must be 'simpleRnn', 'lstm' or 'gru', got "rnn"/],
    [() => recurrentSequence.outputs([f([2, 3, 4]), f([4, 4])], { cell: 'simpleRnn', units: 0 }), /units must be a whole number ≥ 1, got 0/],
    [() => recurrentSequenceBackward.outputs([f([2, 3, 4]), f([2, 3, 4]), f([4, 16])], { cell: 'lstm', units: 4 }), /a lstm takes 4 inputs \(dhs, hs, cache, whh\) and its masks, got 3/],
    [() => recurrentSequenceBackward.outputs([f([2, 3, 4]), f([2, 3, 4]), f([2, 3, 9]), f([4, 12])], { cell: 'gru', units: 4, resetAfter: false }), /cache must be f32\[2, 3, 12\]/],
    [() => lastStep.outputs([f([2, 3])], {}), /lastStep: hs must be an f32 sequence \[batch, steps, units\], got f32\[2, 3\]/],
    [() => lastStepBackward.outputs([f([2, 3])], { steps: 0 }), /lastStepBackward: steps must be a whole number ≥ 1, got 0/],
  ])('%#', (fn, message) => expect(fn).toThrow(message));

  it('the workgroup covers the units where it can, within the device', () => {
    expect(recurrentWorkgroup(1, { maxInvocationsPerWorkgroup: 256 })).toBe(32);
    expect(recurrentWorkgroup(37, { maxInvocationsPerWorkgroup: 256 })).toBe(64);
    expect(recurrentWorkgroup(300, { maxInvocationsPerWorkgroup: 256 })).toBe(256);
    expect(recurrentWorkgroup(300, { maxInvocationsPerWorkgroup: 128 })).toBe(128);
  });
});
