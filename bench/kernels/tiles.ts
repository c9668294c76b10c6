// The kernel lab's workgroup-memory tile family, for real GPUs: the shape of
// shaders/matmul.wgsl's matmul_tiled128, generated for other tile sizes, k
// steps and outputs per invocation, so that one run on a GPU shows which of
// them the hand-written kernels should become. On CPU-emulated adapters they
// are checked but not timed (workgroup memory is slow there).
import type { Kernel } from '../../src/index.js';
import type { MatmulAttrs } from '../../src/ops/matmul.js';
import { labMatmulKernel } from './variants.js';

export interface TileVariant {
  readonly name: string;
  /** Rows and columns of C per workgroup. */
  readonly bm: number;
  readonly bn: number;
  /** k per step through workgroup memory. */
  readonly bk: number;
  /** Rows and columns of C per invocation (multiples of 4: the invocation owns 4×4 blocks strided across the tile). */
  readonly tm: number;
  readonly tn: number;
  /** Read the next step's operands into registers while this step multiplies. */
  readonly prefetch: boolean;
}

export const tileThreads = (v: TileVariant) => (v.bm / v.tm) * (v.bn / v.tn);

/**
 * WGSL for one variant. Invocation (tx, ty) owns the 4×4 blocks at rows
 * 4·ty + g·(4·BM/TM) and columns 4·tx + h·(4·BN/TN): blocks strided across the
 * tile, so that a warp's vec4 reads of a tile row are contiguous. Tiles are
 * k-major in workgroup memory, rows padded by 4 floats (the transposing
 * stores then spread over the banks). Arrays are indexed only in loops of
 * constant trip count, which GPU compilers unroll into registers.
 */
