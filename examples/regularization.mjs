// Two lessons of the course, run on the built-in digits with the library's API
// (Keras' names), every seed reported:
//
// 1. Overfitting. A wide MLP (784-512-512-10) on 1,000 training digits learns
//    them by heart: its validation loss turns up while its training loss keeps
//    falling. Dropout (0.2 on the pixels, 0.5 after each hidden layer) and an
//    L2 penalty on every kernel each lower the best validation loss and shrink
//    the gap between the training and validation cross-entropy.
// 2. Vanishing gradients. A deep, narrow sigmoid MLP (8 hidden layers of 64)
//    trained with plain SGD barely moves: the gradient shrinks by sigmoid's
//    slope (≤ 1/4) at every layer on its way back. Batch normalization after
//    each hidden layer keeps the pre-activations where the slope is large,
//    and the same network trains.
//
// Usage: bash examples/regularization.sh (builds dist/, then runs this), or
// node examples/regularization.mjs [OUT_DIR] [--quick] [--only overfitting|vanishing] [--l2 F]
// [--configs none,dropout,l2]. Writes OUT_DIR/overfitting.{txt,png}
// and OUT_DIR/vanishing.{txt,png} (default examples/results). --quick runs 2
// epochs of each, to check the script.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { batchNormalization, dense, dropout, flatten, l2, loadBuiltinMnist, renderChart, sequential, shuffleDataset, take, writePng } from '../dist/node.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const flag = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const only = flag('--only', 'both');
const outDir = args.find((a, i) => !a.startsWith('--') && !['--only', '--l2', '--configs'].includes(args[i - 1])) ?? 'examples/results';
const CONFIGS = flag('--configs', 'none,dropout,l2').split(',');
mkdirSync(outDir, { recursive: true });

const SEEDS = [1, 2, 3];
const L2 = Number(flag('--l2', '1e-3'));
const range = (a, b) => Array.from({ length: b - a }, (_, i) => a + i);
const asInput = (ds) => [{ data: ds.x, shape: ds.xShape }, { data: ds.y, shape: ds.yShape }];
const pct = (v) => `${(100 * v).toFixed(2)}%`;
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

const { train, test } = loadBuiltinMnist();

/**
 * Trains one model; returns its history, with the validation loss split into cross-entropy and penalty,
 * and (with `trainSet`) the training set's cross-entropy in inference mode at each epoch's end.
 */
