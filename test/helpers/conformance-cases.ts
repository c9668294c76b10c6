/*
 * The export conformance matrix, generated: every layer kind (LAYER_TYPES),
 * in every input rank it takes, at every position, with every activation it
 * takes (LAYER_ACTIVATIONS), as models whose exports torch and onnxruntime
 * must predict as webgrad does (test/interop/conformance.test.ts).
 *
 * EXAMPLES is typed over every LayerType: a kind added to LayerConfig does
 * not compile here until it says how to make examples of it, and then it
 * joins the matrix. An activation joins by being in LAYER_ACTIVATIONS.
 */
import { batchNormalization, conv2d, dense, embedding, flatten, LAYER_ACTIVATIONS, LAYER_TYPES, layerFromConfig, lstm, maxPooling2d, withFileDefaults } from '../../src/nn/layers.js';
import type { Layer, LayerActivation, LayerConfig, LayerType, RecurrentConfig } from '../../src/nn/layers.js';
import { ACTIVATIONS } from '../../src/ops/activation.js';

/** The input ranks a layer may see: flat samples [f], images [h, w, c], the Playground's points [2] (x, y), and token ids [steps] (below IDS_VOCABULARY). */
export type Rank = 'flat' | 'image' | 'point' | 'ids' | 'sequence';
/** Where a case may be refused on purpose: webgrad building it, or one of the exports (which name the layer and say why). */
export type Stage = 'webgrad' | 'pytorch' | 'onnx';

/** A kind's config; Pool2dConfig serves both pooling kinds (Extract would give neither). */
type ConfigOf<T extends LayerType> = LayerConfig extends infer C ? (C extends { type: infer U } ? (T extends U ? C : never) : never) : never;

/** The fields of a config an example may give, per kind of a union. */
type Fields<C> = C extends unknown ? Omit<Partial<C>, 'type' | 'name' | 'inputShape'> : never;

/** One example layer of a kind: its config past Keras' defaults (withFileDefaults fills the rest) and what refuses it, by design. */
export interface Example<T extends LayerType> {
  readonly config: Fields<ConfigOf<T>>;
  /** A step that refuses this example on purpose, with the message expected; the test checks the refusal. */
  readonly refusedBy?: Partial<Record<Stage, RegExp>>;
}

interface KindExamples<T extends LayerType> {
  readonly ranks: readonly Rank[];
  /** The activations the kind takes: all of LAYER_ACTIVATIONS where its config has an activation, else 'linear'. */
  readonly activations: readonly ConfigOf<T>['activation'][];
  /** Examples of the kind on a sample of shape `input` with activation `a` (`alpha` where the activation takes one). */
  examples(a: ConfigOf<T>['activation'], input: number[], alpha: number | undefined): Example<T>[];
}

/** The layer under test sees flat samples of FLAT or images of IMAGE (not square, channels ≠ 1, so a swapped axis shows). */
export const SHAPES: { readonly [R in Rank]: number[] } = { flat: [12], image: [4, 6, 3], point: [2], ids: [5], sequence: [4, 3] };
/** The ids of the 'ids' rank are whole numbers below this (conformance-run.ts' inputOf). */
export const IDS_VOCABULARY = 7;

const ALL: readonly LayerActivation[] = LAYER_ACTIVATIONS;
const LINEAR = ['linear'] as const;
/** The recurrent cells' activation: tanh, the only one they take. */
const TANH = ['tanh'] as const;
const TORCH_SAME_POOL = /has 'same' padding, which torch's pooling has no counterpart for/;
const TORCH_HALF_AFFINE = /has center (true|false) and scale (true|false); torch('s| 1\.13's) \w+ learns both or neither/;
/** An epsilon far from the default, so that an export that drops it shows. */
const EPS = 0.05;

/** A merge layer joins branches, which only functional models have: no chain of this matrix can hold one (Sequential.add refuses it). */
const MERGE: KindExamples<'add' | 'multiply' | 'average' | 'concatenate'> = { ranks: [], activations: LINEAR, examples: () => [] };