export function tileShader(v: TileVariant): string {
  const TX = v.bn / v.tn;
  const TY = v.bm / v.tm;
  const T = TX * TY;
  const GM = v.tm / 4;
  const GN = v.tn / 4;
  const RA = (v.bm + 4) / 4; // vec4s per k-row of the A tile
  const RB = (v.bn + 4) / 4;
  const PA = (v.bm * v.bk) / T; // elements each invocation stages per step
  const PB = (v.bn * v.bk) / T;
  return `
override TRANS_A: bool = false;
override TRANS_B: bool = false;
struct Dims { M: u32, N: u32, K: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> d: Dims;
var<workgroup> tA: array<vec4f, ${v.bk * RA}>;
var<workgroup> tB: array<vec4f, ${v.bk * RB}>;

// Element e of a step's A tile, numbered along A's contiguous axis: (row, k) within the tile.
fn aPos(e: u32) -> vec2u {
  if (TRANS_A) { return vec2u(e % ${v.bm}u, e / ${v.bm}u); }
  return vec2u(e / ${v.bk}u, e % ${v.bk}u);
}
fn bPos(e: u32) -> vec2u {
  if (TRANS_B) { return vec2u(e / ${v.bk}u, e % ${v.bk}u); }
  return vec2u(e % ${v.bn}u, e / ${v.bn}u);
}
fn loadA(m0: u32, k0: u32, e: u32) -> f32 {
  let p = aPos(e);
  let i = m0 + p.x;
  let k = k0 + p.y;
  if (i >= d.M || k >= d.K) { return 0.0; }
  if (TRANS_A) { return a[k * d.M + i]; }
  return a[i * d.K + k];
}
fn loadB(n0: u32, k0: u32, e: u32) -> f32 {
  let p = bPos(e);
  let j = n0 + p.x;
  let k = k0 + p.y;
  if (j >= d.N || k >= d.K) { return 0.0; }
  if (TRANS_B) { return b[j * d.K + k]; }
  return b[k * d.N + j];
}
fn fmaOuter(acc: mat4x4f, bv: vec4f, av: vec4f) -> mat4x4f {
  return mat4x4f(fma(bv, vec4f(av.x), acc[0]), fma(bv, vec4f(av.y), acc[1]), fma(bv, vec4f(av.z), acc[2]), fma(bv, vec4f(av.w), acc[3]));
}

@compute @workgroup_size(${TX}, ${TY})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let tid = lid.y * ${TX}u + lid.x;
  let m0 = wid.y * ${v.bm}u;
  let n0 = wid.x * ${v.bn}u;
  var acc: array<mat4x4f, ${GM * GN}>;
  var ra: array<f32, ${PA}>;
  var rb: array<f32, ${PB}>;
  for (var r = 0u; r < ${PA}u; r++) { ra[r] = loadA(m0, 0u, tid + r * ${T}u); }
  for (var r = 0u; r < ${PB}u; r++) { rb[r] = loadB(n0, 0u, tid + r * ${T}u); }
  for (var k0 = 0u; k0 < d.K; k0 += ${v.bk}u) {
    for (var r = 0u; r < ${PA}u; r++) { let p = aPos(tid + r * ${T}u); tA[p.y * ${RA}u + p.x / 4u][p.x % 4u] = ra[r]; }
    for (var r = 0u; r < ${PB}u; r++) { let p = bPos(tid + r * ${T}u); tB[p.y * ${RB}u + p.x / 4u][p.x % 4u] = rb[r]; }
    workgroupBarrier();
${v.prefetch
    ? `    if (k0 + ${v.bk}u < d.K) {
      for (var r = 0u; r < ${PA}u; r++) { ra[r] = loadA(m0, k0 + ${v.bk}u, tid + r * ${T}u); }
      for (var r = 0u; r < ${PB}u; r++) { rb[r] = loadB(n0, k0 + ${v.bk}u, tid + r * ${T}u); }
    }`
    : ''}
    for (var k = 0u; k < ${v.bk}u; k++) {
      var av: array<vec4f, ${GM}>;
      var bv: array<vec4f, ${GN}>;
      for (var g = 0u; g < ${GM}u; g++) { av[g] = tA[k * ${RA}u + g * ${TY}u + lid.y]; }
      for (var h = 0u; h < ${GN}u; h++) { bv[h] = tB[k * ${RB}u + h * ${TX}u + lid.x]; }
      for (var g = 0u; g < ${GM}u; g++) {
        for (var h = 0u; h < ${GN}u; h++) { acc[g * ${GN}u + h] = fmaOuter(acc[g * ${GN}u + h], bv[h], av[g]); }
      }
    }
    workgroupBarrier();
${v.prefetch
    ? ''
    : `    if (k0 + ${v.bk}u < d.K) {
      for (var r = 0u; r < ${PA}u; r++) { ra[r] = loadA(m0, k0 + ${v.bk}u, tid + r * ${T}u); }
      for (var r = 0u; r < ${PB}u; r++) { rb[r] = loadB(n0, k0 + ${v.bk}u, tid + r * ${T}u); }
    }`}
  }
  for (var g = 0u; g < ${GM}u; g++) {
    for (var h = 0u; h < ${GN}u; h++) {
      let blk = acc[g * ${GN}u + h];
      let c0 = n0 + (h * ${TX}u + lid.x) * 4u;
      for (var r = 0u; r < 4u; r++) {
        let row = m0 + (g * ${TY}u + lid.y) * 4u + r;
        if (row < d.M) {
          for (var e = 0u; e < 4u; e++) { if (c0 + e < d.N) { c[row * d.N + c0 + e] = blk[r][e]; } }
        }
      }
    }
  }
}
`;
}

/** A webgrad Kernel running one tile variant. */
export function tileKernel(v: TileVariant): Kernel<MatmulAttrs> {
  return labMatmulKernel(`matmul_tile_${v.name}`, tileShader(v), v.bm, v.bn);
}

const tile = (bm: number, bn: number, bk: number, tm: number, tn: number, prefetch = true): TileVariant => ({
  name: `t${bm}x${bn}k${bk}_${tm}x${tn}${prefetch ? '' : '_noprefetch'}`,
  bm, bn, bk, tm, tn, prefetch,
});

/**
 * Around matmul_tiled128 (128×128, k 8, 8×8 per invocation, which the first
 * one generates again): a deeper k step, no prefetch, a narrower tile, and
 * 64×64 tiles with 256 or 64 invocations.
 */
export function tileVariants(): TileVariant[] {
  return [
    tile(128, 128, 8, 8, 8),
    tile(128, 128, 16, 8, 8),
    tile(128, 128, 8, 8, 8, false),
    tile(128, 64, 8, 8, 4),
    tile(64, 64, 8, 4, 4),
    tile(64, 64, 16, 8, 8),
  ];
}

/** Workgroup memory and invocations a variant needs, to skip it on a device that has less. */
export function tileNeeds(v: TileVariant): { storage: number; invocations: number } {
  return { storage: 16 * v.bk * ((v.bm + 4) / 4 + (v.bn + 4) / 4), invocations: tileThreads(v) };
}
