// Loss functions (Keras semantics): predictions x [B, D] and targets map to a
// per-sample loss [B]; each backward maps the same inputs plus dLoss [B] to the
// gradient with respect to x [B, D].
//
//   sce_*        softmax cross-entropy from logits, labels i32 [B] or targets f32 [B, C];
//                sce_*_both computes the loss and the gradient in one launch,
//                with the same operations as the two apart (graph/fuse.ts)
//   rowmean_*    mean over D of an elementwise term (BCE from logits, MSE, MAE, hinge)
//   nll_*        negative log-likelihood of log-probabilities at i32 labels
//
// Row reductions run one workgroup per row (row = workgroup id, folded into
// 2-D past 65535 rows); elementwise kernels fold a 1-D index the same way.
//
// Entry points that read labels write their outputs as raw u32 bits: a label
// outside [0, C) cannot be reported from a shader, so that row gets a quiet
// NaN. Writing the bit pattern keeps NaN out of f32 arithmetic, which WGSL
// implementations may assume never happens (the Finite Math Assumption).

override WG: u32 = 64u;                 // invocations per workgroup, a power of two
override LOSS: u32 = 0u;                // rowmean term: 0 BCE, 1 MSE, 2 MAE, 3 hinge
override BINARY_TARGETS: bool = false;  // hinge: targets in {0, 1} mean {-1, 1}

const NAN_BITS = 0x7fc00000u;

struct Dims {
  rows: u32,
  cols: u32,
}

// Inputs.
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<i32>;
@group(0) @binding(1) var<storage, read> targets: array<f32>;
// Forward: output and dims.
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;
@group(0) @binding(2) var<storage, read_write> loss_bits: array<u32>;
@group(0) @binding(3) var<uniform> fwd: Dims;
// Backward: dLoss, output and dims.
@group(0) @binding(2) var<storage, read> dloss: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad_bits: array<u32>;
@group(0) @binding(4) var<uniform> bwd: Dims;
// Both at once (sce_*_both): dLoss as above, then the loss and the gradient as bits.
@group(0) @binding(3) var<storage, read_write> both_loss_bits: array<u32>;
@group(0) @binding(4) var<storage, read_write> both_grad_bits: array<u32>;
@group(0) @binding(5) var<uniform> both: Dims;

var<workgroup> red: array<f32, WG>;

fn rowOf(wid: vec3u, groups: vec3u) -> u32 {
  return wid.x + wid.y * groups.x;
}

fn gridIndex(gid: vec3u, groups: vec3u) -> u32 {
  return gid.x + gid.y * groups.x * WG;
}

// Tree reductions over the workgroup; every invocation gets the result.
fn wgSum(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier(); // red is reused by the next reduction
  return r;
}

