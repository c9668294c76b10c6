import { ShapeError, ValueError } from '../core/errors.js';
import type { TensorInfo } from '../core/shape.js';
import { expectRank, expectSame, f32, fmt } from '../core/shape.js';
import code from '../../shaders/loss.wgsl?raw';
import type { FloatArray, GpuContext, GpuLaunch, Kernel } from './kernel.js';
import { defineKernel, grid1d } from './kernel.js';

/*
 * Losses, Keras style: predictions [B, D] and targets give a per-sample loss
 * [B] (the sum/mean over the batch is another op's job); each backward takes
 * the same inputs plus dLoss [B] and returns the gradient w.r.t. the
 * predictions [B, D]. Labels outside [0, C) throw here; on the GPU, which
 * cannot throw, that sample's loss and gradient row are NaN.
 */

const shader = { name: 'loss', code };
type NoAttrs = Record<string, never>;

/** Elementwise kernels: 64 per workgroup suits wave32 and wave64 GPUs alike. */
const ELEMENTWISE_WG = 64;

/** Row kernels: one workgroup per row, sized to the row (a power of two, 32 to 256). */
function rowWorkgroup(cols: number, ctx: GpuContext): number {
  const cap = Math.min(256, ctx.maxInvocationsPerWorkgroup);
  let wg = 32;
  while (wg < cols && wg * 2 <= cap) wg *= 2;
  return Math.min(wg, cap);
}

function rowLaunch(entry: string, [B, D]: readonly number[], ctx: GpuContext, constants: Record<string, number> = {}): GpuLaunch {
  return { entry, constants: { WG: rowWorkgroup(D, ctx), ...constants }, params: [['u32', B], ['u32', D]], workgroups: grid1d(B, 1, ctx) };
}

function flatLaunch(entry: string, [B, D]: readonly number[], n: number, ctx: GpuContext, constants: Record<string, number> = {}): GpuLaunch {
  return { entry, constants: { WG: ELEMENTWISE_WG, ...constants }, params: [['u32', B], ['u32', D]], workgroups: grid1d(n, ELEMENTWISE_WG, ctx) };
}

// ---- shape rules ----

function expectCount(op: string, inputs: readonly TensorInfo[], names: string[]): void {
  if (inputs.length !== names.length) {
    throw new ShapeError(`${op}: expects ${names.length} inputs (${names.join(', ')}), got ${inputs.length}`);
  }
}

/** [B, D] predictions; returns B and D. */
function batchOf(op: string, pred: TensorInfo, name: string): [number, number] {
  expectRank(pred, 2, op, name);
  return [pred.shape[0], pred.shape[1]];
}

function expectLabels(op: string, labels: TensorInfo, B: number): void {
  if (labels.dtype !== 'i32' || labels.shape.length !== 1 || labels.shape[0] !== B) {
    throw new ShapeError(`${op}: labels must be i32[${B}] (one class index per row), got ${fmt(labels)}`);
  }
}

function expectDLoss(op: string, dLoss: TensorInfo, B: number): void {
  if (dLoss.dtype !== 'f32' || dLoss.shape.length !== 1 || dLoss.shape[0] !== B) {
    throw new ShapeError(`${op}: dLoss must be f32[${B}] (one gradient per sample), got ${fmt(dLoss)}`);
  }
}

/** Softmax CE's second input: i32 [B] labels, or f32 [B, C] targets. */
function sceTargets(op: string, logits: TensorInfo, t: TensorInfo): void {
  const [B, C] = logits.shape;
  if (t.dtype === 'i32' && t.shape.length === 1 && t.shape[0] === B) return;
  if (t.dtype === 'f32' && t.shape.length === 2 && t.shape[0] === B && t.shape[1] === C) return;
  throw new ShapeError(`${op}: labels must be i32[${B}] (class indices) or f32[${B}, ${C}] (class probabilities), got ${fmt(t)}`);
}

function checkLabel(op: string, labels: Int32Array, row: number, C: number): number {
  const l = labels[row];
  if (l < 0 || l >= C) throw new ValueError(`${op}: label ${l} in row ${row} is outside [0, ${C}) (there are ${C} classes)`);
  return l;
}

