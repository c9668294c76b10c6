// TensorFlow Playground's input features of points (x, y): the op under the
// PointFeatures layer. feature / feature_dx / feature_dy (one case per
// feature) are generated from the records in src/ops/features.ts and
// prepended. `codes` holds each output column's feature, 3 bits each, the
// first column lowest.
//   point_features:          out[n, j] = feature(code_j, x[n, 0], x[n, 1])
//   point_features_backward: dx[n, 0] = Σ_j d[n, j]·feature_dx(code_j, ·), dx[n, 1] likewise with feature_dy

const WG = 256u;

struct Params {
  total: u32,
  k: u32,
  codes: u32,
}

fn code_of(codes: u32, j: u32) -> u32 {
  return (codes >> (3u * j)) & 7u;
}

// point_features: x, out, fp. point_features_backward: x, d, dx, bp.
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> fp: Params;
@group(0) @binding(1) var<storage, read> d: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> bp: Params;

@compute @workgroup_size(WG)
fn point_features(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * WG;
  if (i >= fp.total) { return; }
  let n = i / fp.k;
  let j = i % fp.k;
  out[i] = feature(code_of(fp.codes, j), x[2u * n], x[2u * n + 1u]);
}

// One invocation per point: both partials, summed over its k columns in order.
@compute @workgroup_size(WG)
fn point_features_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let n = gid.x + gid.y * groups.x * WG;
  if (n >= bp.total) { return; }
  let a = x[2u * n];
  let b = x[2u * n + 1u];
  var gx = 0.0;
  var gy = 0.0;
  for (var j = 0u; j < bp.k; j++) {
    let c = code_of(bp.codes, j);
    let g = d[n * bp.k + j];
    gx += feature_dx(c, a, b) * g;
    gy += feature_dy(c, a, b) * g;
  }
  dx[2u * n] = gx;
  dx[2u * n + 1u] = gy;
}
