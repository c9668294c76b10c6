// Keras' Bidirectional wrapper: a recurrent layer run over the sequence
// twice, once forward and once from the last step back, both halves merged.
// Its config nests the two recurrent layers' configs, as Keras' get_config
// does (`layer`, `backward_layer`), each named as Keras names them
// (forward_<name>, backward_<name>); their weights are
// <bidirectional>/<forward_…>/kernel and so on.
import { ValueError } from '../core/errors.js';
import type { OptionsOf } from '../core/options.js';
import { defineOptions, didYouMean, opt } from '../core/options.js';
import type { Graph, Value } from '../graph/graph.js';
import { concatLast } from '../ops/concat.js';
import { maskSteps } from '../ops/mask.js';
import { pcg } from '../ops/dropout.js';
import { add, multiply, scale } from '../ops/elementwise.js';
import { reverse } from '../ops/reverse.js';
import type { Layer, LayerDefinition } from './layer-base.js';
import { autoName, isAutoNamed, layerCommon, shapeProblem } from './layer-base.js';
import type { RecurrentConfig } from './recurrent-layers.js';

export const MERGE_MODES = ['concat', 'sum', 'mul', 'ave'] as const;
export type MergeMode = (typeof MERGE_MODES)[number];

export interface BidirectionalConfig {
  type: 'bidirectional';
  name: string;
  activation: 'linear';
  /** How the halves are merged: Keras' merge_mode (its None, two outputs, is refused: a Sequential layer has one). */
  mergeMode: MergeMode;
  /** The forward layer's config, named forward_<name>. */
  layer: RecurrentConfig;
  /** The backward layer's config: the forward one's with goBackwards flipped, named backward_<name>, or the one given. */
  backwardLayer: RecurrentConfig;
  inputShape?: number[];
}

export const BIDIRECTIONAL_FIELDS = { type: true, name: true, activation: true, inputShape: true, mergeMode: true, layer: true, backwardLayer: true } as const;

const RECURRENT_TYPES: readonly string[] = ['simpleRNN', 'lstm', 'gru'];
/** Other libraries' words for a merge mode, to point at ours. */
const MODE_WORDS: Readonly<Record<string, MergeMode>> = { concatenate: 'concat', add: 'sum', average: 'ave', mean: 'ave', multiply: 'mul', product: 'mul' };

function mergeModeProblem(v: unknown): string | null {
  if ((MERGE_MODES as readonly unknown[]).includes(v)) return null;
  const valid = MERGE_MODES.map((m) => `'${m}'`).join(', ');
  if (v === null) return `null (Keras' None: the two halves as two outputs) is not supported: a layer of a Sequential model gives one output; use one of ${valid} ('concat' is the default)`;
  const word = typeof v === 'string' ? MODE_WORDS[v.toLowerCase()] : undefined;
  return `must be one of ${valid}, got ${JSON.stringify(v)}${word ? ` (did you mean '${word}'?)` : didYouMean(v, MERGE_MODES)}`;
}

const BIDIRECTIONAL_OPTIONS = defineOptions('bidirectional', {
  mergeMode: opt.custom<MergeMode>('mergeMode', `how the forward and backward outputs are merged: ${MERGE_MODES.join(', ')} (default concat)`, mergeModeProblem),
  backwardLayer: opt.custom<Layer>('layer', "the layer that reads the steps backwards (default: a copy of the layer's config with goBackwards flipped)", (v) =>
    typeof v === 'object' && v !== null && 'config' in v ? null : `must be a layer built by simpleRNN(), lstm() or gru(), got ${JSON.stringify(v)}`,
  ),
  inputShape: layerCommon.inputShape,
  name: layerCommon.name,
}, { merge_mode: 'mergeMode', backward_layer: 'backwardLayer', input_shape: 'inputShape', weights: 'not supported: set the weights with setWeights() once the model is built' });

export type BidirectionalOptions = OptionsOf<typeof BIDIRECTIONAL_OPTIONS.spec>;

