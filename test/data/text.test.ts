import { describe, expect, it } from 'vitest';
import { encodeText, textDataset, vocabularyOf } from '../../src/data/text.js';

/* Text as a character model's data: the vocabulary, the windows, the split. */

describe('textDataset', () => {
  it('builds the vocabulary of code points, sorted; a character outside the BMP is one character', () => {
    expect(vocabularyOf('banana\n')).toEqual(['\n', 'a', 'b', 'n']);
    expect(vocabularyOf('a😀b')).toEqual(['a', 'b', '😀']);
    expect(Array.from(encodeText('nab', ['\n', 'a', 'b', 'n']))).toEqual([3, 1, 2]);
  });

  it('cuts non-overlapping windows whose labels are the next characters, the last 10% to test', () => {
    const text = 'abcdefghij'.repeat(10); // 100 characters: 90 to train, 10 to test
    const { train, test, vocabulary, trainCharacters, testCharacters } = textDataset(text, { context: 4 });
    expect([trainCharacters, testCharacters]).toEqual([90, 10]);
    expect(vocabulary).toEqual([...'abcdefghij']);
    // (90 − 1) / 4 = 22 windows; the first reads a..d and predicts b..e.
    expect(train.xShape).toEqual([22, 4]);
    expect(train.yShape).toEqual([22, 4]);
    expect(Array.from(train.x.slice(0, 8))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(Array.from(train.y.slice(0, 8))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(train.classes).toBe(10);
    // The test part starts at character 90 ('a'): (10 − 1) / 4 = 2 windows.
    expect(test.xShape).toEqual([2, 4]);
    expect(Array.from(test.x.slice(0, 4))).toEqual([0, 1, 2, 3]);
  });

  it('refuses what cannot make a character model, naming the problem', () => {
    expect(() => textDataset('', { source: 'empty.txt' })).toThrow(/empty.txt: the text is empty/);
    expect(() => textDataset('abc', { context: 0 })).toThrow(/the context must be a whole number of characters, at least 1; got 0/);
    expect(() => textDataset('a'.repeat(50), { context: 64, source: 'short.txt' })).toThrow(/short.txt: 50 characters give the first 90% \(training\) 45, fewer than one window of 64 and its next character; use a longer text or a smaller context \(--context\)/);
    expect(() => textDataset('a'.repeat(100), { context: 16 })).toThrow(/the last 10% \(test\) 10, fewer than one window of 16/);
    expect(() => encodeText('naïve', ['n', 'a', 'v', 'e'], '--prompt')).toThrow(/--prompt: the character "ï" \(U\+00EF, at position 2\) is not in the model's vocabulary of 4 characters/);
  });
});
