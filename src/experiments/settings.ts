// What a sweep varies: the settings of an MLP and of its training. Browser-safe.
import type { Backend } from '../backend/backend.js';
import { ValueError } from '../core/errors.js';
import type { Dataset } from '../data/dataset.js';
import { dense, LAYER_ACTIVATIONS } from '../nn/layers.js';
import type { Model } from '../nn/model.js';
import { Sequential } from '../nn/model.js';
import type { LayerToken } from '../nn/spec.js';
import { layersFromSpec, parseToken } from '../nn/spec.js';
import { OPTIMIZERS } from '../optim/optimizers.js';
import type { OptimizerConfig, OptimizerType } from '../optim/optimizers.js';
import { checkOptimizer } from '../optim/optimizers.js';

export type Task = 'classification' | 'regression';

/** An MLP and how it is trained: the hidden layers, activation, optimizer and its rate, batch size and epochs. */
export interface ModelSettings {
  /** Hidden layers: widths of dense layers, or image tokens (src/nn/spec.ts); [] for a linear (or logistic) model. */
  layers: LayerToken[];
  activation: string;
  optimizer: OptimizerType;
  /** Learning rate; undefined takes the optimizer's Keras default. */
  lr?: number;
  momentum?: number;
  /** 1 is stochastic gradient descent; a size at least the training set's is full-batch. */
  batchSize: number;
  epochs: number;
  /** Default sparseCategoricalCrossentropy for classification, meanSquaredError for regression. */
  loss?: string;
}

/** The settings a sweep may vary, in the order tables show them. */
export const SWEEP_KEYS = ['lr', 'layers', 'batchSize', 'optimizer', 'momentum', 'activation', 'epochs'] as const;
export type SweepKey = (typeof SWEEP_KEYS)[number];

/** Lists of values to try, per setting. */
export type SettingsGrid = { [K in SweepKey]?: readonly ModelSettings[K][] };

/** Keras' defaults where Keras has one; `webgrad train`'s 128-unit hidden layer. */
export const DEFAULT_SETTINGS: ModelSettings = { layers: [128], activation: 'relu', optimizer: 'adam', batchSize: 32, epochs: 10 };

/** What the model must fit: features in, classes or targets out. */
export interface ModelShape {
  features: number;
  /** Classes for classification, target width for regression. */
  outputs: number;
  task: Task;
}

/**
 * Builds and compiles a model for one set of settings on the given backend;
 * `train` is the data it is about to be fitted on (a fold's training part),
 * for builders that size something by it, such as a decay schedule.
 */
export type ModelBuilder<S extends ModelSettings> = (settings: S, backend: Backend, train: Dataset) => Model;

const whole = (v: unknown, min: number) => typeof v === 'number' && Number.isInteger(v) && v >= min;

/** Refuses a bad value with a message naming the setting and the run it belongs to; called for every setting before anything trains. */
export function checkSettings(s: ModelSettings, where: string): void {
  const bad = (what: string, need: string, got: unknown) => new ValueError(`${where}: ${what} must be ${need}; got ${JSON.stringify(got)}`);
  if (!Array.isArray(s.layers)) throw bad('layers', 'a list of layer widths or tokens', s.layers);
  s.layers.forEach((t) => {
    if (typeof t === 'number' ? !whole(t, 1) : typeof t !== 'string') throw bad('layers', 'a list of positive whole numbers or layer tokens', s.layers);
    if (typeof t === 'string') parseToken(t, `${where}: layers`);
  });
  if (!(LAYER_ACTIVATIONS as readonly string[]).includes(s.activation)) throw bad('activation', `one of ${LAYER_ACTIVATIONS.join(', ')}`, s.activation);
  if (!(OPTIMIZERS as readonly string[]).includes(s.optimizer)) throw bad('optimizer', `one of ${OPTIMIZERS.join(', ')}`, s.optimizer);
  if (s.lr !== undefined && !(Number.isFinite(s.lr) && s.lr > 0)) throw bad('lr', 'a positive number', s.lr);
  if (s.momentum !== undefined && !(s.momentum >= 0 && s.momentum < 1)) throw bad('momentum', 'in [0, 1)', s.momentum);
  try {
    checkOptimizer({ type: s.optimizer, ...(s.momentum === undefined ? {} : { momentum: s.momentum }) });
  } catch (e) {
    throw new ValueError(`${where}: ${(e as Error).message}`);
  }
  if (!whole(s.batchSize, 1)) throw bad('batchSize', 'a whole number >= 1', s.batchSize);
  if (!whole(s.epochs, 1)) throw bad('epochs', 'a whole number >= 1', s.epochs);
}

/**
 * The default builder, the recipe `webgrad train` uses: ReLU (or the chosen)
 * hidden layers, a softmax output for classes (sigmoid with
 * binaryCrossentropy), a linear one for regression; accuracy or MAE as the metric.
 */
export function mlp(s: ModelSettings, shape: ModelShape, seed: number, backend: Backend): Sequential {
  const classification = shape.task === 'classification';
  const model = new Sequential([], { seed, inputShape: [shape.features] });
  for (const layer of layersFromSpec(s.layers, { activation: s.activation, inputShape: [shape.features] })) model.add(layer);
  const binary = classification && s.loss === 'binaryCrossentropy';
  model.add(dense(shape.outputs, { activation: classification ? (binary ? 'sigmoid' : 'softmax') : 'linear', name: 'output' }));
  const loss = s.loss ?? (classification ? 'sparseCategoricalCrossentropy' : 'meanSquaredError');
  model.compile({ optimizer: { type: s.optimizer, learningRate: s.lr, ...(s.momentum === undefined ? {} : { momentum: s.momentum }) } as OptimizerConfig, loss, metrics: [metricFor(shape.task)], backend });
  return model;
}

/** The metric a sweep ranks and tabulates: accuracy for classes, mean absolute error for regression. */
export function metricFor(task: Task): 'accuracy' | 'mae' {
  return task === 'classification' ? 'accuracy' : 'mae';
}
