// The kernel lab's matmul variants, generated from a few parameters (the lab
// explores; the winners are hand-written into shaders/matmul.wgsl).
// Every variant computes C[M,N] = op(A)·op(B) with webgrad's binding layout
// (a, b, c, dims) and its TRANS_A / TRANS_B override constants, so it runs
// through webgrad's own backend and is checked against matmul's CPU reference.
import type { Kernel } from '../../src/index.js';
import type { MatmulAttrs } from '../../src/ops/matmul.js';
import { ops } from '../../src/index.js';

export interface LabVariant {
  readonly name: string;
  /** 'rows': the workgroup shares its RT rows (A loads are uniform across invocations); invocations own columns. */
  readonly layout: 'rows' | 'block';
  /** Rows of C per workgroup, the same for every invocation. */
  readonly rt: number;
  /** Columns per invocation, strided by the workgroup size so that neighbouring invocations own neighbouring columns. */
  readonly ct: number;
  readonly wg: number;
  /** Load B four columns at a time (needs N % 4 == 0 and B not transposed); columns then come in groups of 4. */
  readonly vec4?: boolean;
  /** Also load A four k at a time (needs K % 4 == 0 and A not transposed); K is walked in steps of 4. */
  readonly a4?: boolean;
  /** 'block' only: workgroup rows (the workgroup is wg × wgy invocations). */
  readonly wgy?: number;
}

export function columnsPerWorkgroup(v: LabVariant): number {
  return v.wg * v.ct * (v.vec4 ? 4 : 1);
}

export function rowsPerWorkgroup(v: LabVariant): number {
  return v.layout === 'block' ? v.rt * (v.wgy ?? 1) : v.rt;
}

const HEADER = `
override TRANS_A: bool = false;
override TRANS_B: bool = false;
struct Dims { M: u32, N: u32, K: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> d: Dims;
fn aAt(i: u32, k: u32) -> f32 {
  if (TRANS_A) { return a[k * d.M + i]; }
  return a[i * d.K + k];
}
`;

function rowsShader(v: LabVariant): string {
  const { rt: RT, ct: CT, wg: WG } = v;
  const W = v.vec4 ? 4 : 1;
  const T = v.vec4 ? 'vec4f' : 'f32';
  const bDecl = v.vec4
    ? `@group(0) @binding(1) var<storage, read> b: array<vec4f>;
fn bAt(k: u32, j4: u32) -> vec4f { return b[k * (d.N / 4u) + j4]; }`
    : `@group(0) @binding(1) var<storage, read> b: array<f32>;
fn bAt(k: u32, j: u32) -> f32 {
  if (TRANS_B) { return b[j * d.K + k]; }
  return b[k * d.N + j];
}`;
  // Column unit: one float, or one group of four (vec4 variant).
  const units = v.vec4 ? 'd.N / 4u' : 'd.N';
  const block = v.layout === 'block';
  const WGY = block ? (v.wgy ?? 1) : 1;
  // 'rows': the workgroup's rows are shared, invocations own columns strided by WG.
  // 'block': each invocation owns RT consecutive rows and CT consecutive column units.
  const m0 = block ? `(wid.y * ${WGY}u + lid.y) * ${RT}u` : `wid.y * ${RT}u`;
  const unit = block ? `(wid.x * ${WG}u + lid.x) * ${CT}u + j` : `wid.x * ${WG * CT}u + lid.x + j * ${WG}u`;
  const kLoop = v.a4
    ? `
  for (var k = 0u; k < d.K; k += 4u) {
    var av: array<vec4f, ${RT}>;
    for (var i = 0u; i < ${RT}u; i++) { av[i] = a4s[(rows[i] * d.K + k) / 4u]; }
    for (var q = 0u; q < 4u; q++) {
      var bv: array<${T}, ${CT}>;
      for (var j = 0u; j < ${CT}u; j++) { bv[j] = bAt(k + q, cols[j]); }
      for (var i = 0u; i < ${RT}u; i++) {
        let s = av[i][q];
        for (var j = 0u; j < ${CT}u; j++) { acc[i * ${CT}u + j] += s * bv[j]; }
      }
    }
  }`
    : `  for (var k = 0u; k < d.K; k++) {
    var bv: array<${T}, ${CT}>;
    for (var j = 0u; j < ${CT}u; j++) { bv[j] = bAt(k, cols[j]); }
    for (var i = 0u; i < ${RT}u; i++) {
      let av = aAt(rows[i], k);
      for (var j = 0u; j < ${CT}u; j++) { acc[i * ${CT}u + j] += av * bv[j]; }
    }
  }`;
  return `${HEADER}
${bDecl}
${v.a4 ? '@group(0) @binding(0) var<storage, read> a4s: array<vec4f>;' : ''}
@compute @workgroup_size(${WG}, ${WGY})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let m0 = ${m0};
  let units = ${units};
  var cols: array<u32, ${CT}>;
  for (var j = 0u; j < ${CT}u; j++) { cols[j] = min(${unit}, units - 1u); }
  var rows: array<u32, ${RT}>;
  for (var i = 0u; i < ${RT}u; i++) { rows[i] = min(m0 + i, d.M - 1u); }
  var acc: array<${T}, ${RT * CT}>;
${kLoop}
  for (var i = 0u; i < ${RT}u; i++) {
    let row = m0 + i;
    if (row >= d.M) { break; }
    for (var j = 0u; j < ${CT}u; j++) {
      let unit = ${unit};
      if (unit < units) {
${v.vec4
    ? `        let v = acc[i * ${CT}u + j];
        for (var e = 0u; e < 4u; e++) { c[row * d.N + unit * 4u + e] = v[e]; }`
    : `        c[row * d.N + unit] = acc[i * ${CT}u + j];`}
      }
    }
  }
}
`.replace(/\n{3,}/g, '\n\n');
}

