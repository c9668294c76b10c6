// The texts the GPT page offers besides the user's own: the CLI's built-in
// corpus, webgrad-docs (its README then docs/*.md in name order, joined by a
// newline, as src/cli/data.ts reads them from the package; MIT, as webgrad).
// Vite bundles the files at build time; the chunk loads only when asked for.
const files = import.meta.glob<string>(['../../../README.md', '../../../docs/*.md'], { query: '?raw', import: 'default' });

/** The file's name, for the CLI's order: README first, then the docs by name (a plain code-unit sort, as readdirSync().sort()). */
const base = (path: string) => path.slice(path.lastIndexOf('/') + 1);

export const BUILTIN_CORPUS = 'webgrad-docs';

/** webgrad-docs, character for character what `webgrad train --data webgrad-docs` reads. */
export async function builtinCorpus(): Promise<string> {
  const readme = Object.keys(files).find((p) => p.endsWith('/README.md') && !p.includes('/docs/'));
  if (!readme) throw new Error('demo: the build holds no README.md for the built-in corpus');
  const docs = Object.keys(files).filter((p) => p.includes('/docs/')).sort((a, b) => (base(a) < base(b) ? -1 : base(a) > base(b) ? 1 : 0));
  const texts = await Promise.all([readme, ...docs].map((p) => files[p]()));
  return texts.join('\n');
}
