// The output panel's picture: the heatmap (a 100×100 canvas the page scales
// up, as the Playground does) and, on a canvas above it, the points.
import type { ToyPoint } from '../../../index.js';
import { css, paint, toCanvas } from '../colors.js';

export class Heatmap {
  private readonly heat: CanvasRenderingContext2D;
  private readonly dots: CanvasRenderingContext2D;

  constructor(private readonly boundary: HTMLCanvasElement, private readonly points: HTMLCanvasElement) {
    this.heat = boundary.getContext('2d')!;
    this.dots = points.getContext('2d')!;
  }

  /** Values on the colour scale (−1 … 1), side × side, row-major from the top left. */
  draw(values: ArrayLike<number>, side: number, discretize: boolean): void {
    if (this.boundary.width !== side) this.boundary.width = this.boundary.height = side;
    const image = this.heat.createImageData(side, side);
    paint(values, side, discretize, 255, image.data);
    this.heat.putImageData(image, 0, 0);
  }

  /** Train points with a white ring, test points (when shown) with a black one, as the Playground marks them. */
  drawPoints(train: readonly ToyPoint[], test: readonly ToyPoint[], showTest: boolean): void {
    const size = this.points.width;
    const ctx = this.dots;
    ctx.clearRect(0, 0, size, size);
    const r = size / 100;
    const dot = (p: ToyPoint, ring: string) => {
      const [x, y] = toCanvas(p.x, p.y, size);
      if (x < -r || y < -r || x > size + r || y > size + r) return;
      ctx.beginPath();
      ctx.arc(x, y, r, 0, 2 * Math.PI);
      ctx.fillStyle = css(p.label);
      ctx.fill();
      ctx.lineWidth = r / 2.5;
      ctx.strokeStyle = ring;
      ctx.stroke();
    };
    for (const p of train) dot(p, '#fff');
    if (showTest) for (const p of test) dot(p, '#000');
  }
}
