// Per-sample metrics, one invocation per row; reduce_mean turns them into the
// batch value. Rows fold into 2-D past 65535 workgroups: see gridIndex.
//
// argmax_accuracy_sparse: out[r] = 1 if argmax(pred[r, :]) == labels[r], else 0.
// argmax_accuracy_dense:  out[r] = 1 if argmax(pred[r, :]) == argmax(truth[r, :]).
// binary_accuracy:        out[r] = (1/D)·#{d : (pred[r, d] > threshold) == (truth[r, d] > 0.5)}.
// Every argmax scans upwards and replaces only on a strict >, so ties go to
// the first maximal index (NumPy, TensorFlow, PyTorch).

const WG = 256u;

struct Dims {
  rows: u32,
  cols: u32,
}

struct BinaryParams {
  rows: u32,
  cols: u32,
  threshold: f32,
  inv_cols: f32,
}

@group(0) @binding(0) var<storage, read> pred: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<i32>;
@group(0) @binding(1) var<storage, read> truth: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> d: Dims;
@group(0) @binding(3) var<uniform> bp: BinaryParams;

fn gridIndex(gid: vec3u, groups: vec3u) -> u32 {
  return gid.x + gid.y * groups.x * WG;
}

fn argmaxPred(row: u32) -> u32 {
  let base = row * d.cols;
  var best = 0u;
  var bestValue = pred[base];
  for (var c = 1u; c < d.cols; c++) {
    let v = pred[base + c];
    if (v > bestValue) { best = c; bestValue = v; }
  }
  return best;
}

fn argmaxTruth(row: u32) -> u32 {
  let base = row * d.cols;
  var best = 0u;
  var bestValue = truth[base];
  for (var c = 1u; c < d.cols; c++) {
    let v = truth[base + c];
    if (v > bestValue) { best = c; bestValue = v; }
  }
  return best;
}

@compute @workgroup_size(WG)
fn argmax_accuracy_sparse(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let r = gridIndex(gid, groups);
  if (r >= d.rows) { return; }
  // Compared as i32, so a label outside [0, C) (e.g. -1) counts as wrong.
  out[r] = select(0.0, 1.0, i32(argmaxPred(r)) == labels[r]);
}

@compute @workgroup_size(WG)
fn argmax_accuracy_dense(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let r = gridIndex(gid, groups);
  if (r >= d.rows) { return; }
  out[r] = select(0.0, 1.0, argmaxPred(r) == argmaxTruth(r));
}

@compute @workgroup_size(WG)
fn binary_accuracy(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let r = gridIndex(gid, groups);
  if (r >= bp.rows) { return; }
  let base = r * bp.cols;
  var hits = 0u;
  for (var c = 0u; c < bp.cols; c++) {
    if ((pred[base + c] > bp.threshold) == (truth[base + c] > 0.5)) { hits++; }
  }
  // inv_cols is 1/D rounded on the host: a multiply is correctly rounded, WGSL's division is not.
  out[r] = f32(hits) * bp.inv_cols;
}
