import type { Backend } from '../backend/backend.js';
import type { Dataset } from '../data/dataset.js';
import { describeSamples, featureSize } from '../data/dataset.js';
import { existsSync } from 'node:fs';
import { ValueError } from '../core/errors.js';
import type { StandardParams } from '../data/transform.js';
import { standardScaler } from '../data/transform.js';
import type { Callback } from '../nn/callbacks.js';
import type { Divergence } from '../nn/callbacks.js';
import { earlyStopping, terminateOnDivergence } from '../nn/callbacks.js';
import type { Layer } from '../nn/layers.js';
import { dense, pointFeatures } from '../nn/layers.js';
import { layersFromSpec } from '../nn/spec.js';
import type { Model } from '../nn/model.js';
import { Sequential } from '../nn/model.js';
import { gpt } from '../nn/gpt.js';
import { openBackend } from '../nn/runtime.js';
import { regressionScores } from '../nn/scores.js';
import type { History } from '../nn/train.js';
import type { LearningRate, OptimizerConfig } from '../optim/optimizers.js';
import { makeOptimizer } from '../optim/optimizers.js';
import { parseArgs } from './args.js';
import type { LoadedData } from './data.js';
import { loadData } from './data.js';
import { checkOutputPath } from './output.js';
import { writeHistoryPlot } from './report.js';
import { describeDevice } from './selfcheck.js';
import type { TrainOptions } from './train-options.js';
import { TRAIN_BOOLEANS, TRAIN_FLAGS, TRAIN_ONLY_BOOLEANS, trainOptions } from './train-options.js';

/**
 * The backend for a CLI run. Asked for explicitly, WebGPU must be there;
 * by default a missing adapter is reported (what was tried, how to get one)
 * before training starts on the CPU.
 */
export async function cliBackend(choice: 'webgpu' | 'cpu' | undefined, log: (s: string) => void): Promise<Backend> {
  return openBackend(choice ?? 'auto', (message) => log(`webgrad: ${message}`));
}

export function buildModel(o: TrainOptions, data: LoadedData, backend: Backend | 'cpu' | 'webgpu'): Model {
  const classification = data.task === 'classification';
  const model = o.gpt ? gptModel(o, data) : chainModel(o, data);
  const loss = o.loss ?? (classification ? 'sparseCategoricalCrossentropy' : 'meanSquaredError');
  const initial = o.lr ?? makeOptimizer(o.optimizer).config.learningRate;
  const trained = Math.floor(data.train.xShape[0] * (1 - o.validationSplit));
  const decaySteps = o.epochs * Math.ceil(trained / Math.min(o.batchSize, trained));
  if (o.warmupSteps !== undefined && o.warmupSteps >= decaySteps) {
    throw new ValueError(`--warmup-steps ${o.warmupSteps} leaves nothing of the run's ${decaySteps} steps (${o.epochs} epochs of ${decaySteps / o.epochs}) for the cosine; give fewer`);
  }
  const learningRate: LearningRate | undefined =
    o.lrSchedule !== 'cosine'
      ? o.lr
      : o.warmupSteps === undefined
        ? { type: 'cosineDecay', initialLearningRate: initial as number, decaySteps }
        : // Keras' CosineDecay(0, decay, warmup_target=rate, warmup_steps=N): from 0 up to the rate, then down to 0 by the run's end.
          { type: 'cosineDecay', initialLearningRate: 0, decaySteps: decaySteps - o.warmupSteps, warmupTarget: initial as number, warmupSteps: o.warmupSteps };
  const given = { momentum: o.momentum, clipnorm: o.clipnorm, globalClipnorm: o.globalClipnorm, clipvalue: o.clipvalue, weightDecay: o.weightDecay, excludeFromWeightDecay: o.excludeFromWeightDecay };
  const optimizer = { type: o.optimizer, learningRate, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) } as OptimizerConfig;
  model.compile({ optimizer, loss, metrics: classification ? ['accuracy'] : ['mae'], backend });
  // Label i means classNames[i]: saved with the model, so evaluate maps a file's labels the same way.
  if (classification && data.train.classNames) model.setClassNames(data.train.classNames);
  // A character model keeps its characters: the ids it reads and the classes it predicts.
  if (data.vocabulary) model.setVocabulary(data.vocabulary);
  return model;
}

