// What `webgrad predict` does with a model that loaded: its outputs are
// numbers, or the command refuses them in one line naming the model file
// (finite weights, as a flipped bit in a file leaves them, can overflow float32).
import type { Backend } from '../../src/backend/backend.js';
import { refuseNonFinite } from '../../src/cli/use.js';
import type { Model } from '../../src/nn/model.js';
import { judgeError, type Failure } from './mutate.js';

export async function judgePredictions(model: Model, backend: Backend, x: { data: Float32Array; shape: number[] }, source: string): Promise<Omit<Failure, 'what'> | null> {
  model.compile({ ...(model.compileOptions ?? { loss: 'sparseCategoricalCrossentropy' }), backend });
  try {
    const p = await model.predict(x);
    if (p.data.every(Number.isFinite)) return null;
    const inputs = Array.from({ length: p.shape[0] }, (_, i) => `digit${i}.png`);
    try {
      await refuseNonFinite(p.data, p.shape[1], model, source, inputs);
    } catch (e) {
      return judgeError(e, source);
    }
    return { kind: 'a loaded model predicts NaN or Infinity, and predict prints it', detail: `${Array.from(p.data.slice(0, 3))}` };
  } catch (e) {
    return judgeError(e, source);
  } finally {
    model.dispose();
  }
}
