import { f32 } from '../core/shape.js';
import { accumulate, add, fill, scale } from '../ops/elementwise.js';
import { matmul } from '../ops/matmul.js';
import type { Case } from './selfcheck.js';

/** One small awkward-shaped launch of every kernel. */
export const SELFCHECKS: Case[] = [
  { name: 'matmul A·B 67×129×33 (register)', kernel: matmul, inputs: [f32([67, 129]), f32([129, 33])], attrs: { variant: 'register' } },
  { name: 'matmul A·B 67×129×33 (tiled)', kernel: matmul, inputs: [f32([67, 129]), f32([129, 33])], attrs: { variant: 'tiled' } },
  { name: 'matmul Aᵀ·B 67×129×33', kernel: matmul, inputs: [f32([129, 67]), f32([129, 33])], attrs: { transA: true } },
  { name: 'matmul A·Bᵀ 67×129×33', kernel: matmul, inputs: [f32([67, 129]), f32([33, 129])], attrs: { transB: true } },
  { name: 'fill 1031', kernel: fill, inputs: [], attrs: { shape: [1031], value: 3 } },
  { name: 'scale 1031', kernel: scale, inputs: [f32([1031])], attrs: { alpha: -0.5 } },
  { name: 'add 1031', kernel: add, inputs: [f32([1031]), f32([1031])], attrs: { alpha: 2 } },
  { name: 'accumulate 1031', kernel: accumulate, inputs: [f32([1031])], attrs: { alpha: 0.25 } },
];