export const EXAMPLES: { readonly [T in LayerType]: KindExamples<T> } = {
  add: MERGE as KindExamples<'add'>,
  multiply: MERGE as KindExamples<'multiply'>,
  average: MERGE as KindExamples<'average'>,
  concatenate: MERGE as KindExamples<'concatenate'>,
  // Attention takes a query and a value: only functional models hold it, as the merge layers.
  // Its example is for the layer-kind checks (a config from a file); no rank: the matrix makes no chain of it.
  multiHeadAttention: { ranks: [], activations: LINEAR, examples: () => [{ config: { numHeads: 2, keyDim: 3 } }] },
  dense: {
    // On sequences a Dense acts on every step (Keras' Dense on rank-3 input): torch's Linear on the last axis, ONNX's MatMul.
    ranks: ['flat', 'sequence'],
    activations: ALL,
    examples: (a, _input, alpha) => [{ config: { units: 5, activation: a, alpha } }, { config: { units: 4, activation: a, useBias: false } }],
  },
  activation: {
    ranks: ['flat', 'image'],
    activations: ALL,
    examples: (a, input, alpha) => {
      // With the exporters' default alpha too, where the activation takes one: Keras' and ONNX's defaults differ.
      return [{ config: { activation: a, alpha } }, ...(alpha === undefined ? [] : [{ config: { activation: a } }])];
    },
  },
  conv2d: {
    ranks: ['image'],
    activations: ALL,
    examples: (a, _input, alpha) => [
      // 'same' at stride 2 on an even height: TensorFlow's odd padding row goes after.
      { config: { filters: 4, kernelSize: [3, 2], strides: [2, 1], padding: 'same', activation: a, alpha } },
      { config: { filters: 2, kernelSize: [2, 2], dilationRate: [2, 1], useBias: false, activation: a } },
      // 1×1 at stride 1: webgrad's matmul on the pixels, no im2col.
      { config: { filters: 3, kernelSize: [1, 1], activation: a, alpha } },
    ],
  },
  flatten: { ranks: ['flat', 'image'], activations: LINEAR, examples: () => [{ config: {} }] },
  reshape: {
    ranks: ['flat', 'image'],
    activations: LINEAR,
    examples: (_a, input) => {
      const [h, w, c] = input;
      // Reading another axis order than webgrad's row-major NHWC gives other values: the targets permute the axes' sizes.
      return input.length === 1
        ? [{ config: { targetShape: [2, input[0] / 4, 2] } }, { config: { targetShape: [-1, 4] } }]
        : [{ config: { targetShape: [-1] } }, { config: { targetShape: [w, h, c] } }, { config: { targetShape: [c, h, w] } }];
    },
  },
  dropout: { ranks: ['flat', 'image'], activations: LINEAR, examples: () => [{ config: { rate: 0.4, seed: 7 } }] },
  simpleRNN: { ranks: ['sequence'], activations: TANH, examples: () => recurrentExamples<'simpleRNN'>({}) },
  lstm: { ranks: ['sequence'], activations: TANH, examples: () => recurrentExamples<'lstm'>({ unitForgetBias: false }) },
  gru: { ranks: ['sequence'], activations: TANH, examples: () => [...recurrentExamples<'gru'>({}), ...recurrentExamples<'gru'>({ resetAfter: false }, { pytorch: TORCH_GRU_RESET_BEFORE })] },
  // The halves through torch's bidirectional=True and ONNX's direction 'bidirectional': each merge, every step and the last, and a forward half that goes backwards (the halves swap directions).
  bidirectional: { ranks: ['sequence'], activations: LINEAR, examples: () => bidirectionalExamples() },
  embedding: {
    ranks: ['ids'],
    activations: LINEAR,
    examples: () => [{ config: { inputDim: IDS_VOCABULARY, outputDim: 4 } }, { config: { inputDim: IDS_VOCABULARY, outputDim: 1 } }],
  },
  // The positions alone, for each sample (the input gives only its shape): as many rows as the steps, more, and fewer (refused).
  positionEmbedding: {
    ranks: ['sequence'],
    activations: LINEAR,
    examples: (_a, [steps]) => [
      { config: { sequenceLength: steps } },
      { config: { sequenceLength: steps + 3, initializer: 'randomNormal' } },
      { config: { sequenceLength: steps - 1 }, refusedBy: { webgrad: new RegExp(`the input has ${steps} steps, more than sequenceLength ${steps - 1}`) } },
    ],
  },
  pointFeatures: {
    ranks: ['point'],
    activations: LINEAR,
    // Every feature, a few in another order than the table's, and one alone.
    examples: () => [{ config: { features: ['x', 'y', 'xSquared', 'ySquared', 'xTimesY', 'sinX', 'sinY'] } }, { config: { features: ['sinY', 'xTimesY', 'x'] } }, { config: { features: ['xTimesY'] } }],
  },
  randomTranslation: { ranks: ['image'], activations: LINEAR, examples: () => [{ config: { heightFactor: 0.3, widthFactor: 0.2, seed: 7 } }] },
  maxPooling2d: { ranks: ['image'], activations: LINEAR, examples: () => poolExamples() },
  averagePooling2d: { ranks: ['image'], activations: LINEAR, examples: () => poolExamples() },
  globalAveragePooling2d: { ranks: ['image'], activations: LINEAR, examples: () => [{ config: {} }] },
  batchNormalization: { ranks: ['flat', 'image'], activations: LINEAR, examples: () => normExamples<'batchNormalization'>({ momentum: 0.9 }) },
  layerNormalization: { ranks: ['flat', 'image'], activations: LINEAR, examples: () => normExamples<'layerNormalization'>({}) },
};

