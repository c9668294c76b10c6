import { ValueError } from '../core/errors.js';
import type { Random } from '../core/random.js';

export const INITIALIZERS = ['glorotUniform', 'glorotNormal', 'heUniform', 'heNormal', 'lecunNormal', 'zeros', 'ones', 'randomNormal', 'randomUniform', 'orthogonal'] as const;
export type InitializerName = (typeof INITIALIZERS)[number];

/** Keras draws its "normal" initializers from a normal truncated at 2σ; this corrects σ for the truncation. */
const TRUNCATED_STD = 0.8796256610342398;

/**
 * Initial values for a weight of the given fan-in and fan-out, as Keras
 * defines each initializer (Glorot for Dense kernels by default, zeros for biases).
 */
export function initialize(name: InitializerName, n: number, fanIn: number, fanOut: number, rng: Random): Float32Array {
  const out = new Float32Array(n);
  const truncated = (std: number) => {
    for (let i = 0; i < n; i++) {
      let v: number;
      do v = rng.normal();
      while (Math.abs(v) > 2);
      out[i] = (v * std) / TRUNCATED_STD;
    }
  };
  const uniform = (limit: number) => {
    for (let i = 0; i < n; i++) out[i] = rng.uniform(-limit, limit);
  };
  switch (name) {
    case 'glorotUniform': uniform(Math.sqrt(6 / (fanIn + fanOut))); break;
    case 'glorotNormal': truncated(Math.sqrt(2 / (fanIn + fanOut))); break;
    case 'heUniform': uniform(Math.sqrt(6 / fanIn)); break;
    case 'heNormal': truncated(Math.sqrt(2 / fanIn)); break;
    case 'lecunNormal': truncated(Math.sqrt(1 / fanIn)); break;
    case 'randomNormal': for (let i = 0; i < n; i++) out[i] = rng.normal(0, 0.05); break;
    case 'randomUniform': uniform(0.05); break;
    case 'ones': out.fill(1); break;
    case 'zeros': break;
    case 'orthogonal': out.set(orthogonal(fanIn, fanOut, rng)); break;
    default: throw new ValueError(`unknown initializer '${name}' (known: ${INITIALIZERS.join(', ')})`);
  }
  return out;
}

/**
 * Keras' Orthogonal (gain 1) for a [rows, cols] matrix: a standard normal
 * matrix of shape [max, min] made orthonormal by QR (here modified
 * Gram–Schmidt in float64, whose R has a positive diagonal, so no sign fix is
 * due), transposed when there are fewer rows than columns. The rows (or the
 * columns, whichever are fewer) come out orthonormal: a recurrent kernel
 * [units, gates·units] that neither grows nor shrinks the state at the start.
 */
export function orthogonal(rows: number, cols: number, rng: Random): Float32Array {
  const [m, n] = [Math.max(rows, cols), Math.min(rows, cols)];
  const q = Array.from({ length: n }, () => Float64Array.from({ length: m }, () => rng.normal()));
  for (let j = 0; j < n; j++) {
    for (let k = 0; k < j; k++) {
      let dot = 0;
      for (let i = 0; i < m; i++) dot += q[k][i] * q[j][i];
      for (let i = 0; i < m; i++) q[j][i] -= dot * q[k][i];
    }
    const norm = Math.hypot(...q[j]);
    for (let i = 0; i < m; i++) q[j][i] /= norm;
  }
  // q[j] is column j of the [m, n] matrix; lay it out as [rows, cols].
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[rows >= cols ? i * cols + j : j * cols + i] = q[j][i];
  return out;
}

export function checkInitializer(name: string): InitializerName {
  if (!(INITIALIZERS as readonly string[]).includes(name)) throw new ValueError(`unknown initializer '${name}' (known: ${INITIALIZERS.join(', ')})`);
  return name as InitializerName;
}
