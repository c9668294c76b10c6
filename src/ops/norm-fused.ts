import { ShapeError } from '../core/errors.js';
import { fmt } from '../core/shape.js';
import { defineKernel } from './kernel.js';
import { layerNormBackward } from './norm.js';

/**
 * layerNormBackward's dx plus r, a gradient summed before it: where a
 * norm reads a residual stream (a pre-norm Transformer block's x feeds both
 * ln(x) and x + ...), x's gradient is the residual's plus the norm's, and
 * this adds them as the norm's gradient is stored (shaders/norm.wgsl,
 * layer_norm_backward_add). Inputs x, γ, mean, rstd, dy (layerNormBackward's)
 * and r like x; output dx + r, each rounded to f32 as layerNormBackward and
 * add store them. graph/fuse.ts puts it in place of the two; it has no
 * gradient rule of its own.
 */
export const layerNormBackwardAdd = defineKernel<Readonly<Record<string, never>>>({
  name: 'layerNormBackwardAdd',
  shader: layerNormBackward.shader,
  outputs(inputs, attrs) {
    const [x, , , , , r] = inputs;
    if (inputs.length !== 6) throw new ShapeError(`layerNormBackwardAdd: expects six inputs, x, gamma, mean, rstd, dy and r, got ${inputs.length}`);
    const [dx] = layerNormBackward.outputs(inputs.slice(0, 5), attrs);
    if (r.dtype !== 'f32' || fmt(r) !== fmt(x)) throw new ShapeError(`layerNormBackwardAdd: r must be ${fmt(x)} like x, got ${fmt(r)}`);
    return [dx];
  },
  cpu(inputs, [dx], infos, attrs) {
    layerNormBackward.cpu(inputs.slice(0, 5), [dx], infos.slice(0, 5), attrs);
    const r = inputs[5];
    for (let i = 0; i < r.length; i++) dx[i] = dx[i] + r[i]; // dx stored (rounded) first, as layerNormBackward's output is
  },
  gpu(inputs, attrs, ctx) {
    // Bindings: x, γ, mean, rstd, dy, then dx, the uniform block, and r after it.
    return { ...layerNormBackward.gpu(inputs.slice(0, 5), attrs, ctx), entry: 'layer_norm_backward_add', leading: 5, extra: [5] };
  },
});
