// Data augmentation on the device: the op under Keras' RandomTranslation while it trains.
import { ShapeError, ValueError } from '../core/errors.js';
import { fmt, sizeOf } from '../core/shape.js';
import hash from '../../shaders/hash.wgsl?raw';
import code from '../../shaders/augment.wgsl?raw';
import { checkStepInput, pcg, seedProblem, stepSeed } from './dropout.js';
import { defineKernel, grid1d } from './kernel.js';

const shader = { name: 'augment', code: `${hash}\n${code}` };
const WG = 256;

export interface TranslateAttrs {
  /** The largest move, in whole pixels, down or up (maxDy) and right or left (maxDx). */
  readonly maxDy: number;
  readonly maxDx: number;
  /** Which moves: an integer in [0, 2³²). The same seed and step draw the same moves. */
  readonly seed: number;
  /** 1 moves the images; −1 undoes the same moves (the adjoint: translate's gradient). */
  readonly sign?: 1 | -1;
}

/** Sample n's move (dy, dx) at a step, as shaders/augment.wgsl draws it. */
export function translation(seed: number, step: number, n: number, maxDy: number, maxDx: number): [number, number] {
  const h = pcg((stepSeed(seed, step) + n) >>> 0);
  return [((h & 0xffff) % (2 * maxDy + 1)) - maxDy, ((h >>> 16) % (2 * maxDx + 1)) - maxDx];
}

function check({ maxDy, maxDx, seed, sign = 1 }: TranslateAttrs): void {
  for (const [k, v] of [['maxDy', maxDy], ['maxDx', maxDx]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 32767) throw new ValueError(`translate: ${k} must be a whole number of pixels in [0, 32767], got ${v}`);
  }
  if (seedProblem(seed)) throw new ValueError(`translate: seed ${seedProblem(seed)}`);
  if (sign !== 1 && sign !== -1) throw new ValueError(`translate: sign must be 1 or -1, got ${sign}`);
}

/**
 * Moves each image of x [n, h, w, c] by its own whole-pixel offset (dy, dx),
 * uniform in [−maxDy, maxDy] × [−maxDx, maxDx], drawn from a hash of (seed,
 * step, n), the step being input 1 (i32[1], as dropout's);
 * what moves in from outside is 0. A linear map whose adjoint is the same
 * moves undone (sign −1), so it is its own family's gradient.
 */
export const translate = defineKernel<TranslateAttrs>({
  name: 'translate',
  shader,
  outputs([x, step], attrs) {
    if (!x || x.dtype !== 'f32' || x.shape.length !== 4) throw new ShapeError(`translate: x must be f32 images [n, h, w, c], got ${x ? fmt(x) : 'nothing'}`);
    checkStepInput('translate', step);
    check(attrs);
    return [x];
  },
  cpu([x, [step]], [out], [info], { maxDy, maxDx, seed, sign = 1 }) {
    const [N, H, W, C] = info.shape;
    for (let n = 0; n < N; n++) {
      const [dy, dx] = translation(seed, step, n, maxDy, maxDx);
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < W; j++) {
          const si = i - sign * dy;
          const sj = j - sign * dx;
          const inside = si >= 0 && si < H && sj >= 0 && sj < W;
          for (let c = 0; c < C; c++) out[((n * H + i) * W + j) * C + c] = inside ? x[((n * H + si) * W + sj) * C + c] : 0;
        }
      }
    }
  },
  gpu([x], { maxDy, maxDx, seed, sign = 1 }, ctx) {
    const [, H, W, C] = x.shape;
    const total = sizeOf(x.shape);
    return {
      entry: 'translate',
      params: [['u32', total], ['u32', H], ['u32', W], ['u32', C], ['u32', maxDy], ['u32', maxDx], ['u32', seed], ['i32', sign]],
      workgroups: grid1d(total, WG, ctx),
    };
  },
});
