// Normalization over one axis of x seen as [rows, cols]: the channels are the
// last axis (Keras' axis=-1).
//
// Batch normalization normalizes each column over the rows (every sample and
// pixel), layer normalization each row over its columns.
//
// batch_norm:            mean[c], var[c] (biased) over the rows; y = (x − mean)·rstd·γ + β
// batch_norm_backward:   dβ = Σ dy, dγ = Σ dy·x̂, dx = γ·rstd/M · (M·dy − dβ − x̂·dγ)
// batch_norm_inference:  y with given (moving) statistics; 1-D over the elements
// moving_average:        avg = momentum·avg + (1 − momentum)·v, in place
// accumulate_moments:    merges x's mean[c], var[c] into running ones over every row seen, in place
// layer_norm:            per row: mean, rstd; y = (x − mean)·rstd·γ + β
// layer_norm_backward:   per row: dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), g = dy·γ
//   (layer_norm_backward_add: dx + r, the gradient summed before it)
// layer_norm_param_grad: dγ[c] = Σ_r dy·x̂, dβ[c] = Σ_r dy
//
// rstd = 1/√(var + ε). The column reductions use bias_grad's tile: a workgroup
// owns COLS adjacent columns and has ROWS lanes of COLS invocations; lane l
// visits rows l, l+ROWS, ... (COLS consecutive floats per row), and the lane
// sums are added pairwise in workgroup memory. Statistics take two passes
// (the mean, then the squares about it), not E[x²] − E[x]², which cancels.

const WG = 256u;
override COLS: u32 = 32u;
override ROWS: u32 = 8u;

struct Params {
  rows: u32,
  cols: u32,
  eps: f32,
  momentum: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> beta: array<f32>;

// batch_norm, layer_norm
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> stat_a: array<f32>;  // mean
@group(0) @binding(5) var<storage, read_write> stat_b: array<f32>;  // var (batch) or rstd (layer)
@group(0) @binding(6) var<uniform> p: Params;

var<workgroup> part_a: array<f32, WG>;
var<workgroup> part_b: array<f32, WG>;

// Adds the ROWS lane values of each column: the result is in part_a[lid.x], part_b[lid.x].
fn column_sums(lid: vec3u, a: f32, b: f32) {
  let slot = lid.y * COLS + lid.x;
  workgroupBarrier();
  part_a[slot] = a;
  part_b[slot] = b;
  workgroupBarrier();
  for (var half = ROWS / 2u; half > 0u; half /= 2u) {
    if (lid.y < half) {
      part_a[slot] += part_a[slot + half * COLS];
      part_b[slot] += part_b[slot + half * COLS];
    }
    workgroupBarrier();
  }
}

fn tile_column(wid: vec3u, groups: vec3u, lid: vec3u) -> u32 {
  return (wid.x + wid.y * groups.x) * COLS + lid.x;
}

// Column c's mean and biased variance over x's `rows` rows of `cols`, in two
// passes; every invocation of the workgroup must call it (it holds barriers).
fn column_moments(lid: vec3u, c: u32, live: bool, rows: u32, cols: u32) -> vec2f {
  var s = 0.0;
  if (live) { for (var r = lid.y; r < rows; r += ROWS) { s += x[r * cols + c]; } }
  column_sums(lid, s, 0.0);
  let mean = part_a[lid.x] / f32(rows);
  var q = 0.0;
  if (live) {
    for (var r = lid.y; r < rows; r += ROWS) {
      let d = x[r * cols + c] - mean;
      q += d * d;
    }
  }
  column_sums(lid, q, 0.0);
  return vec2f(mean, part_a[lid.x] / f32(rows));
}

@compute @workgroup_size(COLS, ROWS)
fn batch_norm(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let c = tile_column(wid, groups, lid);
  let live = c < p.cols;
  let moments = column_moments(lid, c, live, p.rows, p.cols);
  let mean = moments.x;
  let variance = moments.y;
  if (!live) { return; }
  let rstd = inverseSqrt(variance + p.eps);
  let k = gamma[c] * rstd;
  let b = beta[c] - mean * k;
  for (var r = lid.y; r < p.rows; r += ROWS) { y[r * p.cols + c] = x[r * p.cols + c] * k + b; }
  if (lid.y == 0u) {
    stat_a[c] = mean;
    stat_b[c] = variance;
  }
}

// batch_norm_backward: x, gamma, mean, var, dy → dx, dgamma, dbeta.
@group(0) @binding(2) var<storage, read> bn_mean: array<f32>;
@group(0) @binding(3) var<storage, read> bn_var: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
@group(0) @binding(6) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(7) var<storage, read_write> dbeta: array<f32>;
@group(0) @binding(8) var<uniform> bp: Params;

@compute @workgroup_size(COLS, ROWS)
fn batch_norm_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let c = tile_column(wid, groups, lid);
  let live = c < bp.cols;
  var mean = 0.0;
  var rstd = 0.0;
  var sdy = 0.0;
  var sdyx = 0.0;
  if (live) {
    mean = bn_mean[c];
    rstd = inverseSqrt(bn_var[c] + bp.eps);
    for (var r = lid.y; r < bp.rows; r += ROWS) {
      let i = r * bp.cols + c;
      sdy += dy[i];
      sdyx += dy[i] * (x[i] - mean) * rstd;
    }
  }
  column_sums(lid, sdy, sdyx);
  if (!live) { return; }
  let db = part_a[lid.x];
  let dg = part_b[lid.x];
  let m = f32(bp.rows);
  let k = gamma[c] * rstd / m;
  for (var r = lid.y; r < bp.rows; r += ROWS) {
    let i = r * bp.cols + c;
    dx[i] = k * (m * dy[i] - db - (x[i] - mean) * rstd * dg);
  }
  if (lid.y == 0u) {
    dgamma[c] = dg;
    dbeta[c] = db;
  }
}

