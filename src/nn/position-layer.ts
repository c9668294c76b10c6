// keras-nlp's PositionEmbedding: a learned table of one vector per position,
// given for the steps of the input: the positions, not the input plus them
// (keras-nlp returns them; an add merge layer adds them to the tokens').
import { ValueError } from '../core/errors.js';
import type { OptionsOf } from '../core/options.js';
import { defineOptions, opt } from '../core/options.js';
import { broadcastRows } from '../ops/broadcast.js';
import type { InitializerName } from './initializers.js';
import { checkInitializer, initialize, INITIALIZERS } from './initializers.js';
import type { Layer } from './layer-base.js';
import { autoName, initializerProblem, layerCommon } from './layer-base.js';

export interface PositionEmbeddingConfig {
  type: 'positionEmbedding';
  name: string;
  activation: 'linear';
  /** The longest sequence it takes: the table's rows. */
  sequenceLength: number;
  initializer: InitializerName;
  inputShape?: number[];
}

const POSITION_OPTIONS = defineOptions('positionEmbedding', {
  sequenceLength: opt.integer('the longest sequence it takes, the table\'s rows (required); an input of fewer steps gets the first rows', { min: 1 }),
  initializer: opt.custom<string>('initializer', `the table's initializer (default glorotUniform, as keras-nlp): ${INITIALIZERS.join(', ')}`, initializerProblem),
  inputShape: layerCommon.inputShape,
  name: layerCommon.name,
}, { sequence_length: 'sequenceLength', input_shape: 'inputShape', seq_axis: 'not supported: the steps are the axis before the features', start_index: 'not supported: positions start at 0' });

export type PositionEmbeddingOptions = OptionsOf<typeof POSITION_OPTIONS.spec>;

/** The config of positionEmbedding(options), checked. */
export function positionEmbeddingConfig(options: PositionEmbeddingOptions): PositionEmbeddingConfig {
  const o = POSITION_OPTIONS.check(options);
  if (o.sequenceLength === undefined) throw new ValueError('positionEmbedding: sequenceLength is required: the longest sequence the layer takes, e.g. positionEmbedding({ sequenceLength: 64 })');
  return {
    type: 'positionEmbedding',
    name: o.name ?? autoName('position_embedding'),
    activation: 'linear',
    sequenceLength: o.sequenceLength,
    initializer: checkInitializer(o.initializer ?? 'glorotUniform'),
    inputShape: o.inputShape,
  };
}

/** The layer of a config (from positionEmbeddingConfig or a file, so checked again). */
export function positionLayer(config: PositionEmbeddingConfig): Omit<Layer, 'apply'> {
  const { sequenceLength: S } = config;
  if (!Number.isInteger(S) || S < 1) throw new ValueError(`${config.name}: sequenceLength must be a positive integer, got ${JSON.stringify(S)}`);
  checkInitializer(config.initializer);
  const steps = (input: number[]) => {
    if (input.length !== 2) throw new ValueError(`${config.name}: positionEmbedding takes sequences [steps, features], got [${input.join(', ')}]; put an embedding (or a dense layer on sequences) before it`);
    if (input[0] > S) throw new ValueError(`${config.name}: the input has ${input[0]} steps, more than sequenceLength ${S}; build the layer with sequenceLength ≥ ${input[0]}, or give it shorter sequences`);
    return input;
  };
  return {
    name: config.name,
    config,
    activation: 'linear',
    outputShape: (input) => [...steps(input)],
    params(input) {
      const F = steps(input)[1];
      return [{ name: `${config.name}/embeddings`, shape: [S, F], init: (r) => initialize(config.initializer, S * F, S, F, r) }];
    },
    // The mask of padded steps passes on (Keras 3's Layer.compute_mask hands the previous mask on); the positions at padded steps are given as at real ones.
    masking: 'pass',
    forward: (g, x, [table]) => g.op(broadcastRows, [table, x], {}, config.name),
  };
}
