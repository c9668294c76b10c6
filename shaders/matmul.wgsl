// C[M,N] = op(A) · op(B), where op transposes when TRANS_A / TRANS_B is set:
// A is [M,K] (or [K,M]), B is [K,N] (or [N,K]). Backward needs all three forms:
// dX = dY·Wᵀ (TRANS_B), dW = Xᵀ·dY (TRANS_A).
//
// Five variants, chosen per adapter and shape (see src/ops/matmul.ts):
//   matmul_register: 8×8 outputs per invocation, scalar loads straight from
//                    storage, any shape; for CPU-emulated adapters (where
//                    workgroup memory is slow) when the shape does not suit
//                    the two below.
//   matmul_mat8,     8×8 or 16×16 outputs per invocation in mat4x4f
//   matmul_mat16:    accumulators, operands read as vec4; need K and the
//                    contiguous axes to be multiples of 4; fastest on
//                    CPU-emulated adapters (bench/kernels, the kernel lab).
//   matmul_tiled:    64×64 tiles staged through workgroup memory, 4×4 outputs
//                    per invocation; for real GPUs on shapes with few tiles.
//   matmul_tiled128: 128×128 tiles, 8×8 outputs per invocation in mat4x4f
//                    blocks, vec4 reads of workgroup memory, the next step's
//                    operands loaded while this one's multiply; for real GPUs
//                    on large shapes.
// All are correct for any M, N (and K, where allowed) ≥ 1: loads past an edge
// are clamped or zeroed, stores past an edge are skipped.
//
// Every variant stores through `finish4`, which EPILOGUE specialises
// (src/ops/matmul-epilogue.ts; graph/fuse.ts decides where it applies):
//   0: C = op(A)·op(B)
//   1: C = f(op(A)·op(B) + bias), bias = ep[N]: Dense's bias and activation
//   2: C = (op(A)·op(B)) · f'(x), from y = f(x) = ep[M,N]: the gradient
//      flowing back through an activation
//   3: C = op(A)·op(B) + r, r = ep[M,N]: a gradient added to the sum of
//      those before it (a tensor read by several ops)
//   4: C = f(op(A)·op(B) + bias) + r, bias = ep[N], r = ep2[M,N]: a Dense
//      branch added to a residual
//   5: C = (op(A)·op(B)) · f'(x), x = ep[M,N]: as 2, from the activation's
//      input, for the kinds whose gradient needs it (gelu)
// f is the activation ACT (KIND in activation.wgsl) with ALPHA; for 1, 2
// and 4 the kinds are those whose gradient needs only y (gradFromOutput),
// for 5 any.

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
// The epilogue's operands. WGSL has no optional bindings: launches that read
// fewer bind A in their place.
@group(0) @binding(4) var<storage, read> ep: array<f32>;
@group(0) @binding(5) var<storage, read> ep2: array<f32>;

override EPILOGUE: u32 = 0u;
override ACT: u32 = 0u;
override ALPHA: f32 = 0.0;

// activate, activateGrad and activateGradOfOutput over V = vec4f, four
// values at a time, are generated from the activation records for every kind
// (src/ops/activations.ts; ACT names one, and the checks in
// src/ops/matmul-epilogue.ts say which each epilogue takes) and prepended
// when this file is loaded. They are activation.wgsl's forms, so
// a fused launch computes what the unfused ops would (test/ops/matmul-epilogue.test.ts).
// Vectors keep the code small: llvmpipe compiles each stored element's copy.
alias V = vec4f;

// Whether ep holds a value per element of C (EPILOGUE 2, 3, 5) rather than per column.
fn perElement() -> bool {
  return EPILOGUE == 2u || EPILOGUE == 3u || EPILOGUE == 5u;
}

// The epilogue's operand at row `row`, columns c0..c0+3: the bias (EPILOGUE
// 1 and 4, the same for every row), y (2), r (3) or x (5). Columns past the edge
// read a clamped index; their results are never stored.
fn operand4(row: u32, c0: u32) -> vec4f {
  let last = d.N - 1u;
  var at = vec4u(min(c0, last), min(c0 + 1u, last), min(c0 + 2u, last), min(c0 + 3u, last));
  if (perElement()) { at += row * d.N; }
  return vec4f(ep[at.x], ep[at.y], ep[at.z], ep[at.w]);
}