// batch_norm_inference: x, gamma, beta, mean, var → out.
@group(0) @binding(3) var<storage, read> in_mean: array<f32>;
@group(0) @binding(4) var<storage, read> in_var: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<uniform> ip: Params;

@compute @workgroup_size(WG)
fn batch_norm_inference(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG;
  if (i >= ip.rows * ip.cols) { return; }
  let c = i % ip.cols;
  out[i] = (x[i] - in_mean[c]) * inverseSqrt(in_var[c] + ip.eps) * gamma[c] + beta[c];
}

// moving_average: v → avg (in place). x is v.
@group(0) @binding(1) var<storage, read_write> avg: array<f32>;
@group(0) @binding(2) var<uniform> mp: Params;

@compute @workgroup_size(WG)
fn moving_average(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= mp.cols) { return; }
  avg[i] = mp.momentum * avg[i] + (1.0 - mp.momentum) * x[i];
}

// accumulate_moments: x → mean, var, count (in place). The batch's statistics
// as batch_norm takes them, then Chan et al.'s merge with the n rows before:
// mean += δ·m/N, var = var·n/N + var_x·m/N + δ²·(n/N)·(m/N), N = n + m.
@group(0) @binding(1) var<storage, read_write> mo_mean: array<f32>;
@group(0) @binding(2) var<storage, read_write> mo_var: array<f32>;
@group(0) @binding(3) var<storage, read_write> mo_count: array<f32>;
@group(0) @binding(4) var<uniform> mo: Params;

@compute @workgroup_size(COLS, ROWS)
fn accumulate_moments(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let c = tile_column(wid, groups, lid);
  let live = c < mo.cols;
  let moments = column_moments(lid, c, live, mo.rows, mo.cols);
  let m = f32(mo.rows);
  let bm = moments.x;
  let bv = moments.y;
  if (!live || lid.y != 0u) { return; }
  let n = mo_count[c];
  if (n == 0.0) {
    mo_mean[c] = bm;
    mo_var[c] = bv;
  } else {
    let total = n + m;
    let wa = n / total;
    let wb = m / total;
    let d = bm - mo_mean[c];
    mo_mean[c] = mo_mean[c] + d * wb;
    mo_var[c] = mo_var[c] * wa + bv * wb + d * d * wa * wb;
  }
  mo_count[c] = n + m;
}

