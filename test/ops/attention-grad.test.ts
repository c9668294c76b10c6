import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, DeviceTensor } from '../../src/backend/backend.js';
import { gradients } from '../../src/graph/autodiff.js';
import { compileGraph } from '../../src/graph/executor.js';
import { Graph } from '../../src/graph/graph.js';
import type { Value } from '../../src/graph/graph.js';
import type { TensorInfo } from '../../src/core/shape.js';
import { sizeOf } from '../../src/core/shape.js';
import { attention, attentionBackwardKV, attentionBackwardQ, attentionStats } from '../../src/ops/attention.js';
import type { HostArray } from '../../src/ops/kernel.js';
import { meanSquaredError } from '../../src/ops/loss.js';
import { reduceSum } from '../../src/ops/reduce.js';
import { reshape } from '../../src/ops/reshape.js';
import type { Case } from '../helpers/attention-plain.js';
import { attentionInputs, bthd, fullyMaskedRows, label } from '../helpers/attention-plain.js';
import { backends } from '../helpers/backends.js';
import type { HostTensor, Tolerance } from '../helpers/check.js';
import { expectClose, FD_TOL, numericGradient, randn, reference, rng, runOn, tensor } from '../helpers/check.js';

/*
 * attention's gradient: FlashAttention-2's three kernels (row statistics, dk
 * and dv, dq) on the CPU reference against finite differences of the
 * forward, in float64; through autodiff on every backend; and every backend's
 * backward kernels against the reference on awkward shapes; each in both
 * layouts ('bhtd' and 'bthd', the heads inside the steps).
 */

/** Every case in the default layout, then in 'bthd'. */
const bothLayouts = (cases: Case[]) => [...cases, ...cases.map(bthd)];
/** The shapes of attention's outputs out and lse for a case's inputs. */
const outShapes = (c: Case, ins: HostTensor[]) => attention.outputs(ins.map((t) => t.info), c.attrs).map((o) => [...o.shape]);

const exact = (t: HostTensor, v: ArrayLike<number>): HostTensor => ({ info: t.info, data: Float64Array.from(v) });
const f64 = (shape: number[], v: ArrayLike<number>): HostTensor => ({ info: { shape, dtype: 'f32' }, data: Float64Array.from(v) });

/** dq, dk, dv of ⟨out, W⟩ by the reference kernels, the way the gradient rule records them. */
function referenceGradients(c: Case, ins: HostTensor[], W: HostTensor): Float64Array[] {
  const [out, lse] = reference(attention, ins, c.attrs);
  const [outShape, lseShape] = outShapes(c, ins);
  const [stats] = reference(attentionStats, [f64(lseShape, lse), f64(outShape, out), W], {});
  const back = [...ins.slice(0, 3), W, f64([...lseShape, 2], stats), ...ins.slice(3)];
  const [dkv] = reference(attentionBackwardKV, back, c.attrs);
  const [dq] = reference(attentionBackwardQ, back, c.attrs);
  const w = c.D + c.Dv;
  const rows = c.B * c.H * c.S;
  const dk = Float64Array.from({ length: rows * c.D }, (_, i) => dkv[Math.floor(i / c.D) * w + (i % c.D)]);
  const dv = Float64Array.from({ length: rows * c.Dv }, (_, i) => dkv[Math.floor(i / c.Dv) * w + c.D + (i % c.Dv)]);
  return [dq, dk, dv];
}

const SMALL: Case[] = [
  { B: 1, H: 1, T: 1, S: 1, D: 2, Dv: 2, attrs: {} },
  { B: 1, H: 2, T: 4, S: 4, D: 3, Dv: 2, attrs: { causal: true } },
  { B: 2, H: 1, T: 3, S: 5, D: 3, Dv: 4, attrs: { masked: true, scale: 0.7 } },
  { B: 2, H: 2, T: 4, S: 4, D: 3, Dv: 3, attrs: { causal: true, masked: true, dropout: 0.3, seed: 4 } },
  { B: 3, H: 1, T: 3, S: 4, D: 2, Dv: 3, attrs: { masked: true, keyMask: true } }, // padded keys; the last sample all padding
];

