// Scaled dot-product attention over batched heads, FlashAttention-style
// (src/ops/attention.ts): no [T, S] score matrix in global memory.
//
// Layouts, row-major: q [BH, T, D], k [BH, S, D], v [BH, S, DV], out and dout
// [BH, T, DV], lse [BH, T], stats [BH, T, 2] = (lse, Σ dout·out), dq [BH, T, D],
// dkv [BH, S, D + DV], mask [B, T, S] (shared by the H heads of a sample).
// With BTHD the heads sit inside the steps: q [B, T, H, D], k [B, S, H, D] and
// so on (row_of), the rows a projection's [B·T, H·D] output holds as it is.
//
// A workgroup owns WG rows of one (batch, head): queries in the forward and
// dq (keys and values then pass through workgroup memory TILE at a time), keys
// in dk/dv's launch (queries, their dout and stats pass through instead).
// Each invocation owns one row and keeps it, and its accumulators, in private
// arrays of HEAD_CAP floats (the head-dim cap) as vec4s: rows of D floats are
// ⌈D/4⌉ vec4s, zero-padded, in registers and in the tiles alike, so every
// dot product and update runs 4 wide whatever D (on llvmpipe the first,
// scalar version took 1.5–2.6× the CPU time, forward and backward: the kernel
// lab, bench/README.md). The forward's softmax is online: per key tile the
// running max rises once, rescaling the sum and the accumulator, then the
// tile's probabilities add in.
//
// Dropout (DROPOUT in the params): probability (bh, t, s) is kept where the
// dropout op keeps element (bh·T + t)·S + s of a [BH, T, S] tensor (hash.wgsl's
// pcg of the step's seed plus that index) and scaled by 1/(1 − rate); drawn
// again in the backward, never stored. hash.wgsl is prepended.
//
// Bindings: forward q, k, v, out, lse, params, mask, step; the backward
// launches q, k, v, dout, stats, result, params, mask, step; stats lse, out,
// dout, stats, params. An absent mask or step binds a stand-in, unread.
// The uniform blocks are read directly in loop bounds: a barrier needs
// workgroup-uniform control flow, which WGSL sees only in uniform values.

override D: u32 = 32u;     // query and key width
override DV: u32 = 32u;    // value width
override TILE: u32 = 32u;  // rows per workgroup-memory tile
override WG: u32 = 64u;    // invocations per workgroup, a row each
override BTHD: u32 = 0u;  // 1: the layout [B, steps, H, width], else [B, H, steps, width]
override D4: u32 = (D + 3u) / 4u;    // vec4s per q or k row
override DV4: u32 = (DV + 3u) / 4u;  // vec4s per v row
const HEAD_CAP4: u32 = 32u;  // ATTENTION_HEAD_CAP / 4
const TILE_CAP: u32 = 64u;   // the most keys a forward tile holds (its scores live in registers)
const NO_MAX: f32 = -3.0e38; // the running max before any key is attended

struct Params {
  bh: u32,         // B·H
  heads: u32,      // H
  T: u32,
  S: u32,
  scale: f32,
  seed: u32,
  threshold: u32,  // round(rate · 2²⁴)
  keep_scale: f32, // 1 / (1 − rate)
  causal: u32,
  masked: u32,     // 0 none, 1 a mask [B, T, S], 2 a mask of keys [B, S] (every query reads its sample's row)
  dropout: u32,
  blocks: u32,     // workgroups per (batch, head): ⌈rows / WG⌉
}

// The dropout factor of index i of the [BH, T, S] probabilities: 0 or 1/(1 − rate).
fn drop_factor(on: u32, base: u32, i: u32, threshold: u32, keep_scale: f32) -> f32 {
  if (on == 0u) { return 1.0; }
  return select(0.0, keep_scale, (pcg(base + i) >> 8u) >= threshold);
}

// Four floats of row b from column 4c of a row-major array of rows w wide, 0 past the row's end.
// One function per buffer: WGSL passes no storage pointers to functions (without an extension).
fn pad4(x0: f32, x1: f32, x2: f32, x3: f32, c: u32, w: u32) -> vec4f {
  return select(vec4f(0.0), vec4f(x0, x1, x2, x3), vec4u(c, c + 1u, c + 2u, c + 3u) < vec4u(w));
}
fn at(b: u32, c: u32, w: u32) -> u32 { return b * w + min(c, w - 1u); }

// The index of (b, t, s) in the mask: [B, T, S], or [B, S] when masked is 2.
fn mask_index(masked: u32, b: u32, t: u32, s: u32, T: u32, S: u32) -> u32 {
  return select((b * T + t) * S + s, b * S + s, masked == 2u);
}

