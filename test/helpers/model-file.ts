import type { Model } from '../../src/index.js';

/** Draws a compiled model's weights as its first prediction does: one prediction on zeros of each input's sample shape. */
export async function drawWeights(m: Model, inputShapes: readonly number[][]): Promise<void> {
  const xs = inputShapes.map((shape) => ({ data: new Float32Array(shape.reduce((a, b) => a * b, 1)), shape: [1, ...shape] }));
  await m.predictOutputs(xs.length === 1 ? xs[0] : xs);
}

/** A model's file bytes, its weights drawn by one prediction on zeros on the CPU backend; the model is disposed. */
export async function fileOf(m: Model, inputShape: number[]): Promise<Uint8Array> {
  m.compile({ loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
  await drawWeights(m, [inputShape]);
  const bytes = await m.toBytes();
  m.dispose();
  return bytes;
}