// EPILOGUE 4's residual at row `row`, columns c0..c0+3, clamped as operand4.
fn residual4(row: u32, c0: u32) -> vec4f {
  let last = d.N - 1u;
  let at = row * d.N + vec4u(min(c0, last), min(c0 + 1u, last), min(c0 + 2u, last), min(c0 + 3u, last));
  return vec4f(ep2[at.x], ep2[at.y], ep2[at.z], ep2[at.w]);
}

// C's values at row `row`, columns c0..c0+3, finished as EPILOGUE says,
// given the operand o at their place. Each step is rounded to f32 as the
// unfused launches store it.
fn finish4(v: vec4f, o: vec4f, row: u32, c0: u32) -> vec4f {
  if (EPILOGUE == 1u) { return activate(v + o, ALPHA, ACT); }
  if (EPILOGUE == 2u) { return v * activateGradOfOutput(o, ALPHA, ACT); }
  if (EPILOGUE == 3u) { return v + o; }
  if (EPILOGUE == 4u) { return activate(v + o, ALPHA, ACT) + residual4(row, c0); }
  if (EPILOGUE == 5u) { return activateGrad(o, ALPHA, ACT) * v; }
  return v;
}

fn aAt(i: u32, k: u32) -> f32 {
  if (TRANS_A) { return a[k * d.M + i]; }
  return a[i * d.K + k];
}

fn bAt(k: u32, j: u32) -> f32 {
  if (TRANS_B) { return b[j * d.K + k]; }
  return b[k * d.N + j];
}

// Four values of op(A)'s column k at rows r0..r0+3, and of op(B)'s row k at
// columns c0..c0+3; indices past the edge are clamped (their results are never stored).
fn rows4(r0: u32, k: u32) -> vec4f {
  let last = d.M - 1u;
  return vec4f(aAt(min(r0, last), k), aAt(min(r0 + 1u, last), k), aAt(min(r0 + 2u, last), k), aAt(min(r0 + 3u, last), k));
}

fn cols4(c0: u32, k: u32) -> vec4f {
  let last = d.N - 1u;
  return vec4f(bAt(k, min(c0, last)), bAt(k, min(c0 + 1u, last)), bAt(k, min(c0 + 2u, last)), bAt(k, min(c0 + 3u, last)));
}

// The rank-1 update of a 4×4 block, transposed (column r is row r of C's
// block), as the mat variants below keep it: column r += b · a[r].
fn outer(b: vec4f, a: vec4f) -> mat4x4f {
  return mat4x4f(b * a.x, b * a.y, b * a.z, b * a.w);
}

// Writes a transposed 4×4 block (column r is row r0 + r of C, columns
// c0..c0+3), skipping what lies past the edges.
fn storeBlock(acc: mat4x4f, r0: u32, c0: u32) {
  // Loaded once, not per row: each load is index-clamped, and 16 inlined
  // copies of them more than doubled llvmpipe's compile time of matmul_mat16.
  var bias = vec4f();
  if (EPILOGUE == 1u || EPILOGUE == 4u) { bias = operand4(r0, c0); }
  for (var r = 0u; r < 4u; r++) {
    let row = r0 + r;
    if (row >= d.M) { return; }
    var o = bias;
    if (perElement()) { o = operand4(row, c0); }
    let v = finish4(acc[r], o, row, c0);
    for (var q = 0u; q < 4u; q++) {
      if (c0 + q < d.N) { c[row * d.N + c0 + q] = v[q]; }
    }
  }
}

// 8×8 outputs per invocation, as 2×2 blocks of 4×4, one k at a time, written
// out by hand like the mat variants (see there why no array is indexed in a loop).
@compute @workgroup_size(8, 8)
fn matmul_register(@builtin(global_invocation_id) gid: vec3u) {
  let r0 = gid.y * 8u;
  let c0 = gid.x * 8u;
  if (r0 >= d.M || c0 >= d.N) { return; }
  var c00 = mat4x4f(); var c01 = mat4x4f();
  var c10 = mat4x4f(); var c11 = mat4x4f();
  for (var k = 0u; k < d.K; k++) {
    let a0 = rows4(r0, k);
    let a1 = rows4(r0 + 4u, k);
    let b0 = cols4(c0, k);
    let b1 = cols4(c0 + 4u, k);
    c00 += outer(b0, a0); c01 += outer(b1, a0);
    c10 += outer(b0, a1); c11 += outer(b1, a1);
  }
  storeBlock(c00, r0, c0); storeBlock(c01, r0, c0 + 4u);
  storeBlock(c10, r0 + 4u, c0); storeBlock(c11, r0 + 4u, c0 + 4u);
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
      if (row < d.M && col < d.N) { c[row * d.N + col] = finish4(vec4f(acc[i * TPT + j]), operand4(row, col), row, col).x; }
    }
  }
}