// The row of step t of head bh = b·H + h in a tensor of `steps` steps, in the layout BTHD says.
fn row_of(bh: u32, t: u32, steps: u32, heads: u32) -> u32 {
  if (BTHD == 0u) { return bh * steps + t; }
  let b = bh / heads;
  return (b * steps + t) * heads + (bh - b * heads);
}

// The forward -----------------------------------------------------------------

@group(0) @binding(0) var<storage, read> aq: array<f32>;
@group(0) @binding(1) var<storage, read> ak: array<f32>;
@group(0) @binding(2) var<storage, read> av: array<f32>;
@group(0) @binding(3) var<storage, read_write> aout: array<f32>;
@group(0) @binding(4) var<storage, read_write> alse: array<f32>;
@group(0) @binding(5) var<uniform> fp: Params;
@group(0) @binding(6) var<storage, read> fmask: array<f32>;
@group(0) @binding(7) var<storage, read> fstep: array<i32>;

fn aq4(b: u32, c: u32) -> vec4f { return pad4(aq[at(b, c, D)], aq[at(b, c + 1u, D)], aq[at(b, c + 2u, D)], aq[at(b, c + 3u, D)], c, D); }
fn ak4(b: u32, c: u32) -> vec4f { return pad4(ak[at(b, c, D)], ak[at(b, c + 1u, D)], ak[at(b, c + 2u, D)], ak[at(b, c + 3u, D)], c, D); }
fn av4(b: u32, c: u32) -> vec4f { return pad4(av[at(b, c, DV)], av[at(b, c + 1u, DV)], av[at(b, c + 2u, DV)], av[at(b, c + 3u, DV)], c, DV); }

var<workgroup> tk: array<vec4f, TILE * D4>;
var<workgroup> tv: array<vec4f, TILE * DV4>;

@compute @workgroup_size(WG)
fn attention_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = wid.x + wid.y * groups.x;
  if (g >= fp.bh * fp.blocks) { return; }
  let bh = g / fp.blocks;
  let t0 = (g % fp.blocks) * WG;
  let t = t0 + lid;
  let live = t < fp.T;
  let b = bh / fp.heads;
  var base = 0u;
  if (fp.dropout != 0u) { base = stepSeed(fp.seed, fstep[0]); }
  var q: array<vec4f, HEAD_CAP4>;
  var acc: array<vec4f, HEAD_CAP4>;
  var sc: array<f32, TILE_CAP>;
  if (live) {
    for (var i = 0u; i < D4; i++) { q[i] = aq4(row_of(bh, t, fp.T, fp.heads), 4u * i) * fp.scale; }
  }
  var m = NO_MAX;
  var l = 0.0;
  // Causal: the block's last query attends keys up to itself.
  var s_end = fp.S;
  if (fp.causal != 0u) { s_end = min(fp.S, t0 + WG); }
  for (var s0 = 0u; s0 < s_end; s0 += TILE) {
    let n = min(TILE, s_end - s0);
    workgroupBarrier();
    for (var i = lid; i < n * D4; i += WG) { tk[i] = ak4(row_of(bh, s0 + i / D4, fp.S, fp.heads), 4u * (i % D4)); }
    for (var i = lid; i < n * DV4; i += WG) { tv[i] = av4(row_of(bh, s0 + i / DV4, fp.S, fp.heads), 4u * (i % DV4)); }
    workgroupBarrier();
    if (live) {
      var mt = m;
      for (var j = 0u; j < n; j++) {
        let s = s0 + j;
        if ((fp.causal != 0u && s > t) || (fp.masked != 0u && fmask[mask_index(fp.masked, b, t, s, fp.T, fp.S)] == 0.0)) { continue; }
        var x = 0.0;
        for (var i = 0u; i < D4; i++) { x += dot(q[i], tk[j * D4 + i]); }
        sc[j] = x;
        mt = max(mt, x);
      }
      if (mt > m) {
        let c = exp(m - mt);
        l *= c;
        for (var i = 0u; i < DV4; i++) { acc[i] *= c; }
        m = mt;
      }
      for (var j = 0u; j < n; j++) {
        let s = s0 + j;
        if ((fp.causal != 0u && s > t) || (fp.masked != 0u && fmask[mask_index(fp.masked, b, t, s, fp.T, fp.S)] == 0.0)) { continue; }
        let p = exp(sc[j] - m);
        l += p;
        let pd = p * drop_factor(fp.dropout, base, (bh * fp.T + t) * fp.S + s, fp.threshold, fp.keep_scale);
        if (pd == 0.0) { continue; }
        for (var i = 0u; i < DV4; i++) { acc[i] += pd * tv[j * DV4 + i]; }
      }
    }
  }
  if (!live) { return; }
  // A row that attends no key: out 0, lse 0 (unread).
  let inv = select(0.0, 1.0 / l, l > 0.0);
  let r = row_of(bh, t, fp.T, fp.heads);
  for (var i = 0u; i < DV; i++) { aout[r * DV + i] = acc[i / 4u][i % 4u] * inv; }
  alse[r] = select(0.0, m + log(l), l > 0.0);
}