// ---- softmax cross-entropy ----

/** log Σ exp(z) of row z[base .. base+n), computed as max + log Σ exp(z - max). */
function logSumExp(z: FloatArray, base: number, n: number): number {
  let m = z[base];
  for (let c = 1; c < n; c++) m = Math.max(m, z[base + c]);
  let s = 0;
  for (let c = 0; c < n; c++) s += Math.exp(z[base + c] - m);
  return m + Math.log(s);
}

/**
 * Cross-entropy from logits [B, C]: with i32 labels [B], logsumexp(z) - z[label]
 * (Keras sparseCategoricalCrossentropy, PyTorch CrossEntropyLoss); with f32
 * targets [B, C], -Σ t log softmax(z) = Σ t (logsumexp(z) - z) (Keras
 * categoricalCrossentropy(fromLogits)), which is logsumexp(z) - Σ t z when Σ t = 1.
 */
export const softmaxCrossEntropy = defineKernel<NoAttrs>({
  name: 'softmaxCrossEntropy',
  shader,
  outputs(inputs) {
    expectCount('softmaxCrossEntropy', inputs, ['logits', 'labels']);
    const [B] = batchOf('softmaxCrossEntropy', inputs[0], 'logits');
    sceTargets('softmaxCrossEntropy', inputs[0], inputs[1]);
    return [f32([B])];
  },
  cpu([z, t], [loss], [info]) {
    const [B, C] = info.shape;
    for (let b = 0; b < B; b++) {
      const lse = logSumExp(z as FloatArray, b * C, C);
      if (t instanceof Int32Array) {
        loss[b] = lse - z[b * C + checkLabel('softmaxCrossEntropy', t, b, C)];
      } else {
        let sum = 0;
        for (let c = 0; c < C; c++) sum += t[b * C + c] * (lse - z[b * C + c]);
        loss[b] = sum;
      }
    }
  },
  gpu([logits, t], _attrs, ctx) {
    return rowLaunch(t.dtype === 'i32' ? 'sce_sparse' : 'sce_dense', logits.shape, ctx);
  },
});

/** Checks (logits, labels, dLoss), as the kernels taking softmaxCrossEntropy's gradient receive them. */
function sceGradInputs(op: string, inputs: readonly TensorInfo[]): void {
  expectCount(op, inputs, ['logits', 'labels', 'dLoss']);
  const [B] = batchOf(op, inputs[0], 'logits');
  sceTargets(op, inputs[0], inputs[1]);
  expectDLoss(op, inputs[2], B);
}

/** d/dz of softmaxCrossEntropy: (softmax(z) Σ t - t) dLoss; with labels, softmax(z) - onehot. */
export const softmaxCrossEntropyBackward = defineKernel<NoAttrs>({
  name: 'softmaxCrossEntropyBackward',
  shader,
  outputs(inputs) {
    sceGradInputs('softmaxCrossEntropyBackward', inputs);
    return [inputs[0]];
  },
  cpu([z, t, g], [dz], [info]) {
    const [B, C] = info.shape;
    for (let b = 0; b < B; b++) {
      const lse = logSumExp(z as FloatArray, b * C, C);
      const label = t instanceof Int32Array ? checkLabel('softmaxCrossEntropyBackward', t, b, C) : -1;
      let sumT = 1;
      if (label < 0) {
        sumT = 0;
        for (let c = 0; c < C; c++) sumT += t[b * C + c];
      }
      for (let c = 0; c < C; c++) {
        const target = label < 0 ? t[b * C + c] : c === label ? 1 : 0;
        dz[b * C + c] = (Math.exp(z[b * C + c] - lse) * sumT - target) * g[b];
      }
    }
  },
  gpu([logits, t], _attrs, ctx) {
    return rowLaunch(t.dtype === 'i32' ? 'sce_sparse_backward' : 'sce_dense_backward', logits.shape, ctx);
  },
});

/**
 * softmaxCrossEntropy and its backward in one launch: the per-sample loss and
 * d/dz for dLoss, from one pass over each row. graph/fuse.ts puts it where a
 * training step computes both; the results are the two kernels' own.
 */