fn wgMax(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

// Max of row x[base .. base+n); starting from x[base] needs no -inf sentinel.
fn rowMax(base: u32, n: u32, lid: u32) -> f32 {
  var m = x[base];
  for (var c = lid; c < n; c += WG) { m = max(m, x[base + c]); }
  return wgMax(lid, m);
}

// Σ exp(x - m): every term is in (0, 1], so the sum is in [1, n].
fn rowSumExp(base: u32, n: u32, lid: u32, m: f32) -> f32 {
  var s = 0.0;
  for (var c = lid; c < n; c += WG) { s += exp(x[base + c] - m); }
  return wgSum(lid, s);
}

fn badLabel(label: i32, n: u32) -> bool {
  return label < 0 || u32(label) >= n;
}

// Each softmax cross-entropy entry point reduces a row to the statistics
// below, then writes the loss, the gradient, or both (the *_both entry points,
// for graph/fuse.ts) from the same helpers: the fused launch computes exactly
// what the two apart would.
struct SparseRow {
  base: u32,
  m: f32,                 // max of the row
  s: f32,                 // Σ exp(z - max), in [1, n]
  label: u32,
  bad: bool,              // the label is outside [0, n): the row's results are NaN
}

fn sparseRow(row: u32, n: u32, lid: u32) -> SparseRow {
  let base = row * n;
  let m = rowMax(base, n, lid);
  let s = rowSumExp(base, n, lid, m);
  let label = labels[row];
  return SparseRow(base, m, s, u32(label), badLabel(label, n));
}

// loss = logsumexp(z) - z[label] = (max - z[label]) + log Σ exp(z - max)
fn sparseLossBits(r: SparseRow) -> u32 {
  if (r.bad) { return NAN_BITS; }
  return bitcast<u32>((r.m - x[r.base + r.label]) + log(r.s));
}

// dz = (softmax(z) - onehot(label)) * dLoss
fn sparseGradBits(r: SparseRow, c: u32, g: f32) -> u32 {
  if (r.bad) { return NAN_BITS; }
  let p = exp(x[r.base + c] - r.m) / r.s;
  let t = select(0.0, 1.0, c == r.label);
  return bitcast<u32>((p - t) * g);
}

// loss = -Σ t log softmax(z) = Σ t (max - z) + (Σ t) log Σ exp(z - max);
// both parts are sums of non-negative terms when t ≥ 0.
struct DenseRow {
  base: u32,
  m: f32,
  s: f32,
  sumTz: f32,             // Σ t (max - z)
  sumT: f32,              // Σ t
}

fn denseRow(row: u32, n: u32, lid: u32) -> DenseRow {
  let base = row * n;
  let m = rowMax(base, n, lid);
  var se = 0.0;
  var tz = 0.0;
  var tt = 0.0;
  for (var c = lid; c < n; c += WG) {
    let z = x[base + c];
    let t = targets[base + c];
    se += exp(z - m);
    tz += t * (m - z);
    tt += t;
  }
  return DenseRow(base, m, wgSum(lid, se), wgSum(lid, tz), wgSum(lid, tt));
}

fn denseLoss(r: DenseRow) -> f32 {
  return r.sumTz + r.sumT * log(r.s);
}

// dz = (softmax(z) Σ t - t) * dLoss
fn denseGrad(r: DenseRow, c: u32, g: f32) -> f32 {
  let p = exp(x[r.base + c] - r.m) / r.s;
  return (p * r.sumT - targets[r.base + c]) * g;
}

@compute @workgroup_size(WG)
fn sce_sparse(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
              @builtin(local_invocation_index) lid: u32) {
  let row = rowOf(wid, groups);
  if (row >= fwd.rows) { return; }
  let r = sparseRow(row, fwd.cols, lid);
  if (lid == 0u) { loss_bits[row] = sparseLossBits(r); }
}

@compute @workgroup_size(WG)
fn sce_dense(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
             @builtin(local_invocation_index) lid: u32) {
  let row = rowOf(wid, groups);
  if (row >= fwd.rows) { return; }
  let r = denseRow(row, fwd.cols, lid);
  if (lid == 0u) { loss[row] = denseLoss(r); }
}

@compute @workgroup_size(WG)
fn sce_sparse_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
                       @builtin(local_invocation_index) lid: u32) {
  let row = rowOf(wid, groups);
  if (row >= bwd.rows) { return; }
  let r = sparseRow(row, bwd.cols, lid);
  let g = dloss[row];
  for (var c = lid; c < bwd.cols; c += WG) { grad_bits[r.base + c] = sparseGradBits(r, c, g); }
}

@compute @workgroup_size(WG)
fn sce_dense_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
                      @builtin(local_invocation_index) lid: u32) {
  let row = rowOf(wid, groups);
  if (row >= bwd.rows) { return; }
  let r = denseRow(row, bwd.cols, lid);
  let g = dloss[row];
  for (var c = lid; c < bwd.cols; c += WG) { grad[r.base + c] = denseGrad(r, c, g); }
}

