import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { ShapeError, ValueError } from '../../src/core/errors.js';
import type { ActivationAttrs, ActivationKind } from '../../src/ops/activation.js';
import { ACTIVATIONS, activation, activationBackward, activationBackwardFromOutput, activationFunction, activationGradOfOutput, erfc, gradFromOutput, normalCdf } from '../../src/ops/activation.js';
import { backends } from '../helpers/backends.js';
import { expectClose, FD_TOL, numericGradient, randn, reference, rng, runOn, tensor } from '../helpers/check.js';
import type { HostTensor, Tolerance } from '../helpers/check.js';

const U = 2 ** -24; // float32 unit roundoff: +, −, × round to within U relative
// WGSL lets an implementation flush subnormals (below 2^-126) to zero, so a
// result, or an intermediate like e^{-|x|}, that small may come back as 0.
const TINY = 2 ** -120;

/**
 * Per-element error bounds for the WGSL forms, in units of U, from WGSL's
 * documented accuracy: exp(a) within 3 + 2|a| ULP (one ULP ≤ 2U relative),
 * division 2.5 ULP (5U), other arithmetic correctly rounded (U). Each bound
 * adds the errors of the steps in activation.wgsl; comments give the sums.
 */
function forwardBound(kind: ActivationKind, alpha: number, x: number, y: number): number {
  const ax = Math.abs(x);
  switch (kind) {
    case 'linear':
    case 'relu':
      return 0; // exact
    case 'leakyRelu':
      return x > 0 ? 0 : 2 * U * Math.abs(y); // α rounded to f32 for the uniform, one multiply
    case 'elu':
      // The Taylor form of e^x − 1 (≤ 11U) above −0.5, exp(x) − 1 (exp's error + one rounding) below; ×α (α to f32: U, multiply: U).
      if (x > 0) return 0;
      return (x > -0.5 ? 0 : Math.abs(alpha) * (3 + 2 * ax) * 2 * U * Math.exp(x)) + 13 * U * Math.abs(y);
    case 'sigmoid':
      // e^{-|x|} carries (3+2|x|)·2U; 1 + z and the division add 6U.
      return (12 + 4 * ax) * U * Math.abs(y);
    case 'tanh':
      // −e/(2+e), e = expm1(−2|x|): by Taylor for |x| < 1/4, ≤ 20U relative;
      // else exp(−2|x|) − 1, whose (3+4|x|)·2U·e^{-2|x|} is doubled by d tanh/de ≤ 2.
      return (ax < 0.25 ? 0 : 4 * U * (3 + 4 * ax) * Math.exp(-2 * ax)) + 22 * U * Math.abs(y);
    case 'softplus': {
      // log1p series ≤ 10U relative plus e^{-|x|}'s (3+2|x|)·2U, then + max(x, 0).
      const l = Math.log1p(Math.exp(-ax));
      return (16 + 4 * ax) * U * l + U * Math.abs(y);
    }
    case 'gelu':
      return ax * cdfBound(x) + U * Math.abs(y);
  }
}

/**
 * Absolute error of the WGSL Φ(x). |x|/√2 < 1: erf = z·Q(z²), Horner over 7
 * alternating terms ≤ 24U relative (γ₁₂ times Σ|qᵢ|wⁱ/Q ≤ 2), plus z's 2U, halved
 * by 0.5 − 0.5·erf, then one rounding. Otherwise t·exp(P(t) − z²): t 8U, P(t)
 * Horner ≤ 36U absolute (γ₁₆·Σ|pᵢ|tⁱ ≤ 2.3), z² 5U·z², exp's (3+2|a|) ULP,
 * the sum and products 4U: (60 + 10z²)U relative. The fits' own errors are
 * 1.3e-9 and 3.1e-9, below U.
 */
function cdfBound(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const upper = x >= 0 ? U : 0;
  if (z < 1) return 14 * U + upper;
  return normalCdf(-Math.abs(x)) * (60 + 10 * z * z) * U + upper;
}

/** Error bound on f'(x), before the multiply by dy (which adds U|dx|). */
function derivativeBound(kind: ActivationKind, x: number, d: number): number {
  const ax = Math.abs(x);
  switch (kind) {
    case 'linear':
    case 'relu':
      return 0; // exact 0 or 1
    case 'leakyRelu':
      return x > 0 ? 0 : U * Math.abs(d); // α rounded to f32 for the uniform
    case 'elu':
      return x > 0 ? 0 : (9 + 4 * ax) * U * Math.abs(d); // α (to f32) · exp(x)
    case 'sigmoid':
      // z·t·t with t = 1/(1+z): z's error, twice t's (damped by z/(1+z) ≤ 1/2), 14U of arithmetic.
      return (26 + 8 * ax) * U * Math.abs(d);
    case 'tanh':
      return (28 + 16 * ax) * U * Math.abs(d); // the same at a = −2|x|
    case 'softplus':
      return (12 + 4 * ax) * U * Math.abs(d); // σ(x), as the sigmoid forward
    case 'gelu': {
      // Φ(x) + x·φ(x): φ's exponent −x²/2 rounds (U relative), exp adds (3+2|a|) ULP, three products.
      const xphi = Math.abs(x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI);
      return cdfBound(x) + xphi * (9 + 2.5 * x * x) * U + U * Math.abs(d);
    }
  }
}

