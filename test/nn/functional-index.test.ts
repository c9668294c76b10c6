import { expect, it } from 'vitest';
import { add, dense, input, model } from '../../src/index.js';

// The functional API through the public entry point, whose import order differs from the modules' own.
it('input, apply and model work when imported from the package index', () => {
  const x = input({ shape: [5] });
  const m = model({ inputs: x, outputs: add().apply([x, dense(5).apply(x)]) });
  expect(m.outputShape).toEqual([5]);
  expect(() => input({ shape: [0] })).toThrow(/input: shape must be a list of positive whole numbers/);
});