/** torch's nn.GRU is the resetAfter form only (ONNX's GRU has both: linear_before_reset). */
const TORCH_GRU_RESET_BEFORE = /is a GRU with resetAfter false, which torch's nn\.GRU has no counterpart for/;

function recurrentExamples<T extends 'simpleRNN' | 'lstm' | 'gru'>(extra: Fields<ConfigOf<T>>, refusedBy?: Example<T>['refusedBy']): Example<T>[] {
  return [
    { config: { units: 5, ...extra }, refusedBy },
    { config: { units: 3, returnSequences: true, goBackwards: true, ...extra }, refusedBy },
    { config: { units: 2, useBias: false, returnSequences: true, ...extra }, refusedBy },
    // goBackwards alone: the last state processed is the input's first step's.
    { config: { units: 4, goBackwards: true, ...extra }, refusedBy },
  ];
}

/** A bidirectional example: the forward half's config past its kind's defaults (the file's backward half is Keras' default one). */
const half = (c: Partial<RecurrentConfig> & Pick<RecurrentConfig, 'type' | 'units'>) => ({ name: `forward_${c.type}`, ...c }) as RecurrentConfig;

function bidirectionalExamples(): Example<'bidirectional'>[] {
  return [
    { config: { layer: half({ type: 'lstm', units: 3, unitForgetBias: false }) } },
    { config: { layer: half({ type: 'lstm', units: 2, returnSequences: true }) } },
    { config: { mergeMode: 'sum', layer: half({ type: 'gru', units: 3, returnSequences: true }) } },
    { config: { mergeMode: 'ave', layer: half({ type: 'simpleRNN', units: 2, useBias: false }) } },
    // The forward half reads backwards: torch's and ONNX's forward direction is the backward half.
    { config: { layer: half({ type: 'lstm', units: 2, goBackwards: true, returnSequences: true }) } },
    { config: { mergeMode: 'mul', layer: half({ type: 'gru', units: 2, goBackwards: true }) } },
    { config: { mergeMode: 'mul', layer: half({ type: 'simpleRNN', units: 3, returnSequences: true }) } },
    { config: { layer: half({ type: 'gru', units: 2, resetAfter: false }) }, refusedBy: { pytorch: TORCH_GRU_RESET_BEFORE } },
  ];
}

