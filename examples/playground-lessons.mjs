// The Playground's four lessons that the README links to, run in Node with the
// library, each model built as the Playground page builds it
// (src/demo/playground/plan.ts: PointFeatures, tanh Dense layers, one tanh
// output on ±1 labels, squared error, SGD, batch 10, the penalty on every
// kernel), on the same points the page draws for the same link (toyPoints with
// the link's seed; the first percTrainData% train). Seeds 1 to 3 each, every
// one printed; the CPU backend (the figures are the same arithmetic as WebGPU's
// up to float32 rounding, and run in seconds here).
//
// Usage: bash examples/playground-lessons.sh (writes examples/results/playground-lessons.txt),
// or node examples/playground-lessons.mjs [--quick]
import { dense, l1, l2, pointFeatures, sequential, toyPoints } from '../dist/index.js';

const quick = process.argv.includes('--quick');
const SEEDS = [1, 2, 3];

/** The page's training: the points, the features, hidden tanh layers, a tanh output, MSE on ±1, SGD. */
async function run({ dataset, noise = 0, percTrainData = 50, features, shape, epochs, learningRate = 0.03, penalty = null, seed }) {
  const points = toyPoints(dataset, { noise, seed });
  const cut = Math.floor((points.length * percTrainData) / 100);
  const xy = (ps) => ({ data: Float32Array.from(ps.flatMap((p) => [p.x, p.y])), shape: [ps.length, 2] });
  const ys = (ps) => ({ data: Float32Array.from(ps, (p) => p.label), shape: [ps.length, 1] });
  const reg = penalty ? { kernelRegularizer: penalty.kind === 'L1' ? l1(penalty.rate) : l2(penalty.rate) } : {};
  const model = sequential([pointFeatures(features, { name: 'features' }), ...shape.map((u, i) => dense(u, { activation: 'tanh', name: `hidden_${i + 1}`, ...reg })), dense(1, { activation: 'tanh', name: 'output', ...reg })], { inputShape: [2], seed });
  model.compile({ optimizer: { type: 'sgd', learningRate }, loss: 'meanSquaredError', backend: 'cpu' });
  const [train, test] = [points.slice(0, cut), points.slice(cut)];
  await model.fit(xy(train), ys(train), { epochs: quick ? 2 : epochs, batchSize: 10, verbose: 0 });
  const score = async (ps) => {
    const p = (await model.predict(xy(ps))).data;
    // The page's loss numbers: mean squared error over the points (without the penalty); accuracy by the sign.
    return { loss: p.reduce((s, v, i) => s + (v - ps[i].label) ** 2, 0) / ps.length, accuracy: p.filter((v, i) => Math.sign(v) === ps[i].label).length / ps.length };
  };
  const result = { train: await score(train), test: await score(test), roughness: await roughness(model), weights: await model.getWeights() };
  model.dispose();
  return result;
}

/** How wiggly the boundary is: the mean |change| of the output between neighbouring cells of the page's 100×100 grid over [−6, 6]². */
async function roughness(model) {
  const n = 100;
  const grid = new Float32Array(n * n * 2);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) grid.set([-6 + (12 * (j + 0.5)) / n, 6 - (12 * (i + 0.5)) / n], 2 * (i * n + j));
  const out = (await model.predict({ data: grid, shape: [n * n, 2] })).data;
  let sum = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j + 1 < n; j++) sum += Math.abs(out[i * n + j + 1] - out[i * n + j]) + Math.abs(out[j * n + i + n] - out[j * n + i]);
  return sum / (2 * n * (n - 1));
}

const pct = (v) => `${(v * 100).toFixed(1)}%`;
const line = (seed, r) => `  seed ${seed}: test loss ${r.test.loss.toFixed(3)} (accuracy ${pct(r.test.accuracy)}), train loss ${r.train.loss.toFixed(3)} (accuracy ${pct(r.train.accuracy)}), roughness ${r.roughness.toFixed(4)}`;

async function lesson(title, link, settings) {
  console.log(`\n${title}\n  playground.html#${link}`);
  const results = [];
  for (const seed of SEEDS) {
    const r = await run({ ...settings, seed });
    console.log(line(seed, r));
    results.push(r);
  }
  return results;
}