// ---------------------------------------------------------- matmul_mat8/16
// Blocks of 4×4 outputs held in mat4x4f accumulators, written out by hand
// (no arrays indexed in loops): SwiftShader keeps such arrays in memory and
// ran the array-based variants at 0.3–0.6 GFLOP/s, where these run at 3–6;
// llvmpipe runs them faster too (bench/kernels, the kernel lab).
// The buffers are read as vec4 along op(A)'s and op(B)'s contiguous axes, and
// K is walked in steps of 4, so K, op(A)'s contiguous axis (K, or M with
// TRANS_A) and op(B)'s (N, or K with TRANS_B) must be multiples of 4.
//
// For the block at rows r0.., columns c0.., and k..k+3, with
// Ablk[r][q] = op(A)[r0 + r, k + q] and Bblk[q][e] = op(B)[k + q, c0 + e],
// the accumulator holds Cblkᵀ (column r = row r of C's block, ready to store):
// Cblkᵀ += Bblkᵀ · Ablkᵀ. WGSL matrices are built from columns.
@group(0) @binding(0) var<storage, read> a4: array<vec4f>;
@group(0) @binding(1) var<storage, read> b4: array<vec4f>;

override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;

// Ablkᵀ: column r is op(A)[r0 + r, k..k+3]. Rows past the edge are clamped.
fn blockA(r0: u32, k: u32) -> mat4x4f {
  if (TRANS_A) {
    // A is [K, M]: a vec4 is op(A)[r0..r0+3, k + q], a column of Ablk.
    let m4 = d.M / 4u;
    let g = min(r0 / 4u, m4 - 1u);
    return transpose(mat4x4f(a4[k * m4 + g], a4[(k + 1u) * m4 + g], a4[(k + 2u) * m4 + g], a4[(k + 3u) * m4 + g]));
  }
  let k4 = d.K / 4u;
  let q = k / 4u;
  let last = d.M - 1u;
  return mat4x4f(a4[min(r0, last) * k4 + q], a4[min(r0 + 1u, last) * k4 + q], a4[min(r0 + 2u, last) * k4 + q], a4[min(r0 + 3u, last) * k4 + q]);
}

// Bblkᵀ: column q is op(B)[k + q, c0..c0+3]. Columns past the edge are clamped.
fn blockB(c0: u32, k: u32) -> mat4x4f {
  if (TRANS_B) {
    // B is [N, K]: a vec4 is op(B)[k..k+3, c0 + e], a column of Bblk.
    let k4 = d.K / 4u;
    let q = k / 4u;
    let last = d.N - 1u;
    return transpose(mat4x4f(b4[min(c0, last) * k4 + q], b4[min(c0 + 1u, last) * k4 + q], b4[min(c0 + 2u, last) * k4 + q], b4[min(c0 + 3u, last) * k4 + q]));
  }
  let n4 = d.N / 4u;
  let g = min(c0 / 4u, n4 - 1u);
  return mat4x4f(b4[k * n4 + g], b4[(k + 1u) * n4 + g], b4[(k + 2u) * n4 + g], b4[(k + 3u) * n4 + g]);
}

// 8×8 outputs per invocation: 2×2 blocks.
@compute @workgroup_size(WG_X, WG_Y)
fn matmul_mat8(@builtin(global_invocation_id) gid: vec3u) {
  let r0 = gid.y * 8u;
  let c0 = gid.x * 8u;
  if (r0 >= d.M || c0 >= d.N) { return; }
  var c00 = mat4x4f(); var c01 = mat4x4f();
  var c10 = mat4x4f(); var c11 = mat4x4f();
  for (var k = 0u; k < d.K; k += 4u) {
    let a0 = blockA(r0, k);
    let a1 = blockA(r0 + 4u, k);
    let b0 = blockB(c0, k);
    let b1 = blockB(c0 + 4u, k);
    c00 += b0 * a0; c01 += b1 * a0;
    c10 += b0 * a1; c11 += b1 * a1;
  }
  storeBlock(c00, r0, c0); storeBlock(c01, r0, c0 + 4u);
  storeBlock(c10, r0 + 4u, c0); storeBlock(c11, r0 + 4u, c0 + 4u);
}

