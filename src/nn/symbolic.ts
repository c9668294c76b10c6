// Symbolic tensors, the functional API's half that layers need: input()
// makes one, Layer.apply (applyLayer) calls a layer on them and checks the
// shapes at once. model({ inputs, outputs }) (functional.ts) collects the
// calls into a model. This module imports only what layer-base.ts does not
// need at load time: it sits in an import cycle with it (Layer.apply).
import { ValueError } from '../core/errors.js';
import type { OptionsOf } from '../core/options.js';
import { defineOptions, opt } from '../core/options.js';
import type { CallArgs, Layer, ParamSpec } from './layer-base.js';
import { callOutputShape, callParams, checkCallArgs, checkSharedCall, maskRefusal, shapeProblem } from './layer-base.js';

/** One call of a layer on symbolic tensors (none for a model input), and the tensor it made. */
export interface Call {
  readonly id: number;
  readonly layer: Layer | null;
  readonly inputs: readonly SymbolicTensor[];
  readonly args: CallArgs;
}

/**
 * What a call gives besides its inputs, Keras' call arguments:
 * multiHeadAttention's { useCausalMask: true } or { attentionMask: m }. A
 * tensor argument is read as one more input, after the listed ones; the call
 * records that it was given (true).
 */
export type ApplyArgs = Readonly<Record<string, boolean | number | string | SymbolicTensor>>;

let calls = 0;

/**
 * A tensor of a model being described: its shape, batch axis first (null:
 * any batch), and the call that makes it. It holds no values; a model built
 * from it does.
 */
export class SymbolicTensor {
  /** [null, ...the sample shape], as Keras and TensorFlow.js show it. */
  readonly shape: readonly (number | null)[];

  /** @internal */
  constructor(
    readonly sampleShape: readonly number[],
    readonly dtype: 'float32' | 'int32',
    readonly name: string,
    /** @internal */ readonly call: Call,
    /** @internal The layer whose mask of padded steps (maskZero) this tensor carries, if any. */ readonly maskSource: Layer | null,
  ) {
    this.shape = [null, ...sampleShape];
  }

  toString(): string {
    return `SymbolicTensor ${this.name} [${this.shape.map((d) => d ?? 'null').join(', ')}]`;
  }
}

export const INPUT_OPTIONS = defineOptions('input', {
  // Called, not passed: this module is part of an import cycle (layers → layer-base → here), so shapeProblem is not bound yet when this line runs.
  shape: opt.custom<number[]>('number[]', 'the shape of one sample, without the batch axis, e.g. [784] or [64] (token ids)', (v) => shapeProblem(v)),
  dtype: opt.oneOf(['float32', 'int32'] as const, "'float32' (the default), or 'int32' for token ids, which are then checked to be whole numbers"),
  name: opt.string("the input's name (default input_N)"),
}, { batch_shape: 'shape (without the batch axis)', batchShape: 'shape (without the batch axis)' });

let inputs = 0;

/** A model input: a symbolic tensor of samples of `shape` (Keras' keras.Input, TensorFlow.js' tf.input). */
export function input(options: OptionsOf<typeof INPUT_OPTIONS.spec>): SymbolicTensor {
  const o = INPUT_OPTIONS.check(options);
  if (o.shape === undefined) throw new ValueError('input: give the shape of one sample, e.g. input({ shape: [784] })');
  const name = o.name ?? `input_${++inputs}`;
  return new SymbolicTensor([...o.shape], o.dtype ?? 'float32', name, { id: ++calls, layer: null, inputs: [], args: {} }, null);
}

/** Calls `layer` on symbolic tensors (Layer.apply): checks the shapes, the mask and the weights of a shared layer now. */
export function applyLayer(layer: Layer, given: SymbolicTensor | readonly SymbolicTensor[], applyArgs: ApplyArgs = {}): SymbolicTensor {
  const list: SymbolicTensor[] = Array.isArray(given) ? [...given] : [given as SymbolicTensor];
  if (typeof applyArgs !== 'object' || applyArgs === null) throw new ValueError(`${layer.name}.apply: the call arguments must be an object like { useCausalMask: true }, got ${JSON.stringify(applyArgs)}`);
  const raw: Record<string, boolean | number | string> = {};
  for (const [k, v] of Object.entries(applyArgs)) {
    if (v instanceof SymbolicTensor) {
      list.push(v);
      raw[k] = true;
    } else raw[k] = v;
  }
  const args = checkCallArgs(layer, raw);
  list.forEach((t, i) => {
    if (!(t instanceof SymbolicTensor)) throw new ValueError(`${layer.name}.apply: input ${i} is not a symbolic tensor (from input() or another layer's apply), got ${Object.prototype.toString.call(t)}; to run a model on data, build it with model({ inputs, outputs }) and call predict`);
  });
  const shapes = list.map((t) => [...t.sampleShape]);
  const out = callOutputShape(layer, shapes, args);
  // The weights' shapes follow the inputs': a layer already called must get inputs that need the same.
  const params = callParams(layer, shapes, args);
  const first = firstParams.get(layer);
  if (first) checkSharedCall(layer, shapes, first, params);
  else firstParams.set(layer, params);
  const source = list.find((t) => t.maskSource)?.maskSource ?? null;
  if (source && !layer.masking) throw maskRefusal(layer, source);
  const problem = source && layer.multi?.maskProblem?.(list.map((t) => t.maskSource !== null), args);
  if (problem) throw new ValueError(`${layer.name}: ${problem}`);
  const mask = layer.masking === 'make' ? layer : layer.masking === 'pass' ? source : layer.masking === 'query' ? list[0].maskSource : null;
  return new SymbolicTensor(out, 'float32', layer.name, { id: ++calls, layer, inputs: list, args }, mask);
}

/** The weights' shapes of each layer's first call, which a later call must match. */
const firstParams = new WeakMap<Layer, ParamSpec[]>();

