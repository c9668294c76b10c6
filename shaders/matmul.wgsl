// C[M,N] = op(A) · op(B), where op transposes when TRANS_A / TRANS_B is set:
// A is [M,K] (or [K,M]), B is [K,N] (or [N,K]). Backward needs all three forms:
// dX = dY·Wᵀ (TRANS_B), dW = Xᵀ·dY (TRANS_A).
//
// Two variants, chosen per adapter (see src/ops/matmul.ts):
//   matmul_register: 8×8 outputs per invocation straight from storage; wins on
//                    CPU-emulated adapters, where workgroup memory is slow.
//   matmul_tiled:    64×64 tiles staged through workgroup memory, 4×4 outputs
//                    per invocation; for real GPUs.
// Both are correct for any M, N, K ≥ 1: loads past an edge are clamped or
// zeroed, stores past an edge are skipped.

override TRANS_A: bool = false;
override TRANS_B: bool = false;

struct Dims {
  M: u32,
  N: u32,
  K: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> d: Dims;

fn aAt(i: u32, k: u32) -> f32 {
  if (TRANS_A) { return a[k * d.M + i]; }
  return a[i * d.K + k];
}

fn bAt(k: u32, j: u32) -> f32 {
  if (TRANS_B) { return b[j * d.K + k]; }
  return b[k * d.N + j];
}

const RT = 8u;

@compute @workgroup_size(8, 8)
fn matmul_register(@builtin(global_invocation_id) gid: vec3u) {
  let row0 = gid.y * RT;
  let col0 = gid.x * RT;
  if (row0 >= d.M || col0 >= d.N) { return; }
  // Past the edge, load a valid row/column (clamped) and skip its store.
  var rows: array<u32, RT>;
  var cols: array<u32, RT>;
  for (var t = 0u; t < RT; t++) {
    rows[t] = min(row0 + t, d.M - 1u);
    cols[t] = min(col0 + t, d.N - 1u);
  }
  var acc: array<f32, RT * RT>;
  for (var k = 0u; k < d.K; k++) {
    var av: array<f32, RT>;
    var bv: array<f32, RT>;
    for (var t = 0u; t < RT; t++) {
      av[t] = aAt(rows[t], k);
      bv[t] = bAt(k, cols[t]);
    }
    for (var i = 0u; i < RT; i++) {
      for (var j = 0u; j < RT; j++) {
        acc[i * RT + j] += av[i] * bv[j];
      }
    }
  }
  for (var i = 0u; i < RT; i++) {
    for (var j = 0u; j < RT; j++) {
      if (row0 + i < d.M && col0 + j < d.N) {
        c[(row0 + i) * d.N + col0 + j] = acc[i * RT + j];
      }
    }
  }
}

const BM = 64u;
const BN = 64u;
const BK = 16u;
const TS = 16u;   // threads per side; each owns a 4×4 block strided by TS
const TPT = 4u;

var<workgroup> tileA: array<f32, BK * BM>;   // [k][m]
var<workgroup> tileB: array<f32, BK * BN>;   // [k][n]

fn aOrZero(i: u32, k: u32) -> f32 {
  if (i < d.M && k < d.K) { return aAt(i, k); }
  return 0.0;
}

fn bOrZero(k: u32, j: u32) -> f32 {
  if (k < d.K && j < d.N) { return bAt(k, j); }
  return 0.0;
}

@compute @workgroup_size(16, 16)
fn matmul_tiled(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let tid = lid.y * TS + lid.x;
  let m0 = wid.y * BM;
  let n0 = wid.x * BN;
  var acc: array<f32, TPT * TPT>;
  for (var k0 = 0u; k0 < d.K; k0 += BK) {
    // Each of the 256 invocations stages 4 elements of each tile, walking
    // the operand's contiguous axis so that neighbouring invocations read
    // neighbouring addresses.
    for (var r = 0u; r < 4u; r++) {
      let e = tid + r * TS * TS;
      var m: u32;
      var ka: u32;
      if (TRANS_A) { ka = e / BM; m = e % BM; } else { m = e / BK; ka = e % BK; }
      tileA[ka * BM + m] = aOrZero(m0 + m, k0 + ka);
      var n: u32;
      var kb: u32;
      if (TRANS_B) { n = e / BK; kb = e % BK; } else { kb = e / BN; n = e % BN; }
      tileB[kb * BN + n] = bOrZero(k0 + kb, n0 + n);
    }
    workgroupBarrier();
    for (var k = 0u; k < BK; k++) {
      var av: array<f32, TPT>;
      var bv: array<f32, TPT>;
      for (var t = 0u; t < TPT; t++) {
        av[t] = tileA[k * BM + lid.y + t * TS];
        bv[t] = tileB[k * BN + lid.x + t * TS];
      }
      for (var i = 0u; i < TPT; i++) {
        for (var j = 0u; j < TPT; j++) {
          acc[i * TPT + j] += av[i] * bv[j];
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < TPT; i++) {
    for (var j = 0u; j < TPT; j++) {
      let row = m0 + lid.y + i * TS;
      let col = n0 + lid.x + j * TS;
      if (row < d.M && col < d.N) { c[row * d.N + col] = acc[i * TPT + j]; }
    }
  }
}
