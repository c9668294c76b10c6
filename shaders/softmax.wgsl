// Softmax and log-softmax over the last axis of x[rows, cols], and their
// gradients. One workgroup per row, folded into 2-D past 65535 rows; its
// invocations stride over the columns, then combine through workgroup memory.
//   softmax:          y = exp(x − max) / Σ exp(x − max)            (LOG = false)
//                     y = (x − max) − log Σ exp(x − max)           (LOG = true)
//   softmax_backward: dx = y ⊙ (dy − Σ dy ⊙ y)                     (LOG = false)
//                     dx = dy − exp(y) · Σ dy                      (LOG = true)
// Subtracting the row max keeps every exp argument ≤ 0: no overflow, and the
// sum is at least 1, so its log and the division are safe.

override LOG: bool = false;
// A power of two ≤ 256, chosen from cols in src/ops/softmax.ts so that short rows do not idle 256 invocations.
override WG: u32 = 256u;

struct Dims {
  rows: u32,
  cols: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> fd: Dims;

@group(0) @binding(0) var<storage, read> fy: array<f32>;   // the forward's output
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> bd: Dims;

var<workgroup> partial: array<f32, WG>;

// Tree reductions over the workgroup's partial values. Called in uniform
// control flow; the last barrier lets `partial` be reused straight after.
fn reduceMax(lid: u32, v: f32) -> f32 {
  partial[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] = max(partial[lid], partial[lid + s]); }
    workgroupBarrier();
  }
  let r = partial[0];
  workgroupBarrier();
  return r;
}

fn reduceSum(lid: u32, v: f32) -> f32 {
  partial[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] += partial[lid + s]; }
    workgroupBarrier();
  }
  let r = partial[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn softmax(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * groups.x;
  if (row >= fd.rows) { return; }   // uniform: the whole workgroup leaves together
  let cols = fd.cols;
  let base = row * cols;
  var m = x[base];   // a real element, so no −∞ is needed
  for (var j = lid; j < cols; j += WG) { m = max(m, x[base + j]); }
  m = reduceMax(lid, m);
  var s = 0.0;
  for (var j = lid; j < cols; j += WG) { s += exp(x[base + j] - m); }
  s = reduceSum(lid, s);
  if (LOG) {
    let logS = log(s);
    for (var j = lid; j < cols; j += WG) { y[base + j] = (x[base + j] - m) - logS; }
  } else {
    for (var j = lid; j < cols; j += WG) { y[base + j] = exp(x[base + j] - m) / s; }
  }
}

@compute @workgroup_size(WG)
fn softmax_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * groups.x;
  if (row >= bd.rows) { return; }
  let cols = bd.cols;
  let base = row * cols;
  var s = 0.0;
  for (var j = lid; j < cols; j += WG) {
    if (LOG) { s += dy[base + j]; } else { s += dy[base + j] * fy[base + j]; }
  }
  s = reduceSum(lid, s);
  for (var j = lid; j < cols; j += WG) {
    if (LOG) {
      dx[base + j] = dy[base + j] - exp(fy[base + j]) * s;
    } else {
      dx[base + j] = fy[base + j] * (dy[base + j] - s);
    }
  }
}
