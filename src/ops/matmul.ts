import { ShapeError, ValueError } from '../core/errors.js';
import type { TensorInfo } from '../core/shape.js';
import { expectRank, f32, fmt } from '../core/shape.js';
import code from '../../shaders/matmul.wgsl?raw';
import { activationWgsl } from './activations.js';
import type { GpuContext, GpuLaunch, HostArray } from './kernel.js';
import { defineKernel } from './kernel.js';

/** The GPU variants, each an entry point matmul_<variant> in shaders/matmul.wgsl. */
export const MATMUL_VARIANTS = ['register', 'tiled', 'tiled128', 'mat8', 'mat16'] as const;
export type MatmulVariant = (typeof MATMUL_VARIANTS)[number];

export interface MatmulAttrs {
  /** Use Aᵀ: A is stored [K, M]. */
  readonly transA?: boolean;
  /** Use Bᵀ: B is stored [N, K]. */
  readonly transB?: boolean;
  /** Force a GPU variant; by default the adapter and shape decide (see chooseVariant). */
  readonly variant?: MatmulVariant;
}

export function matmulDims([a, b]: readonly TensorInfo[], { transA = false, transB = false }: MatmulAttrs) {
  expectRank(a, 2, 'matmul', 'A');
  expectRank(b, 2, 'matmul', 'B');
  const [M, Ka] = transA ? [a.shape[1], a.shape[0]] : [a.shape[0], a.shape[1]];
  const [Kb, N] = transB ? [b.shape[1], b.shape[0]] : [b.shape[0], b.shape[1]];
  if (Ka !== Kb) {
    const sa = `${transA ? 'Aᵀ' : 'A'} ${fmt(a)}`;
    const sb = `${transB ? 'Bᵀ' : 'B'} ${fmt(b)}`;
    throw new ShapeError(`matmul: inner dimensions differ: ${sa} has ${Ka} columns, ${sb} has ${Kb} rows`);
  }
  return { M, N, K: Ka };
}

/**
 * Whether matmul_mat8/16 can run a shape: they read both operands four floats
 * at a time along their contiguous axes and walk K in steps of 4, so K and
 * those axes must be multiples of 4.
 */
export function vec4Fits(M: number, N: number, K: number, { transA = false, transB = false }: MatmulAttrs): boolean {
  return K % 4 === 0 && (!transA || M % 4 === 0) && (transB || N % 4 === 0);
}

const isMat = (v: MatmulVariant) => v === 'mat8' || v === 'mat16';
/** Outputs per invocation along each side. */
const PER_INVOCATION: Record<MatmulVariant, number> = { register: 8, tiled: 4, tiled128: 8, mat8: 8, mat16: 16 };
const isTiled = (v: MatmulVariant) => v === 'tiled' || v === 'tiled128';
const SWIFTSHADER = /swiftshader/i;
/**
 * On real GPUs, 128×128 tiles (8×8 outputs per invocation) do twice the
 * arithmetic per workgroup-memory read of 64×64 ones (4×4), but give a
 * quarter of the workgroups: below this many, the GPU's multiprocessors
 * (132 on an H100) would sit idle and the 64×64 tiles run sooner. Not yet
 * measured on a GPU: the kernel lab times both (bench/README.md).
 */
export const TILED128_MIN_WORKGROUPS = 64;

/**
 * Workgroup memory pays on real GPUs; on CPU-emulated adapters it costs more
 * than it saves (WEBGPU-SETUP.md measured 0.6 against 7–10 GFLOP/s on llvmpipe),
 * and the mat4x4f-block variants pay most there (bench/kernels: the kernel lab).
 * llvmpipe runs 16×16 blocks fastest when the shape still gives it a few
 * workgroups to spread over its threads, 8×8 otherwise. A forced variant that
 * cannot run a shape or device falls back to 'register'.
 */
