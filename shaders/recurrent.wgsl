// Recurrent layers (SimpleRNN, LSTM, GRU) over a whole sequence: one launch
// forward, one backward (src/ops/recurrent.ts). Keras 2's cells, activation
// tanh and recurrent activation sigmoid; the input projections xp = x·W + b of
// every step come in from one matmul before.
//
// One workgroup per sample b; its WG invocations own the units j = lid,
// lid + WG, ... Every step reads the whole previous state, so the state lives
// in workgroup memory, double-buffered: step s reads h[cur], writes h[nxt],
// and one barrier per step separates a step's writes from the next one's
// reads (and its reads from the writes two steps on). What only the unit's
// owner reads (LSTM's c, the gradients dh and dc) needs no second copy.
// LSTM reads whh 4 columns at a time (vec4; 4U columns a row, whatever U):
// on llvmpipe that ran its forward 2.1× and backward 3.1× faster than the
// scalar per-unit loops SimpleRNN and GRU still use (their 3U and U columns
// take vec4s only where U is a multiple of 4: a variant to add).
//
// Masks (override MASKED, REC_DROPOUT; an absent one's binding holds a
// stand-in, unread): the step mask [B, T] (1 real, 0 padding, in the input's
// time order) keeps h and c at a padded step, whose output is then the carried
// state; its backward gives that step's gates no gradient and passes dh, dc
// on. The recurrent dropout mask m [B, U] multiplies h_prev where it enters
// the recurrent matmul only (Keras 3's cells), so the workgroup copy of the
// state holds h ⊙ m, what every unit's matmul reads; the state itself, which
// a unit needs for its own carry (GRU's z·h_prev, a padded step), is that
// unit's hs of the step before, written by the same invocation.
//
// Workgroup memory in floats: forward SimpleRNN 2U, GRU 3U, LSTM 7U;
// backward SimpleRNN 2U, GRU 4U, LSTM 6U: within 16 KiB at the unit caps
// (RECURRENT_UNIT_CAP: 2048, 1024, 512).
//
// Layouts, row-major: xp, dxp [B, T, G·U] and hprev, cache, drec [B, T, ·] in
// the input's time order t; hs, dhs [B, T, U] in processing order s (Keras'
// go_backwards reads t = T − 1 − s at step s and returns hs in that order).
// hprev and drec share an order so that dwhh = hprevᵀ·drec pairs their rows.
// Gates: LSTM i, f, c, o (cache i, f, g, o, c); GRU z, r, h (cache z, r, h̃
// and, with RESET_AFTER, the recurrent part (h_prev ⊙ m)·whh_h + bhh_h).
//
// sigmoid and expm1Neg come from shaders/activation-math.wgsl, prepended.

alias V = f32;

override UNITS: u32 = 1u;     // U
override WG: u32 = 64u;       // invocations per workgroup
override RESET_AFTER: bool = true;  // GRU: Keras 2's reset_after
override MASKED: bool = false;      // a step mask is bound
override REC_DROPOUT: bool = false; // a recurrent dropout mask is bound

struct Params {
  batch: u32,
  steps: u32,
  backwards: u32,  // 1: go_backwards
  pad: u32,
}

// tanh from e^{-2|v|} ≤ 1: finite at any v (WGSL's tanh may overflow to NaN on some drivers).
fn tanh_f(v: f32) -> f32 {
  let e = expm1Neg(-2.0 * min(abs(v), 64.0));
  return sign(v) * (-e / (2.0 + e));
}

fn sample(wid: vec3u, groups: vec3u) -> u32 { return wid.x + wid.y * groups.x; }

// The input's time index of the s-th step processed.
fn time_of(s: u32, q: Params) -> u32 { return select(s, q.steps - 1u - s, q.backwards != 0u); }

// The masks: SimpleRNN's entries bind them after their uniform block at 5 and 6, LSTM's and GRU's at 7 and 8.
@group(0) @binding(5) var<storage, read> rnn_mask: array<f32>;
@group(0) @binding(6) var<storage, read> rnn_drop: array<f32>;
@group(0) @binding(7) var<storage, read> seq_mask: array<f32>;
@group(0) @binding(8) var<storage, read> seq_drop: array<f32>;

