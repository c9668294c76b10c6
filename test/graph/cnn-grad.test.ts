import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { gradients } from '../../src/graph/autodiff.js';
import type { Value } from '../../src/graph/graph.js';
import { Graph } from '../../src/graph/graph.js';
import { activation } from '../../src/ops/activation.js';
import { biasAdd } from '../../src/ops/bias.js';
import type { Conv2dAttrs } from '../../src/ops/conv.js';
import { conv2d } from '../../src/ops/conv.js';
import { matmul } from '../../src/ops/matmul.js';
import type { Pool2dAttrs } from '../../src/ops/pool.js';
import { avgPool2d, globalAvgPool2d, maxPool2d } from '../../src/ops/pool.js';
import { reshape } from '../../src/ops/reshape.js';
import { backends } from '../helpers/backends.js';
import { runOnce } from '../helpers/graph-run.js';
import { expectClose, numericGradient, randn, reference, rng } from '../helpers/check.js';

/*
 * A whole convolutional stack differentiated by autodiff, against float64
 * central differences of the same stack run through the CPU references:
 * conv2d (stride, 'same' padding, dilation) → bias and tanh on a free
 * [rows, channels] view → max pooling ('same', overlapping) → average pooling
 * → global average pooling → a fixed linear read-out. Every gradient rule of
 * the convolutional ops, and the reshape views, on one path.
 */
const X = [2, 7, 6, 3];
const K = [3, 2, 3, 4];
const convAttrs: Conv2dAttrs = { strides: [2, 1], padding: 'same', dilation: [1, 2] };
const maxAttrs: Pool2dAttrs = { poolSize: [3, 2], strides: [1, 1], padding: 'same' };
const avgAttrs: Pool2dAttrs = { poolSize: [2, 2], strides: [1, 2], padding: 'valid' };

function build() {
  const g = new Graph();
  const x = g.input('x', X);
  const k = g.param('k', K);
  const b = g.param('b', [4]);
  const v = g.input('v', [4, 1]);
  const y = g.op(conv2d, [x, k], convAttrs, 'y');
  const rows = g.op(reshape, [y], { shape: [-1, 4] });
  const act = g.op(activation, [g.op(biasAdd, [rows, b], {})], { kind: 'tanh' });
  const img = g.op(reshape, [act], { shape: y.shape });
  const pooled = g.op(avgPool2d, [g.op(maxPool2d, [img], maxAttrs)], avgAttrs);
  const feats = g.op(globalAvgPool2d, [pooled], {});
  const out = g.op(matmul, [feats, v], {});
  const L = g.op(matmul, [g.input('u', [1, 2]), out], {}, 'L');
  return { g, x, k, b, v, L };
}

function lossF64(d: Record<string, Float64Array>): number {
  const t = (shape: readonly number[], a: Float64Array) => ({ info: { shape: [...shape], dtype: 'f32' as const }, data: a as never });
  const [y] = reference(conv2d, [t(X, d.x), t(K, d.k)], convAttrs);
  const yShape = conv2d.outputs([{ shape: X, dtype: 'f32' }, { shape: K, dtype: 'f32' }], convAttrs)[0].shape;
  const a = Float64Array.from(y, (v, i) => Math.tanh(v + d.b[i % 4]));
  const [m] = reference(maxPool2d, [t(yShape, a)], maxAttrs);
  const [p] = reference(avgPool2d, [t(yShape, m)], avgAttrs);
  const pShape = avgPool2d.outputs([{ shape: yShape, dtype: 'f32' }], avgAttrs)[0].shape;
  const [f] = reference(globalAvgPool2d, [t(pShape, p)], {});
  let L = 0;
  for (let n = 0; n < 2; n++) for (let c = 0; c < 4; c++) L += d.u[n] * f[n * 4 + c] * d.v[c];
  return L;
}

describe.each(backends)('autodiff through a convolutional stack on %s', (_name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  it('matches float64 finite differences for the kernel, the bias and the input', async () => {
    const { g, x, k, b, v, L } = build();
    const grads = gradients(g, L, [k, b, x]);
    const r = rng(11);
    const values = g.values.filter((w) => w.role !== 'temp');
    const host = new Map<Value, Float32Array>(values.map((w) => [w, randn(r, [...w.shape]).data as Float32Array]));
    const { compiled, bound } = await runOnce(be, g, host, [...grads.values(), L]);
    const f64 = Object.fromEntries([...host].map(([w, d]) => [w.name, Float64Array.from(d)]));
    for (const w of [k, b, x]) {
      const got = await be.read(compiled.tensor(grads.get(w)!));
      const want = numericGradient((z) => lossF64({ ...f64, [w.name]: z }), f64[w.name]);
      // float32 sums of at most 18 products (3·2·3) and a few averages of O(1) values; gradients O(0.1):
      // 2e-6 absolute is some 100 ulps of the largest term. Max pooling is differentiable here: random inputs have no ties.
      expectClose(got, want, { atol: 2e-6, rtol: 1e-4, why: 'float32 conv/pool chain vs float64 finite differences' }, `d${w.name}`);
    }
    for (const t of bound.values()) be.free(t);
    compiled.dispose();
    void v;
  });
});
