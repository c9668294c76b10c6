// Elementwise activations and their gradients, one pipeline per kind (KIND).
//   activation_forward:  y  = f(x)
//   activation_backward: dx = f'(x) · dy
//   activation_backward_from_output: dx = f'(x) · dy from y = f(x), for the
//                        kinds whose derivative is a function of y (linear,
//                        relu, leakyRelu, elu with alpha ≥ 0, sigmoid, tanh)
// KIND numbers follow ACTIVATIONS in src/ops/activation.ts.
// Every form stays finite for any finite x: exp only ever sees arguments ≤ 0,
// and squares and doublings are taken of clamped values, so nothing overflows.

override KIND: u32 = 0u;

const WG = 256u;
const LINEAR = 0u;
const RELU = 1u;
const LEAKY_RELU = 2u;
const ELU = 3u;
const SIGMOID = 4u;
const TANH = 5u;
const SOFTPLUS = 6u;
const GELU = 7u;

const FRAC_1_SQRT_2 = 0.70710678118654752;
const FRAC_1_SQRT_2PI = 0.39894228040143268;

struct Params {
  n: u32,
  alpha: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;

@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> fp: Params;

@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> bp: Params;

fn gridIndex(gid: vec3u, groups: vec3u) -> u32 {
  return gid.x + gid.y * groups.x * WG;
}

// e^v - 1 for v ≤ 0. exp(v) - 1 loses every digit as v → 0, so near 0 use the
// Taylor series in nested form v(1 + v/2(1 + v/3(...))); at |v| = 0.5 the
// dropped terms are below 1e-9 relative.
fn expm1Neg(v: f32) -> f32 {
  if (v > -0.5) {
    var s = 1.0 + v * (1.0 / 10.0);
    for (var k = 9.0; k >= 2.0; k -= 1.0) { s = 1.0 + v / k * s; }
    return v * s;
  }
  return exp(v) - 1.0;
}

// log(1 + z) for 0 ≤ z ≤ 1 as 2·atanh(w), w = z/(2+z) ≤ 1/3: the odd series
// 2w(1 + w²/3 + w⁴/5 + ...) to w¹⁶/17 is below 2^-25 relative, with no
// cancellation, where log(1 + z) would lose z once 1 + z rounds to 1.
fn log1pUnit(z: f32) -> f32 {
  let w = z / (2.0 + z);
  let w2 = w * w;
  var s = 1.0 / 17.0;
  for (var k = 15.0; k >= 1.0; k -= 2.0) { s = 1.0 / k + w2 * s; }
  return 2.0 * w * s;
}

// erf(z) = z·Q(z²) on 0 ≤ z < 1: a relative minimax fit (max error 1.3e-9).
fn erfSmall(z: f32) -> f32 {
  let w = z * z;
  let q = 1.1283791065216064 + w * (-0.3761262595653534 + w * (0.1128358542919159 + w * (-0.026853810995817184
    + w * (0.005188327748328447 + w * (-0.0008010192541405559 + w * 7.853857823647559e-05)))));
  return z * q;
}

// erfc(z) = t·exp(P(t) − z²), t = 1/(1 + z/2), for z ≥ 1: P is a minimax fit
// of log(erfc(z)·e^{z²}/t) over 1 ≤ z ≤ 10 (max error 3.1e-9). The relative
// error holds in the tail, where 1 − erf(z) would cancel to nothing.
fn erfcLarge(z: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.5 * z);
  let p = -1.2654982805252075 + t * (0.9996848702430725 + t * (0.37781885266304016 + t * (0.07166188210248947
    + t * (-0.07282385230064392 + t * (-0.06610781699419022 + t * (-0.4496135711669922
    + t * (0.6438532471656799 + t * -0.24018976092338562)))))));
  return t * exp(p - z * z);
}

