import type { History } from '../nn/train.js';
import { renderChart } from '../plot/index.js';
import type { SeriesSpec } from '../plot/index.js';
import { writePng } from './png.js';

/**
 * Learning curves as a PNG: a loss panel and an accuracy (or MAE) panel,
 * training solid and validation dashed, one colour per run.
 */
export function writeHistoryPlot(path: string, runs: { name: string; history: History }[], task: 'classification' | 'regression'): void {
  const metric = task === 'classification' ? 'accuracy' : 'mae';
  const series = (key: string): SeriesSpec[] =>
    runs.flatMap((run, i) => {
      const out: SeriesSpec[] = [];
      const curve = (k: string) => (run.history.history[k] ?? []).map((v, e) => [run.history.epoch[e] + 1, v] as const);
      const label = runs.length > 1 ? `${run.name} ` : '';
      if (run.history.history[key]) out.push({ name: `${label}train`, points: curve(key), color: i });
      if (run.history.history[`val_${key}`]) out.push({ name: `${label}validation`, points: curve(`val_${key}`), color: i, dashed: true });
      return out;
    });
  const chart = renderChart({
    width: 1000,
    height: 450,
    panels: [
      { title: 'loss', xLabel: 'epoch', yLabel: 'loss', series: series('loss') },
      { title: metric, xLabel: 'epoch', yLabel: metric, series: series(metric) },
    ],
  });
  writePng(path, chart);
}
