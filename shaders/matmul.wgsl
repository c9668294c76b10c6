// C[M,N] = op(A) · op(B), where op transposes when TRANS_A / TRANS_B is set:
// A is [M,K] (or [K,M]), B is [K,N] (or [N,K]). Backward needs all three forms:
// dX = dY·Wᵀ (TRANS_B), dW = Xᵀ·dY (TRANS_A).
//
// Three variants, chosen per adapter and shape (see src/ops/matmul.ts):
//   matmul_register: 8×8 outputs per invocation straight from storage; wins on
//                    CPU-emulated adapters, where workgroup memory is slow.
//   matmul_vec4:     matmul_register's 8×8 block, with both operands read four
//                    floats at a time along their contiguous axis; needs those
//                    axes to be multiples of 4 (bench/kernels found it fastest
//                    on llvmpipe).
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

// ---------------------------------------------------------------- matmul_vec4
// The same buffers seen as vec4: op(A)'s contiguous axis is K (or M with
// TRANS_A), op(B)'s is N (or K with TRANS_B); each must be a multiple of 4.
@group(0) @binding(0) var<storage, read> a4: array<vec4f>;
@group(0) @binding(1) var<storage, read> b4: array<vec4f>;

const VR = 8u;  // rows of C per invocation (a multiple of 4)
const VC = 2u;  // groups of 4 columns of C per invocation

// av[i][q] = op(A)[row0 + i, k + q]. Rows past the edge are clamped.
fn loadA4(row0: u32, k: u32) -> array<vec4f, VR> {
  var av: array<vec4f, VR>;
  if (TRANS_A) {
    // A is [K, M]: a vec4 holds 4 rows of one k; transpose in registers.
    let groups = d.M / 4u;
    for (var g = 0u; g < VR / 4u; g++) {
      let rg = min(row0 / 4u + g, groups - 1u);
      for (var q = 0u; q < 4u; q++) {
        let t = a4[(k + q) * groups + rg];
        for (var r = 0u; r < 4u; r++) { av[g * 4u + r][q] = t[r]; }
      }
    }
  } else {
    for (var i = 0u; i < VR; i++) { av[i] = a4[(min(row0 + i, d.M - 1u) * d.K + k) / 4u]; }
  }
  return av;
}

// bv[q * VC + j] = op(B)[k + q, 4·(cg0 + j) .. +3]. Columns past the edge are clamped.
fn loadB4(cg0: u32, k: u32) -> array<vec4f, 4u * VC> {
  var bv: array<vec4f, 4u * VC>;
  if (TRANS_B) {
    // B is [N, K]: a vec4 holds 4 k of one column; transpose in registers.
    for (var j = 0u; j < VC; j++) {
      for (var e = 0u; e < 4u; e++) {
        let t = b4[(min((cg0 + j) * 4u + e, d.N - 1u) * d.K + k) / 4u];
        for (var q = 0u; q < 4u; q++) { bv[q * VC + j][e] = t[q]; }
      }
    }
  } else {
    let groups = d.N / 4u;
    for (var q = 0u; q < 4u; q++) {
      for (var j = 0u; j < VC; j++) { bv[q * VC + j] = b4[(k + q) * groups + min(cg0 + j, groups - 1u)]; }
    }
  }
  return bv;
}

@compute @workgroup_size(8, 8)
fn matmul_vec4(@builtin(global_invocation_id) gid: vec3u) {
  let row0 = gid.y * VR;
  let cg0 = gid.x * VC;
  if (row0 >= d.M || cg0 * 4u >= d.N) { return; }
  var acc: array<vec4f, VR * VC>;
  for (var k = 0u; k < d.K; k += 4u) {
    let av = loadA4(row0, k);
    let bv = loadB4(cg0, k);
    for (var q = 0u; q < 4u; q++) {
      for (var i = 0u; i < VR; i++) {
        let s = av[i][q];
        for (var j = 0u; j < VC; j++) { acc[i * VC + j] += s * bv[q * VC + j]; }
      }
    }
  }
  for (var i = 0u; i < VR; i++) {
    let row = row0 + i;
    if (row >= d.M) { break; }
    for (var j = 0u; j < VC; j++) {
      for (var e = 0u; e < 4u; e++) {
        let col = (cg0 + j) * 4u + e;
        if (col < d.N) { c[row * d.N + col] = acc[i * VC + j][e]; }
      }
    }
  }
}