// Φ(x), the standard normal CDF, as 1/2·erfc(−x/√2), computed on the side
// that does not cancel: Φ(−|x|) directly, Φ(|x|) = 1 − Φ(−|x|).
fn normalCdf(v: f32) -> f32 {
  // erfc(14) = 1e-87 is 0 in f32: the clamp changes nothing but keeps z² finite.
  let z = min(abs(v) * FRAC_1_SQRT_2, 14.0);
  var lower: f32;
  if (z < 1.0) { lower = 0.5 - 0.5 * erfSmall(z); } else { lower = 0.5 * erfcLarge(z); }
  return select(lower, 1.0 - lower, v >= 0.0);
}

// σ(v) from z = e^{-|v|} ≤ 1: no overflow, no cancellation, at any v.
fn sigmoid(v: f32) -> f32 {
  let z = exp(-abs(v));
  return select(z, 1.0, v >= 0.0) / (1.0 + z);
}

// z/(1+z)² for z = e^{-|v|}: σ'(v) = σ(v)(1−σ(v)) without the 1 − σ cancellation.
fn bell(z: f32) -> f32 {
  let t = 1.0 / (1.0 + z);
  return z * t * t;
}

fn f(v: f32, alpha: f32) -> f32 {
  switch KIND {
    case RELU: { return max(v, 0.0); }
    case LEAKY_RELU: { return select(alpha * v, v, v > 0.0); }
    case ELU: { return select(alpha * expm1Neg(min(v, 0.0)), v, v > 0.0); }
    case SIGMOID: { return sigmoid(v); }
    case TANH: {
      // tanh(64) and tanh'(64) are 1 and 0 in f32; the clamp keeps −2|v| finite.
      let e = expm1Neg(-2.0 * min(abs(v), 64.0));
      return sign(v) * (-e / (2.0 + e));
    }
    case SOFTPLUS: { return max(v, 0.0) + log1pUnit(exp(-abs(v))); }
    case GELU: { return v * normalCdf(v); }
    default: { return v; }
  }
}

fn df(v: f32, alpha: f32) -> f32 {
  switch KIND {
    // relu'(0) = 0, leakyRelu'(0) = alpha, elu'(0) = alpha, as PyTorch.
    case RELU: { return select(0.0, 1.0, v > 0.0); }
    case LEAKY_RELU: { return select(alpha, 1.0, v > 0.0); }
    case ELU: { return select(alpha * exp(min(v, 0.0)), 1.0, v > 0.0); }
    case SIGMOID: { return bell(exp(-abs(v))); }
    // tanh'(v) = 1 − tanh² = 4z/(1+z)², z = e^{-2|v|}.
    case TANH: { return 4.0 * bell(exp(-2.0 * min(abs(v), 64.0))); }
    case SOFTPLUS: { return sigmoid(v); }
    case GELU: {
      let c = clamp(v, -20.0, 20.0);   // φ(20) = 5e-88 is 0 in f32: keeps v² finite
      return normalCdf(v) + v * FRAC_1_SQRT_2PI * exp(-0.5 * c * c);
    }
    default: { return 1.0; }
  }
}

// f'(x) from y = f(x), for the kinds gradFromOutput (src/ops/activation.ts)
// allows. The same forms ride in matmul.wgsl's epilogue.
fn dfOfOutput(v: f32, alpha: f32) -> f32 {
  switch KIND {
    case RELU: { return select(0.0, 1.0, v > 0.0); }
    case LEAKY_RELU: { return select(alpha, 1.0, v > 0.0); }
    case ELU: { return select(v + alpha, 1.0, v > 0.0); }
    case SIGMOID: { return v * (1.0 - v); }
    case TANH: { return 1.0 - v * v; }
    default: { return 1.0; }
  }
}

@compute @workgroup_size(WG)
fn activation_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gridIndex(gid, groups);
  if (i < fp.n) { y[i] = f(x[i], fp.alpha); }
}

@compute @workgroup_size(WG)
fn activation_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gridIndex(gid, groups);
  if (i < bp.n) { dx[i] = df(x[i], bp.alpha) * dy[i]; }
}

// x here is the forward's output y.
@compute @workgroup_size(WG)
fn activation_backward_from_output(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gridIndex(gid, groups);
  if (i < bp.n) { dx[i] = dfOfOutput(x[i], bp.alpha) * dy[i]; }
}
