// The PyTorch import of multiHeadAttention, from the modules a torch user
// has: torch's own nn.MultiheadAttention (its q, k and v projections packed
// in in_proj_weight, or apart as q_proj_weight, ... when kdim or vdim differ
// from embed_dim; out_proj a Linear), nanoGPT's CausalSelfAttention (two
// Linears, c_attn giving q, k and v side by side and c_proj), or the
// MultiHeadAttention of webgrad's exported model.py, which holds the weights
// in Keras' shapes already. Which one a module is, is read from its tensors'
// names, never guessed from their shapes.
import { ValueError } from '../core/errors.js';
import type { MultiHeadAttentionConfig } from '../nn/attention-layer.js';
import type { Layer, ParamSpec } from '../nn/layers.js';
import type { Expected } from './import-pytorch.js';

/** nn.MultiheadAttention's out_proj is a child module: its tensors are taken as the attention module's, named out_proj.weight and out_proj.bias. */
export const OUT_PROJ = 'out_proj';
/** nanoGPT's CausalSelfAttention: its two Linears, children of the attention module, taken as its c_attn.weight, c_attn.bias, c_proj.weight, c_proj.bias. */
export const [C_ATTN, C_PROJ] = ['c_attn', 'c_proj'];

/** Whether a module's tensors are an nn.MultiheadAttention's (which then takes its child out_proj's tensors too). */
export const isTorchAttention = (parts: Iterable<string>): boolean => [...parts].some((p) => p === 'in_proj_weight' || p === 'q_proj_weight');
/** Whether a module's tensors are nanoGPT's CausalSelfAttention's, its children folded in (import-pytorch.ts' groupModules). */
const isNanoGpt = (parts: ReadonlyMap<string, unknown>) => parts.has(`${C_ATTN}.weight`);

const PARTS = ['query', 'key', 'value', 'attention_output'] as const;

/**
 * How each weight of a multiHeadAttention layer comes from the torch module
 * `tensors` names (undefined: no module left for it, and webgrad's own names
 * are what the error will ask for).
 *
 * nn.MultiheadAttention computes q = x Wqᵀ + bq with Wq [E, F] and splits q's
 * E features into heads as [H, d], head-major: so Keras' query kernel
 * [F, H, d] is Wq transposed, and its bias [H, d] is bq; the same for key and
 * value, from the next blocks of E rows of in_proj_weight (or from
 * k_proj_weight and v_proj_weight) and of in_proj_bias. The output kernel
 * [H, d, O] is out_proj.weight [O, E] transposed. torch's module needs
 * E = H·keyDim = H·valueDim = the query's features = the output's: a layer
 * built otherwise is refused by name.
 */
export function attentionExpected(layer: Layer, specs: readonly ParamSpec[], tensors: ReadonlyMap<string, unknown> | undefined): Expected[] {
  const spec = (part: string, what: string) => specs.find((s) => s.name === `${layer.name}/${part}/${what}`);
  if (!tensors || !(isTorchAttention(tensors.keys()) || isNanoGpt(tensors))) {
    // webgrad's model.py: query_kernel, query_bias, ..., output_kernel, output_bias, in Keras' shapes.
    return specs.map((s) => {
      const [part, what] = s.name.slice(layer.name.length + 1).split('/');
      return { spec: s, part: `${part === 'attention_output' ? 'output' : part}_${what}`, shape: s.shape, owner: "MultiHeadAttention (webgrad's model.py)", convert: (t) => t };
    });
  }
  const c = layer.config as MultiHeadAttentionConfig;
  const [F, H, d] = spec('query', 'kernel')!.shape;
  const [, dv, out] = spec('attention_output', 'kernel')!.shape;
  const E = H * d;
  const fits: [boolean, string][] = [
    [dv === d, `valueDim ${dv} differs from keyDim ${d}, where torch's heads have one head_dim`],
    [F === E, `the query has ${F} features but heads × keyDim is ${H} × ${d} = ${E}, where torch's embed_dim is both`],
    [out === E, `its output has ${out} features (outputShape) where torch's out_proj gives embed_dim ${E}`],
  ];
  const misfit = fits.find(([ok]) => !ok);
  const nano = isNanoGpt(tensors);
  const owner = nano ? "nanoGPT's CausalSelfAttention" : 'nn.MultiheadAttention';
  if (misfit) throw new ValueError(`importPytorch: layer ${layer.name} (multiHeadAttention, ${c.numHeads} heads) cannot take torch's ${owner}: ${misfit[1]}`);
  const packed = nano || tensors.has('in_proj_weight');
  // nanoGPT's c_attn is nn.MultiheadAttention's in_proj (q, k, v rows in that order, head-major); c_proj its out_proj.
  const [inWeight, inBias, outProj] = nano ? [`${C_ATTN}.weight`, `${C_ATTN}.bias`, C_PROJ] : ['in_proj_weight', 'in_proj_bias', OUT_PROJ];
  const expected: Expected[] = [];
  PARTS.forEach((part, k) => {
    const kernel = spec(part, 'kernel')!;
    const bias = spec(part, 'bias');
    if (part === 'attention_output') {
      expected.push({ spec: kernel, part: `${outProj}.weight`, shape: [E, E], owner, convert: (t) => rowsTransposed(t, 0, E, E) });
      if (bias) expected.push({ spec: bias, part: `${outProj}.bias`, shape: [E], owner, convert: (t) => t });
      return;
    }
    const fin = kernel.shape[0];
    expected.push(packed
      ? { spec: kernel, part: inWeight, shape: [3 * E, E], owner, convert: (t) => rowsTransposed(t, k * E, E, E) }
      : { spec: kernel, part: `${part[0]}_proj_weight`, shape: [E, fin], owner, convert: (t) => rowsTransposed(t, 0, E, fin) });
    if (bias) expected.push({ spec: bias, part: inBias, shape: [3 * E], owner, convert: (t) => t.slice(k * E, (k + 1) * E) });
  });
  return expected;
}

/** Rows [r0, r0 + rows) of a torch weight [.., cols] transposed to a kernel [cols, rows]. */
function rowsTransposed(t: Float32Array, r0: number, rows: number, cols: number): Float32Array {
  const k = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) k[c * rows + r] = t[(r0 + r) * cols + c];
  return k;
}