/** --layers gpt: a GPT over the text's windows, predicting the next character at every step. */
function gptModel(o: TrainOptions, data: LoadedData): Model {
  if (!data.vocabulary) throw new ValueError('--layers gpt: a GPT is a character model; give it text (--data FILE.txt, FILE.md or webgrad-docs)');
  if (o.l1 || o.l2 || o.batchNorm || o.features) throw new ValueError('--layers gpt: --l1, --l2, --batch-norm and --features apply to a --layers chain, not to a GPT (its regularization is --dropout and --weight-decay)');
  return gpt({ vocabularySize: data.vocabulary.length, contextLength: data.train.xShape[1], ...o.gpt!, dropout: o.dropout, seed: o.seed });
}

/** The --layers chain and the output layer. */
function chainModel(o: TrainOptions, data: LoadedData): Sequential {
  const inputShape = data.train.xShape.slice(1);
  const classification = data.task === 'classification';
  const outputs = classification ? data.train.classes ?? 0 : (data.train.yShape[1] ?? 1);
  const model = new Sequential([], { seed: o.seed, inputShape });
  const first = featuresLayer(o, inputShape);
  if (first) model.add(first);
  // --l1 and --l2 put a kernel penalty on every dense and conv layer, the output layer included.
  const regularizer = o.l1 || o.l2 ? { l1: o.l1, l2: o.l2 } : undefined;
  const features = first ? first.outputShape(inputShape) : inputShape;
  const text = data.vocabulary ? { vocabulary: data.vocabulary.length, sequenceTargets: true } : {};
  for (const layer of layersFromSpec(o.layers, { activation: o.activation, inputShape: features, batchNorm: o.batchNorm, dropout: o.dropout, regularizer, ...text })) model.add(layer);
  const binary = classification && o.loss === 'binaryCrossentropy';
  model.add(dense(outputs, { activation: classification ? (binary ? 'sigmoid' : 'softmax') : 'linear', name: 'output', ...(regularizer ? { kernelRegularizer: regularizer } : {}) }));
  return model;
}

/**
 * --features: the Playground's features of points (x, y), computed inside the
 * model by its first layer, so that the saved model predicts from x and y
 * alone. None where they are x and y as they come.
 */
function featuresLayer(o: TrainOptions, inputShape: number[]): Layer | null {
  if (!o.features) return null;
  if (inputShape.length !== 1 || inputShape[0] !== 2) throw new ValueError(`--features makes features of points (x, y); the data has ${describeSamples([0, ...inputShape])}`);
  if (o.features.join() === 'x,y') return null;
  return pointFeatures(o.features, { name: 'features' });
}

/**
 * The standardisation of the rows that are trained on (not validation, not
 * test). The model keeps it and applies it to every input, and the file
 * saves it, so evaluate and predict feed the model what it was trained on.
 */
function standardization(data: LoadedData, validationSplit: number): StandardParams {
  const n = data.train.xShape[0];
  const cut = Math.floor(n * (1 - validationSplit));
  const F = featureSize(data.train.xShape);
  return standardScaler({ x: data.train.x.subarray(0, cut * F), xShape: [cut, F] }).params;
}

/** The one-line message for a diverged run: where, the loss and the rule it broke, what was kept, what to try. */
export function divergenceMessage(stop: Divergence, o: TrainOptions): string {
  const lr = o.lr ?? makeOptimizer(o.optimizer).config.learningRate;
  const saved = o.save ? ` Nothing was saved${existsSync(o.save) ? `; the model already at ${o.save} is unchanged` : ''}.` : '';
  return `training diverged: ${stop.reason}. Training stopped.${saved} Try a lower learning rate (--lr ${typeof lr === 'number' ? lr / 10 : 'smaller'}), --standardize for features of large scale, or another --optimizer.`;
}

const asInput = (d: Dataset) => [{ data: d.x, shape: d.xShape }, { data: d.y, shape: d.yShape }] as const;