describe('attention gradients against finite differences (CPU reference, float64)', () => {
  it.each(bothLayouts(SMALL).map((c) => [label(c), c] as const))('%s: d(q), d(k), d(v) of ⟨out, W⟩', (_l, c) => {
    const ins = attentionInputs(c, 60);
    const W = randn(rng(61), outShapes(c, ins)[0]);
    const loss = (vals: HostTensor[]) => reference(attention, vals, c.attrs)[0].reduce((s, v, i) => s + v * W.data[i], 0);
    const grads = referenceGradients(c, ins, W);
    for (let k = 0; k < 3; k++) {
      const want = numericGradient((v) => loss(ins.map((t, i) => (i === k ? exact(t, v) : t))), Float64Array.from(ins[k].data));
      expectClose(grads[k], want, FD_TOL, `d(${'qkv'[k]})`);
    }
    // A query that attends nothing passes no gradient.
    for (const r of fullyMaskedRows(c, ins)) expect(Array.from(grads[0].subarray(r * c.D, (r + 1) * c.D))).toEqual(new Array(c.D).fill(0));
  });
});

/** The backward kernels on awkward shapes: the forward's states from the reference (rounded to float32, as a device holds them). */
const AWKWARD: Case[] = [
  { B: 3, H: 2, T: 1, S: 1, D: 4, Dv: 4, attrs: {} },
  { B: 2, H: 3, T: 17, S: 31, D: 13, Dv: 7, attrs: {} },
  { B: 1, H: 2, T: 200, S: 200, D: 32, Dv: 32, attrs: { causal: true } },
  { B: 2, H: 2, T: 13, S: 13, D: 8, Dv: 5, attrs: { causal: true, masked: true } },
  { B: 2, H: 3, T: 17, S: 17, D: 16, Dv: 16, attrs: { masked: true, dropout: 0.3, seed: 11 } },
  { B: 3, H: 2, T: 13, S: 70, D: 8, Dv: 5, attrs: { masked: true, keyMask: true } }, // padded keys over two key tiles
  { B: 1, H: 1, T: 70, S: 70, D: 128, Dv: 128, attrs: { causal: true, dropout: 0.1, seed: 3 } },
  { B: 700, H: 100, T: 1, S: 3, D: 4, Dv: 4, attrs: {} }, // 70,000 workgroups: a 2-D grid
];

/**
 * Float32 against float64: dk and dv sum over T ≤ 200 queries, dq over S ≤ 200
 * keys, of terms p·(dp − Dᵢ) where dp and Dᵢ each sum Dv ≤ 128 products and
 * cancel. Worst seen on llvmpipe 1.3e-6 (D = 128); a wrong term moves the
 * sums by 1e-2 or more.
 */
const BWD: Tolerance = { atol: 1e-5, rtol: 1e-4, why: 'float32 sums over ≤ 200 rows of p·(dp − Dᵢ) (dp, Dᵢ over Dv ≤ 128) against float64 (worst seen 1.3e-6)' };
/** Float64 both ways: the same sums, some in another order. */
const F64: Tolerance = { atol: 1e-12, rtol: 1e-10, why: 'float64 both ways, summed in another order' };
const STATS: Tolerance = { atol: 1e-5, rtol: 1e-5, why: 'a float32 dot product over Dv ≤ 128 terms, and a copy (worst seen 1.1e-6)' };