const WHY = 'sum of the WGSL steps\' errors: exp 3+2|a| ULP, division 2.5 ULP, arithmetic 0.5 ULP (see forwardBound)';

function forwardTol(kind: ActivationKind, alpha: number, x: HostTensor, y: Float64Array): Tolerance {
  const atol = Float64Array.from(y, (v, i) => forwardBound(kind, alpha, x.data[i], v) + TINY);
  return { atol, rtol: 0, why: WHY };
}

function backwardTol(attrs: ActivationAttrs, x: HostTensor, dy: HostTensor, dx: Float64Array): Tolerance {
  const ones = tensor(x.info.shape as number[], new Float32Array(x.data.length).fill(1));
  const [d] = reference(activationBackward, [x, ones], attrs);
  const kind = attrs.kind;
  const atol = Float64Array.from(dx, (v, i) => derivativeBound(kind, x.data[i], d[i]) * Math.abs(dy.data[i]) + U * Math.abs(v) + TINY);
  return { atol, rtol: 0, why: WHY };
}

function alphaOf(kind: ActivationKind): number {
  return kind === 'leakyRelu' ? 0.2 : kind === 'elu' ? 1 : 0;
}

// 1, a prime, one past the workgroup (256), a multiple of it, and an MNIST-batch-sized layer.
const SHAPES = [[1], [7], [257], [1024], [512, 784]];

