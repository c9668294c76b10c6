// Optimizer updates, in place: one invocation per parameter element reads the
// gradient (binding 0) and the step's values (1), and the parameter (2) and
// its state (3..), which it rewrites. The step's values are data the training
// step writes before each step, computed in float64 on the host: the learning
// rate of this step, then for Adam 1 - beta1^t and 1 - beta2^t. What never
// changes is in the uniform; 1 - beta comes separately because
// 1.0 - f32(0.999) loses ~10 bits of 1 - 0.999.
// Dispatch is 1-D, folded into 2-D past 65535 workgroups: see gridIndex.
//
// Gradient clipping (Keras' clipnorm, global_clipnorm, clipvalue) and the
// weights excluded from weight decay are override constants, so a model
// without them runs the same code as before. Clipping by norm reads the sum
// of squares of the gradients clipped together (sum_squares, on the device:
// no readback) from a read-only binding after the uniform block, one
// declaration per entry's binding number; a launch that clips otherwise binds
// the step's values there, which it never reads.

const WG = 256u;

@group(0) @binding(0) var<storage, read> grad: array<f32>;
@group(0) @binding(1) var<storage, read> step_values: array<f32>;
@group(0) @binding(2) var<storage, read_write> param: array<f32>;
@group(0) @binding(3) var<storage, read_write> state1: array<f32>;
@group(0) @binding(4) var<storage, read_write> state2: array<f32>;
@group(0) @binding(5) var<storage, read_write> state3: array<f32>;

fn gridIndex(gid: vec3u, groups: vec3u) -> u32 {
  return gid.x + gid.y * groups.x * WG;
}

// 0: no clipping; 1: g · CLIP_AT / max(‖g‖, CLIP_AT), ‖g‖² the bound sum of squares; 2: g clamped to ±CLIP_AT.
override CLIP: u32 = 0u;
override CLIP_AT: f32 = 0.0;
// Elements from DECAY_END on take no weight decay (excludeFromWeightDecay: those weights are packed last).
override DECAY_END: u32 = 0xffffffffu;

@group(0) @binding(4) var<storage, read> sum_sq4: array<f32>;
@group(0) @binding(5) var<storage, read> sum_sq5: array<f32>;
@group(0) @binding(6) var<storage, read> sum_sq6: array<f32>;
@group(0) @binding(7) var<storage, read> sum_sq7: array<f32>;

fn clipped(g: f32, sum_sq: f32) -> f32 {
  if (CLIP == 1u) { return g * (CLIP_AT / max(sqrt(sum_sq), CLIP_AT)); }
  if (CLIP == 2u) { return clamp(g, -CLIP_AT, CLIP_AT); }
  return g;
}

fn decayAt(i: u32, wd: f32) -> f32 {
  return select(0.0, wd, i < DECAY_END);
}

// ---- Sum of squares of the gradients clipped together, into out[0]: one
// workgroup, invocation t sums g[t]², g[t+WG]², ... then pairwise in
// workgroup memory (as reduce.wgsl's reduce_sum). ----

struct SumSquaresParams {
  n: u32,
}

@group(0) @binding(1) var<storage, read_write> sum_sq_out: array<f32>;
@group(0) @binding(2) var<uniform> ssq_p: SumSquaresParams;
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn sum_squares(@builtin(local_invocation_index) t: u32) {
  var s = 0.0;
  for (var i = t; i < ssq_p.n; i += WG) {
    s += grad[i] * grad[i];
  }
  partial[t] = s;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    if (t < half) { partial[t] += partial[t + half]; }
    workgroupBarrier();
  }
  if (t == 0u) { sum_sq_out[0] = partial[0]; }
}

// ---- SGD: p <- p - lr (g + wd p) ----

struct SgdParams {
  n: u32,
  wd: f32,
}

@group(0) @binding(3) var<uniform> sgd_p: SgdParams;

@compute @workgroup_size(WG)
fn sgd(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gridIndex(gid, groups);
  if (i >= sgd_p.n) { return; }
  let p = param[i];
  param[i] = p - step_values[0] * (clipped(grad[i], sum_sq4[0]) + decayAt(i, sgd_p.wd) * p);
}

// ---- Momentum, PyTorch's form: v <- mu v + g; p <- p - lr v (Nesterov: p - lr (g + mu v)) ----

override NESTEROV: bool = false;

struct MomentumParams {
  n: u32,
  mu: f32,
  wd: f32,
}

@group(0) @binding(4) var<uniform> mom_p: MomentumParams;

@compute @workgroup_size(WG)
fn momentum(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gridIndex(gid, groups);
  if (i >= mom_p.n) { return; }
  let p = param[i];
  let g = clipped(grad[i], sum_sq5[0]) + decayAt(i, mom_p.wd) * p;
  let v = mom_p.mu * state1[i] + g;
  state1[i] = v;
  var d = v;
  if (NESTEROV) { d = g + mom_p.mu * v; }
  param[i] = p - step_values[0] * d;
}

// ---- RMSprop: s <- rho s + (1 - rho) g^2; p <- p - lr g / (sqrt(s) + eps) ----
// EPS_IN_SQRT selects Keras' and tf.js' denominator sqrt(s + eps). Centered
// replaces s by the variance s - mg^2, clamped at 0 because rounding can take
// it just below 0 when the gradient barely changes, and sqrt would give NaN.

