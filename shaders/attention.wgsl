// Scaled dot-product attention over batched heads, FlashAttention-style
// (src/ops/attention.ts): no [T, S] score matrix in global memory.
//
// Layouts, row-major: q [BH, T, D], k [BH, S, D], v [BH, S, DV], out and dout
// [BH, T, DV], lse [BH, T], stats [BH, T, 2] = (lse, Σ dout·out), dq [BH, T, D],
// dkv [BH, S, D + DV], mask [B, T, S] (shared by the H heads of a sample).
//
// A workgroup owns WG rows of one (batch, head): queries in the forward and
// dq (keys and values then pass through workgroup memory TILE at a time), keys
// in dk/dv's launch (queries, their dout and stats pass through instead).
// Each invocation owns one row and keeps it, and its accumulators, in private
// arrays of HEAD_CAP floats: the head-dim cap. The forward's softmax is
// online: per key tile the running max rises once, rescaling the sum and the
// accumulator, then the tile's probabilities add in.
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
const HEAD_CAP: u32 = 128u;  // ATTENTION_HEAD_CAP
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
  masked: u32,
  dropout: u32,
  blocks: u32,     // workgroups per (batch, head): ⌈rows / WG⌉
}

// The dropout factor of index i of the [BH, T, S] probabilities: 0 or 1/(1 − rate).
fn drop_factor(on: u32, base: u32, i: u32, threshold: u32, keep_scale: f32) -> f32 {
  if (on == 0u) { return 1.0; }
  return select(0.0, keep_scale, (pcg(base + i) >> 8u) >= threshold);
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

var<workgroup> tk: array<f32, TILE * D>;
var<workgroup> tv: array<f32, TILE * DV>;

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
  var q: array<f32, HEAD_CAP>;
  var acc: array<f32, HEAD_CAP>;
  var sc: array<f32, TILE_CAP>;
  if (live) {
    for (var i = 0u; i < D; i++) { q[i] = aq[(bh * fp.T + t) * D + i] * fp.scale; }
  }
  var m = NO_MAX;
  var l = 0.0;
  // Causal: the block's last query attends keys up to itself.
  var s_end = fp.S;
  if (fp.causal != 0u) { s_end = min(fp.S, t0 + WG); }
  for (var s0 = 0u; s0 < s_end; s0 += TILE) {
    let n = min(TILE, s_end - s0);
    workgroupBarrier();
    for (var i = lid; i < n * D; i += WG) { tk[i] = ak[(bh * fp.S + s0) * D + i]; }
    for (var i = lid; i < n * DV; i += WG) { tv[i] = av[(bh * fp.S + s0) * DV + i]; }
    workgroupBarrier();
    if (live) {
      var mt = m;
      for (var j = 0u; j < n; j++) {
        let s = s0 + j;
        if ((fp.causal != 0u && s > t) || (fp.masked != 0u && fmask[(b * fp.T + t) * fp.S + s] == 0.0)) { continue; }
        var x = 0.0;
        for (var i = 0u; i < D; i++) { x += q[i] * tk[j * D + i]; }
        sc[j] = x;
        mt = max(mt, x);
      }
      if (mt > m) {
        let c = exp(m - mt);
        l *= c;
        for (var i = 0u; i < DV; i++) { acc[i] *= c; }
        m = mt;
      }
      for (var j = 0u; j < n; j++) {
        let s = s0 + j;
        if ((fp.causal != 0u && s > t) || (fp.masked != 0u && fmask[(b * fp.T + t) * fp.S + s] == 0.0)) { continue; }
        let p = exp(sc[j] - m);
        l += p;
        let pd = p * drop_factor(fp.dropout, base, (bh * fp.T + t) * fp.S + s, fp.threshold, fp.keep_scale);
        if (pd == 0.0) { continue; }
        for (var i = 0u; i < DV; i++) { acc[i] += pd * tv[j * DV + i]; }
      }
    }
  }
  if (!live) { return; }
  // A row that attends no key: out 0, lse 0 (unread).
  let inv = select(0.0, 1.0 / l, l > 0.0);
  for (var i = 0u; i < DV; i++) { aout[(bh * fp.T + t) * DV + i] = acc[i] * inv; }
  alse[bh * fp.T + t] = select(0.0, m + log(l), l > 0.0);
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
  var q: array<f32, HEAD_CAP>;
  var dout: array<f32, HEAD_CAP>;
  var dq: array<f32, HEAD_CAP>;
  var lse = 0.0;
  var di = 0.0;
  if (live) {
    for (var i = 0u; i < D; i++) { q[i] = bq[(bh * bp.T + t) * D + i] * bp.scale; }
    for (var i = 0u; i < DV; i++) { dout[i] = bdout[(bh * bp.T + t) * DV + i]; }
    lse = bstats[2u * (bh * bp.T + t)];
    di = bstats[2u * (bh * bp.T + t) + 1u];
  }
  var s_end = bp.S;
  if (bp.causal != 0u) { s_end = min(bp.S, t0 + WG); }
  for (var s0 = 0u; s0 < s_end; s0 += TILE) {
    let n = min(TILE, s_end - s0);
    workgroupBarrier();
    for (var i = lid; i < n * D; i += WG) { tk[i] = bk[(bh * bp.S + s0) * D + i]; }
    for (var i = lid; i < n * DV; i += WG) { tv[i] = bv[(bh * bp.S + s0) * DV + i]; }
    workgroupBarrier();
    if (live) {
      for (var j = 0u; j < n; j++) {
        let s = s0 + j;
        if ((bp.causal != 0u && s > t) || (bp.masked != 0u && bmask[(b * bp.T + t) * bp.S + s] == 0.0)) { continue; }
        var x = 0.0;
        for (var i = 0u; i < D; i++) { x += q[i] * tk[j * D + i]; }
        var dp = 0.0;
        for (var i = 0u; i < DV; i++) { dp += dout[i] * tv[j * DV + i]; }
        let drop = drop_factor(bp.dropout, base, (bh * bp.T + t) * bp.S + s, bp.threshold, bp.keep_scale);
        let ds = exp(x - lse) * (dp * drop - di);
        for (var i = 0u; i < D; i++) { dq[i] += ds * tk[j * D + i]; }
      }
    }
  }
  if (!live) { return; }
  for (var i = 0u; i < D; i++) { bdq[(bh * bp.T + t) * D + i] = dq[i] * bp.scale; }
}

