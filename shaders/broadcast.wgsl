// The first T rows of a table [S, F] repeated over a batch: out [B, T, F],
// out[b, t, f] = table[t, f] (a learned position embedding, keras-nlp's
// PositionEmbedding); and its gradient, the table's rows summed over the
// batch, zero past row T. One invocation per output element; 1-D dispatch
// folded into 2-D past 65535 workgroups (gridIndex).

const WG = 256u;

struct Params {
  total: u32,  // the output's elements: B · T · F forward, S · F backward
  block: u32,  // T · F: one sample's elements, the table's first T rows
  batch: u32,  // B (the gradient's sum runs over it)
  pad: u32,
}

@group(0) @binding(0) var<storage, read> table: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read_write> dtable: array<f32>;
@group(0) @binding(2) var<uniform> q: Params;

fn gridIndex(gid: vec3u, groups: vec3u) -> u32 {
  return gid.x + gid.y * groups.x * WG;
}

@compute @workgroup_size(WG)
fn broadcast_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gridIndex(gid, groups);
  if (i >= p.total) { return; }
  out[i] = table[i % p.block];
}

// Each element of the table sums its B gradients in batch order; adjacent
// invocations read adjacent elements of every sample (coalesced).
@compute @workgroup_size(WG)
fn broadcast_rows_grad(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let j = gridIndex(gid, groups);
  if (j >= q.total) { return; }
  var s = 0.0;
  if (j < q.block) {
    for (var b = 0u; b < q.batch; b++) { s += dy[b * q.block + j]; }
  }
  dtable[j] = s;
}
