// Experiments: hyperparameter sweeps, k-fold cross-validation, learning-curve comparisons. Browser-safe.
export type { Candidate, SweepOptions, SweepResult } from './sweep.js';
export { gridCandidates, sweep } from './sweep.js';
export type { CrossValidateOptions, CrossValidateResult } from './crossval.js';
export { crossValidate } from './crossval.js';
export type { ModelBuilder, ModelSettings, ModelShape, SettingsGrid, SweepKey, Task } from './settings.js';
export { checkSettings, DEFAULT_SETTINGS, metricFor, mlp, SWEEP_KEYS } from './settings.js';
export type { RefitResult, RunResult } from './run.js';
export { regressionScores } from '../nn/scores.js';
export type { SettingSummary, Stat } from './summary.js';
export { meanCurves, summarize } from './summary.js';
export { curvesChart, formatRefit, formatRun, formatTable } from './report.js';
export { formatValue, grid, settingName } from './grid.js';
