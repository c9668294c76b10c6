import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { ShapeError } from '../../src/core/errors.js';
import { logSoftmax, logSoftmaxBackward, softmax, softmaxBackward } from '../../src/ops/softmax.js';
import { backends } from '../helpers/backends.js';
import { expectClose, FD_TOL, numericGradient, randn, reference, rng, runOn, tensor } from '../helpers/check.js';
import type { HostTensor, Tolerance } from '../helpers/check.js';

const U = 2 ** -24; // float32 unit roundoff
const TINY = 2 ** -120; // results below 2^-126 may be flushed to zero (WGSL allows it)

/**
 * Additions on one path of the kernel's row reduction: at most ⌈C/256⌉ − 1
 * sequential adds per invocation, then a log₂(WG) ≤ 8 level tree. Summing n
 * values along such paths errs by at most depth·U·Σ|vᵢ| (Higham, §4.2).
 */
const depth = (cols: number) => Math.ceil(cols / 256) + 8;

type Row = (x: Float32Array | Float64Array | Int32Array, base: number, cols: number) => void;
function eachRow(t: HostTensor, fn: Row): void {
  const [rows, cols] = t.info.shape;
  for (let r = 0; r < rows; r++) fn(t.data, r * cols, cols);
}

/**
 * softmax: with d = x − max (one rounding, U|d|), exp(d) carries WGSL's
 * 3 + 2|d| ULP plus U|d| from d: εⱼ = (6 + 5|dⱼ|)U. The sum adds depth·U and
 * the εⱼ weighted by eⱼ/s; the division 2.5 ULP (5U).
 * logSoftmax: d's rounding, log s within 2^-21 absolute for s in [0.5, 2] and
 * 3 ULP beyond (WGSL), the sum's relative error (absolute after the log), and
 * the final subtraction.
 */
function forwardTol(x: HostTensor, want: Float64Array, log: boolean): Tolerance {
  const atol = new Float64Array(want.length);
  eachRow(x, (v, base, cols) => {
    let m = v[base];
    for (let j = 1; j < cols; j++) m = Math.max(m, v[base + j]);
    let s = 0;
    let weighted = 0;
    for (let j = 0; j < cols; j++) {
      const d = v[base + j] - m;
      s += Math.exp(d);
      weighted += Math.exp(d) * (6 + 5 * Math.abs(d)) * U;
    }
    const relS = weighted / s + depth(cols) * U;
    const logErr = s <= 2 ? 2 ** -21 : 6 * U * Math.log(s);
    for (let j = 0; j < cols; j++) {
      const d = Math.abs(v[base + j] - m);
      const y = Math.abs(want[base + j]);
      atol[base + j] = TINY + (log ? U * d + logErr + relS + U * y : y * ((6 + 5 * d) * U + relS + 6 * U));
    }
  });
  return { atol, rtol: 0, why: 'exp 3+2|d| ULP, log 2^-21 abs on [0.5,2], division 2.5 ULP, tree-sum depth·U (see forwardTol)' };
}

/**
 * softmaxBackward: the dot product Σ dyⱼyⱼ within (depth + 1)·U·Σ|dyⱼyⱼ|
 * (products included), then dy − dot and the product with y, one rounding each.
 * logSoftmaxBackward: Σ dy within depth·U·Σ|dy|, exp(y) 3 + 2|y| ULP, then a
 * product and a subtraction.
 */
function backwardTol(y: HostTensor, dy: HostTensor, want: Float64Array, log: boolean): Tolerance {
  const atol = new Float64Array(want.length);
  const g = dy.data;
  eachRow(y, (v, base, cols) => {
    let dot = 0;
    let absDot = 0;
    let sum = 0;
    let absSum = 0;
    for (let j = base; j < base + cols; j++) {
      dot += g[j] * v[j];
      absDot += Math.abs(g[j] * v[j]);
      sum += g[j];
      absSum += Math.abs(g[j]);
    }
    for (let j = base; j < base + cols; j++) {
      const own = U * Math.abs(want[j]);
      atol[j] = TINY + own + (log
        ? Math.exp(v[j]) * (depth(cols) * U * absSum + Math.abs(sum) * ((3 + 2 * Math.abs(v[j])) * 2 * U + U))
        : Math.abs(v[j]) * ((depth(cols) + 1) * U * absDot + U * Math.abs(g[j] - dot)));
    }
  });
  return { atol, rtol: 0, why: 'tree-sum depth·U·Σ|terms|, exp 3+2|y| ULP, one rounding per operation (see backwardTol)' };
}

/** Inputs for the backward kernels: the forward's float64 output, rounded to f32 as the GPU would hold it. */
function forwardOutput(x: HostTensor, log: boolean): HostTensor {
  const [y] = reference(log ? logSoftmax : softmax, [x], {});
  return tensor(x.info.shape as number[], y);
}

