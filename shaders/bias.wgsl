// Bias along the last axis of x, seen as [rows, cols] (Dense: [batch, units]).
//
// bias_add:  y[r, c] = x[r, c] + bias[c]; 1-D over all elements.
// bias_grad: db[c] = Σ_r dy[r, c]. A workgroup owns COLS adjacent columns and
//            has ROWS lanes of COLS invocations: lane l sums rows l, l+ROWS,
//            ... in order, reading COLS consecutive floats per row (coalesced),
//            then the ROWS lane sums of each column are added pairwise in
//            workgroup memory. COLS·ROWS = 256; the host picks COLS from N so
//            that small N still spends its 256 invocations on rows.

const WG = 256u;

struct AddParams {
  n: u32,
  cols: u32,
}

struct GradParams {
  rows: u32,
  cols: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> ap: AddParams;

@group(0) @binding(1) var<storage, read_write> db: array<f32>;
@group(0) @binding(2) var<uniform> gp: GradParams;

fn gridIndex(gid: vec3u, groups: vec3u) -> u32 {
  return gid.x + gid.y * groups.x * WG;
}

@compute @workgroup_size(WG)
fn bias_add(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gridIndex(gid, groups);
  if (i < ap.n) { y[i] = x[i] + bias[i % ap.cols]; }
}

override COLS: u32 = 32u;
override ROWS: u32 = 8u;

var<workgroup> partial: array<f32, WG>;

// x holds dy here.
@compute @workgroup_size(COLS, ROWS)
fn bias_grad(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_id) lid: vec3u,
) {
  // Column tiles fold into 2-D like grid1d, past 65535 workgroups.
  let col = (wid.x + wid.y * groups.x) * COLS + lid.x;
  var s = 0.0;
  if (col < gp.cols) {
    for (var r = lid.y; r < gp.rows; r += ROWS) {
      s += x[r * gp.cols + col];
    }
  }
  let slot = lid.y * COLS + lid.x;
  partial[slot] = s;
  workgroupBarrier();
  for (var half = ROWS / 2u; half > 0u; half /= 2u) {
    if (lid.y < half) { partial[slot] += partial[slot + half * COLS]; }
    workgroupBarrier();
  }
  if (lid.y == 0u && col < gp.cols) { db[col] = partial[lid.x]; }
}
