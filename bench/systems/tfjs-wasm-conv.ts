// tfjs-backend-wasm 4.22 registers no Conv2DBackpropFilter, so tfjs cannot train
// a conv layer there ("Kernel 'Conv2DBackpropFilter' not registered for backend
// 'wasm'"). It has Conv3DBackpropFilterV2: a 2-D convolution is a 3-D one of
// depth 1, so this registers the missing kernel as wasm's own 3-D kernel run on
// depth-1 views of the same buffers (no copy, no other arithmetic).
import type * as TF from '@tensorflow/tfjs-core';

type Info = TF.TensorInfo;

export function registerWasmConv2dBackpropFilter(tf: typeof TF): void {
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm')) return;
  const conv3d = tf.getKernel('Conv3DBackpropFilterV2', 'wasm');
  if (!conv3d) throw new Error('tfjs-wasm: neither Conv2DBackpropFilter nor Conv3DBackpropFilterV2 is registered: W4 cannot train on this tfjs-backend-wasm');
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, dy } = inputs as { x: Info; dy: Info };
      const { strides, pad, filterShape, dataFormat, dimRoundingMode } = attrs as unknown as { strides: number | [number, number]; pad: string | number; filterShape: number[]; dataFormat?: string; dimRoundingMode?: string };
      if ((dataFormat ?? 'NHWC') !== 'NHWC' || typeof pad !== 'string' || dimRoundingMode) throw new Error('tfjs-wasm Conv2DBackpropFilter (bench): only NHWC with padding "valid" or "same"');
      const [sh, sw] = typeof strides === 'number' ? [strides, strides] : strides;
      const depth1 = (t: Info): Info => ({ ...t, shape: [t.shape[0], 1, ...t.shape.slice(1)] });
      const dw = conv3d.kernelFunc({
        inputs: { x: depth1(x), dy: depth1(dy) },
        backend,
        attrs: { strides: [1, sh, sw], pad, filterShape: [1, ...filterShape] },
      }) as Info;
      return { ...dw, shape: filterShape };
    },
  });
}
