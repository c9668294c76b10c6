import { describe, expect, it } from 'vitest';
import { defineOptions, editDistance, nearest, opt } from '../../src/core/options.js';

describe('option sets', () => {
  const set = defineOptions('thing', {
    learningRate: opt.number('step size', { min: 0, minExclusive: true }),
    epochs: opt.integer('passes', { min: 1 }),
    shuffle: opt.boolean('shuffle'),
    mode: opt.oneOf(['min', 'max'] as const, 'direction'),
  }, { lr: 'learningRate' });

  it('returns the given options, leaving out keys set to undefined', () => {
    expect(set.check({ learningRate: 0.1, epochs: 3, shuffle: undefined })).toEqual({ learningRate: 0.1, epochs: 3 });
    expect(set.check(undefined)).toEqual({});
  });

  it('refuses an unknown key by name, with the nearest valid one and the whole list', () => {
    expect(() => set.check({ epoch: 5 })).toThrow("thing: unknown option 'epoch' (did you mean 'epochs'?) (valid: learningRate, epochs, shuffle, mode)");
    expect(() => set.check({ learningrate: 0.5 })).toThrow(/did you mean 'learningRate'/);
    expect(() => set.check({ zzzzzz: 1 })).toThrow("thing: unknown option 'zzzzzz' (valid: learningRate, epochs, shuffle, mode)");
  });

  it("names ours for another library's spelling", () => {
    expect(() => set.check({ lr: 0.1 })).toThrow("thing: unknown option 'lr'; webgrad calls it learningRate");
  });

  it('refuses values of the wrong kind or out of range, naming the key', () => {
    expect(() => set.check({ learningRate: 0 })).toThrow('thing: learningRate must be a finite number > 0, got 0');
    expect(() => set.check({ learningRate: NaN })).toThrow(/learningRate must be a finite number/);
    expect(() => set.check({ epochs: 2.5 })).toThrow('thing: epochs must be a whole number >= 1, got 2.5');
    expect(() => set.check({ shuffle: 'yes' })).toThrow('thing: shuffle must be true or false, got \'yes\'');
    expect(() => set.check({ mode: 'maxx' })).toThrow("thing: mode must be one of 'min', 'max', got 'maxx' (did you mean 'max'?)");
    expect(() => set.check([1])).toThrow(/options must be an object/);
  });

  it('suggests only names near enough to be the intended one', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(nearest('optimiser', ['optimizer', 'loss'])).toBe('optimizer');
    expect(nearest('batch_size', ['batchSize', 'epochs'])).toBe('batchSize');
    expect(nearest('xyz', ['optimizer', 'loss'])).toBeNull();
  });
});
