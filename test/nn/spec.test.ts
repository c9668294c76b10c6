import { describe, expect, it } from 'vitest';
import { LAYER_TYPES } from '../../src/nn/layers.js';
import { LAYERS_WITHOUT_TOKEN, layersFromSpec, parseSpec, parseToken, SPEC_HELP } from '../../src/nn/spec.js';

describe('the layer spec: one grammar, one parser', () => {
  it('reads each token into its rule, numbers and options', () => {
    expect(parseSpec('128,conv32:3:s2:same:l2=1e-4,maxpool2,avgpool3,gap,flatten,bn,ln,dropout0.25,translate0.1,64:l1=0.5')).toEqual([
      128, 'conv32:3:s2:same:l2=1e-4', 'maxpool2', 'avgpool3', 'gap', 'flatten', 'bn', 'ln', 'dropout0.25', 'translate0.1', '64:l1=0.5',
    ]);
    const conv = parseToken('conv32:3:s2:same:l2=1e-4');
    expect(conv.values).toEqual([32, 3]);
    expect(conv.parts).toEqual({ strides: 2, padding: 'same', l2: 1e-4 });
  });

  it.each([
    ['conv32:3:s2:s3', /'s2' and 's3' both set strides/],
    ['conv32:3:same:valid', /'same' and 'valid' both set padding/],
    ['conv32:3:same:same', /'same' is given twice/],
    ['128:l2=1:l2=2', /'l2=1' and 'l2=2' both set l2/],
    ['maxpool2:same', /unknown option 'same' \(it takes no options/],
    ['conv32:3:s0', /strides must be at least 1/],
    ['conv32:3:pad', /unknown option 'pad' \(it takes strides, padding, l1, l2/],
    ['128:l2=-1', /l2 must be a number >= 0/],
    ['0', /a dense layer needs at least 1 unit/],
    ['dropout1', /dropout rate must be in \[0, 1\)/],
    ['maxpol2', /unknown layer 'maxpol2'.*did you mean 'maxpool'/],
  ])("refuses '%s' by name", (token, message) => {
    expect(() => parseToken(token)).toThrow(message);
  });

  it('accounts for every layer kind: a token makes it, or a reason says why none does', () => {
    const build = (spec: string) => layersFromSpec(parseSpec(spec), { activation: 'relu', inputShape: [8, 8, 1] }).map((l) => l.config.type);
    const ids = layersFromSpec(parseSpec('embed4,posembed'), { activation: 'relu', inputShape: [5], vocabulary: 9 }).map((l) => l.config.type);
    const made = new Set([...build('translate0.1,conv4:3,bn,maxpool2,avgpool1,ln,dropout0.1,flatten,8'), ...build('gap'), ...build('rnn4,lstm4,gru4,bilstm4'), ...ids]);
    for (const type of LAYER_TYPES) expect(made.has(type) || type in LAYERS_WITHOUT_TOKEN, type).toBe(true);
  });

  it('help lists every rule', () => {
    for (const word of ['convN:K', 'maxpoolP', 'avgpool', 'gap', 'flatten', 'bn', 'ln', 'dropoutR', 'translateF', 'embedN', 'rnnN', 'lstmN', 'gruN', 'birnnN', 'bilstmN', 'bigruN', 'posembed', ':seq', ':back', 'N:l2=F']) expect(SPEC_HELP).toContain(word);
  });

  it('builds as before: images viewed from square flat data, flatten before dense, flatten at the end', () => {
    const names = (spec: string, shape: number[]) => layersFromSpec(parseSpec(spec), { activation: 'relu', inputShape: shape }).map((l) => `${l.config.type}:${l.name}`);
    expect(names('conv4:3,maxpool2,16', [784])).toEqual(['reshape:image', 'conv2d:hidden_1', 'maxPooling2d:hidden_2', 'flatten:flatten_3', 'dense:hidden_3']);
    expect(names('bn,conv4:3,flatten,16', [784])).toEqual(['reshape:image', 'batchNormalization:hidden_1', 'conv2d:hidden_2', 'flatten:hidden_3', 'dense:hidden_4']);
    expect(names('conv4:3', [5, 5, 2])).toEqual(['conv2d:hidden_1', 'flatten:flatten']);
    expect(names('16,flatten,8', [10])).toEqual(['dense:hidden_1', 'dense:hidden_3']);
    expect(() => names('16,conv4:3', [784])).toThrow(/'conv4:3' needs images/);
    expect(() => names('conv4:3', [10])).toThrow(/not a square image/);
  });
});