describe.each(backends)('activation on %s', (name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  async function check(kind: ActivationKind, x: HostTensor, dy: HostTensor, attrs: ActivationAttrs = { kind }) {
    const alpha = attrs.alpha ?? alphaOf(kind);
    const [y] = await runOn(be, activation, [x], attrs);
    const [yRef] = reference(activation, [x], attrs);
    expectClose(y, yRef, forwardTol(kind, alpha, x, yRef), `${kind} forward`);
    const [dx] = await runOn(be, activationBackward, [x, dy], attrs);
    const [dxRef] = reference(activationBackward, [x, dy], attrs);
    expectClose(dx, dxRef, backwardTol(attrs, x, dy, dxRef), `${kind} backward`);
    return { y, dx };
  }

  for (const kind of ACTIVATIONS) {
    for (const shape of SHAPES) {
      it(`${kind} forward and backward, [${shape}]`, async () => {
        const r = rng(shape.reduce((a, b) => a * b) + kind.length);
        // [-8, 8] reaches every branch: Taylor and exp in expm1, both erf fits, sigmoid's tails.
        await check(kind, randn(r, shape, -8, 8), randn(r, shape));
      });
    }

    it(`${kind} on a dense grid over [-12, 12], 0 and ±1e-3 included`, async () => {
      const xs = Array.from({ length: 24001 }, (_, i) => -12 + i / 1000);
      const x = tensor([xs.length], xs);
      await check(kind, x, randn(rng(3), [xs.length]));
    });

    it(`${kind} stays finite and correct at ±100`, async () => {
      const xs = [-100, -80, -50, -20, -1e-3, 0, 1e-3, 20, 50, 80, 100];
      const { y, dx } = await check(kind, tensor([xs.length], xs), tensor([xs.length], xs.map(() => 1)));
      expect([...y, ...dx].every(Number.isFinite), `${kind}: ${[...y]} / ${[...dx]}`).toBe(true);
    });
  }

  // Beyond ±100 the exp-based bounds above grow with |x| and say little; the
  // limits (0, ±1, x, −α, and 0 or 1 for slopes) are f32 values, reached to
  // within α's rounding to f32 and one product: 2U relative.
  it.each(ACTIVATIONS)('%s saturates exactly, without overflow, up to |x| = 3e38', async (kind) => {
    const xs = [-3e38, -1e30, -1e4, 1e4, 1e30, 3e38];
    const x = tensor([xs.length], xs);
    const dy = tensor([xs.length], xs.map(() => 1));
    const limits = { atol: TINY, rtol: 2 * U, why: 'saturated values are exact in f32, up to α rounded to f32 and one product' };
    const [y] = await runOn(be, activation, [x], { kind });
    expectClose(y, reference(activation, [x], { kind })[0], limits, `${kind} forward`);
    const [dx] = await runOn(be, activationBackward, [x, dy], { kind });
    expectClose(dx, reference(activationBackward, [x, dy], { kind })[0], limits, `${kind} backward`);
  });

  it('takes alpha for leakyRelu and elu (defaults 0.2 and 1, as Keras)', async () => {
    const x = tensor([4], [-2, -0.5, 0, 3]);
    const [leaky] = await runOn(be, activation, [x], { kind: 'leakyRelu' });
    expect([...leaky]).toEqual([-0.4000000059604645, -0.10000000149011612, 0, 3]);
    const [dLeaky] = await runOn(be, activationBackward, [x, tensor([4], [1, 1, 1, 1])], { kind: 'leakyRelu', alpha: 0.05 });
    expect([...dLeaky]).toEqual([Math.fround(0.05), Math.fround(0.05), Math.fround(0.05), 1]); // leakyRelu'(0) = alpha
    const [dRelu] = await runOn(be, activationBackward, [x, tensor([4], [1, 1, 1, 1])], { kind: 'relu' });
    expect([...dRelu]).toEqual([0, 0, 0, 1]); // relu'(0) = 0
    const r = rng(5);
    await check('elu', randn(r, [300], -5, 5), randn(r, [300]), { kind: 'elu', alpha: 0.7 });
    await check('leakyRelu', randn(r, [300], -5, 5), randn(r, [300]), { kind: 'leakyRelu', alpha: 0.01 });
  });

  // A GPU grid question: the CPU backend runs the reference's loop, the same at every size ([512, 784] above is its large case).
  it.runIf(name === 'webgpu')('folds more than 65535 workgroups into 2-D', async () => {
    const n = 65535 * 256 + 3;
    const x = randn(rng(9), [n]);
    const [y] = await runOn(be, activation, [x], { kind: 'relu' });
    let bad = 0;
    for (let i = 0; i < n; i++) if (y[i] !== Math.max(x.data[i], 0)) bad++;
    expect(bad).toBe(0);
  });

  it('refuses an unknown kind, a bad alpha, a wrong dtype or shape, with the reason', () => {
    const x = be.allocate([3]);
    const out = be.allocate([3]);
    const run = (attrs: unknown) => be.run(activation, [x], [out], attrs as ActivationAttrs);
    expect(() => run({ kind: 'swish' })).toThrow(ValueError);
    expect(() => run({ kind: 'swish' })).toThrow(`unknown activation 'swish' (use one of ${ACTIVATIONS.join(', ')})`);
    expect(() => run({ kind: 'elu', alpha: NaN })).toThrow(/alpha must be a finite number, got NaN/);
    expect(() => run({ kind: 'leakyRelu', alpha: Infinity })).toThrow(/alpha must be a finite number, got Infinity/);
    expect(() => run({ kind: 'leakyRelu', alpha: -0.1 })).toThrow(/must be ≥ 0, got -0.1/);
    expect(() => run({ kind: 'relu', alpha: 0.1 })).toThrow(/'relu' takes no alpha/);
    expect(() => be.run(activation, [be.allocate([3], 'i32')], [out], { kind: 'relu' })).toThrow(/activation: x must be f32, got i32\[3\]/);
    expect(() => be.run(activationBackward, [x, be.allocate([4])], [out], { kind: 'tanh' })).toThrow(ShapeError);
    expect(() => be.run(activationBackward, [x, be.allocate([4])], [out], { kind: 'tanh' })).toThrow(/x f32\[3\] and dy f32\[4\] must have the same shape/);
  });
});

describe('activation reference (float64)', () => {
  // Values of erf/erfc to 20 digits (mpmath); the series and continued fraction give ~1e-15.
  it.each([
    [0.5, 1 - 0.52049987781304653768],
    [1, 1 - 0.84270079294971486934],
    [-1, 1.8427007929497148693],
    [2, 0.0046777349810472658379],
    [2.4, 0.00068851389664507888555],
    [2.6, 0.00023603441652934908781],
    [3, 0.000022090496998585441373],
    [5, 1.5374597944280348502e-12],
    [10, 2.088487583762544757e-45],
  ])('erfc(%f)', (z, want) => {
    expect(Math.abs(erfc(z) - want) / want).toBeLessThan(1e-14);
  });

  const kinks = (x: Float32Array) => x.map((v) => (Math.abs(v) < 1e-3 ? v + 0.01 : v));
  const cases: ActivationAttrs[] = [...ACTIVATIONS.map((kind) => ({ kind })), { kind: 'leakyRelu', alpha: 0.03 }, { kind: 'elu', alpha: 1.7 }];
  it.each(cases)('backward matches finite differences: %o', (attrs) => {
    const r = rng(11);
    const x = randn(r, [13], -4, 4);
    x.data = kinks(x.data as Float32Array); // relu, leakyRelu and elu have a kink at 0
    const g = randn(r, [13]);
    const loss = (X: Float64Array) => {
      const [y] = reference(activation, [{ info: x.info, data: X as never }], attrs);
      return y.reduce((s, v, i) => s + v * g.data[i], 0);
    };
    const [dx] = reference(activationBackward, [x, g], attrs);
    expectClose(dx, numericGradient(loss, Float64Array.from(x.data)), FD_TOL, `${attrs.kind} dx`);
  });
});