// 16×16 outputs per invocation: 4×4 blocks.
@compute @workgroup_size(WG_X, WG_Y)
fn matmul_mat16(@builtin(global_invocation_id) gid: vec3u) {
  let r0 = gid.y * 16u;
  let c0 = gid.x * 16u;
  if (r0 >= d.M || c0 >= d.N) { return; }
  var c00 = mat4x4f(); var c01 = mat4x4f(); var c02 = mat4x4f(); var c03 = mat4x4f();
  var c10 = mat4x4f(); var c11 = mat4x4f(); var c12 = mat4x4f(); var c13 = mat4x4f();
  var c20 = mat4x4f(); var c21 = mat4x4f(); var c22 = mat4x4f(); var c23 = mat4x4f();
  var c30 = mat4x4f(); var c31 = mat4x4f(); var c32 = mat4x4f(); var c33 = mat4x4f();
  for (var k = 0u; k < d.K; k += 4u) {
    let a0 = blockA(r0, k);
    let a1 = blockA(r0 + 4u, k);
    let a2 = blockA(r0 + 8u, k);
    let a3 = blockA(r0 + 12u, k);
    let b0 = blockB(c0, k);
    let b1 = blockB(c0 + 4u, k);
    let b2 = blockB(c0 + 8u, k);
    let b3 = blockB(c0 + 12u, k);
    c00 += b0 * a0; c01 += b1 * a0; c02 += b2 * a0; c03 += b3 * a0;
    c10 += b0 * a1; c11 += b1 * a1; c12 += b2 * a1; c13 += b3 * a1;
    c20 += b0 * a2; c21 += b1 * a2; c22 += b2 * a2; c23 += b3 * a2;
    c30 += b0 * a3; c31 += b1 * a3; c32 += b2 * a3; c33 += b3 * a3;
  }
  storeBlock(c00, r0, c0); storeBlock(c01, r0, c0 + 4u); storeBlock(c02, r0, c0 + 8u); storeBlock(c03, r0, c0 + 12u);
  storeBlock(c10, r0 + 4u, c0); storeBlock(c11, r0 + 4u, c0 + 4u); storeBlock(c12, r0 + 4u, c0 + 8u); storeBlock(c13, r0 + 4u, c0 + 12u);
  storeBlock(c20, r0 + 8u, c0); storeBlock(c21, r0 + 8u, c0 + 4u); storeBlock(c22, r0 + 8u, c0 + 8u); storeBlock(c23, r0 + 8u, c0 + 12u);
  storeBlock(c30, r0 + 12u, c0); storeBlock(c31, r0 + 12u, c0 + 4u); storeBlock(c32, r0 + 12u, c0 + 8u); storeBlock(c33, r0 + 12u, c0 + 12u);
}

// ---------------------------------------------------------- matmul_tiled128
// For real GPUs on large shapes: 128×128 tiles of C per workgroup of 16×16,
// each invocation owning 8×8 outputs as four 4×4 blocks (rows 4·ty and
// 64 + 4·ty, columns 4·tx and 64 + 4·tx: strided by 64 so that a warp's
// vec4 reads of a tile row fall in distinct banks). K is walked in steps of
// 8 through workgroup memory laid out k-major, [k][m] and [k][n], each row
// padded by 4 floats so that the transposing stores of the operands that are
// contiguous along k hit 32 distinct banks. The next step's operands are
// read from storage into registers while this step's are multiplied, so one
// barrier pair per step hides the load latency. Loads are scalar, so any
// shape runs (edges are zero-filled, stores past an edge skipped); there are
// 8 loads per invocation per step against 512 multiply-adds.
const T8_BK = 8u;
const T8_ROW = 33u;  // vec4s per k-row of a tile: 128 floats + 4 of padding

var<workgroup> tile8A: array<vec4f, 264>;  // T8_BK * T8_ROW
var<workgroup> tile8B: array<vec4f, 264>;