const SHAPES: [number, number][] = [[1, 1], [1, 10], [13, 7], [2000, 10], [3, 1000], [5, 4099], [60000, 10]];

describe.each(backends)('softmax on %s', (_name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  async function check(x: HostTensor, dy: HostTensor) {
    const out: Float64Array[] = [];
    for (const log of [false, true]) {
      const name = log ? 'logSoftmax' : 'softmax';
      const [y] = await runOn(be, log ? logSoftmax : softmax, [x], {});
      const [want] = reference(log ? logSoftmax : softmax, [x], {});
      expectClose(y, want, forwardTol(x, want, log), `${name} [${x.info.shape}]`);
      const yIn = forwardOutput(x, log);
      const [dx] = await runOn(be, log ? logSoftmaxBackward : softmaxBackward, [yIn, dy], {});
      const [dxWant] = reference(log ? logSoftmaxBackward : softmaxBackward, [yIn, dy], {});
      expectClose(dx, dxWant, backwardTol(yIn, dy, dxWant, log), `${name}Backward [${x.info.shape}]`);
      out.push(y, dx);
    }
    return out;
  }

  it.each(SHAPES)('forward and backward, [%i, %i]', async (rows, cols) => {
    const r = rng(rows * 7919 + cols);
    await check(randn(r, [rows, cols], -8, 8), randn(r, [rows, cols]));
  });

  it('folds more than 65535 rows into 2-D', async () => {
    const r = rng(4);
    await check(randn(r, [65537, 3], -8, 8), randn(r, [65537, 3]));
  });

  it('stays finite and exact at extreme logits (±100, ±1e4, ties)', async () => {
    const rows = [
      [100, -100, -50, 100],
      [-100, -100, -100, -100],
      [1e4, -1e4, 0, 5],
      [-1e4, 1e4, 1e4, -1e4],
    ];
    const x = tensor([4, 4], rows.flat());
    const outs = await check(x, randn(rng(8), [4, 4]));
    for (const o of outs) expect(o.every(Number.isFinite), [...o].join(' ')).toBe(true);
    // Spot values; the tolerances above already bound every element.
    const [p, , logp] = outs;
    [0.5, 0, 0, 0.5, 0.25, 0.25, 0.25, 0.25].forEach((v, i) => expect(p[i]).toBeCloseTo(v, 6));
    [0, -2e4, -1e4, -9995].forEach((v, i) => expect(logp[8 + i]).toBeCloseTo(v, 6));
  });

  it('refuses wrong ranks, dtypes and mismatched gradients, naming them', () => {
    const flat = be.allocate([10]);
    expect(() => be.run(softmax, [flat], [be.allocate([10])], {})).toThrow(ShapeError);
    expect(() => be.run(softmax, [flat], [be.allocate([10])], {})).toThrow(/softmax: x must have rank 2, got f32\[10\]/);
    expect(() => be.run(logSoftmax, [be.allocate([2, 3, 4])], [be.allocate([2, 3, 4])], {})).toThrow(/logSoftmax: x must have rank 2, got f32\[2, 3, 4\]/);
    expect(() => be.run(softmax, [be.allocate([2, 3], 'i32')], [be.allocate([2, 3])], {})).toThrow(/softmax: x must be f32, got i32\[2, 3\]/);
    const y = be.allocate([2, 3]);
    expect(() => be.run(softmaxBackward, [y, be.allocate([3, 2])], [be.allocate([2, 3])], {})).toThrow(/softmaxBackward: y f32\[2, 3\] and dy f32\[3, 2\] must have the same shape/);
    expect(() => be.run(logSoftmaxBackward, [flat, be.allocate([10])], [be.allocate([10])], {})).toThrow(/logSoftmaxBackward: y must have rank 2/);
  });
});

describe('softmax gradients (CPU reference vs finite differences)', () => {
  // L = Σ G ⊙ f(x) for a fixed G: dL/dx is the backward kernel applied to dy = G.
  it.each([[1, 1], [3, 5], [2, 13]])('softmaxBackward and logSoftmaxBackward, [%i, %i]', (rows, cols) => {
    const r = rng(rows + cols);
    const x = randn(r, [rows, cols], -3, 3);
    const g = randn(r, [rows, cols]);
    for (const [fwd, bwd] of [[softmax, softmaxBackward], [logSoftmax, logSoftmaxBackward]] as const) {
      const loss = (X: Float64Array) => {
        const [y] = reference(fwd, [{ info: x.info, data: X as never }], {});
        return y.reduce((s, v, i) => s + v * g.data[i], 0);
      };
      const [y] = reference(fwd, [x], {});
      const [dx] = reference(bwd, [{ info: x.info, data: y as never }, g], {});
      expectClose(dx, numericGradient(loss, Float64Array.from(x.data)), FD_TOL, `${bwd.name}`);
    }
  });
});