export function chooseVariant(attrs: MatmulAttrs, ctx: GpuContext, dims: { M: number; N: number; K: number } = { M: 1, N: 1, K: 1 }): MatmulVariant {
  const fits = vec4Fits(dims.M, dims.N, dims.K, attrs);
  if (attrs.variant) {
    if (!(MATMUL_VARIANTS as readonly string[]).includes(attrs.variant)) throw new ValueError(`matmul: unknown variant '${attrs.variant}' (use ${MATMUL_VARIANTS.map((v) => `'${v}'`).join(', ')})`);
    if (isTiled(attrs.variant) && ctx.maxInvocationsPerWorkgroup < 256) return 'register';
    if (isMat(attrs.variant) && !fits) return 'register';
    return attrs.variant;
  }
  if (!ctx.software && ctx.maxInvocationsPerWorkgroup >= 256) {
    return Math.ceil(dims.M / 128) * Math.ceil(dims.N / 128) >= TILED128_MIN_WORKGROUPS ? 'tiled128' : 'tiled';
  }
  if (!fits) return 'register';
  if (SWIFTSHADER.test(ctx.adapter)) return 'mat16';
  const [wx, wy] = matmulWorkgroupSize('mat16', ctx);
  return Math.ceil(dims.M / (16 * wy)) * Math.ceil(dims.N / (16 * wx)) >= 4 ? 'mat16' : 'mat8';
}

/**
 * The workgroup of a variant on an adapter. SwiftShader runs the mat variants
 * fastest in workgroups of 2×2 (one of its 4-wide SIMD groups), llvmpipe in
 * 8×8 (its SIMD lanes are invocations; smaller groups leave lanes idle).
 */
export function matmulWorkgroupSize(variant: MatmulVariant, ctx: GpuContext): [number, number] {
  if (isTiled(variant)) return [16, 16];
  if (isMat(variant) && SWIFTSHADER.test(ctx.adapter)) return [2, 2];
  return [8, 8];
}

/** C = op(A)·op(B). */
export const matmul = defineKernel<MatmulAttrs>({
  name: 'matmul',
  // Every kind: the gradient of an activation from its input (EPILOGUE 5) takes gelu and the others too.
  shader: { name: 'matmul', code: `${activationWgsl()}\n\n${code}` },
  outputs(inputs, attrs) {
    const { M, N } = matmulDims(inputs, attrs);
    return [f32([M, N])];
  },
  cpu([a, b], [c], infos, attrs) {
    const { M, N, K } = matmulDims(infos, attrs);
    const { transA = false, transB = false } = attrs;
    const row = new Float64Array(N);
    for (let i = 0; i < M; i++) {
      row.fill(0);
      for (let k = 0; k < K; k++) {
        const aik = transA ? a[k * M + i] : a[i * K + k];
        for (let j = 0; j < N; j++) row[j] += aik * (transB ? b[j * K + k] : b[k * N + j]);
      }
      for (let j = 0; j < N; j++) c[i * N + j] = row[j];
    }
  },
  cpuFast([a, b], [c], infos, attrs) {
    const { M, N, K } = matmulDims(infos, attrs);
    matmulPacked(a, b, c, M, N, K, attrs.transA ?? false, attrs.transB ?? false);
  },
  gpu(inputs, attrs, ctx) {
    return matmulLaunch(inputs, attrs, ctx);
  },
});

/**
 * The launch of C = op(A)·op(B) in the variant the adapter and shape call
 * for, storing through the epilogue `epilogue` names (matmul.wgsl), whose
 * operands, the inputs `operands` names (ep, then ep2), bind after the
 * uniform block. Where a launch reads fewer, A binds in their place (it goes
 * unread there).
 */
export function matmulLaunch(inputs: readonly TensorInfo[], attrs: MatmulAttrs, ctx: GpuContext, epilogue: Record<string, number> = {}, operands: readonly number[] = []): GpuLaunch {
  const { M, N, K } = matmulDims(inputs, attrs);
  const variant = chooseVariant(attrs, ctx, { M, N, K });
  const [wx, wy] = matmulWorkgroupSize(variant, ctx);
  const per = PER_INVOCATION[variant];
  const constants: Record<string, number> = { TRANS_A: attrs.transA ? 1 : 0, TRANS_B: attrs.transB ? 1 : 0, ...epilogue };
  if (isMat(variant)) Object.assign(constants, { WG_X: wx, WG_Y: wy });
  return {
    entry: `matmul_${variant}`,
    constants,
    params: [['u32', M], ['u32', N], ['u32', K]],
    workgroups: [Math.ceil(N / (per * wx)), Math.ceil(M / (per * wy)), 1],
    leading: 2,
    extra: [operands[0] ?? 0, operands[1] ?? 0],
  };
}