function poolExamples(): Example<'maxPooling2d' | 'averagePooling2d'>[] {
  return [
    { config: { poolSize: [2, 2], strides: [2, 2] } },
    { config: { poolSize: [3, 2], strides: [1, 2] } },
    // 'same' on 4×6 at stride 2: a padding row and column after; the average counts real elements only.
    { config: { poolSize: [3, 3], strides: [2, 2], padding: 'same' }, refusedBy: { pytorch: TORCH_SAME_POOL } },
  ];
}

function normExamples<T extends 'batchNormalization' | 'layerNormalization'>(extra: Fields<ConfigOf<T>>): Example<T>[] {
  return [
    { config: { ...extra } },
    { config: { ...extra, epsilon: EPS, center: false, scale: false } },
    { config: { ...extra, center: false }, refusedBy: { pytorch: TORCH_HALF_AFFINE } },
    { config: { ...extra, epsilon: EPS, scale: false }, refusedBy: { pytorch: TORCH_HALF_AFFINE } },
  ];
}

/** Where the layer under test sits; each position gives it one rank and builds the model around it. */
export type Position = 'first' | 'last' | 'afterFlatten' | 'afterConv' | 'insideCnn' | 'afterRecurrent' | 'afterEmbedding';

interface Around {
  /** The model's input shape. */
  readonly input: number[];
  /** The layers before the layer under test (fresh ones each call), which bring `input` to SHAPES[rank]. */
  before(): Layer[];
  /** Whether layers follow it: a head that takes any output to 3 numbers per sample. */
  readonly head: boolean;
}

/** Each position for each rank it gives the layer, or null where it gives none. */
export const POSITIONS: { readonly [P in Position]: { readonly [R in Rank]: Around | null } } = {
  first: {
    flat: { input: SHAPES.flat, before: () => [], head: true },
    image: { input: SHAPES.image, before: () => [], head: true },
    point: { input: SHAPES.point, before: () => [], head: true },
    ids: { input: SHAPES.ids, before: () => [], head: true },
    sequence: { input: SHAPES.sequence, before: () => [], head: true },
  },
  last: {
    flat: { input: [5], before: () => [dense(12, { activation: 'tanh' })], head: false },
    image: { input: [4, 6, 2], before: () => [conv2d(3, 3, { padding: 'same', activation: 'tanh' })], head: false },
    // Points made by a layer: the features of a learned 2-D embedding.
    point: { input: [5], before: () => [dense(2, { activation: 'tanh' })], head: false },
    ids: { input: SHAPES.ids, before: () => [], head: false },
    // Sequences made by a layer: a Dense on every step, then the recurrent layer.
    sequence: { input: [4, 5], before: () => [dense(3, { activation: 'tanh' })], head: false },
  },
  // A flatten of channels-first values in torch and ONNX: the exports must flatten in webgrad's NHWC order.
  afterFlatten: { flat: { input: [2, 3, 2], before: () => [conv2d(2, 3, { padding: 'same', activation: 'tanh' }), flatten()], head: true }, image: null, point: null, ids: null, sequence: null },
  afterConv: { flat: null, point: null, ids: null, sequence: null, image: { input: [4, 6, 2], before: () => [conv2d(3, 3, { padding: 'same', activation: 'tanh' })], head: true } },
  insideCnn: {
    flat: { input: [6, 8, 2], before: () => [conv2d(3, 3, { padding: 'same', activation: 'relu' }), maxPooling2d(2), flatten(), dense(12, { activation: 'tanh' })], head: true },
    image: { input: [8, 12, 2], before: () => [conv2d(3, 3, { padding: 'same', activation: 'relu' }), batchNormalization(), maxPooling2d(2)], head: true },
    point: null,
    ids: null,
    sequence: null,
  },
  // Sequences made by a recurrent layer that gives every step (returnSequences): a Dense on its states, or a stacked recurrent layer.
  afterRecurrent: { flat: null, image: null, point: null, ids: null, sequence: { input: SHAPES.sequence, before: () => [lstm(3, { returnSequences: true })], head: true } },
  // Sequences of embedded token ids, as a text model reads them (the model's input is ids: inputOf in conformance-run.ts).
  afterEmbedding: { flat: null, image: null, point: null, ids: null, sequence: { input: [SHAPES.sequence[0]], before: () => [embedding(IDS_VOCABULARY, SHAPES.sequence[1])], head: true } },
};