// The backward's row statistics ------------------------------------------------

struct StatsParams { rows: u32 }

@group(0) @binding(0) var<storage, read> slse: array<f32>;
@group(0) @binding(1) var<storage, read> sout: array<f32>;
@group(0) @binding(2) var<storage, read> sdout: array<f32>;
@group(0) @binding(3) var<storage, read_write> sstats: array<f32>;
@group(0) @binding(4) var<uniform> sp: StatsParams;

@compute @workgroup_size(WG)
fn attention_stats(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let r = gid.x + gid.y * groups.x * WG;
  if (r >= sp.rows) { return; }
  var dot = 0.0;
  for (var i = 0u; i < DV; i++) { dot += sdout[r * DV + i] * sout[r * DV + i]; }
  sstats[2u * r] = slse[r];
  sstats[2u * r + 1u] = dot;
}

// The backward: shared inputs -------------------------------------------------

@group(0) @binding(0) var<storage, read> bq: array<f32>;
@group(0) @binding(1) var<storage, read> bk: array<f32>;
@group(0) @binding(2) var<storage, read> bv: array<f32>;
@group(0) @binding(3) var<storage, read> bdout: array<f32>;
@group(0) @binding(4) var<storage, read> bstats: array<f32>;
@group(0) @binding(6) var<uniform> bp: Params;
@group(0) @binding(7) var<storage, read> bmask: array<f32>;
@group(0) @binding(8) var<storage, read> bstep: array<i32>;

fn bq4(b: u32, c: u32) -> vec4f { return pad4(bq[at(b, c, D)], bq[at(b, c + 1u, D)], bq[at(b, c + 2u, D)], bq[at(b, c + 3u, D)], c, D); }
fn bk4(b: u32, c: u32) -> vec4f { return pad4(bk[at(b, c, D)], bk[at(b, c + 1u, D)], bk[at(b, c + 2u, D)], bk[at(b, c + 3u, D)], c, D); }
fn bv4(b: u32, c: u32) -> vec4f { return pad4(bv[at(b, c, DV)], bv[at(b, c + 1u, DV)], bv[at(b, c + 2u, DV)], bv[at(b, c + 3u, DV)], c, DV); }
fn bdo4(b: u32, c: u32) -> vec4f { return pad4(bdout[at(b, c, DV)], bdout[at(b, c + 1u, DV)], bdout[at(b, c + 2u, DV)], bdout[at(b, c + 3u, DV)], c, DV); }

// dq: a query per invocation, keys and values in tiles (tk, tv) -----------------

@group(0) @binding(5) var<storage, read_write> bdq: array<f32>;

@compute @workgroup_size(WG)
fn attention_backward_q(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = wid.x + wid.y * groups.x;
  if (g >= bp.bh * bp.blocks) { return; }
  let bh = g / bp.blocks;
  let t0 = (g % bp.blocks) * WG;
  let t = t0 + lid;
  let live = t < bp.T;
  let b = bh / bp.heads;
  var base = 0u;
  if (bp.dropout != 0u) { base = stepSeed(bp.seed, bstep[0]); }
  var q: array<vec4f, HEAD_CAP4>;
  var dout: array<vec4f, HEAD_CAP4>;
  var dq: array<vec4f, HEAD_CAP4>;
  var lse = 0.0;
  var di = 0.0;
  let r = row_of(bh, t, bp.T, bp.heads);
  if (live) {
    for (var i = 0u; i < D4; i++) { q[i] = bq4(r, 4u * i) * bp.scale; }
    for (var i = 0u; i < DV4; i++) { dout[i] = bdo4(r, 4u * i); }
    lse = bstats[2u * r];
    di = bstats[2u * r + 1u];
  }
  var s_end = bp.S;
  if (bp.causal != 0u) { s_end = min(bp.S, t0 + WG); }
  for (var s0 = 0u; s0 < s_end; s0 += TILE) {
    let n = min(TILE, s_end - s0);
    workgroupBarrier();
    for (var i = lid; i < n * D4; i += WG) { tk[i] = bk4(row_of(bh, s0 + i / D4, bp.S, bp.heads), 4u * (i % D4)); }
    for (var i = lid; i < n * DV4; i += WG) { tv[i] = bv4(row_of(bh, s0 + i / DV4, bp.S, bp.heads), 4u * (i % DV4)); }
    workgroupBarrier();
    if (live) {
      for (var j = 0u; j < n; j++) {
        let s = s0 + j;
        if ((bp.causal != 0u && s > t) || (bp.masked != 0u && bmask[mask_index(bp.masked, b, t, s, bp.T, bp.S)] == 0.0)) { continue; }
        var x = 0.0;
        for (var i = 0u; i < D4; i++) { x += dot(q[i], tk[j * D4 + i]); }
        var dp = 0.0;
        for (var i = 0u; i < DV4; i++) { dp += dot(dout[i], tv[j * DV4 + i]); }
        let drop = drop_factor(bp.dropout, base, (bh * bp.T + t) * bp.S + s, bp.threshold, bp.keep_scale);
        let ds = exp(x - lse) * (dp * drop - di);
        for (var i = 0u; i < D4; i++) { dq[i] += ds * tk[j * D4 + i]; }
      }
    }
  }
  if (!live) { return; }
  for (var i = 0u; i < D; i++) { bdq[r * D + i] = dq[i / 4u][i % 4u] * bp.scale; }
}

