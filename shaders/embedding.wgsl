// Embedding lookup (the op under Keras' Embedding) and its gradient.
//   embedding:          out[i, d] = table[ids[i], d]          ids are whole numbers held as f32, checked in [0, V) on the host
//   embedding_backward: partial[c, v, d] = Σ_{i in chunk c : ids[i] = v} dy[i, d]
// The gradient is summed in chunks of CHUNK positions, one invocation per
// (chunk, v, d), each in order: no atomics (WGSL has no float atomics), the
// same order on every device. The chunks' partial sums are then added in
// order by another launch (biasGrad over the chunks). V·D·N work in all,
// which suits character vocabularies; a large vocabulary would want the ids
// sorted first.

const CHUNK = 256u;

const WG = 256u;

struct Params {
  total: u32,
  dim: u32,
  n: u32,
  vocab: u32,
}
// In embedding_backward, total = chunks · vocab · dim.

// embedding: ids, table, out, fp. embedding_backward: ids, dy, dtable, bp.
@group(0) @binding(0) var<storage, read> ids: array<f32>;
@group(0) @binding(1) var<storage, read> table: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> fp: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dtable: array<f32>;
@group(0) @binding(3) var<uniform> bp: Params;

@compute @workgroup_size(WG)
fn embedding(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let k = gid.x + gid.y * groups.x * WG;
  if (k >= fp.total) { return; }
  let i = k / fp.dim;
  let d = k % fp.dim;
  // Clamped so that no read leaves the table; the host refuses ids outside [0, V) before they get here.
  let v = min(u32(max(round(ids[i]), 0.0)), fp.vocab - 1u);
  out[k] = table[v * fp.dim + d];
}

@compute @workgroup_size(WG)
fn embedding_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let k = gid.x + gid.y * groups.x * WG;
  if (k >= bp.total) { return; }
  let d = k % bp.dim;
  let v = (k / bp.dim) % bp.vocab;
  let c = k / (bp.dim * bp.vocab);
  let id = f32(v);
  var sum = 0.0;
  for (var i = c * CHUNK; i < min((c + 1u) * CHUNK, bp.n); i++) {
    if (round(ids[i]) == id) { sum += dy[i * bp.dim + d]; }
  }
  dtable[k] = sum;
}
