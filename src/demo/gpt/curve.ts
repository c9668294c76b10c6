// The GPT page's loss against optimizer steps, drawn with webgrad's own chart
// renderer (the one behind `webgrad train --plot` and the MNIST page's curves).
import type { SeriesSpec } from '../../index.js';
import { renderChart } from '../../index.js';
import { onePerFrame } from '../ui/dom.js';

type Point = [number, number];

export class LossCurve {
  private train: Point[] = [];
  private test: Point[] = [];
  /** ln(vocabulary): the loss of a model that knows nothing, drawn as a level line. */
  private uniform: number | null = null;
  readonly redraw = onePerFrame(() => this.draw());

  constructor(private canvas: HTMLCanvasElement) {
    new ResizeObserver(() => this.redraw()).observe(canvas);
  }

  reset(vocabulary: number | null): void {
    this.train = [];
    this.test = [];
    this.uniform = vocabulary ? Math.log(vocabulary) : null;
    this.redraw();
  }

  /** A chunk's mean training loss, at the step the chunk ended on. */
  addTrain(step: number, loss: number): void {
    if (Number.isFinite(loss)) this.train.push([step, loss]);
    this.redraw();
  }

  addTest(step: number, loss: number): void {
    if (Number.isFinite(loss)) this.test.push([step, loss]);
    this.redraw();
  }

  private draw(): void {
    const dpr = Math.min(3, window.devicePixelRatio || 1);
    const width = Math.max(300, Math.round(this.canvas.clientWidth * dpr));
    const height = Math.max(150, Math.round(this.canvas.clientHeight * dpr));
    const last = Math.max(1, ...this.train.map((p) => p[0]), ...this.test.map((p) => p[0]));
    const series: SeriesSpec[] = [
      { name: 'train (mean over each chunk of steps)', points: this.train, color: 0 },
      { name: 'test (held-out 10%)', points: this.test, color: 2 },
    ];
    if (this.uniform !== null) series.push({ name: 'ln(characters): knowing nothing', points: [[0, this.uniform], [last, this.uniform]], color: 1, dashed: true });
    const chart = renderChart({
      width,
      height,
      textScale: Math.max(1, Math.round(dpr * 1.5)),
      panels: [{ title: 'loss (nats per character)', xLabel: 'step', series, xRange: [0, last] }],
    });
    this.canvas.width = width;
    this.canvas.height = height;
    this.canvas.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(chart.rgba.buffer as ArrayBuffer, chart.rgba.byteOffset, chart.rgba.length), width, height), 0, 0);
  }
}
