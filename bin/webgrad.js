#!/usr/bin/env node
// The CLI is built into dist/ by `npm run build` (run by npm install/ci through "prepare").
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  console.error('webgrad: dist/cli.js is missing. Run `npm install` (or `npm run build`) in the webgrad folder first.');
  process.exit(1);
}
// cli() runs the command in a child process that this one filters Dawn's stderr noise from (src/cli/launch.ts).
const { cli: run } = await import(cli.href);
await run(process.argv.slice(2));
