// The seven input features of a point, as the page shows them: their names
// (the hash keys), labels and values on the CPU, for the input neurons'
// thumbnails (an input is not computed by the model: it is the input).
// A copy of the labels and float64 functions of src/ops/features.ts'
// records, which the public API does not export (yet): typed over
// PointFeature, so a feature added there and missing here fails to compile.
import type { PointFeature } from '../../index.js';
import { POINT_FEATURES } from '../../index.js';

export const FEATURES: readonly PointFeature[] = POINT_FEATURES;
export type Feature = PointFeature;

export const FEATURE_INFO: { readonly [F in Feature]: { label: string; f: (x: number, y: number) => number } } = {
  x: { label: 'X₁', f: (x) => x },
  y: { label: 'X₂', f: (_x, y) => y },
  xSquared: { label: 'X₁²', f: (x) => x * x },
  ySquared: { label: 'X₂²', f: (_x, y) => y * y },
  xTimesY: { label: 'X₁X₂', f: (x, y) => x * y },
  sinX: { label: 'sin(X₁)', f: (x) => Math.sin(x) },
  sinY: { label: 'sin(X₂)', f: (_x, y) => Math.sin(y) },
};
