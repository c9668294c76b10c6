import type { Model } from '../../index.js';
import { digitShape } from './model.js';
import type { Digits, Insight } from './protocol.js';

/** Arg-max and its probability, per row of [n, classes] probabilities. */
export function argmaxRows(probs: Float32Array, classes: number): { predicted: Uint8Array; confidence: Float32Array } {
  const n = probs.length / classes;
  const predicted = new Uint8Array(n);
  const confidence = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (probs[i * classes + c] > probs[i * classes + best]) best = c;
    predicted[i] = best;
    confidence[i] = probs[i * classes + best];
  }
  return { predicted, confidence };
}

/**
 * Predictions on the whole test set and the first layer's kernel; with
 * `evaluate`, also the test loss and accuracy from model.evaluate (the
 * figure the page reports as test accuracy).
 */
export async function takeInsight(model: Model, test: Digits, at: number, evaluate: boolean): Promise<Insight> {
  const x = { data: test.x, shape: [test.n, ...digitShape(model, test.side)!] };
  const probs = await model.predict(x, { batchSize: 500 });
  const { predicted, confidence } = argmaxRows(probs.data, probs.shape[1]);
  let result: Insight['test'] = null;
  if (evaluate) {
    const logs = await model.evaluate(x, { data: test.y, shape: [test.n] }, { batchSize: 500 });
    // A loaded model may have been compiled without the accuracy metric: count the predictions then.
    const accuracy = logs.accuracy ?? predicted.reduce((s, p, i) => s + (p === test.y[i] ? 1 : 0), 0) / test.n;
    result = { loss: logs.loss, accuracy };
  }
  // The first weight of a model is its first Dense or Conv2D layer's kernel.
  const [kernel] = await model.getWeights();
  return { at, predicted, confidence, test: result, kernel, kernelShape: model.paramSpecs()[0].shape };
}
