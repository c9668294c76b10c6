// Loss and accuracy against epochs, drawn with webgrad's own chart renderer
// (the one behind `webgrad train --plot`) into a canvas.
import type { SeriesSpec } from '../../index.js';
import { renderChart } from '../../index.js';
import { onePerFrame } from './dom.js';

type Point = [number, number];

interface Track {
  train: Point[];
  val: Point[];
  test: Point[];
}

const empty = (): Track => ({ train: [], val: [], test: [] });

export class Curves {
  private loss = empty();
  private acc = empty();
  private epochs = 1;
  /** Where the validation curve's data comes from, in its legend. */
  private validation = 'validation';
  readonly redraw = onePerFrame(() => this.draw());

  constructor(private canvas: HTMLCanvasElement) {
    new ResizeObserver(() => this.redraw()).observe(canvas);
  }

  /** A new run of `epochs`, holding out `validationSplit` of its training digits (fit's validationSplit) for the validation curve. */
  reset(epochs: number, validationSplit: number): void {
    this.loss = empty();
    this.acc = empty();
    this.epochs = epochs;
    this.validation = validationSplit > 0 ? `validation (${Math.round(validationSplit * 100)}% held out)` : 'validation (none held out)';
    this.redraw();
  }

  /** fit()'s running means over the epoch so far. */
  addLive(at: number, logs: Record<string, number>): void {
    if (Number.isFinite(logs.loss)) this.loss.train.push([at, logs.loss]);
    if (Number.isFinite(logs.accuracy)) this.acc.train.push([at, logs.accuracy]);
    this.redraw();
  }

  /** An epoch's end: train, validation and test figures, at x = epochs done. */
  addEpoch(epoch: number, logs: Record<string, number>): void {
    const x = epoch + 1;
    const add = (t: Track, key: string) => {
      if (Number.isFinite(logs[key])) t.train.push([x, logs[key]]);
      if (Number.isFinite(logs[`val_${key}`])) t.val.push([x, logs[`val_${key}`]]);
      if (Number.isFinite(logs[`test_${key}`])) t.test.push([x, logs[`test_${key}`]]);
    };
    add(this.loss, 'loss');
    add(this.acc, 'accuracy');
    this.redraw();
  }

  private series(t: Track): SeriesSpec[] {
    return [
      { name: 'train', points: t.train, color: 0 },
      { name: this.validation, points: t.val, color: 1, dashed: true },
      { name: 'test', points: t.test, color: 2 },
    ];
  }

  private draw(): void {
    const dpr = Math.min(3, window.devicePixelRatio || 1);
    const width = Math.max(300, Math.round(this.canvas.clientWidth * dpr));
    const height = Math.max(150, Math.round(this.canvas.clientHeight * dpr));
    const xRange: [number, number] = [0, this.epochs];
    const accLow = Math.min(0.8, ...this.acc.train.map((p) => p[1]), ...this.acc.val.map((p) => p[1]), ...this.acc.test.map((p) => p[1]));
    const chart = renderChart({
      width,
      height,
      textScale: Math.max(1, Math.round(dpr * 1.5)),
      panels: [
        { title: 'loss', xLabel: 'epoch', series: this.series(this.loss), xRange },
        { title: 'accuracy', xLabel: 'epoch', series: this.series(this.acc), xRange, yRange: [Math.max(0, Math.floor(accLow * 20) / 20), 1] },
      ],
    });
    this.canvas.width = width;
    this.canvas.height = height;
    this.canvas.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(chart.rgba.buffer as ArrayBuffer, chart.rgba.byteOffset, chart.rgba.length), width, height), 0, 0);
  }
}
