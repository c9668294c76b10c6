import { describe, expect, it } from 'vitest';
import { sweepOptions } from '../../src/cli/sweep-options.js';
import { trainOptions } from '../../src/cli/train-options.js';
import { layersFromSpec, parseSpec } from '../../src/nn/spec.js';
import { lastJson, runCli } from '../helpers/cli.js';

const args = (flags: Record<string, string>) => ({ flags: new Map(Object.entries(flags)), positional: [] });
const kinds = (spec: string, extras: object = {}, inputShape = [784]) => layersFromSpec(parseSpec(spec), { activation: 'relu', inputShape, ...extras }).map((l) => l.config.type);

describe('regularization in the --layers spec and flags', () => {
  it('reads bn, ln, dropoutR and kernel penalties as tokens', () => {
    expect(parseSpec('conv8:3,bn,maxpool2,64:l2=1e-4,dropout0.5,ln,conv4:3:l1=0.01:l2=0.1')).toEqual(['conv8:3', 'bn', 'maxpool2', '64:l2=1e-4', 'dropout0.5', 'ln', 'conv4:3:l1=0.01:l2=0.1']);
    expect(kinds('conv8:3,bn,maxpool2,64,dropout0.5,ln')).toEqual(['reshape', 'conv2d', 'batchNormalization', 'maxPooling2d', 'flatten', 'dense', 'dropout', 'layerNormalization']);
    const [, conv] = layersFromSpec(parseSpec('conv4:3:l1=0.01:l2=0.1,32:l2=1e-4'), { activation: 'relu', inputShape: [784] });
    expect(conv.config).toMatchObject({ type: 'conv2d', kernelRegularizer: { l1: 0.01, l2: 0.1 } });
    // A spec that starts with a dense layer and a penalty is not an image spec.
    expect(kinds('64:l2=1e-3,bn', {}, [784])).toEqual(['dense', 'batchNormalization']);
    expect(() => parseSpec('64,dropout1.5')).toThrow("--layers: 'dropout1.5': the dropout rate must be in [0, 1)");
    expect(() => parseSpec('64:l2=x')).toThrow("--layers: '64:l2=x': l2 must be a number >= 0, got 'x'");
    expect(() => parseSpec('64,bm')).toThrow("unknown layer 'bm' (did you mean 'bn'?)");
  });

  it('--batch-norm, --dropout, --l1 and --l2 reach every hidden layer (penalties the output layer too)', () => {
    const o = trainOptions(args({ layers: 'conv8:3,maxpool2,64,32', 'batch-norm': 'true', dropout: '0.3', l2: '1e-4' }));
    expect(o).toMatchObject({ batchNorm: true, dropout: 0.3, l1: 0, l2: 1e-4 });
    const layers = layersFromSpec(o.layers, { activation: 'relu', inputShape: [784], batchNorm: true, dropout: 0.3, regularizer: { l1: 0, l2: 1e-4 } });
    expect(layers.map((l) => l.config.type)).toEqual(['reshape', 'conv2d', 'batchNormalization', 'maxPooling2d', 'flatten', 'dense', 'batchNormalization', 'dropout', 'dense', 'batchNormalization', 'dropout']);
    expect(layers.filter((l) => l.config.type === 'dense' || l.config.type === 'conv2d').every((l) => (l.config as { kernelRegularizer?: unknown }).kernelRegularizer)).toBe(true);
    expect(() => trainOptions(args({ dropout: '1' }))).toThrow("--dropout must be a rate in [0, 1); got '1'");
    expect(() => trainOptions(args({ l2: '-1' }))).toThrow("--l2 must be a number >= 0; got '-1'");
  });

  it('sweep takes lists of --dropout, --l1 and --l2, and layer lists with penalties separated by /', () => {
    const s = sweepOptions(args({ dropout: '0,0.2,0.5', l2: '0,1e-4,1e-3', layers: '64' }));
    expect(s.candidates).toHaveLength(9);
    expect(s.candidates.map((c) => c.name)).toContain('dropout=0.2 l2=0.0001');
    const l = sweepOptions(args({ layers: '64:l2=1e-4/64' }));
    expect(l.candidates.map((c) => c.settings.layers)).toEqual([['64:l2=1e-4'], [64]]);
    expect(() => sweepOptions(args({ layers: '64:l2=1e-4:32' }))).toThrow("separate layer lists with '/' when they hold convolutions or penalties");
  });

  it('a run with every one of them trains, saves and evaluates from the command line', async () => {
    const t = await runCli(['train', '--backend', 'cpu', '--layers', '32,ln', '--batch-norm', '--dropout', '0.2', '--l2', '1e-4', '--epochs', '1', '--json']);
    expect(t.code, t.err).toBe(0);
    expect(t.out).toMatch(/hidden_1_bn \(BatchNormalization\) +\(None, 32\) +128/);
    expect(t.out).toMatch(/Non-trainable params: 64/);
    expect(lastJson(t.out).test_accuracy).toBeGreaterThan(0.8);
  }, 120_000);
});