async function run(model, data, val, { epochs, batchSize, optimizer, penalty, trainSet }) {
  model.compile({ optimizer, loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const valCrossEntropy = [];
  const trainCrossEntropy = [];
  // Keras' val_loss includes the regularizers' penalty; the lesson compares the cross-entropy, so the
  // penalty (computed from the weights at each epoch's end, as the validation pass saw them) is taken out.
  // Keras' training loss is measured while training (dropout on, penalty in): the gap uses the training
  // set's cross-entropy evaluated as the validation set's is, in inference mode.
  const split = {
    async onEpochEnd(_epoch, logs) {
      const p = penalty ? penalty(await model.getWeights()) : 0;
      valCrossEntropy.push(logs.val_loss - p);
      if (trainSet) trainCrossEntropy.push((await model.evaluate(...trainSet)).loss - p);
    },
  };
  const t0 = performance.now();
  const h = await model.fit(...data, { epochs, batchSize, validationData: val, callbacks: [split], verbose: 0 });
  const seconds = (performance.now() - t0) / 1000;
  model.dispose();
  return { ...h.history, val_cross_entropy: valCrossEntropy, train_cross_entropy: trainCrossEntropy, seconds };
}

// ---------------------------------------------------------------- lesson 1
async function overfitting() {
  const pool = shuffleDataset(train, 20240601);
  const small = asInput(take(pool, range(0, 1000)));
  const val = asInput(take(pool, range(1000, 3000)));
  const hidden = (extra) => [dense(512, { activation: 'relu', ...extra }), dense(512, { activation: 'relu', ...extra })];
  // Kernels are weights 0, 2 and 4 (kernel, bias per Dense layer).
  const l2Penalty = (w) => L2 * [0, 2, 4].reduce((s, i) => s + w[i].reduce((a, v) => a + v * v, 0), 0);
  const configs = {
    'no regularization': () => [flatten({ inputShape: [28, 28, 1] }), ...hidden({}), dense(10, { activation: 'softmax' })],
    // Srivastava et al. (2014)'s recipe: 0.2 on the inputs, 0.5 on the hidden units.
    'dropout 0.2 / 0.5': () => {
      const [h1, h2] = hidden({});
      return [flatten({ inputShape: [28, 28, 1] }), dropout(0.2), h1, dropout(0.5), h2, dropout(0.5), dense(10, { activation: 'softmax' })];
    },
    [`L2 ${L2}`]: () => [flatten({ inputShape: [28, 28, 1] }), ...hidden({ kernelRegularizer: l2(L2) }), dense(10, { activation: 'softmax', kernelRegularizer: l2(L2) })],
  };
  const epochs = quick ? 2 : 40;
  const lines = [
    `Overfitting: 784-512-512-10 ReLU, Adam 0.001, batch 32, ${epochs} epochs, 1,000 training digits, 2,000 validation digits (both from the built-in training set)`,
    'per seed: best validation cross-entropy (its epoch); at the last epoch the cross-entropy of the training and validation digits, both in inference mode, and their gap; the accuracies (training: as fit reports it, while training)',
    '',
  ];
  const results = {};
  const chosen = Object.entries(configs).filter(([name]) => CONFIGS.some((c) => name.toLowerCase().startsWith(c === 'none' ? 'no ' : c)));
  for (const [name, layers] of chosen) {
    results[name] = [];
    for (const seed of SEEDS) {
      const h = await run(sequential(layers(), { seed }), small, val, { epochs, batchSize: 32, optimizer: 'adam', penalty: name.startsWith('L2') ? l2Penalty : null, trainSet: small });
      const best = Math.min(...h.val_cross_entropy);
      const at = h.val_cross_entropy.indexOf(best) + 1;
      const last = epochs - 1;
      const gap = h.val_cross_entropy[last] - h.train_cross_entropy[last];
      results[name].push({ seed, best, at, gap, h });
      lines.push(
        `${name.padEnd(18)} seed ${seed}: best val cross-entropy ${best.toFixed(4)} (epoch ${at}); last epoch: cross-entropy train ${h.train_cross_entropy[last].toFixed(4)}, val ${h.val_cross_entropy[last].toFixed(4)}, gap ${gap.toFixed(4)}; accuracy train ${pct(h.accuracy[last])}, val ${pct(h.val_accuracy[last])} (${h.seconds.toFixed(0)} s)`,
      );
      console.log(lines.at(-1));
    }
  }
  lines.push('', '| | best validation cross-entropy (mean of 3 seeds) | validation − training cross-entropy at the end (mean) | validation accuracy at the end (mean) |', '|---|---|---|---|');
  for (const [name, rs] of Object.entries(results)) {
    lines.push(`| ${name} | ${mean(rs.map((r) => r.best)).toFixed(4)} | ${mean(rs.map((r) => r.gap)).toFixed(4)} | ${pct(mean(rs.map((r) => r.h.val_accuracy[epochs - 1])))} |`);
  }
  const base = results['no regularization'];
  for (const name of Object.keys(results).filter((n) => base && n !== 'no regularization')) {
    const lower = results[name].filter((r, i) => r.best < base[i].best).length;
    const smaller = results[name].filter((r, i) => r.gap < base[i].gap).length;
    lines.push(`${name}: lower best validation cross-entropy than no regularization in ${lower} of ${SEEDS.length} seeds, smaller gap in ${smaller} of ${SEEDS.length}`);
  }
  writeFileSync(join(outDir, 'overfitting.txt'), `${lines.join('\n')}\n`);
  console.log(lines.slice(-6).join('\n'));
  // Seed 1's curves: training loss solid, validation cross-entropy dashed, one colour per configuration.
  const curve = (ys) => ys.map((v, e) => [e + 1, v]);
  const chart = renderChart({
    width: 1000,
    height: 450,
    panels: [
      {
        title: 'cross-entropy, seed 1 (inference mode)',
        xLabel: 'epoch',
        yLabel: 'cross-entropy',
        series: Object.entries(results).flatMap(([name, rs], i) => [
          { name: `${name} train`, points: curve(rs[0].h.train_cross_entropy), color: i },
          { name: `${name} validation`, points: curve(rs[0].h.val_cross_entropy), color: i, dashed: true },
        ]),
      },
      {
        title: 'accuracy, seed 1',
        xLabel: 'epoch',
        yLabel: 'accuracy',
        series: Object.entries(results).flatMap(([name, rs], i) => [
          { name: `${name} train`, points: curve(rs[0].h.accuracy), color: i },
          { name: `${name} validation`, points: curve(rs[0].h.val_accuracy), color: i, dashed: true },
        ]),
      },
    ],
  });
  writePng(join(outDir, 'overfitting.png'), chart);
}

// ---------------------------------------------------------------- lesson 2
async function vanishing() {
  const data = asInput(train);
  const val = asInput(test);
  const deep = (bn) => {
    const layers = [flatten({ inputShape: [28, 28, 1] })];
    for (let i = 0; i < 8; i++) {
      layers.push(dense(64, { activation: 'sigmoid' }));
      if (bn) layers.push(batchNormalization());
    }
    return [...layers, dense(10, { activation: 'softmax' })];
  };
  const epochs = quick ? 2 : 10;
  const lines = [
    `Vanishing gradients: 784-(64 sigmoid)×8-10, plain SGD at 0.1, batch 32, ${epochs} epochs, the 8,000 built-in training digits; test accuracy on the 2,000 test digits`,
    '',
  ];
  const results = {};
  for (const bn of [false, true]) {
    const name = bn ? 'with batch normalization' : 'without batch normalization';
    results[name] = [];
    for (const seed of SEEDS) {
      const h = await run(sequential(deep(bn), { seed }), data, val, { epochs, batchSize: 32, optimizer: { type: 'sgd', learningRate: 0.1 } });
      results[name].push(h);
      const last = epochs - 1;
      lines.push(`${name.padEnd(28)} seed ${seed}: training loss ${h.loss[0].toFixed(4)} → ${h.loss[last].toFixed(4)}, training accuracy ${pct(h.accuracy[last])}, test accuracy ${pct(h.val_accuracy[last])} (${h.seconds.toFixed(0)} s)`);
      console.log(lines.at(-1));
    }
  }
  writeFileSync(join(outDir, 'vanishing.txt'), `${lines.join('\n')}\n`);
  const curve = (ys) => ys.map((v, e) => [e + 1, v]);
  const chart = renderChart({
    width: 1000,
    height: 450,
    panels: [
      { title: 'training loss (every seed)', xLabel: 'epoch', yLabel: 'loss', series: Object.entries(results).flatMap(([name, hs], i) => hs.map((h, s) => ({ name: `${name} seed ${s + 1}`, points: curve(h.loss), color: i }))) },
      { title: 'test accuracy (every seed)', xLabel: 'epoch', yLabel: 'accuracy', series: Object.entries(results).flatMap(([name, hs], i) => hs.map((h, s) => ({ name: `${name} seed ${s + 1}`, points: curve(h.val_accuracy), color: i, dashed: true }))) },
    ],
  });
  writePng(join(outDir, 'vanishing.png'), chart);
}

if (only !== 'vanishing') await overfitting();
if (only !== 'overfitting') await vanishing();