/** A wrapped layer's name without Keras' prefix, or its kind's prefix where the model would have numbered it. */
function baseName(layer: Layer, prefix: string): string {
  if (isAutoNamed(layer)) return layer.name.replace(/_\d+$/, '');
  return layer.name.startsWith(prefix) ? layer.name.slice(prefix.length) : layer.name;
}

function recurrentConfigOf(layer: Layer, what: string): RecurrentConfig {
  const c = layer.config;
  if (!RECURRENT_TYPES.includes(c.type)) throw new ValueError(`bidirectional: ${what} must be a recurrent layer (simpleRNN, lstm or gru), got ${c.name} (${c.type})`);
  return c as RecurrentConfig;
}

/**
 * The config of bidirectional(layer, options), as Keras builds it: the
 * forward layer a copy of `layer`'s config named forward_<name>; the
 * backward one `backwardLayer`'s, or else the same copy with goBackwards
 * flipped, named backward_<name>. An auto-named layer (lstm_7) keeps its
 * kind only (forward_lstm), so that weight names do not depend on how many
 * layers the process built. The wrapped layer's inputShape becomes the
 * wrapper's.
 */
export function bidirectionalConfig(layer: Layer, options: BidirectionalOptions = {}): BidirectionalConfig {
  if (typeof layer !== 'object' || layer === null || !('config' in layer)) throw new ValueError(`bidirectional: the first argument must be a layer built by simpleRNN(), lstm() or gru(), got ${JSON.stringify(layer)}`);
  const o = BIDIRECTIONAL_OPTIONS.check(options);
  const { inputShape, ...inner } = recurrentConfigOf(layer, 'the layer it wraps');
  const forward = { ...inner, name: `forward_${baseName(layer, 'forward_')}` } as RecurrentConfig;
  let backward: RecurrentConfig;
  if (o.backwardLayer) {
    const { inputShape: _ignored, ...b } = recurrentConfigOf(o.backwardLayer, 'backwardLayer');
    backward = { ...b, name: isAutoNamed(o.backwardLayer) ? `backward_${baseName(o.backwardLayer, 'backward_')}` : b.name } as RecurrentConfig;
  } else {
    backward = { ...inner, goBackwards: !inner.goBackwards, name: `backward_${baseName(layer, 'backward_')}` } as RecurrentConfig;
  }
  const shape = o.inputShape ?? inputShape;
  return { type: 'bidirectional', name: o.name ?? autoName('bidirectional'), activation: 'linear', mergeMode: o.mergeMode ?? 'concat', layer: forward, backwardLayer: backward, ...(shape ? { inputShape: shape } : {}) };
}

/** What must agree between the two halves for one output (Keras' _verify_layer_config, and the units a merge needs). */
function checkHalves(c: BidirectionalConfig): void {
  const at = (what: string) => `${c.name}: ${what}`;
  if (mergeModeProblem(c.mergeMode)) throw new ValueError(at(`mergeMode ${mergeModeProblem(c.mergeMode)}`));
  for (const [k, v] of [['layer', c.layer], ['backwardLayer', c.backwardLayer]] as const) {
    if (typeof v !== 'object' || v === null || !RECURRENT_TYPES.includes(v.type)) {
      throw new ValueError(at(`${k} must be a recurrent layer's config (simpleRNN, lstm or gru), got ${typeof v === 'object' && v !== null ? `a ${String(v.type)} layer` : JSON.stringify(v)}`));
    }
    if (v.inputShape !== undefined) throw new ValueError(at(`${k} ${v.name} has an inputShape; give it to the bidirectional layer instead`));
  }
  const [f, b] = [c.layer, c.backwardLayer];
  if (f.type !== b.type) throw new ValueError(at(`the backward layer is a ${b.type} and the forward one a ${f.type}: both halves must be the same kind`));
  if (f.units !== b.units) throw new ValueError(at(`the backward layer has ${b.units} units and the forward one ${f.units}: both halves must have the same units`));
  if (f.goBackwards === b.goBackwards) throw new ValueError(at(`the forward and backward layers both have goBackwards ${f.goBackwards}: the backward layer must read the steps the other way`));
  if (f.returnSequences !== b.returnSequences) throw new ValueError(at(`the forward layer has returnSequences ${f.returnSequences} and the backward one ${b.returnSequences}: both must give every step or both the last`));
  if (f.name === b.name) throw new ValueError(at(`the forward and backward layers are both named '${f.name}': their weights would share names`));
  for (const n of [f.name, b.name]) if (typeof n !== 'string' || n === '' || n.includes('/')) throw new ValueError(at(`an inner layer's name must be a non-empty string without '/', got ${JSON.stringify(n)}`));
}