// Whether the step of row b·T + t is real (not padding).
fn real_rnn(row: u32) -> bool { return !MASKED || rnn_mask[row] != 0.0; }
fn real_seq(row: u32) -> bool { return !MASKED || seq_mask[row] != 0.0; }
// The recurrent dropout factor of sample b's unit j.
fn drop_rnn(b: u32, j: u32) -> f32 {
  if (REC_DROPOUT) { return rnn_drop[b * UNITS + j]; }
  return 1.0;
}
fn drop_seq(b: u32, j: u32) -> f32 {
  if (REC_DROPOUT) { return seq_drop[b * UNITS + j]; }
  return 1.0;
}

// Forward: xp, whh → hs, hprev, cache (rnn: no cache); LSTM and GRU bind GRU's bhh (or a stand-in) after the uniform block.
@group(0) @binding(0) var<storage, read> xp: array<f32>;
@group(0) @binding(1) var<storage, read> whh: array<f32>;
@group(0) @binding(2) var<storage, read_write> hs: array<f32>;
@group(0) @binding(3) var<storage, read_write> hprev: array<f32>;
@group(0) @binding(4) var<storage, read_write> cache: array<f32>;
@group(0) @binding(5) var<uniform> fp: Params;
@group(0) @binding(6) var<storage, read> bhh: array<f32>;
@group(0) @binding(4) var<uniform> rnn_p: Params;

var<workgroup> h: array<f32, 2u * UNITS>;  // h_prev ⊙ m, double-buffered
var<workgroup> aux: array<f32, UNITS>;  // LSTM: c; GRU without RESET_AFTER: r ⊙ h_prev ⊙ m

// Unit j's h_prev itself (not ⊙ m) at step s: the workgroup copy where no dropout mask scales it,
// else hs of the step before, which this invocation wrote (0 at the first step).
fn own_prev(b: u32, s: u32, j: u32, cur: u32, steps: u32) -> f32 {
  if (!REC_DROPOUT) { return h[cur + j]; }
  if (s == 0u) { return 0.0; }
  return hs[(b * steps + s - 1u) * UNITS + j];
}

// h = tanh(xp + (h_prev ⊙ m)·whh)
@compute @workgroup_size(WG)
fn rnn_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let q = rnn_p;
  let b = sample(wid, groups);
  if (b >= q.batch) { return; }
  for (var j = lid.x; j < UNITS; j += WG) { h[j] = 0.0; }
  workgroupBarrier();
  for (var s = 0u; s < q.steps; s++) {
    let t = time_of(s, q);
    let cur = (s % 2u) * UNITS;
    let nxt = UNITS - cur;
    let real = real_rnn(b * q.steps + t);
    for (var j = lid.x; j < UNITS; j += WG) {
      var a = xp[(b * q.steps + t) * UNITS + j];
      for (var k = 0u; k < UNITS; k++) { a += h[cur + k] * whh[k * UNITS + j]; }
      let hn = select(own_prev(b, s, j, cur, q.steps), tanh_f(a), real);
      hprev[(b * q.steps + t) * UNITS + j] = h[cur + j];
      hs[(b * q.steps + s) * UNITS + j] = hn;
      h[nxt + j] = hn * drop_rnn(b, j);
    }
    workgroupBarrier();
  }
}

// [i, f, g, o] = xp + (h_prev ⊙ m)·whh; c = σ(f)·c_prev + σ(i)·tanh(g); h = σ(o)·tanh(c).
// Two phases a step: the 4U pre-activations, each invocation 4 adjacent columns of a whh row at a
// time (4U is a multiple of 4 whatever U is; adjacent invocations read adjacent vec4s), into
// workgroup memory; then each unit's gates and state.
@group(0) @binding(0) var<storage, read> xp4: array<vec4f>;
@group(0) @binding(1) var<storage, read> whh4_f: array<vec4f>;
var<workgroup> pre4: array<vec4f, UNITS>;

