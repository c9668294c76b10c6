// Writes the course's linear-regression data: 100 points of y = 2x + 1 + noise,
// x uniform in [0, 1], noise normal with σ = 0.1, from a fixed seed (so every
// run of the examples sees the same points). Usage: node examples/linear-data.mjs OUT.csv
import { writeFileSync } from 'node:fs';

const out = process.argv[2];
if (!out) {
  console.error('usage: node examples/linear-data.mjs OUT.csv');
  process.exit(2);
}

// mulberry32: a small seeded generator; Box–Muller turns two uniforms into a normal.
let state = 20240601;
const uniform = () => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());

const rows = ['x,y'];
for (let i = 0; i < 100; i++) {
  const x = uniform();
  rows.push(`${x.toFixed(6)},${(2 * x + 1 + 0.1 * normal()).toFixed(6)}`);
}
writeFileSync(out, rows.join('\n') + '\n');
console.log(`wrote 100 points of y = 2x + 1 + N(0, 0.1²) to ${out}`);