export const softmaxCrossEntropyWithGrad = defineKernel<NoAttrs>({
  name: 'softmaxCrossEntropyWithGrad',
  shader,
  outputs(inputs) {
    sceGradInputs('softmaxCrossEntropyWithGrad', inputs);
    return [f32([inputs[0].shape[0]]), inputs[0]];
  },
  cpu([z, t, g], [loss, dz], infos, attrs) {
    softmaxCrossEntropy.cpu([z, t], [loss], infos, attrs);
    softmaxCrossEntropyBackward.cpu([z, t, g], [dz], infos, attrs);
  },
  gpu([logits, t], _attrs, ctx) {
    return rowLaunch(t.dtype === 'i32' ? 'sce_sparse_both' : 'sce_dense_both', logits.shape, ctx);
  },
});

// ---- losses that average an elementwise term over D ----

interface RowMeanLoss<A> {
  name: string;
  /** Name of the first input in error messages. */
  input: string;
  /** WGSL LOSS constant. */
  id: number;
  constants?: (attrs: A) => Record<string, number>;
  /** The per-element term and its derivative w.r.t. the prediction. */
  term(p: number, t: number, attrs: A): number;
  grad(p: number, t: number, attrs: A): number;
}

function rowMeanPair<A>(spec: RowMeanLoss<A>): [Kernel<A>, Kernel<A>] {
  const { name, input } = spec;
  const back = `${name}Backward`;
  const constants = (attrs: A) => ({ LOSS: spec.id, ...spec.constants?.(attrs) });
  const forward = defineKernel<A>({
    name,
    shader,
    outputs(inputs) {
      expectCount(name, inputs, [input, 'targets']);
      const [B] = batchOf(name, inputs[0], input);
      expectSame(inputs[0], inputs[1], name, [input, 'targets']);
      return [f32([B])];
    },
    cpu([p, t], [loss], [info], attrs) {
      const [B, D] = info.shape;
      for (let b = 0; b < B; b++) {
        let sum = 0;
        for (let d = 0; d < D; d++) sum += spec.term(p[b * D + d], t[b * D + d], attrs);
        loss[b] = sum / D;
      }
    },
    gpu([p], attrs, ctx) {
      return rowLaunch('rowmean', p.shape, ctx, constants(attrs));
    },
  });
  const backward = defineKernel<A>({
    name: back,
    shader,
    outputs(inputs) {
      expectCount(back, inputs, [input, 'targets', 'dLoss']);
      const [B] = batchOf(back, inputs[0], input);
      expectSame(inputs[0], inputs[1], back, [input, 'targets']);
      expectDLoss(back, inputs[2], B);
      return [inputs[0]];
    },
    cpu([p, t, g], [dp], [info], attrs) {
      const [B, D] = info.shape;
      for (let i = 0; i < B * D; i++) dp[i] = (spec.grad(p[i], t[i], attrs) * g[Math.floor(i / D)]) / D;
    },
    gpu([p], attrs, ctx) {
      return flatLaunch('rowmean_backward', p.shape, p.shape[0] * p.shape[1], ctx, constants(attrs));
    },
  });
  return [forward, backward];
}

/** log(1 + e^y) without overflow. */
function softplus(y: number): number {
  return Math.max(y, 0) + Math.log1p(Math.exp(-Math.abs(y)));
}

/**
 * Binary cross-entropy from logits, mean over D (Keras binaryCrossentropy(fromLogits),
 * PyTorch BCEWithLogitsLoss): -t log σ(x) - (1-t) log(1-σ(x)) = t softplus(-x) + (1-t) softplus(x).
 */
export const [sigmoidBinaryCrossEntropy, sigmoidBinaryCrossEntropyBackward] = rowMeanPair<NoAttrs>({
  name: 'sigmoidBinaryCrossEntropy',
  input: 'logits',
  id: 0,
  term: (x, t) => t * softplus(-x) + (1 - t) * softplus(x),
  grad: (x, t) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))) - t,
});

/** mean over D of (p - t)² (Keras meanSquaredError). */
export const [meanSquaredError, meanSquaredErrorBackward] = rowMeanPair<NoAttrs>({
  name: 'meanSquaredError',
  input: 'predictions',
  id: 1,
  term: (p, t) => (p - t) ** 2,
  grad: (p, t) => 2 * (p - t),
});

