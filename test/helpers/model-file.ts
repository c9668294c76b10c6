import type { Model } from '../../src/index.js';

/** A model's file bytes, its weights drawn by one prediction on zeros on the CPU backend; the model is disposed. */
export async function fileOf(m: Model, inputShape: number[]): Promise<Uint8Array> {
  m.compile({ loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
  await m.predict({ data: new Float32Array(inputShape.reduce((a, b) => a * b, 1)), shape: [1, ...inputShape] });
  const bytes = await m.toBytes();
  m.dispose();
  return bytes;
}