@compute @workgroup_size(WG)
fn lstm_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let q = fp;
  let b = sample(wid, groups);
  if (b >= q.batch) { return; }
  for (var j = lid.x; j < UNITS; j += WG) {
    h[j] = 0.0;
    aux[j] = 0.0;
  }
  workgroupBarrier();
  for (var s = 0u; s < q.steps; s++) {
    let t = time_of(s, q);
    let cur = (s % 2u) * UNITS;
    let nxt = UNITS - cur;
    let row = b * q.steps + t;
    let real = real_seq(row);
    // UNITS vec4s a row: the 4U columns.
    for (var m = lid.x; m < UNITS; m += WG) {
      var a = xp4[row * UNITS + m];
      for (var k = 0u; k < UNITS; k++) { a += h[cur + k] * whh4_f[k * UNITS + m]; }
      pre4[m] = a;
    }
    workgroupBarrier();
    for (var j = lid.x; j < UNITS; j += WG) {
      let i = sigmoid(pre_at(j));
      let f = sigmoid(pre_at(j + UNITS));
      let g = tanh_f(pre_at(j + 2u * UNITS));
      let o = sigmoid(pre_at(j + 3u * UNITS));
      let cn = f * aux[j] + i * g;
      // A padded step keeps c and h.
      let c = select(aux[j], cn, real);
      let hn = select(own_prev(b, s, j, cur, q.steps), o * tanh_f(cn), real);
      let c0 = row * 5u * UNITS + j;
      cache[c0] = i;
      cache[c0 + UNITS] = f;
      cache[c0 + 2u * UNITS] = g;
      cache[c0 + 3u * UNITS] = o;
      cache[c0 + 4u * UNITS] = c;
      aux[j] = c;
      hprev[row * UNITS + j] = h[cur + j];
      hs[(b * q.steps + s) * UNITS + j] = hn;
      h[nxt + j] = hn * drop_seq(b, j);
    }
    workgroupBarrier();
  }
}

fn pre_at(m: u32) -> f32 { return pre4[m / 4u][m % 4u]; }

// z = σ(xz + rz), r = σ(xr + rr), h = z·h_prev + (1 − z)·h̃, with [rz, rr, rh] = (h_prev ⊙ m)·whh (+ bhh) and
// h̃ = tanh(xh + r·rh) (RESET_AFTER) or tanh(xh + (r ⊙ h_prev ⊙ m)·whh_h): the latter needs every unit's r
// first, hence a second phase and barrier per step. Without RESET_AFTER hprev is [2, B, T, U]: h_prev ⊙ m,
// then r ⊙ h_prev ⊙ m, the rows whh_h's gradient multiplies.
@compute @workgroup_size(WG)
fn gru_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let q = fp;
  let b = sample(wid, groups);
  if (b >= q.batch) { return; }
  let GU = 3u * UNITS;
  let CW = select(3u, 4u, RESET_AFTER) * UNITS;
  let half = q.batch * q.steps * UNITS;
  for (var j = lid.x; j < UNITS; j += WG) { h[j] = 0.0; }
  workgroupBarrier();
  for (var s = 0u; s < q.steps; s++) {
    let t = time_of(s, q);
    let cur = (s % 2u) * UNITS;
    let nxt = UNITS - cur;
    let row = b * q.steps + t;
    let real = real_seq(row);
    for (var j = lid.x; j < UNITS; j += WG) {
      var a = vec3f(0.0);
      if (RESET_AFTER) { a = vec3f(bhh[j], bhh[j + UNITS], bhh[j + 2u * UNITS]); }
      for (var k = 0u; k < UNITS; k++) {
        let w0 = k * GU + j;
        a += h[cur + k] * vec3f(whh[w0], whh[w0 + UNITS], select(0.0, whh[w0 + 2u * UNITS], RESET_AFTER));
      }
      let x0 = row * GU + j;
      let z = sigmoid(xp[x0] + a.x);
      let r = sigmoid(xp[x0 + UNITS] + a.y);
      let c0 = row * CW + j;
      cache[c0] = z;
      cache[c0 + UNITS] = r;
      hprev[row * UNITS + j] = h[cur + j];
      if (RESET_AFTER) {
        let hh = tanh_f(xp[x0 + 2u * UNITS] + r * a.z);
        cache[c0 + 2u * UNITS] = hh;
        cache[c0 + 3u * UNITS] = a.z;
        let hp = own_prev(b, s, j, cur, q.steps);
        let hn = select(hp, z * hp + (1.0 - z) * hh, real);
        hs[(b * q.steps + s) * UNITS + j] = hn;
        h[nxt + j] = hn * drop_seq(b, j);
      } else {
        aux[j] = r * h[cur + j];
        hprev[half + row * UNITS + j] = r * h[cur + j];
      }
    }
    if (!RESET_AFTER) {
      workgroupBarrier();
      for (var j = lid.x; j < UNITS; j += WG) {
        let x0 = row * GU + j;
        var a = xp[x0 + 2u * UNITS];
        for (var k = 0u; k < UNITS; k++) { a += aux[k] * whh[k * GU + 2u * UNITS + j]; }
        let hh = tanh_f(a);
        let c0 = row * CW + j;
        cache[c0 + 2u * UNITS] = hh;
        let z = cache[c0];
        let hp = own_prev(b, s, j, cur, q.steps);
        let hn = select(hp, z * hp + (1.0 - z) * hh, real);
        hs[(b * q.steps + s) * UNITS + j] = hn;
        h[nxt + j] = hn * drop_seq(b, j);
      }
    }
    workgroupBarrier();
  }
}