/** Mixed into the backward half's seed, so that its dropout masks are not the forward half's. */
const BACKWARD_SEED = 0xb1d1;

/**
 * The layer of a bidirectional config. `build` makes a recurrent layer of a
 * config (layers.ts' layerFromConfig, which checks every field as it does
 * for any layer); the halves are built named <name>/<inner name>, so their
 * weights are too.
 */
export function bidirectionalLayer(c: BidirectionalConfig, build: (inner: RecurrentConfig) => Layer): LayerDefinition {
  checkHalves(c);
  if (c.inputShape !== undefined && shapeProblem(c.inputShape)) throw new ValueError(`${c.name}: inputShape ${shapeProblem(c.inputShape)}`);
  const forward = build({ ...c.layer, name: `${c.name}/${c.layer.name}` });
  const backward = build({ ...c.backwardLayer, name: `${c.name}/${c.backwardLayer.name}` });
  const { returnSequences } = c.layer;
  return {
    name: c.name,
    config: c,
    activation: 'linear',
    // A mask of padded steps goes to both halves (ctx.mask); every step's output hands it on, the last states consume it (Keras' compute_mask).
    masking: returnSequences ? 'pass' : 'consume',
    outputShape(input) {
      const out = forward.outputShape(input);
      backward.outputShape(input);
      return c.mergeMode === 'concat' ? [...out.slice(0, -1), 2 * out[out.length - 1]] : out;
    },
    params: (input) => [...forward.params(input), ...backward.params(input)],
    forward(g, x, weights, ctx) {
      const n = forward.params(x.shape.slice(1)).length;
      const y = forward.forward(g, x, weights.slice(0, n), ctx);
      let yRev = backward.forward(g, x, weights.slice(n), { ...ctx, seed: pcg((ctx.seed ^ BACKWARD_SEED) >>> 0) });
      // Keras flips the backward half's states, which come last step first, so that step s of both halves read the same input step.
      if (returnSequences) yRev = g.op(reverse, [yRev], { axis: 1 }, `${c.name}/backward_in_step_order`);
      const merged = merge(g, c, y, yRev);
      if (!returnSequences || !ctx.mask) return merged;
      // Keras' Bidirectional sets zero_output_for_mask on its halves with return_sequences: padded steps give zeros, not the
      // carried state. Where the forward half reads backwards the output's steps run backwards too, and so do its zeros.
      const padding = c.layer.goBackwards ? g.op(reverse, [ctx.mask], { axis: 1 }, `${c.name}/mask_backwards`) : ctx.mask;
      return g.op(maskSteps, [merged, padding], {}, `${c.name}/zero_padded_steps`);
    },
  };
}

function merge(g: Graph, c: BidirectionalConfig, y: Value, yRev: Value): Value {
  const at = `${c.name}/${c.mergeMode}`;
  switch (c.mergeMode) {
    case 'concat':
      return g.op(concatLast, [y, yRev], {}, at);
    case 'sum':
      return g.op(add, [y, yRev], {}, at);
    case 'mul':
      return g.op(multiply, [y, yRev], {}, at);
    case 'ave':
      // (y + y_rev) / 2, as Keras: halving is exact in float32, so this is that.
      return g.op(scale, [g.op(add, [y, yRev], {}, `${at}/sum`)], { alpha: 0.5 }, at);
    default: {
      const unknown: never = c.mergeMode;
      throw new ValueError(`${c.name}: mergeMode ${JSON.stringify(unknown)} is unknown`);
    }
  }
}