// dk, dv: a key per invocation, queries with their dout and stats in tiles ------

@group(0) @binding(5) var<storage, read_write> bdkv: array<f32>;

var<workgroup> tq: array<f32, TILE * D>;
var<workgroup> tdo: array<f32, TILE * DV>;
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
  var k: array<f32, HEAD_CAP>;
  var v: array<f32, HEAD_CAP>;
  var dk: array<f32, HEAD_CAP>;
  var dv: array<f32, HEAD_CAP>;
  if (live) {
    for (var i = 0u; i < D; i++) { k[i] = bk[(bh * bp.S + s) * D + i] * bp.scale; }
    for (var i = 0u; i < DV; i++) { v[i] = bv[(bh * bp.S + s) * DV + i]; }
  }
  // Causal: the block's first key is attended by queries from itself on.
  var t_begin = 0u;
  if (bp.causal != 0u) { t_begin = s_first; }
  for (var t0 = t_begin; t0 < bp.T; t0 += TILE) {
    let n = min(TILE, bp.T - t0);
    workgroupBarrier();
    for (var i = lid; i < n * D; i += WG) { tq[i] = bq[(bh * bp.T + t0) * D + i]; }
    for (var i = lid; i < n * DV; i += WG) { tdo[i] = bdout[(bh * bp.T + t0) * DV + i]; }
    for (var i = lid; i < n * 2u; i += WG) { tst[i] = bstats[2u * (bh * bp.T + t0) + i]; }
    workgroupBarrier();
    if (live) {
      for (var j = 0u; j < n; j++) {
        let t = t0 + j;
        if ((bp.causal != 0u && s > t) || (bp.masked != 0u && bmask[(b * bp.T + t) * bp.S + s] == 0.0)) { continue; }
        var x = 0.0;
        for (var i = 0u; i < D; i++) { x += tq[j * D + i] * k[i]; }
        var dp = 0.0;
        for (var i = 0u; i < DV; i++) { dp += tdo[j * DV + i] * v[i]; }
        let p = exp(x - tst[2u * j]);
        let drop = drop_factor(bp.dropout, base, (bh * bp.T + t) * bp.S + s, bp.threshold, bp.keep_scale);
        let ds = p * (dp * drop - tst[2u * j + 1u]);
        let pd = p * drop;
        for (var i = 0u; i < DV; i++) { dv[i] += pd * tdo[j * DV + i]; }
        for (var i = 0u; i < D; i++) { dk[i] += ds * tq[j * D + i]; }
      }
    }
  }
  if (!live) { return; }
  let row = (bh * bp.S + s) * (D + DV);
  for (var i = 0u; i < D; i++) { bdkv[row + i] = dk[i] * bp.scale; }
  for (var i = 0u; i < DV; i++) { bdkv[row + D + i] = dv[i]; }
}