// Backward, the steps in reverse: dhs, hs, cache (rnn: none), whh → dxp (GRU: and drec).
// dh[j], the gradient reaching h_s from the later steps, and LSTM's dc[j] stay with their owner; each
// step's gate gradients dpre go to workgroup memory, from which every owner k gathers
// dh_prev[k] = direct[k] + m[k]·Σ_{g,j} dpre[g·U + j]·whh[k, g·U + j] (direct: GRU's z·dh; at a padded
// step dh itself, its dpre being 0). A barrier after the gather keeps the next step's dpre from
// overwriting what another invocation still reads. h_prev is hs of the step processed before.
@group(0) @binding(0) var<storage, read> dhs: array<f32>;
@group(0) @binding(1) var<storage, read> hs_in: array<f32>;
@group(0) @binding(2) var<storage, read> rnn_whh: array<f32>;
@group(0) @binding(3) var<storage, read_write> rnn_dxp: array<f32>;
@group(0) @binding(2) var<storage, read> cache_in: array<f32>;
@group(0) @binding(3) var<storage, read> whh_in: array<f32>;
@group(0) @binding(4) var<storage, read_write> dxp: array<f32>;
@group(0) @binding(5) var<uniform> bp: Params;
@group(0) @binding(5) var<storage, read_write> drec: array<f32>;
@group(0) @binding(6) var<uniform> gru_bp: Params;

override GATES: u32 = 1u;
var<workgroup> dpre: array<f32, GATES * UNITS>;
var<workgroup> dh: array<f32, UNITS>;
var<workgroup> dc: array<f32, UNITS>;
@group(0) @binding(3) var<storage, read> whh4_b: array<vec4f>;

// dpre of a SimpleRNN step: dh·tanh'(a) = dh·(1 − h²).
@compute @workgroup_size(WG)
fn rnn_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let q = rnn_p;
  let b = sample(wid, groups);
  if (b >= q.batch) { return; }
  for (var j = lid.x; j < UNITS; j += WG) { dh[j] = 0.0; }
  for (var n = 0u; n < q.steps; n++) {
    let s = q.steps - 1u - n;
    let t = time_of(s, q);
    let real = real_rnn(b * q.steps + t);
    for (var j = lid.x; j < UNITS; j += WG) {
      let i = (b * q.steps + s) * UNITS + j;
      let hn = hs_in[i];
      let dhj = dhs[i] + dh[j];
      let d = select(0.0, dhj * (1.0 - hn * hn), real);
      dpre[j] = d;
      rnn_dxp[(b * q.steps + t) * UNITS + j] = d;
      dh[j] = select(dhj, 0.0, real);
    }
    workgroupBarrier();
    for (var k = lid.x; k < UNITS; k += WG) {
      var acc = 0.0;
      if (real) {
        for (var m = 0u; m < UNITS; m++) { acc += dpre[m] * rnn_whh[k * UNITS + m]; }
      }
      dh[k] += drop_rnn(b, k) * acc;
    }
    workgroupBarrier();
  }
}

