import { describe, expect, it } from 'vitest';
import { gpt } from '../../src/nn/gpt.js';

describe('gpt(): a small GPT as nanoGPT builds it', () => {
  it("has nanoGPT's parameters (without weight tying, with an output bias) and a class per step", () => {
    const [V, T, D, L] = [65, 64, 128, 4];
    const m = gpt({ vocabularySize: V, contextLength: T });
    expect(m.outputShape).toEqual([T, V]);
    const count = m.paramSpecs().reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
    // wte + wpe + per block (ln 2D, attention 4D² + 4D, ln 2D, MLP 8D² + 5D) + final ln + head (VD + V).
    expect(count).toBe(V * D + T * D + L * (12 * D * D + 13 * D) + 2 * D + V * D + V);
    expect(m.summary(() => {})).toMatch(/block4_attention \(MultiHeadAttention\)\s+\(None, 64, 128\)\s+66,048/);
    m.dispose();
  });

  it('refuses a width the heads do not divide, and a missing size, by name', () => {
    expect(() => gpt({ vocabularySize: 10, contextLength: 8, width: 30, heads: 4 })).toThrow(/width 30 is not a multiple of heads 4/);
    expect(() => gpt({ vocabularySize: 10 } as never)).toThrow(/vocabularySize and contextLength are required/);
    expect(() => gpt({ vocabularySize: 10, contextLength: 8, n_embd: 64 } as never)).toThrow(/n_embd.*width/);
  });
});