/** Whether a variant can run a shape (vec4 loads need whole groups of four, untransposed B). */
export function supports(v: LabVariant, attrs: MatmulAttrs, N: number, K: number): boolean {
  return (!v.vec4 || (N % 4 === 0 && !attrs.transB)) && (!v.a4 || (K % 4 === 0 && !attrs.transA));
}

/**
 * A webgrad Kernel running generated WGSL with matmul's binding layout: matmul's
 * shape rule and CPU reference, one workgroup per `rows` × `cols` block of C.
 */
export function labMatmulKernel(name: string, code: string, rows: number, cols: number): Kernel<MatmulAttrs> {
  return {
    name,
    shader: { name, code },
    outputs: (inputs, attrs) => ops.matmul.outputs(inputs, attrs),
    cpu: (i, o, infos, attrs) => ops.matmul.cpu(i, o, infos, attrs),
    gpu(inputs, attrs) {
      const { M, N, K } = ops.matmulDims(inputs, attrs);
      return {
        entry: 'main',
        constants: { TRANS_A: attrs.transA ? 1 : 0, TRANS_B: attrs.transB ? 1 : 0 },
        params: [['u32', M], ['u32', N], ['u32', K]],
        workgroups: [Math.ceil(N / cols), Math.ceil(M / rows), 1],
      };
    },
  };
}

/** A webgrad Kernel running one lab variant. */
export function labKernel(v: LabVariant): Kernel<MatmulAttrs> {
  return labMatmulKernel(`matmul_lab_${v.name}`, rowsShader(v), rowsPerWorkgroup(v), columnsPerWorkgroup(v));
}

/** The lab's explored variants: the scalar "rows" layout, then vec4 loads with row- and block-shaped work per invocation. */
export function labVariants(): LabVariant[] {
  return [
    { name: 'rows16x4_wg64', layout: 'rows', rt: 16, ct: 4, wg: 64 },
    { name: 'rows8x2v4_wg64', layout: 'rows', rt: 8, ct: 2, wg: 64, vec4: true },
    { name: 'rows8x2v4a4_wg64', layout: 'rows', rt: 8, ct: 2, wg: 64, vec4: true, a4: true },
    { name: 'rows4x4v4_wg64', layout: 'rows', rt: 4, ct: 4, wg: 64, vec4: true },
    { name: 'block8x2v4_wg8x8', layout: 'block', rt: 8, ct: 2, wg: 8, wgy: 8, vec4: true },
    { name: 'block4x2v4a4_wg8x8', layout: 'block', rt: 4, ct: 2, wg: 8, wgy: 8, vec4: true, a4: true },
    { name: 'block8x1v4a4_wg8x8', layout: 'block', rt: 8, ct: 1, wg: 8, wgy: 8, vec4: true, a4: true },
    { name: 'block4x4v4a4_wg8x8', layout: 'block', rt: 4, ct: 4, wg: 8, wgy: 8, vec4: true, a4: true },
    { name: 'block8x2v4a4_wg16x4', layout: 'block', rt: 8, ct: 2, wg: 16, wgy: 4, vec4: true, a4: true },
    { name: 'block8x2v4a4_wg4x4', layout: 'block', rt: 8, ct: 2, wg: 4, wgy: 4, vec4: true, a4: true },
    { name: 'block16x2v4a4_wg8x4', layout: 'block', rt: 16, ct: 2, wg: 8, wgy: 4, vec4: true, a4: true },
  ];
}