// With dh the whole gradient of h_s and tc = tanh(c):
//   dc = dc_next + dh·o·(1 − tc²);  d(pre) of i, f, g, o = dc·g·i(1−i), dc·c_prev·f(1−f), dc·i·(1−g²), dh·tc·o(1−o);
//   dc_prev = dc·f. A padded step: dpre 0, dc_prev = dc_next, dh_prev = dh.
@compute @workgroup_size(WG)
fn lstm_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let q = bp;
  let b = sample(wid, groups);
  if (b >= q.batch) { return; }
  let GU = 4u * UNITS;
  let CW = 5u * UNITS;
  for (var j = lid.x; j < UNITS; j += WG) {
    dh[j] = 0.0;
    dc[j] = 0.0;
  }
  for (var n = 0u; n < q.steps; n++) {
    let s = q.steps - 1u - n;
    let row = b * q.steps + time_of(s, q);
    let real = real_seq(row);
    // c_prev is the cell state of the step processed before (carried through padded steps): none (0) at s = 0.
    let prev_row = b * q.steps + time_of(max(s, 1u) - 1u, q);
    for (var j = lid.x; j < UNITS; j += WG) {
      let c0 = row * CW + j;
      let i = cache_in[c0];
      let f = cache_in[c0 + UNITS];
      let g = cache_in[c0 + 2u * UNITS];
      let o = cache_in[c0 + 3u * UNITS];
      let tc = tanh_f(cache_in[c0 + 4u * UNITS]);
      let cp = select(0.0, cache_in[prev_row * CW + 4u * UNITS + j], s > 0u);
      let dhj = dhs[(b * q.steps + s) * UNITS + j] + dh[j];
      let dcj = dc[j] + dhj * o * (1.0 - tc * tc);
      let d = select(vec4f(0.0), vec4f(dcj * g * i * (1.0 - i), dcj * cp * f * (1.0 - f), dcj * i * (1.0 - g * g), dhj * tc * o * (1.0 - o)), real);
      dc[j] = select(dc[j], dcj * f, real);
      dh[j] = select(dhj, 0.0, real);
      let x0 = row * GU + j;
      dxp[x0] = d.x;
      dxp[x0 + UNITS] = d.y;
      dxp[x0 + 2u * UNITS] = d.z;
      dxp[x0 + 3u * UNITS] = d.w;
      pre4[j / 4u][j % 4u] = d.x;
      pre4[(j + UNITS) / 4u][(j + UNITS) % 4u] = d.y;
      pre4[(j + 2u * UNITS) / 4u][(j + 2u * UNITS) % 4u] = d.z;
      pre4[(j + 3u * UNITS) / 4u][(j + 3u * UNITS) % 4u] = d.w;
    }
    workgroupBarrier();
    for (var k = lid.x; k < UNITS; k += WG) {
      var acc = vec4f(0.0);
      if (real) {
        let row = k * UNITS;
        for (var m = 0u; m < UNITS; m++) { acc += pre4[m] * whh4_b[row + m]; }
      }
      dh[k] += drop_seq(b, k) * (acc.x + acc.y + acc.z + acc.w);
    }
    workgroupBarrier();
  }
}

