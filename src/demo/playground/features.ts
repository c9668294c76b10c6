// The seven input features of a point, as the page shows them: their names
// (the hash keys), labels and values on the CPU, for the input neurons'
// thumbnails (an input is not computed by the model: it is the input).
// Each comes from its record in src/ops/features.ts, the one definition the
// PointFeatures layer's kernels and exports are made from.
import type { FeatureRecord, PointFeature } from '../../index.js';
import { featureRecord, POINT_FEATURES } from '../../index.js';

export const FEATURES: readonly PointFeature[] = POINT_FEATURES;
export type Feature = PointFeature;

export const FEATURE_INFO: { readonly [F in Feature]: FeatureRecord } = Object.fromEntries(FEATURES.map((f) => [f, featureRecord(f)])) as { [F in Feature]: FeatureRecord };