override EPS_IN_SQRT: bool = false;

struct RmspropParams {
  n: u32,
  rho: f32,
  one_minus_rho: f32,
  eps: f32,
  wd: f32,
  mu: f32,
}

struct RmspropState {
  p: f32,
  s: f32,
  buf: f32,
  mg: f32,
}

// One uniform per binding layout: (p, s), (p, s, buf or mg), (p, s, buf, mg).
@group(0) @binding(4) var<uniform> rms3: RmspropParams;
@group(0) @binding(5) var<uniform> rms4: RmspropParams;
@group(0) @binding(6) var<uniform> rms5: RmspropParams;

fn rmspropStep(q: RmspropParams, i: u32, g0: f32, old: RmspropState, with_momentum: bool, centered: bool) -> RmspropState {
  var r = old;
  let g = g0 + decayAt(i, q.wd) * old.p;
  r.s = q.rho * old.s + q.one_minus_rho * g * g;
  var mean_sq = r.s;
  if (centered) {
    r.mg = q.rho * old.mg + q.one_minus_rho * g;
    mean_sq = max(r.s - r.mg * r.mg, 0.0);
  }
  var denom = sqrt(mean_sq) + q.eps;
  if (EPS_IN_SQRT) { denom = sqrt(mean_sq + q.eps); }
  var d = g / denom;
  if (with_momentum) {
    r.buf = q.mu * old.buf + d;
    d = r.buf;
  }
  r.p = old.p - step_values[0] * d;
  return r;
}

@compute @workgroup_size(WG)
fn rmsprop(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gridIndex(gid, groups);
  if (i >= rms3.n) { return; }
  let r = rmspropStep(rms3, i, clipped(grad[i], sum_sq5[0]), RmspropState(param[i], state1[i], 0.0, 0.0), false, false);
  param[i] = r.p;
  state1[i] = r.s;
}

@compute @workgroup_size(WG)
fn rmsprop_momentum(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gridIndex(gid, groups);
  if (i >= rms4.n) { return; }
  let r = rmspropStep(rms4, i, clipped(grad[i], sum_sq6[0]), RmspropState(param[i], state1[i], state2[i], 0.0), true, false);
  param[i] = r.p;
  state1[i] = r.s;
  state2[i] = r.buf;
}

@compute @workgroup_size(WG)
fn rmsprop_centered(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gridIndex(gid, groups);
  if (i >= rms4.n) { return; }
  let r = rmspropStep(rms4, i, clipped(grad[i], sum_sq6[0]), RmspropState(param[i], state1[i], 0.0, state2[i]), false, true);
  param[i] = r.p;
  state1[i] = r.s;
  state2[i] = r.mg;
}

@compute @workgroup_size(WG)
fn rmsprop_centered_momentum(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gridIndex(gid, groups);
  if (i >= rms5.n) { return; }
  let r = rmspropStep(rms5, i, clipped(grad[i], sum_sq7[0]), RmspropState(param[i], state1[i], state2[i], state3[i]), true, true);
  param[i] = r.p;
  state1[i] = r.s;
  state2[i] = r.buf;
  state3[i] = r.mg;
}

// ---- Adam / AdamW, with the bias corrections folded into two factors:
//   lr m_hat / (sqrt(v_hat) + eps) = step_size m / (sqrt(v) + eps_hat),
//   step_size = lr sqrt(1 - b2^t) / (1 - b1^t), eps_hat = eps sqrt(1 - b2^t)
// (EPS_HAT, Keras' form, keeps eps_hat = eps). l2 is the coupled weight decay
// (Adam), decoupled_wd the decoupled one (AdamW: p (1 - lr wd)); the other is
// 0, which leaves g and p exactly as they were. ----

override EPS_HAT: bool = false;

struct AdamParams {
  n: u32,
  beta1: f32,
  one_minus_beta1: f32,
  beta2: f32,
  one_minus_beta2: f32,
  eps: f32,
  l2: f32,
  decoupled_wd: f32,
}

@group(0) @binding(5) var<uniform> adam_p: AdamParams;

@compute @workgroup_size(WG)
fn adam(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gridIndex(gid, groups);
  if (i >= adam_p.n) { return; }
  let lr = step_values[0];
  let root_bc2 = sqrt(step_values[2]);
  let step_size = lr * root_bc2 / step_values[1];
  var eps_hat = adam_p.eps * root_bc2;
  if (EPS_HAT) { eps_hat = adam_p.eps; }
  let p = param[i];
  let g = clipped(grad[i], sum_sq6[0]) + decayAt(i, adam_p.l2) * p;
  let m = adam_p.beta1 * state1[i] + adam_p.one_minus_beta1 * g;
  let v = adam_p.beta2 * state2[i] + adam_p.one_minus_beta2 * g * g;
  state1[i] = m;
  state2[i] = v;
  param[i] = p * (1.0 - lr * decayAt(i, adam_p.decoupled_wd)) - step_size * m / (sqrt(v) + eps_hat);
}
