import { ShapeError, ValueError } from '../core/errors.js';
import type { TensorInfo } from '../core/shape.js';
import { expectRank, f32, fmt } from '../core/shape.js';
import code from '../../shaders/matmul.wgsl?raw';
import type { GpuContext } from './kernel.js';
import { defineKernel } from './kernel.js';

export type MatmulVariant = 'register' | 'tiled';

export interface MatmulAttrs {
  /** Use Aᵀ: A is stored [K, M]. */
  readonly transA?: boolean;
  /** Use Bᵀ: B is stored [N, K]. */
  readonly transB?: boolean;
  /** Force a GPU variant; by default the adapter decides (see chooseVariant). */
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
 * Workgroup memory pays on real GPUs; on CPU-emulated adapters it costs more
 * than it saves (WEBGPU-SETUP.md measured 0.6 against 7–10 GFLOP/s on llvmpipe).
 */
export function chooseVariant(attrs: MatmulAttrs, ctx: GpuContext): MatmulVariant {
  if (attrs.variant) {
    if (attrs.variant !== 'register' && attrs.variant !== 'tiled') throw new ValueError(`matmul: unknown variant '${attrs.variant}' (use 'register' or 'tiled')`);
    if (attrs.variant === 'tiled' && ctx.maxInvocationsPerWorkgroup < 256) return 'register';
    return attrs.variant;
  }
  return ctx.software || ctx.maxInvocationsPerWorkgroup < 256 ? 'register' : 'tiled';
}

/** C = op(A)·op(B). */
export const matmul = defineKernel<MatmulAttrs>({
  name: 'matmul',
  shader: { name: 'matmul', code },
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
  gpu(inputs, attrs, ctx) {
    const { M, N, K } = matmulDims(inputs, attrs);
    const variant = chooseVariant(attrs, ctx);
    const tile = 64; // both variants cover 64×64 outputs per workgroup
    return {
      entry: `matmul_${variant}`,
      constants: { TRANS_A: attrs.transA ? 1 : 0, TRANS_B: attrs.transB ? 1 : 0 },
      params: [['u32', M], ['u32', N], ['u32', K]],
      workgroups: [Math.ceil(N / tile), Math.ceil(M / tile), 1],
    };
  },
});