// The kinds whose gradient autodiff takes from the output, with non-default alphas too.
const FROM_OUTPUT: ActivationAttrs[] = [
  ...ACTIVATIONS.filter((kind) => gradFromOutput({ kind })).map((kind) => ({ kind })),
  { kind: 'leakyRelu', alpha: 0.05 },
  { kind: 'elu', alpha: 0.7 },
];

describe('activation gradient from the output', () => {
  it('applies to linear, relu, leakyRelu, elu (alpha ≥ 0), sigmoid and tanh, not to softplus, gelu or elu with alpha < 0', () => {
    expect(ACTIVATIONS.filter((kind) => gradFromOutput({ kind }))).toEqual(['linear', 'relu', 'leakyRelu', 'elu', 'sigmoid', 'tanh']);
    expect(gradFromOutput({ kind: 'elu', alpha: -0.5 })).toBe(false);
    expect(gradFromOutput({ kind: 'elu', alpha: 0 })).toBe(true);
    expect(() => activationGradOfOutput({ kind: 'gelu' })).toThrow(/gradient of 'gelu' needs its input/);
  });

  // f'(x) = g(f(x)) in float64, on both sides of every kink and into the tails.
  it.each(FROM_OUTPUT)('g(f(x)) = f\'(x) in float64: %o', (attrs) => {
    const f = activationFunction(attrs);
    const g = activationGradOfOutput(attrs);
    const xs = Array.from({ length: 2001 }, (_, i) => -10 + i / 100).filter((x) => Math.abs(x) > 1e-9);
    const x = tensor([xs.length], xs);
    const [df] = reference(activationBackward, [x, tensor([xs.length], xs.map(() => 1))], attrs);
    const viaY = Float64Array.from(x.data, (v) => g(f(v)));
    // 1 − y² and y(1 − y) cancel as y → ±1: float64 keeps 1e-16·(1 + y²) absolute.
    expectClose(viaY, df, { atol: 1e-15, rtol: 1e-12, why: 'float64 rounding of g(y), which cancels near |y| = 1' }, attrs.kind);
  });
});

describe.each(backends)('activationBackwardFromOutput on %s', (_name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  for (const attrs of FROM_OUTPUT) {
    it.each(SHAPES)(`${attrs.kind}${attrs.alpha !== undefined ? ` (alpha ${attrs.alpha})` : ''} [%i]`, async (...shape) => {
      const r = rng(shape.reduce((a, b) => a * b) + attrs.kind.length);
      const x = randn(r, shape, -6, 6);
      const [yRef] = reference(activation, [x], attrs);
      const y = tensor(shape, yRef);
      const dy = randn(r, shape);
      const [dx] = await runOn(be, activationBackwardFromOutput, [y, dy], attrs);
      const [want] = reference(activationBackwardFromOutput, [y, dy], attrs);
      // g(y) is at most two roundings of terms no larger than |g|, y² and |α| (α itself rounded to f32), then one product with dy.
      const alpha = Math.abs(attrs.alpha ?? alphaOf(attrs.kind));
      const atol = Float64Array.from(want, (v, i) => 4 * U * (Math.abs(v / (dy.data[i] || 1)) + y.data[i] ** 2 + alpha) * Math.abs(dy.data[i]) + U * Math.abs(v) + TINY);
      expectClose(dx, want, { atol, rtol: 0, why: 'two roundings in g(y), α to f32, one product' }, attrs.kind);
    });
  }

  it('refuses kinds that need the input, and mismatched shapes', () => {
    const y = be.allocate([3]);
    expect(() => be.run(activationBackwardFromOutput, [y, y], [be.allocate([3])], { kind: 'softplus' })).toThrow(/'softplus' needs its input, not its output/);
    expect(() => be.run(activationBackwardFromOutput, [y, be.allocate([4])], [be.allocate([3])], { kind: 'relu' })).toThrow(/y f32\[3\] and dy f32\[4\] must have the same shape/);
  });
});
