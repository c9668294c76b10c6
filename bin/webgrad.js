#!/usr/bin/env node
// The CLI is built into dist/ by `npm run build` (run by npm install/ci through "prepare").
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  console.error('webgrad: dist/cli.js is missing. Run `npm install` (or `npm run build`) in the webgrad folder first.');
  process.exit(1);
}
const { main } = await import(cli.href);
process.exitCode = await main(process.argv.slice(2));
