// The library plus what only Node has: file readers, the bundled digits, PNG
// files. Scripts import it from dist/node.js (examples/regularization.mjs).
export * from './index.js';
export * from './data/node.js';
export { readPng, writePng } from './cli/png.js';
