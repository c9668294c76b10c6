// A sweep's results as text and as a chart spec. Browser-safe (the CLI writes the PNG).
import type { ChartSpec, PanelSpec } from '../plot/index.js';
import type { RunResult } from './run.js';
import type { ModelSettings } from './settings.js';
import type { Stat } from './summary.js';
import { meanCurves } from './summary.js';
import type { SweepResult } from './sweep.js';

const percent = (v: number) => `${(v * 100).toFixed(2)}%`;

/** Decimals that give `v` four significant digits (a spread is then written to the same place). */
function decimals(v: number): number {
  return v === 0 ? 4 : Math.min(8, Math.max(0, 3 - Math.floor(Math.log10(Math.abs(v)))));
}

const tiny = (v: number) => v !== 0 && (Math.abs(v) >= 1e6 || Math.abs(v) < 1e-6);

/** A metric's value as tables show it: accuracy in percent, losses and errors with 4 significant digits. */
export function formatMetric(key: string, v: number): string {
  if (!Number.isFinite(v)) return String(v).toLowerCase();
  if (/accuracy/.test(key)) return percent(v);
  return tiny(v) ? v.toExponential(3) : v.toFixed(decimals(v));
}

/** Mean ± spread, the spread written to the mean's last digit: 1.335 ± 0.065, 0.01012 ± 0.00123. */
function formatStat(key: string, s: Stat, spread: boolean): string {
  const mean = formatMetric(key, s.mean);
  if (!spread || !Number.isFinite(s.mean)) return mean;
  if (/accuracy/.test(key)) return `${mean} ± ${percent(s.std)}`;
  return `${mean} ± ${tiny(s.mean) ? s.std.toExponential(3) : s.std.toFixed(decimals(s.mean))}`;
}

/**
 * One progress line: `run 3/12  lr=0.01  fold 2/3  val_loss 0.1234  val_accuracy 95.12%  train_accuracy 97.00%  1.2s  54,321 samples/s`;
 * for a run that blew up, `run 4/12  lr=10  diverged: the loss reached 3.1e+5 in epoch 1, after batch 85 (rule: ...)  0.8s  ...`.
 */
export function formatRun(run: RunResult, done: number, planned: number, folds: number, metric: string): string {
  const fold = folds > 1 ? `  fold ${run.fold + 1}/${folds}` : '';
  const scores = run.diverged ? [`diverged: ${run.diverged.reason}`] : [`val_loss ${formatMetric('loss', run.validation.loss)}`, `val_${metric} ${formatMetric(metric, run.validation[metric])}`, `train_${metric} ${formatMetric(metric, run.train[metric])}`];
  const speed = `${run.seconds.toFixed(1)}s  ${Math.round(run.samplesPerSecond).toLocaleString('en-US')} samples/s`;
  return `run ${done}/${planned}  ${run.name}${fold}  ${scores.join('  ')}  ${speed}`;
}

/**
 * The results table in Markdown (readable in a terminal, pasteable into a
 * README): one row per setting, best first, with mean ± standard deviation
 * over folds.
 */
export function formatTable<S extends ModelSettings>(r: SweepResult<S>): string {
  const k = r.folds.length;
  const spread = k > 1;
  const keys = Object.keys(r.candidates[0]?.params ?? {});
  const m = r.metric;
  const header = ['rank', ...keys, 'val loss', `val ${m}`, `train ${m}`, ...(k > 1 ? ['folds'] : []), 's/run', 'samples/s'];
  const rows = r.summary.map((s, i) => [
    String(i + 1),
    ...keys.map((key) => s.params[key]),
    // A diverged setting's scores are those of blown-up weights: the table says where it blew up instead.
    ...(s.diverged ? [divergedCell(s.diverged, k), '—', '—'] : [
      formatStat('loss', s.valLoss, spread),
      formatStat(m, s.valMetric, spread),
      formatStat(m, s.trainMetric, spread),
    ]),
    ...(k > 1 ? [`${s.runs}/${k}`] : []),
    s.seconds.mean.toFixed(s.seconds.mean < 0.1 ? 3 : 2),
    Math.round(s.samplesPerSecond.mean).toLocaleString('en-US'),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells: string[]) => `| ${cells.map((v, c) => v.padEnd(widths[c])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/** `diverged, epoch 3` (1-based, as the progress lines count), with `(2 of 3 folds)` when not every fold did. */
function divergedCell(d: { runs: number; epoch: number }, folds: number): string {
  return `diverged, epoch ${d.epoch + 1}${folds > 1 ? ` (${d.runs} of ${folds} folds)` : ''}`;
}

/** The refit line: `best: lr=0.01, refitted on all 80 training samples (50 epochs): test loss 0.0101, test mae 0.0800, test R² 0.9876`. */
export function formatRefit<S extends ModelSettings>(r: SweepResult<S>): string | null {
  const f = r.refit;
  if (!f) return null;
  const scores = Object.entries(f.test).map(([key, v]) => (key === 'r2' ? `test R² ${v.toFixed(4)}` : `test ${key} ${formatMetric(key, v)}`));
  return `best: ${f.name}, refitted on all ${f.trainSamples} training samples (${f.epochs} epochs, ${f.seconds.toFixed(1)}s): ${scores.join(', ')}`;
}

/**
 * Learning curves of every setting, averaged over its folds: training and
 * validation loss, training and validation accuracy (or MAE), one colour per
 * setting with a legend. A diverged setting is drawn up to the epoch before it
 * blew up (whose numbers would squash every other curve flat) and named so in
 * the legend: `lr=10: diverged, epoch 1`.
 */
export function curvesChart<S extends ModelSettings>(r: SweepResult<S>, size: { width?: number; height?: number } = {}): ChartSpec {
  const curves = r.candidates.map((c, i) => {
    const runs = r.runs.filter((run) => run.setting === i);
    const diverged = r.summary.find((s) => s.setting === i)?.diverged;
    const name = diverged ? `${c.name}: ${divergedCell(diverged, r.folds.length)}` : c.name;
    return { name, color: i, diverged: Boolean(diverged), curves: meanCurves(runs.map(beforeDivergence)) };
  }).filter((c) => Object.keys(c.curves).length > 0 || c.diverged);
  const panel = (key: string, title: string): PanelSpec => ({
    title,
    xLabel: 'epoch',
    yLabel: key.replace('val_', ''),
    // A setting that diverged in its first epoch has no points left, but keeps its legend entry.
    series: curves.filter((c) => c.curves[key] || c.diverged).map((c) => ({ name: c.name, color: c.color, points: c.curves[key] ?? [] })),
  });
  const m = r.metric;
  const per = r.folds.length > 1 ? ` (mean of ${r.folds.length} folds)` : '';
  return {
    width: size.width ?? 1100,
    height: size.height ?? 800,
    columns: 2,
    panels: [panel('loss', `training loss${per}`), panel('val_loss', `validation loss${per}`), panel(m, `training ${m}${per}`), panel(`val_${m}`, `validation ${m}${per}`)],
  };
}

/** The run's history without the epoch it diverged in and after (the whole run when it did not diverge). */
function beforeDivergence(run: RunResult): RunResult {
  if (!run.diverged) return run;
  const keep = run.diverged.epoch;
  const history = Object.fromEntries(Object.entries(run.history.history).map(([k, v]) => [k, v.slice(0, keep)]));
  return { ...run, history: { ...run.history, epoch: run.history.epoch.slice(0, keep), history } };
}
