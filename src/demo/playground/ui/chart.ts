// The loss against epochs, train in grey and test in black as the
// Playground draws them, on a canvas; the y axis from 0 to the largest loss.
import { fmtLoss } from './format.js';

/** Points kept per line: when full, every other one is dropped, so a long run still fits. */
const KEEP = 600;

export class LossChart {
  private train: [number, number][] = [];
  private test: [number, number][] = [];

  constructor(private readonly canvas: HTMLCanvasElement) {}

  reset(): void {
    this.train = [];
    this.test = [];
    this.draw();
  }

  add(epoch: number, trainLoss: number, testLoss: number): void {
    if (Number.isFinite(trainLoss)) this.train.push([epoch, trainLoss]);
    if (Number.isFinite(testLoss)) this.test.push([epoch, testLoss]);
    for (const line of [this.train, this.test]) if (line.length > KEEP) for (let i = 1; i < line.length; i++) line.splice(i, 1);
    this.draw();
  }

  draw(): void {
    const dpr = Math.min(3, window.devicePixelRatio || 1);
    const w = Math.max(100, Math.round(this.canvas.clientWidth * dpr));
    const h = Math.max(40, Math.round(this.canvas.clientHeight * dpr));
    this.canvas.width = w;
    this.canvas.height = h;
    const ctx = this.canvas.getContext('2d')!;
    ctx.clearRect(0, 0, w, h);
    const all = [...this.train, ...this.test];
    if (all.length === 0) return;
    const x0 = Math.min(...all.map((p) => p[0]));
    const x1 = Math.max(x0 + 1, ...all.map((p) => p[0]));
    const top = Math.max(...all.map((p) => p[1])) || 1;
    const pad = 14 * dpr;
    const px = (e: number) => ((e - x0) / (x1 - x0)) * (w - 2) + 1;
    const py = (l: number) => h - 2 - (l / top) * (h - pad - 4);
    for (const [line, colour] of [[this.train, '#777'], [this.test, '#000']] as const) {
      ctx.beginPath();
      line.forEach(([e, l], i) => (i ? ctx.lineTo(px(e), py(l)) : ctx.moveTo(px(e), py(l))));
      ctx.strokeStyle = colour;
      ctx.lineWidth = 1.5 * dpr;
      ctx.stroke();
    }
    ctx.fillStyle = '#5d6677';
    ctx.font = `${11 * dpr}px system-ui, sans-serif`;
    ctx.fillText(`loss ${fmtLoss(top)} (grey: train, black: test) · epochs ${x0}–${x1}`, 2, 11 * dpr);
  }
}