// This invocation's share of one k-step of an operand tile: 4 elements, read
// along the operand's contiguous axis (neighbouring invocations read
// neighbouring addresses). When that axis is k (A untransposed, B
// transposed) they are k..k+3 of row (column) `line`; otherwise they are
// rows (columns) line..line+3 at step k.
struct Stage {
  v: vec4f,
  line: u32,
  k: u32,
}

fn stageA(m0: u32, k0: u32, tid: u32) -> Stage {
  var s: Stage;
  if (TRANS_A) {
    s.k = tid / 32u; s.line = (tid % 32u) * 4u;
    for (var j = 0u; j < 4u; j++) { s.v[j] = aOrZero(m0 + s.line + j, k0 + s.k); }
  } else {
    s.line = tid / 2u; s.k = (tid % 2u) * 4u;
    for (var j = 0u; j < 4u; j++) { s.v[j] = aOrZero(m0 + s.line, k0 + s.k + j); }
  }
  return s;
}

fn stageB(n0: u32, k0: u32, tid: u32) -> Stage {
  var s: Stage;
  if (TRANS_B) {
    s.line = tid / 2u; s.k = (tid % 2u) * 4u;
    for (var j = 0u; j < 4u; j++) { s.v[j] = bOrZero(k0 + s.k + j, n0 + s.line); }
  } else {
    s.k = tid / 32u; s.line = (tid % 32u) * 4u;
    for (var j = 0u; j < 4u; j++) { s.v[j] = bOrZero(k0 + s.k, n0 + s.line + j); }
  }
  return s;
}

// Writes a staged share into a k-major tile: a vec4 when the 4 elements run
// along m (n), four scalars down k when they run along k.
fn putA(s: Stage) {
  if (TRANS_A) { tile8A[s.k * T8_ROW + s.line / 4u] = s.v; return; }
  for (var j = 0u; j < 4u; j++) { tile8A[(s.k + j) * T8_ROW + s.line / 4u][s.line % 4u] = s.v[j]; }
}

fn putB(s: Stage) {
  if (!TRANS_B) { tile8B[s.k * T8_ROW + s.line / 4u] = s.v; return; }
  for (var j = 0u; j < 4u; j++) { tile8B[(s.k + j) * T8_ROW + s.line / 4u][s.line % 4u] = s.v[j]; }
}

// acc + outer(b, a), as the mat variants keep blocks (column r is row r), in fused multiply-adds.
fn fmaOuter(acc: mat4x4f, b: vec4f, a: vec4f) -> mat4x4f {
  return mat4x4f(fma(b, vec4f(a.x), acc[0]), fma(b, vec4f(a.y), acc[1]), fma(b, vec4f(a.z), acc[2]), fma(b, vec4f(a.w), acc[3]));
}

@compute @workgroup_size(16, 16)
fn matmul_tiled128(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let tid = lid.y * 16u + lid.x;
  let m0 = wid.y * 128u;
  let n0 = wid.x * 128u;
  var c00 = mat4x4f(); var c01 = mat4x4f();
  var c10 = mat4x4f(); var c11 = mat4x4f();
  var sa = stageA(m0, 0u, tid);
  var sb = stageB(n0, 0u, tid);
  for (var k0 = 0u; k0 < d.K; k0 += T8_BK) {
    putA(sa);
    putB(sb);
    workgroupBarrier();
    if (k0 + T8_BK < d.K) {
      sa = stageA(m0, k0 + T8_BK, tid);
      sb = stageB(n0, k0 + T8_BK, tid);
    }
    for (var k = 0u; k < T8_BK; k++) {
      let a0 = tile8A[k * T8_ROW + lid.y];
      let a1 = tile8A[k * T8_ROW + 16u + lid.y];
      let b0 = tile8B[k * T8_ROW + lid.x];
      let b1 = tile8B[k * T8_ROW + 16u + lid.x];
      c00 = fmaOuter(c00, b0, a0); c01 = fmaOuter(c01, b1, a0);
      c10 = fmaOuter(c10, b0, a1); c11 = fmaOuter(c11, b1, a1);
    }
    workgroupBarrier();
  }
  let r0 = m0 + lid.y * 4u;
  let q0 = n0 + lid.x * 4u;
  storeBlock(c00, r0, q0); storeBlock(c01, r0, q0 + 64u);
  storeBlock(c10, r0 + 64u, q0); storeBlock(c11, r0 + 64u, q0 + 64u);
}