const ALL = ['x', 'y', 'xSquared', 'ySquared', 'xTimesY', 'sinX', 'sinY'];
const hash = (o) => Object.entries(o).map(([k, v]) => `${k}=${v}`).join('&');
const features = (on) => Object.fromEntries(ALL.map((f) => [f, on.includes(f)]));

console.log(`# node examples/playground-lessons.mjs${quick ? ' --quick' : ''}: ${new Date().toISOString().slice(0, 10)}`);

// 1. A feature cross: x·y has xor's sign, so one tanh unit on it needs no hidden layer; x and y alone cannot.
await lesson('1. xor, no hidden layer, the feature x·y alone (a feature cross)', hash({ dataset: 'xor', ...features(['xTimesY']), networkShape: '', learningRate: 0.03, seed: 1 }), { dataset: 'xor', features: ['xTimesY'], shape: [], epochs: 50 });
await lesson('   xor, no hidden layer, x and y', hash({ dataset: 'xor', ...features(['x', 'y']), networkShape: '', learningRate: 0.03, seed: 1 }), { dataset: 'xor', features: ['x', 'y'], shape: [], epochs: 50 });

// 2. The spiral: x and y through one small layer fail; depth (six layers, trained longer) or the sine features solve it.
await lesson('2. spiral, x and y, one layer of 8, 1,000 epochs', hash({ dataset: 'spiral', ...features(['x', 'y']), networkShape: '8', learningRate: 0.03, seed: 1 }), { dataset: 'spiral', features: ['x', 'y'], shape: [8], epochs: 1000 });
await lesson('   spiral, x and y, six layers of 8 (depth), 1,000 epochs', hash({ dataset: 'spiral', ...features(['x', 'y']), networkShape: '8,8,8,8,8,8', learningRate: 0.03, seed: 1 }), { dataset: 'spiral', features: ['x', 'y'], shape: [8, 8, 8, 8, 8, 8], epochs: 1000 });
await lesson('   spiral, x, y, sin(x), sin(y), two layers of 8 (the sine features), 300 epochs', hash({ dataset: 'spiral', ...features(['x', 'y', 'sinX', 'sinY']), networkShape: '8,8', learningRate: 0.03, seed: 1 }), { dataset: 'spiral', features: ['x', 'y', 'sinX', 'sinY'], shape: [8, 8], epochs: 300 });

// 3. L1 on circle with every feature and no hidden layer: the weights of the five features the circle does not need go to zero.
for (const [title, penalty] of [['3. circle, all seven features, no hidden layer, no penalty', null], ['   the same with L1 0.01', { kind: 'L1', rate: 0.01 }]]) {
  const link = hash({ dataset: 'circle', ...features(ALL), networkShape: '', learningRate: 0.03, regularization: penalty ? 'L1' : 'none', regularizationRate: penalty ? penalty.rate : 0, seed: 1 });
  const rs = await lesson(title, link, { dataset: 'circle', features: ALL, shape: [], epochs: 200, penalty });
  rs.forEach((r, i) => console.log(`  seed ${SEEDS[i]} weights: ${ALL.map((f, j) => `${f} ${r.weights[0][j].toFixed(3)}`).join(', ')}`));
}

// 4. L2 on noisy data with a small training share: a deep net learns the noise (a wiggly boundary, test loss above train loss); L2 smooths it.
for (const [title, penalty] of [['4. xor, noise 50, 10% training data, six layers of 8, no penalty', null], ['   the same with L2 0.03', { kind: 'L2', rate: 0.03 }]]) {
  const link = hash({ dataset: 'xor', noise: 50, percTrainData: 10, ...features(['x', 'y']), networkShape: '8,8,8,8,8,8', learningRate: 0.03, regularization: penalty ? 'L2' : 'none', regularizationRate: penalty ? penalty.rate : 0, seed: 1 });
  await lesson(title, link, { dataset: 'xor', noise: 50, percTrainData: 10, features: ['x', 'y'], shape: [8, 8, 8, 8, 8, 8], epochs: 500, penalty });
}