// ---------------------------------------------------------------- fast CPU path

/** Scratch panels, reused across calls (JS is single-threaded): float32 halves the memory traffic. */
let panelA: Float32Array = new Float32Array(0);
let panelB: Float32Array = new Float32Array(0);

function scratch(current: Float32Array, n: number): Float32Array {
  return current.length >= n ? current : new Float32Array(Math.max(n, current.length * 2));
}

/**
 * C = op(A)·op(B) for the CPU backend, about 3–4× the reference's speed:
 * op(A) is copied into panels of 4 rows and op(B) into panels of 4 columns,
 * each laid out k-major (so the transposed forms cost one copy, not strided
 * reads), then every 4×4 block of C is summed in 16 local variables, which V8
 * keeps in registers, in float64. Padding rows/columns are zero and never stored.
 */
export function matmulPacked(a: HostArray, b: HostArray, c: HostArray, M: number, N: number, K: number, transA: boolean, transB: boolean): void {
  const mb = Math.ceil(M / 4);
  const nb = Math.ceil(N / 4);
  const pa = (panelA = scratch(panelA, mb * K * 4));
  const pb = (panelB = scratch(panelB, nb * K * 4));
  for (let i = 0; i < mb * 4; i++) {
    const base = (i >> 2) * K * 4 + (i & 3);
    for (let k = 0; k < K; k++) pa[base + 4 * k] = i < M ? (transA ? a[k * M + i] : a[i * K + k]) : 0;
  }
  for (let j = 0; j < nb * 4; j++) {
    const base = (j >> 2) * K * 4 + (j & 3);
    for (let k = 0; k < K; k++) pb[base + 4 * k] = j < N ? (transB ? b[j * K + k] : b[k * N + j]) : 0;
  }
  const block = new Float64Array(16);
  for (let ib = 0; ib < mb; ib++) {
    for (let jb = 0; jb < nb; jb++) {
      block4x4(pa, ib * K * 4, pb, jb * K * 4, K, block);
      const rows = Math.min(4, M - ib * 4);
      const cols = Math.min(4, N - jb * 4);
      for (let r = 0; r < rows; r++) {
        const o = (ib * 4 + r) * N + jb * 4;
        for (let q = 0; q < cols; q++) c[o + q] = block[r * 4 + q];
      }
    }
  }
}

/** One 4×4 block of C from a 4-row panel of A and a 4-column panel of B. */
function block4x4(pa: Float32Array, ao: number, pb: Float32Array, bo: number, K: number, out: Float64Array): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let k = 0; k < K; k++) {
    const x = bo + 4 * k;
    const y = ao + 4 * k;
    const b0 = pb[x], b1 = pb[x + 1], b2 = pb[x + 2], b3 = pb[x + 3];
    let av = pa[y];
    c00 += av * b0; c01 += av * b1; c02 += av * b2; c03 += av * b3;
    av = pa[y + 1];
    c10 += av * b0; c11 += av * b1; c12 += av * b2; c13 += av * b3;
    av = pa[y + 2];
    c20 += av * b0; c21 += av * b1; c22 += av * b2; c23 += av * b3;
    av = pa[y + 3];
    c30 += av * b0; c31 += av * b1; c32 += av * b2; c33 += av * b3;
  }
  out[0] = c00; out[1] = c01; out[2] = c02; out[3] = c03;
  out[4] = c10; out[5] = c11; out[6] = c12; out[7] = c13;
  out[8] = c20; out[9] = c21; out[10] = c22; out[11] = c23;
  out[12] = c30; out[13] = c31; out[14] = c32; out[15] = c33;
}
