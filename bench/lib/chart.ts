// The S1 chart: throughput against batch size and against hidden width, one
// line per system, on log scales (the axes show log2 and log10 values).
import type { ChartSpec, SeriesSpec } from '../../src/index.js';
import type { TrainFigure } from './jobs.js';

function series(figs: TrainFigure[], prefix: string, x: (f: TrainFigure) => number): SeriesSpec[] {
  const systems = [...new Set(figs.map((f) => f.system))];
  return systems.map((s) => ({
    name: s,
    points: figs
      .filter((f) => f.system === s && f.workload.startsWith(prefix))
      .map((f) => [Math.log2(x(f)), Math.log10(f.samplesPerSecond.median)] as const),
  }));
}

/** `tag` names the adapter on the picture itself, e.g. 'llvmpipe, CPU-emulated'. */
export function scalingChart(figs: TrainFigure[], tag: string): ChartSpec {
  return {
    width: 1300,
    height: 480,
    panels: [
      { title: `784-128-10 vs batch size (${tag})`, xLabel: 'log2 batch size', yLabel: 'log10 samples/s', series: series(figs, 'S1-batch-', (f) => f.batch) },
      { title: `784-H-10, batch 128, vs H (${tag})`, xLabel: 'log2 hidden width H', yLabel: 'log10 samples/s', series: series(figs, 'S1-width-', (f) => f.layers[1]) },
    ],
    legend: true,
  };
}
