// W7's text in Node: the CLI's built-in corpus (webgrad-docs), read from the
// repository root that the bench runs in. builtinText() finds the package
// from its own module's folder, which in the GPU kit is the unpacked bundle
// in /tmp, with no README beside it; the working tree is the current folder
// there as here (npm run bench, bench/device/run.sh).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The README then each docs/*.md in name order, joined by newlines: builtinText()'s corpus (test/bench/gpt-workload.test.ts holds them equal). */
export function benchCorpus(root = process.cwd()): string {
  const readme = join(root, 'README.md');
  if (!existsSync(readme)) throw new Error(`W7 reads webgrad's README and docs/*.md as its corpus, and there is no README.md in ${root}; run the bench from the repository root (npm run bench)`);
  const docs = join(root, 'docs');
  const files = [readme, ...(existsSync(docs) ? readdirSync(docs).filter((f) => f.endsWith('.md')).sort().map((f) => join(docs, f)) : [])];
  return files.map((f) => readFileSync(f, 'utf8')).join('\n');
}