// layer_norm: one invocation per row (rows are short: a layer's units or an image's channels).
@compute @workgroup_size(WG)
fn layer_norm(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let r = gid.x + gid.y * groups.x * WG;
  if (r >= p.rows) { return; }
  let base = r * p.cols;
  var s = 0.0;
  for (var c = 0u; c < p.cols; c++) { s += x[base + c]; }
  let mean = s / f32(p.cols);
  var q = 0.0;
  for (var c = 0u; c < p.cols; c++) {
    let d = x[base + c] - mean;
    q += d * d;
  }
  let rstd = inverseSqrt(q / f32(p.cols) + p.eps);
  for (var c = 0u; c < p.cols; c++) { y[base + c] = (x[base + c] - mean) * rstd * gamma[c] + beta[c]; }
  stat_a[r] = mean;
  stat_b[r] = rstd;
}

// layer_norm_backward: x, gamma, mean, rstd, dy → dx (bn_mean, bn_var hold the rows' mean and rstd).
@group(0) @binding(5) var<storage, read_write> ln_dx: array<f32>;
@group(0) @binding(6) var<uniform> lp: Params;

@compute @workgroup_size(WG)
fn layer_norm_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let r = gid.x + gid.y * groups.x * WG;
  if (r >= lp.rows) { return; }
  layer_norm_dx(r);
}

// layer_norm_backward_add: the same, then dx += ln_r, the gradient summed
// before it (the residual's, where the norm's input is also a residual
// stream): what layerNormBackward and add store, rounded as they round.
@group(0) @binding(7) var<storage, read> ln_r: array<f32>;

@compute @workgroup_size(WG)
fn layer_norm_backward_add(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let r = gid.x + gid.y * groups.x * WG;
  if (r >= lp.rows) { return; }
  layer_norm_dx(r);
  let base = r * lp.cols;
  for (var c = 0u; c < lp.cols; c++) { ln_dx[base + c] = ln_dx[base + c] + ln_r[base + c]; }
}

// Row r of layer_norm_backward's dx, into ln_dx.
fn layer_norm_dx(r: u32) {
  let base = r * lp.cols;
  let mean = bn_mean[r];
  let rstd = bn_var[r];
  var sg = 0.0;
  var sgx = 0.0;
  for (var c = 0u; c < lp.cols; c++) {
    let g = dy[base + c] * gamma[c];
    sg += g;
    sgx += g * (x[base + c] - mean) * rstd;
  }
  let n = f32(lp.cols);
  for (var c = 0u; c < lp.cols; c++) {
    let xh = (x[base + c] - mean) * rstd;
    ln_dx[base + c] = rstd * (dy[base + c] * gamma[c] - sg / n - xh * sgx / n);
  }
}

// layer_norm_param_grad: x, mean, rstd, dy → dgamma, dbeta.
@group(0) @binding(1) var<storage, read> pg_mean: array<f32>;
@group(0) @binding(2) var<storage, read> pg_rstd: array<f32>;
@group(0) @binding(3) var<storage, read> pg_dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> pg_dgamma: array<f32>;
@group(0) @binding(5) var<storage, read_write> pg_dbeta: array<f32>;
@group(0) @binding(6) var<uniform> pp: Params;

@compute @workgroup_size(COLS, ROWS)
fn layer_norm_param_grad(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let c = tile_column(wid, groups, lid);
  let live = c < pp.cols;
  var sdy = 0.0;
  var sdyx = 0.0;
  if (live) {
    for (var r = lid.y; r < pp.rows; r += ROWS) {
      let i = r * pp.cols + c;
      sdy += pg_dy[i];
      sdyx += pg_dy[i] * (x[i] - pg_mean[r]) * pg_rstd[r];
    }
  }
  column_sums(lid, sdy, sdyx);
  if (live && lid.y == 0u) {
    pg_dgamma[c] = part_b[lid.x];
    pg_dbeta[c] = part_a[lid.x];
  }
}