describe("the CPU backend's attention (cpuFast) against the reference, both in float64", () => {
  it.each(bothLayouts([...SMALL, ...AWKWARD.slice(0, 6)]).map((c) => [label(c), c] as const))('%s: out, lse, dk‖dv, dq', (_l, c) => {
    const ins = attentionInputs(c, 90);
    const infos = ins.map((t) => t.info);
    const host = ins.map((t) => (t.data instanceof Int32Array ? t.data : Float64Array.from(t.data)));
    const fast = (kernel: typeof attention, data: HostArray[], shapes: TensorInfo[]) => {
      const outs = kernel.outputs(shapes, c.attrs).map((o) => new Float64Array(sizeOf(o.shape)));
      kernel.cpuFast!(data, outs, shapes, c.attrs);
      return outs;
    };
    const [out, lse] = fast(attention, host, infos);
    const [wantOut, wantLse] = reference(attention, ins, c.attrs);
    expectClose(out, wantOut, F64, 'out');
    expectClose(lse, wantLse, F64, 'lse');
    const [outShape, lseShape] = outShapes(c, ins);
    const dout = randn(rng(91), outShape);
    const [stats] = reference(attentionStats, [f64(lseShape, lse), f64(outShape, out), dout], {});
    const back = [...ins.slice(0, 3), dout, f64([...lseShape, 2], stats), ...ins.slice(3)];
    const backHost = back.map((t) => (t.data instanceof Int32Array ? t.data : Float64Array.from(t.data)));
    for (const kernel of [attentionBackwardKV, attentionBackwardQ]) {
      const [got] = fast(kernel, backHost, back.map((t) => t.info));
      expectClose(got, reference(kernel, back, c.attrs)[0], F64, `${kernel.name} cpuFast`);
    }
  });
});

describe.each(backends)('attention backward on %s', (_name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  it.each(bothLayouts(AWKWARD).map((c) => [label(c), c] as const))('%s: stats, dk‖dv and dq against the float64 reference', async (_l, c) => {
    const ins = attentionInputs(c, 70);
    const [out, lse] = reference(attention, ins, c.attrs);
    const [outShape, lseShape] = outShapes(c, ins);
    const dout = randn(rng(71), outShape);
    const fwd = [tensor(lseShape, lse), tensor(outShape, out), dout];
    const [stats] = await runOn(be, attentionStats, fwd, {});
    const [wantStats] = reference(attentionStats, fwd, {});
    expectClose(stats, wantStats, STATS, 'stats');
    const back = [...ins.slice(0, 3), dout, tensor([...lseShape, 2], wantStats), ...ins.slice(3)];
    for (const kernel of [attentionBackwardKV, attentionBackwardQ]) {
      const [got] = await runOn(be, kernel, back, c.attrs);
      expectClose(got, reference(kernel, back, c.attrs)[0], BWD, kernel.name);
    }
  });

  it.each([SMALL[1], SMALL[2], SMALL[3], bthd(SMALL[3])].map((c) => [label(c), c] as const))('%s through autodiff: the gradients of an MSE on out against finite differences', async (_l, c) => {
    const ins = attentionInputs(c, 80);
    const y = randn(rng(81), [c.B, c.H * c.T * c.Dv]);
    const g = new Graph();
    const wrt = ['q', 'k', 'v'].map((n, i) => g.param(n, ins[i].info.shape));
    const data = ins.slice(3).map((t) => g.input(t.info.dtype === 'i32' ? 'step' : 'mask', t.info.shape, t.info.dtype));
    const yv = g.input('y', y.info.shape);
    const [out] = g.apply(attention, [...wrt, ...data], c.attrs);
    const L = g.op(reduceSum, [g.op(meanSquaredError, [g.op(reshape, [out], { shape: y.info.shape }), yv], {})], {}, 'L');
    const grads = gradients(g, L, wrt);
    const bound = new Map<Value, DeviceTensor>();
    [...wrt, ...data, yv].forEach((v, i) => {
      const t = be.allocate(v.shape, v.dtype);
      be.write(t, [...ins, y][i].data);
      bound.set(v, t);
    });
    const compiled = await compileGraph(be, g, bound, wrt.map((v) => grads.get(v)!));
    compiled.program.run();
    const n = c.H * c.T * c.Dv;
    const f = (vals: HostTensor[]) => reference(attention, vals, c.attrs)[0].reduce((s, v, i) => s + (v - y.data[i]) ** 2, 0) / n;
    for (let k = 0; k < 3; k++) {
      const want = numericGradient((v) => f(ins.map((t, i) => (i === k ? exact(t, v) : t))), Float64Array.from(ins[k].data));
      const got = await be.read(compiled.tensor(grads.get(wrt[k])!));
      expectClose(got, want, { atol: 1e-6, rtol: 1e-5, why: 'float32 forward and backward of a few keys against float64 differences' }, `d(${wrt[k].name})`);
    }
    compiled.dispose();
    for (const t of bound.values()) be.free(t);
  });
});
