// The convolution shapes the conv2d and im2col tests share.
import type { Conv2dAttrs } from '../../src/ops/conv.js';

export type Dims4 = [number, number, number, number];
export interface ConvCase {
  x: Dims4;
  k: Dims4;
  attrs: Conv2dAttrs;
}
export const label = ({ x, k, attrs }: ConvCase) => `x [${x}] k [${k}] ${JSON.stringify(attrs)}`;

// 1×1 images, odd and prime sizes, 1, 3 and prime channel counts, stride 2 with 'same' (odd totals: asymmetric
// padding), kernels as large as the input, dilation, strides past the kernel, and the large cases.
export const CONV_CASES: ConvCase[] = [
  { x: [1, 1, 1, 1], k: [1, 1, 1, 1], attrs: {} },
  { x: [1, 1, 1, 3], k: [3, 3, 3, 5], attrs: { padding: 'same' } },
  { x: [2, 7, 5, 3], k: [3, 2, 3, 7], attrs: {} },
  { x: [3, 9, 7, 5], k: [3, 3, 5, 2], attrs: { strides: [2, 2], padding: 'same' } },
  { x: [1, 8, 6, 1], k: [2, 4, 1, 3], attrs: { strides: [2, 2], padding: 'same' } },
  { x: [2, 5, 4, 3], k: [5, 4, 3, 7], attrs: {} },
  { x: [1, 5, 6, 2], k: [5, 6, 2, 3], attrs: { padding: 'same' } },
  { x: [2, 9, 8, 3], k: [3, 3, 3, 5], attrs: { dilation: [2, 2] } },
  { x: [1, 10, 11, 7], k: [3, 2, 7, 3], attrs: { strides: [2, 1], dilation: [2, 3], padding: 'same' } },
  { x: [2, 10, 8, 1], k: [2, 3, 1, 5], attrs: { strides: [3, 2] } },
  { x: [1, 7, 7, 2], k: [1, 1, 2, 3], attrs: { strides: [3, 3], padding: 'same' } },
  { x: [64, 28, 28, 1], k: [3, 3, 1, 32], attrs: {} },
  { x: [8, 13, 13, 32], k: [3, 3, 32, 64], attrs: { padding: 'same' } },
];