// dk, dv: a key per invocation, queries with their dout and stats in tiles ------

@group(0) @binding(5) var<storage, read_write> bdkv: array<f32>;

var<workgroup> tq: array<vec4f, TILE * D4>;
var<workgroup> tdo: array<vec4f, TILE * DV4>;
var<workgroup> tst: array<f32, TILE * 2u>;

@compute @workgroup_size(WG)
fn attention_backward_kv(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = wid.x + wid.y * groups.x;
  if (g >= bp.bh * bp.blocks) { return; }
  let bh = g / bp.blocks;
  let s_first = (g % bp.blocks) * WG;
  let s = s_first + lid;
  let live = s < bp.S;
  let b = bh / bp.heads;
  var base = 0u;
  if (bp.dropout != 0u) { base = stepSeed(bp.seed, bstep[0]); }
  var k: array<vec4f, HEAD_CAP4>;
  var v: array<vec4f, HEAD_CAP4>;
  var dk: array<vec4f, HEAD_CAP4>;
  var dv: array<vec4f, HEAD_CAP4>;
  let r = row_of(bh, s, bp.S, bp.heads);
  if (live) {
    for (var i = 0u; i < D4; i++) { k[i] = bk4(r, 4u * i) * bp.scale; }
    for (var i = 0u; i < DV4; i++) { v[i] = bv4(r, 4u * i); }
  }
  // Causal: the block's first key is attended by queries from itself on.
  var t_begin = 0u;
  if (bp.causal != 0u) { t_begin = s_first; }
  for (var t0 = t_begin; t0 < bp.T; t0 += TILE) {
    let n = min(TILE, bp.T - t0);
    workgroupBarrier();
    for (var i = lid; i < n * D4; i += WG) { tq[i] = bq4(row_of(bh, t0 + i / D4, bp.T, bp.heads), 4u * (i % D4)); }
    for (var i = lid; i < n * DV4; i += WG) { tdo[i] = bdo4(row_of(bh, t0 + i / DV4, bp.T, bp.heads), 4u * (i % DV4)); }
    for (var i = lid; i < n * 2u; i += WG) { tst[i] = bstats[2u * row_of(bh, t0 + i / 2u, bp.T, bp.heads) + i % 2u]; }
    workgroupBarrier();
    if (live) {
      for (var j = 0u; j < n; j++) {
        let t = t0 + j;
        if ((bp.causal != 0u && s > t) || (bp.masked != 0u && bmask[mask_index(bp.masked, b, t, s, bp.T, bp.S)] == 0.0)) { continue; }
        var x = 0.0;
        for (var i = 0u; i < D4; i++) { x += dot(tq[j * D4 + i], k[i]); }
        var dp = 0.0;
        for (var i = 0u; i < DV4; i++) { dp += dot(tdo[j * DV4 + i], v[i]); }
        let p = exp(x - tst[2u * j]);
        let drop = drop_factor(bp.dropout, base, (bh * bp.T + t) * bp.S + s, bp.threshold, bp.keep_scale);
        let ds = p * (dp * drop - tst[2u * j + 1u]);
        let pd = p * drop;
        for (var i = 0u; i < DV4; i++) { dv[i] += pd * tdo[j * DV4 + i]; }
        for (var i = 0u; i < D4; i++) { dk[i] += ds * tq[j * D4 + i]; }
      }
    }
  }
  if (!live) { return; }
  let row = r * (D + DV);
  for (var i = 0u; i < D; i++) { bdkv[row + i] = dk[i / 4u][i % 4u] * bp.scale; }
  for (var i = 0u; i < DV; i++) { bdkv[row + D + i] = dv[i / 4u][i % 4u]; }
}