@compute @workgroup_size(WG)
fn sce_sparse_both(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
                   @builtin(local_invocation_index) lid: u32) {
  let row = rowOf(wid, groups);
  if (row >= both.rows) { return; }
  let r = sparseRow(row, both.cols, lid);
  if (lid == 0u) { both_loss_bits[row] = sparseLossBits(r); }
  let g = dloss[row];
  for (var c = lid; c < both.cols; c += WG) { both_grad_bits[r.base + c] = sparseGradBits(r, c, g); }
}

@compute @workgroup_size(WG)
fn sce_dense_both(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
                  @builtin(local_invocation_index) lid: u32) {
  let row = rowOf(wid, groups);
  if (row >= both.rows) { return; }
  let r = denseRow(row, both.cols, lid);
  if (lid == 0u) { both_loss_bits[row] = bitcast<u32>(denseLoss(r)); }
  let g = dloss[row];
  for (var c = lid; c < both.cols; c += WG) { both_grad_bits[r.base + c] = bitcast<u32>(denseGrad(r, c, g)); }
}

fn hingeTarget(t: f32) -> f32 {
  if (BINARY_TARGETS) { return 2.0 * t - 1.0; }
  return t;
}

// The elementwise term whose mean over D is the per-sample loss.
fn term(v: f32, t: f32) -> f32 {
  if (LOSS == 0u) {
    // BCE from logits: max(v,0) - v t + log(1 + exp(-|v|)); exp(-|v|) ≤ 1 never overflows.
    return max(v, 0.0) - v * t + log(1.0 + exp(-abs(v)));
  }
  if (LOSS == 1u) {
    let d = v - t;
    return d * d;
  }
  if (LOSS == 2u) { return abs(v - t); }
  return max(0.0, 1.0 - hingeTarget(t) * v);
}

// d term / d v.
fn termGrad(v: f32, t: f32) -> f32 {
  if (LOSS == 0u) {
    // sigmoid(v) - t, with the exponential of -|v| only.
    let e = exp(-abs(v));
    return select(e, 1.0, v >= 0.0) / (1.0 + e) - t;
  }
  if (LOSS == 1u) { return 2.0 * (v - t); }
  if (LOSS == 2u) { return sign(v - t); }
  let tt = hingeTarget(t);
  return select(0.0, -tt, 1.0 - tt * v > 0.0);
}

@compute @workgroup_size(WG)
fn rowmean(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let row = rowOf(wid, groups);
  if (row >= fwd.rows) { return; }
  let n = fwd.cols;
  let base = row * n;
  var acc = 0.0;
  for (var c = lid; c < n; c += WG) { acc += term(x[base + c], targets[base + c]); }
  let total = wgSum(lid, acc);
  if (lid == 0u) { loss[row] = total / f32(n); }
}

@compute @workgroup_size(WG)
fn rowmean_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gridIndex(gid, groups);
  if (i >= bwd.rows * bwd.cols) { return; }
  let row = i / bwd.cols;
  grad[i] = termGrad(x[i], targets[i]) * (dloss[row] / f32(bwd.cols));
}

// loss = -logProbs[label]: one invocation per row.
@compute @workgroup_size(WG)
fn nll(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let row = gridIndex(gid, groups);
  if (row >= fwd.rows) { return; }
  let label = labels[row];
  if (badLabel(label, fwd.cols)) {
    loss_bits[row] = NAN_BITS;
  } else {
    loss_bits[row] = bitcast<u32>(-x[row * fwd.cols + u32(label)]);
  }
}

// d logProbs = -dLoss at the label, 0 elsewhere.
@compute @workgroup_size(WG)
fn nll_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gridIndex(gid, groups);
  if (i >= bwd.rows * bwd.cols) { return; }
  let row = i / bwd.cols;
  let label = labels[row];
  if (badLabel(label, bwd.cols)) {
    grad_bits[i] = NAN_BITS;
  } else {
    grad_bits[i] = bitcast<u32>(select(0.0, -dloss[row], i - row * bwd.cols == u32(label)));
  }
}