/** The head after the layer under test: images through a convolution and a flatten, anything else flattened, then dense(3). */
function head(out: number[]): Layer[] {
  const conv = out.length === 3 ? [conv2d(2, 2, { padding: 'same', activation: 'relu' })] : [];
  return [...conv, ...(out.length === 1 ? [] : [flatten()]), dense(3)];
}

/** One model of the matrix. */
export interface Case {
  /** Names the layer kind, rank, position, activation and example: what a failure reports. */
  readonly label: string;
  readonly kind: LayerType;
  readonly rank: Rank;
  readonly position: Position;
  readonly activation: LayerActivation;
  readonly example: number;
  readonly input: number[];
  readonly refusedBy: Partial<Record<Stage, RegExp>>;
  /** The model's output shape per sample (null where webgrad refuses the layer). */
  readonly output: number[] | null;
  /** Fresh layers of the model (layers can belong to one model only). */
  layers(): Layer[];
}

/**
 * Every case: kinds × ranks × positions × activations × examples.
 * `takesAlpha(a)` says whether an alpha changes activation a (webgrad
 * decides: takesAlphaOf in conformance-run.ts); those get an example with
 * alpha 0.3 as well as one with the default.
 */
export function matrixCases(takesAlpha: (a: LayerActivation) => boolean): Case[] {
  const cases: Case[] = [];
  for (const kind of LAYER_TYPES) {
    const spec = EXAMPLES[kind] as unknown as KindExamples<LayerType>;
    for (const rank of spec.ranks) {
      for (const position of Object.keys(POSITIONS) as Position[]) {
        const around = POSITIONS[position][rank];
        if (!around) continue;
        for (const activation of spec.activations) {
          const alpha = takesAlpha(activation) ? 0.3 : undefined;
          spec.examples(activation, SHAPES[rank], alpha).forEach((ex, i) => {
            const label = `${kind} · ${rank} [${SHAPES[rank].join(', ')}] · ${position} · ${activation} · example ${i + 1} ${JSON.stringify(ex.config)}`;
            const layers = () => {
              const before = around.before();
              const layer = layerFromConfig(withFileDefaults({ type: kind, ...ex.config } as Partial<LayerConfig> & { type: string }));
              return [...before, layer, ...(around.head ? head(layer.outputShape(SHAPES[rank])) : [])];
            };
            let output: number[] | null = null;
            try {
              output = layers().reduce((s, l) => l.outputShape(s), around.input);
            } catch {
              // webgrad refuses the model: the test checks that the example says so (refusedBy.webgrad).
            }
            cases.push({ label, kind, rank, position, activation, example: i + 1, input: around.input, refusedBy: ex.refusedBy ?? {}, output, layers });
          });
        }
      }
    }
  }
  return cases;
}

/** The matrix' size, for the lead's note: models and what they span. */
export function matrixSize(cases: readonly Case[]): string {
  const count = (f: (c: Case) => string) => new Set(cases.map(f)).size;
  return `export conformance matrix: ${cases.length} models, ${count((c) => c.kind)} layer kinds, ${count((c) => c.activation)} activations, ${count((c) => c.rank)} ranks, ${count((c) => c.position)} positions`;
}
