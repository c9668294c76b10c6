// The README's Playground lessons are links into the page: each must open it
// in a valid state (no key or value refused), and be one of the runs whose
// figures the README quotes (examples/results/playground-lessons.txt, written
// by examples/playground-lessons.sh), read by the page's own parser.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseHash } from '../../src/demo/playground/state.js';

const linksIn = (text: string) => [...text.matchAll(/playground\.html#([^)\s]*)/g)].map((m) => m[1]);

describe("the README's Playground lessons", () => {
  const readme = linksIn(readFileSync('README.md', 'utf8'));
  const measured = linksIn(readFileSync('examples/results/playground-lessons.txt', 'utf8')).map((h) => parseHash(h).state);

  it('are there: four lessons, nine links', () => {
    expect(readme.length).toBe(9);
  });

  it.each(readme.map((h) => [h]))('#%s opens the page with no key or value refused, in the state of a measured run', (hash) => {
    const { state, problems, hasSeed } = parseHash(hash);
    expect(problems).toEqual([]);
    expect(hasSeed).toBe(true);
    expect(measured).toContainEqual(state);
  });
});
