// The helpers of the activations' WGSL forms (src/ops/activations.ts), over
// V: the shader that includes them aliases V to f32 (activation.wgsl) or
// vec4f (matmul.wgsl's epilogue), so one form serves both and a fused launch
// computes what the unfused ops would. Branches are selects for that reason:
// both sides are finite, and the side chosen is the same value either way.
// Every form stays finite for any finite x: exp only ever sees arguments ≤ 0,
// and squares and doublings are taken of clamped values, so nothing overflows.

const FRAC_1_SQRT_2 = 0.70710678118654752;
const FRAC_1_SQRT_2PI = 0.39894228040143268;

// e^v - 1 for v ≤ 0. exp(v) - 1 loses every digit as v → 0, so near 0 use the
// Taylor series in nested form v(1 + v/2(1 + v/3(...))); at |v| = 0.5 the
// dropped terms are below 1e-9 relative.
fn expm1Neg(v: V) -> V {
  var s = 1.0 + v * (1.0 / 10.0);
  for (var k = 9.0; k >= 2.0; k -= 1.0) { s = 1.0 + v / k * s; }
  return select(exp(v) - 1.0, v * s, v > V(-0.5));
}

// log(1 + z) for 0 ≤ z ≤ 1 as 2·atanh(w), w = z/(2+z) ≤ 1/3: the odd series
// 2w(1 + w²/3 + w⁴/5 + ...) to w¹⁶/17 is below 2^-25 relative, with no
// cancellation, where log(1 + z) would lose z once 1 + z rounds to 1.
fn log1pUnit(z: V) -> V {
  let w = z / (2.0 + z);
  let w2 = w * w;
  var s = V(1.0 / 17.0);
  for (var k = 15.0; k >= 1.0; k -= 2.0) { s = 1.0 / k + w2 * s; }
  return 2.0 * w * s;
}

// erf(z) = z·Q(z²) on 0 ≤ z < 1: a relative minimax fit (max error 1.3e-9).
fn erfSmall(z: V) -> V {
  let w = z * z;
  let q = 1.1283791065216064 + w * (-0.3761262595653534 + w * (0.1128358542919159 + w * (-0.026853810995817184
    + w * (0.005188327748328447 + w * (-0.0008010192541405559 + w * 7.853857823647559e-05)))));
  return z * q;
}

// erfc(z) = t·exp(P(t) − z²), t = 1/(1 + z/2), for z ≥ 1: P is a minimax fit
// of log(erfc(z)·e^{z²}/t) over 1 ≤ z ≤ 10 (max error 3.1e-9). The relative
// error holds in the tail, where 1 − erf(z) would cancel to nothing.
fn erfcLarge(z: V) -> V {
  let t = 1.0 / (1.0 + 0.5 * z);
  let p = -1.2654982805252075 + t * (0.9996848702430725 + t * (0.37781885266304016 + t * (0.07166188210248947
    + t * (-0.07282385230064392 + t * (-0.06610781699419022 + t * (-0.4496135711669922
    + t * (0.6438532471656799 + t * -0.24018976092338562)))))));
  return t * exp(p - z * z);
}

// Φ(x), the standard normal CDF, as 1/2·erfc(−x/√2), computed on the side
// that does not cancel: Φ(−|x|) directly, Φ(|x|) = 1 − Φ(−|x|).
fn normalCdf(v: V) -> V {
  // erfc(14) = 1e-87 is 0 in f32: the clamp changes nothing but keeps z² finite.
  let z = min(abs(v) * FRAC_1_SQRT_2, V(14.0));
  let lower = select(0.5 * erfcLarge(z), 0.5 - 0.5 * erfSmall(z), z < V(1.0));
  return select(lower, 1.0 - lower, v >= V(0.0));
}

// σ(v) from z = e^{-|v|} ≤ 1: no overflow, no cancellation, at any v.
fn sigmoid(v: V) -> V {
  let z = exp(-abs(v));
  return select(z, V(1.0), v >= V(0.0)) / (1.0 + z);
}

// z/(1+z)² for z = e^{-|v|}: σ'(v) = σ(v)(1−σ(v)) without the 1 − σ cancellation.
fn bell(z: V) -> V {
  let t = 1.0 / (1.0 + z);
  return z * t * t;
}