// With dh the whole gradient of h_s: dz = dh·(h_prev − h̃), dh̃ = dh·(1 − z), d(pre_h) = dh̃·(1 − h̃²),
// d(pre_z) = dz·z(1−z), dh_prev = dh·z + m ⊙ (the recurrent products). RESET_AFTER: the recurrent part
// of pre_h is r·rh, so d(rh) = d(pre_h)·r (drec's h block) and dr = d(pre_h)·rh. Otherwise
// pre_h = xh + (r ⊙ h_prev ⊙ m)·whh_h: dr[k] = qk·h_prev[k]·m[k] and dh_prev[k] gains m[k]·qk·r[k], with
// qk = Σ_j d(pre_h)[j]·whh[k, 2U + j], a second phase; drec is then [2, B, T, 3U]: (dz, dr, 0)
// against hprev's first rows and (0, 0, d(pre_h)) against r ⊙ h_prev ⊙ m's. A padded step: all 0, dh passes.
@compute @workgroup_size(WG)
fn gru_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let q = gru_bp;
  let b = sample(wid, groups);
  if (b >= q.batch) { return; }
  let GU = 3u * UNITS;
  let CW = select(3u, 4u, RESET_AFTER) * UNITS;
  let half = q.batch * q.steps * GU;
  for (var j = lid.x; j < UNITS; j += WG) { dh[j] = 0.0; }
  for (var n = 0u; n < q.steps; n++) {
    let s = q.steps - 1u - n;
    let row = b * q.steps + time_of(s, q);
    let real = real_seq(row);
    // h_prev's row in hs: the step before (row s − 1 read only where s > 0).
    let prev = (b * q.steps + max(s, 1u) - 1u) * UNITS;
    for (var j = lid.x; j < UNITS; j += WG) {
      let c0 = row * CW + j;
      let z = cache_in[c0];
      let r = cache_in[c0 + UNITS];
      let hh = cache_in[c0 + 2u * UNITS];
      let hp = select(0.0, hs_in[prev + j], s > 0u);
      let dhj = dhs[(b * q.steps + s) * UNITS + j] + dh[j];
      let dz = select(0.0, dhj * (hp - hh) * z * (1.0 - z), real);
      let dph = select(0.0, dhj * (1.0 - z) * (1.0 - hh * hh), real);
      let x0 = row * GU + j;
      dxp[x0] = dz;
      dxp[x0 + 2u * UNITS] = dph;
      dpre[j] = dz;
      drec[x0] = dz;
      if (RESET_AFTER) {
        let dr = dph * cache_in[c0 + 3u * UNITS] * r * (1.0 - r);
        dxp[x0 + UNITS] = dr;
        dpre[j + UNITS] = dr;
        dpre[j + 2u * UNITS] = dph * r;
        drec[x0 + UNITS] = dr;
        drec[x0 + 2u * UNITS] = dph * r;
        dh[j] = select(dhj, dhj * z, real);
      } else {
        dpre[j + 2u * UNITS] = dph;
        drec[x0 + 2u * UNITS] = 0.0;
        drec[half + x0] = 0.0;
        drec[half + x0 + UNITS] = 0.0;
        drec[half + x0 + 2u * UNITS] = dph;
        dh[j] = dhj;
      }
    }
    workgroupBarrier();
    if (!RESET_AFTER) {
      for (var k = lid.x; k < UNITS; k += WG) {
        var qk = 0.0;
        if (real) {
          for (var m = 0u; m < UNITS; m++) { qk += dpre[2u * UNITS + m] * whh_in[k * GU + 2u * UNITS + m]; }
        }
        let c0 = row * CW + k;
        let r = cache_in[c0 + UNITS];
        let mk = drop_seq(b, k);
        let dr = qk * select(0.0, hs_in[prev + k], s > 0u) * mk * r * (1.0 - r);
        dxp[row * GU + UNITS + k] = dr;
        drec[row * GU + UNITS + k] = dr;
        dpre[UNITS + k] = dr;
        dh[k] = select(dh[k], dh[k] * cache_in[c0] + mk * qk * r, real);
      }
      workgroupBarrier();
    }
    let width = select(2u, 3u, RESET_AFTER) * UNITS;
    for (var k = lid.x; k < UNITS; k += WG) {
      var acc = 0.0;
      if (real) {
        for (var m = 0u; m < width; m++) { acc += dpre[m] * whh_in[k * GU + m]; }
      }
      dh[k] += drop_seq(b, k) * acc;
    }
    workgroupBarrier();
  }
}

// last_step: hs [B, T, U] → out [B, U], the last step processed; last_step_backward: d [B, U] → [B, T, U],
// d at the last step and 0 elsewhere. 1-D over the outputs, folded into 2-D past the per-dimension limit.
struct StepParams {
  total: u32,
  steps: u32,
  units: u32,
  pad: u32,
}

const LWG = 256u;
@group(0) @binding(0) var<storage, read> ls_in: array<f32>;
@group(0) @binding(1) var<storage, read_write> ls_out: array<f32>;
@group(0) @binding(2) var<uniform> lp: StepParams;

@compute @workgroup_size(LWG)
fn last_step(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * LWG;
  if (i >= lp.total) { return; }
  let b = i / lp.units;
  let j = i % lp.units;
  ls_out[i] = ls_in[(b * lp.steps + lp.steps - 1u) * lp.units + j];
}

@compute @workgroup_size(LWG)
fn last_step_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * LWG;
  if (i >= lp.total) { return; }
  let j = i % lp.units;
  let bs = i / lp.units;
  let b = bs / lp.steps;
  let s = bs % lp.steps;
  ls_out[i] = select(0.0, ls_in[b * lp.units + j], s == lp.steps - 1u);
}