/** `webgrad train`: trains an MLP and reports test accuracy (or R² and MSE for regression). */
export async function train(argv: string[]): Promise<number> {
  const o = trainOptions(parseArgs(argv, TRAIN_FLAGS, [...TRAIN_BOOLEANS, ...TRAIN_ONLY_BOOLEANS]));
  checkOutputPath('save', o.save);
  checkOutputPath('plot', o.plot);
  const say = (s: string) => console.log(s);
  const started = Date.now();
  const backend = await cliBackend(o.backend, (s) => console.error(s));
  let model: Model | null = null;
  try {
    const data = loadData({ data: o.data, testData: o.testData, labelColumn: o.labelColumn, task: o.task, seed: o.seed, toy: o.toy, context: o.context });
    for (const n of data.notices) console.error(`webgrad train: ${n}`);
    say(`data: ${data.source}: ${data.train.xShape[0]} training and ${data.test.xShape[0]} test samples, ${describeSamples(data.train.xShape)}, ${data.task}`);
    say(`backend: ${backend.kind} — ${describeDevice(backend.describe())}`);
    model = buildModel(o, data, backend);
    if (o.standardize) model.setScaler(standardization(data, o.validationSplit));
    // Saved with the model: `webgrad export --to pytorch` names it in the torchrun line it prints.
    model.trainingData = { data: o.data ?? 'mnist', ...(o.labelColumn === undefined ? {} : { labelColumn: o.labelColumn }) };
    model.summary(say);
    // On by default: a run that blows up (NaN, or 10× its first loss) stops, says so and saves nothing.
    const diverged = terminateOnDivergence();
    const callbacks: Callback[] = [diverged, ...(o.earlyStopping !== undefined ? [earlyStopping({ patience: o.earlyStopping, restoreBestWeights: true })] : [])];
    const [x, y] = asInput(data.train);
    const history: History = await model.fit(x, y, { epochs: o.epochs, batchSize: o.batchSize, validationSplit: o.validationSplit || undefined, callbacks, verbose: 1, recomputeBatchNormStatistics: o.bnRecompute });
    if (diverged.stopped) {
      console.error(`webgrad train: ${divergenceMessage(diverged.stopped, o)}`);
      return 1;
    }
    const [tx, ty] = asInput(data.test);
    const test = await model.evaluate(tx, ty);
    const h = history.history;
    const result: Record<string, unknown> = {
      backend: backend.kind,
      adapter: describeDevice(backend.describe()),
      epochs: history.epoch.length,
      train_loss: h.loss.at(-1),
      val_loss: h.val_loss?.at(-1) ?? null,
      test_loss: test.loss,
    };
    if (data.task === 'classification') {
      result.train_accuracy = h.accuracy.at(-1);
      result.val_accuracy = h.val_accuracy?.at(-1) ?? null;
      result.test_accuracy = test.accuracy;
      if (data.vocabulary) {
        // Nats per character: the mean −ln p(next character), as nanoGPT reports it; e^loss is the perplexity.
        result.test_nats_per_char = test.loss;
        say(`test loss: ${test.loss.toFixed(4)} nats per character (perplexity ${Math.exp(test.loss).toFixed(2)}), next-character accuracy ${(test.accuracy * 100).toFixed(2)}%`);
      } else say(`test accuracy: ${(test.accuracy * 100).toFixed(2)}% (test loss ${test.loss.toFixed(4)})`);
    } else {
      const { r2, mse } = regressionScores(data.test.y, (await model.predict({ data: data.test.x, shape: data.test.xShape })).data);
      Object.assign(result, { test_r2: r2, test_mse: mse });
      say(`test R²: ${r2.toFixed(4)}, test MSE: ${mse.toPrecision(4)}`);
    }
    result.samples_per_second = Math.round(history.samplesPerSecond);
    if (o.save) {
      await model.save(o.save);
      say(`saved the model to ${o.save}`);
    }
    if (o.plot) {
      writeHistoryPlot(o.plot, [{ name: 'run', history }], data.task);
      say(`wrote learning curves to ${o.plot}`);
    }
    result.seconds = Number(((Date.now() - started) / 1000).toFixed(2));
    if (o.json) say(JSON.stringify(result));
    return 0;
  } finally {
    model?.dispose();
    backend.dispose();
  }
}