/** mean over D of |p - t| (Keras meanAbsoluteError); the gradient at p = t is 0. */
export const [meanAbsoluteError, meanAbsoluteErrorBackward] = rowMeanPair<NoAttrs>({
  name: 'meanAbsoluteError',
  input: 'predictions',
  id: 2,
  term: (p, t) => Math.abs(p - t),
  grad: (p, t) => Math.sign(p - t),
});

export interface HingeAttrs {
  /**
   * Targets are 0/1 rather than -1/1: each is mapped to 2t - 1 first. Keras
   * guesses this from the data (all targets in {0, 1}); here it is stated,
   * so the same batch never means two things and the GPU needs no extra pass.
   */
  readonly binaryTargets?: boolean;
}

/** mean over D of max(0, 1 - t p) with t in {-1, 1} (Keras hinge); gradient -t where 1 - t p > 0. */
export const [hinge, hingeBackward] = rowMeanPair<HingeAttrs>({
  name: 'hinge',
  input: 'predictions',
  id: 3,
  constants: ({ binaryTargets = false }) => ({ BINARY_TARGETS: binaryTargets ? 1 : 0 }),
  term: (p, t, { binaryTargets }) => Math.max(0, 1 - (binaryTargets ? 2 * t - 1 : t) * p),
  grad: (p, t, { binaryTargets }) => {
    const s = binaryTargets ? 2 * t - 1 : t;
    return 1 - s * p > 0 ? -s : 0;
  },
});

// ---- negative log-likelihood ----

/** -logProbs[b, label_b] (PyTorch NLLLoss with reduction 'none'). */
export const nll = defineKernel<NoAttrs>({
  name: 'nll',
  shader,
  outputs(inputs) {
    expectCount('nll', inputs, ['logProbs', 'labels']);
    const [B] = batchOf('nll', inputs[0], 'logProbs');
    expectLabels('nll', inputs[1], B);
    return [f32([B])];
  },
  cpu([lp, labels], [loss], [info]) {
    const [B, C] = info.shape;
    for (let b = 0; b < B; b++) loss[b] = -lp[b * C + checkLabel('nll', labels as Int32Array, b, C)];
  },
  gpu([lp], _attrs, ctx) {
    return { entry: 'nll', constants: { WG: ELEMENTWISE_WG }, params: [['u32', lp.shape[0]], ['u32', lp.shape[1]]], workgroups: grid1d(lp.shape[0], ELEMENTWISE_WG, ctx) };
  },
});

/** -dLoss at each row's label, 0 elsewhere. */
export const nllBackward = defineKernel<NoAttrs>({
  name: 'nllBackward',
  shader,
  outputs(inputs) {
    expectCount('nllBackward', inputs, ['logProbs', 'labels', 'dLoss']);
    const [B] = batchOf('nllBackward', inputs[0], 'logProbs');
    expectLabels('nllBackward', inputs[1], B);
    expectDLoss('nllBackward', inputs[2], B);
    return [inputs[0]];
  },
  cpu([_lp, labels, g], [dlp], [info]) {
    const [B, C] = info.shape;
    for (let b = 0; b < B; b++) {
      const label = checkLabel('nllBackward', labels as Int32Array, b, C);
      for (let c = 0; c < C; c++) dlp[b * C + c] = c === label ? -g[b] : 0;
    }
  },
  gpu([lp], _attrs, ctx) {
    return flatLaunch('nll_backward', lp.shape, lp.shape[0] * lp.shape[1], ctx);
  },
});

/** Every loss with its backward, as [forward, backward] pairs: the gradient rules pair them from here. */
export const losses = {
  softmaxCrossEntropy: [softmaxCrossEntropy, softmaxCrossEntropyBackward],
  sigmoidBinaryCrossEntropy: [sigmoidBinaryCrossEntropy, sigmoidBinaryCrossEntropyBackward],
  meanSquaredError: [meanSquaredError, meanSquaredErrorBackward],
  meanAbsoluteError: [meanAbsoluteError, meanAbsoluteErrorBackward],
  hinge: [hinge, hingeBackward],
  nll: [nll, nllBackward],
} as const;
