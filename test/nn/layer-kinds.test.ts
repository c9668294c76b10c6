import { describe, expect, it } from 'vitest';
import { encodeSafetensors } from '../../src/interop/safetensors.js';
import { dense, LAYER_TYPES, layerFromConfig, withFileDefaults } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import { modelFromBytes, modelToBytes } from '../../src/nn/saving.js';
import { EXAMPLES, SHAPES } from '../helpers/conformance-cases.js';

/** One config of each kind, as a file would hold it: the conformance matrix's first example, with Keras' defaults filled in. */
const configOf = (type: (typeof LAYER_TYPES)[number]) => {
  const kind = EXAMPLES[type];
  // Each kind's examples take its own activations; the first is one of them. A kind no chain can hold
  // (a merge layer, attention) is in no rank: its example, if it needs one, or Keras' defaults alone.
  const examples = kind.examples as (a: string, input: number[], alpha: undefined) => readonly { config: object }[];
  const [example] = examples(kind.activations[0], kind.ranks.length ? SHAPES[kind.ranks[0]] : [], undefined);
  return withFileDefaults({ type, name: `a_${type}`, ...example?.config } as never);
};

describe('every layer kind', () => {
  it.each(LAYER_TYPES.map((t) => [t]))('%s: builds from its config and refuses a field it does not read, by name', (type) => {
    expect(layerFromConfig(configOf(type)).config.type).toBe(type);
    expect(() => layerFromConfig({ ...configOf(type), useBais: true } as never)).toThrow(new RegExp(`a_${type}: unknown field 'useBais' in a ${type} layer's config`));
    // A property every object has is no field either.
    expect(() => layerFromConfig({ ...configOf(type), toString: {} } as never)).toThrow(/unknown field 'toString'/);
  });

  it("fills what a file leaves out with Keras' defaults, a pool's strides from its size", () => {
    expect(withFileDefaults({ type: 'maxPooling2d', poolSize: [3, 3] } as never)).toMatchObject({ strides: [3, 3], padding: 'valid' });
    expect(withFileDefaults({ type: 'averagePooling2d', poolSize: [2, 2], strides: [1, 1] } as never)).toMatchObject({ strides: [1, 1] });
    expect(withFileDefaults({ type: 'dense', units: 3 } as never)).toMatchObject({ activation: 'linear', useBias: true, kernelInitializer: 'glorotUniform' });
  });

  it('a model file whose layer has a field nobody reads is refused, with the nearest field', async () => {
    const m = sequential([dense(3, { inputShape: [4] })]);
    m.setWeights([new Float32Array(12).fill(0.5), new Float32Array(3)]);
    const bytes = await modelToBytes(m);
    const { metadata, tensors } = (await import('../../src/interop/safetensors.js')).decodeSafetensors(bytes);
    const topology = JSON.parse(metadata.topology);
    topology.layers[0].useBais = false;
    const bad = encodeSafetensors(tensors, { ...metadata, topology: JSON.stringify(topology) });
    expect(() => modelFromBytes(bad, 'm.safetensors')).toThrow(/unknown field 'useBais'.*did you mean 'useBias'/);
  });
});
