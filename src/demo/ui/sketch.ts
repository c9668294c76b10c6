// The drawing pad: draw a digit with a mouse, pen or finger and watch the
// class probabilities follow. The drawing is preprocessed as MNIST's digits
// were (toMnistInput: ink box, fit in 20×20, centred by mass in 28×28).
import { toMnistInput } from '../../index.js';
import { $, drawDigit, h, onePerFrame, pct } from './dom.js';

const INK = '#ffffff';
const PAPER = '#000000';
/** Pen width relative to the pad: about MNIST's stroke once the digit is shrunk to 20 pixels. */
const PEN = 0.07;

export class Sketchpad {
  private readonly pad = $<HTMLCanvasElement>('pad');
  private readonly ctx = this.pad.getContext('2d', { willReadFrequently: true })!;
  private last: { x: number; y: number } | null = null;
  private inked = false;
  private busy = false;
  private again = false;
  private readonly schedule = onePerFrame(() => void this.predict());

  constructor(
    private readonly classify: (x: Float32Array) => Promise<Float32Array>,
    private readonly ready: () => boolean,
  ) {
    this.clear();
    this.pad.addEventListener('pointerdown', (e) => this.down(e));
    this.pad.addEventListener('pointermove', (e) => this.move(e));
    for (const ev of ['pointerup', 'pointercancel'] as const) this.pad.addEventListener(ev, () => (this.last = null));
    $('pad-clear').addEventListener('click', () => this.clear());
    $('probs').replaceChildren(
      ...Array.from({ length: 10 }, (_, d) => h('div', { class: 'prob', 'data-digit': String(d) }, h('span', { class: 'prob-digit' }, String(d)), h('span', { class: 'prob-track' }, h('span', { class: 'prob-fill' })), h('span', { class: 'prob-value' }, ''))),
    );
  }

  clear(): void {
    this.ctx.fillStyle = PAPER;
    this.ctx.fillRect(0, 0, this.pad.width, this.pad.height);
    this.inked = false;
    this.last = null;
    this.showProbs(null);
    drawDigit($<HTMLCanvasElement>('pad-input').getContext('2d')!, new Float32Array(28 * 28), 28);
    this.say('Draw in the black square', null);
  }

  /** A new model (or new weights): predict the drawing again. */
  refresh(): void {
    if (this.inked) this.schedule();
  }

  private point(e: PointerEvent): { x: number; y: number } {
    const r = this.pad.getBoundingClientRect();
    return { x: ((e.clientX - r.left) * this.pad.width) / r.width, y: ((e.clientY - r.top) * this.pad.height) / r.height };
  }

  private down(e: PointerEvent): void {
    e.preventDefault();
    this.pad.setPointerCapture(e.pointerId);
    this.last = this.point(e);
    this.stroke(this.last, this.last);
  }

  private move(e: PointerEvent): void {
    if (!this.last) return;
    const p = this.point(e);
    this.stroke(this.last, p);
    this.last = p;
  }

  private stroke(a: { x: number; y: number }, b: { x: number; y: number }): void {
    const c = this.ctx;
    c.strokeStyle = INK;
    c.lineWidth = PEN * this.pad.width;
    c.lineCap = 'round';
    c.lineJoin = 'round';
    c.beginPath();
    c.moveTo(a.x, a.y);
    c.lineTo(b.x, b.y);
    c.stroke();
    this.inked = true;
    this.schedule();
  }

  /** One prediction at a time; strokes drawn meanwhile are picked up by the next. */
  private async predict(): Promise<void> {
    if (this.busy) {
      this.again = true;
      return;
    }
    const { width, height } = this.pad;
    const input = toMnistInput({ width, height, rgba: this.ctx.getImageData(0, 0, width, height).data });
    drawDigit($<HTMLCanvasElement>('pad-input').getContext('2d')!, input, 28);
    if (!this.ready()) return this.say('Train or load a model first', null);
    this.busy = true;
    try {
      const probs = await this.classify(input);
      if (this.inked) this.showProbs(probs);
    } catch (e) {
      this.say(`Prediction failed: ${(e as Error).message}`, null);
    } finally {
      this.busy = false;
      if (this.again) {
        this.again = false;
        this.schedule();
      }
    }
  }

  private showProbs(probs: Float32Array | null): void {
    let best = -1;
    if (probs) for (let d = 0; d < probs.length; d++) if (best < 0 || probs[d] > probs[best]) best = d;
    for (const row of Array.from($('probs').children)) {
      const d = Number((row as HTMLElement).dataset.digit);
      const p = probs?.[d] ?? 0;
      (row.querySelector('.prob-fill') as HTMLElement).style.width = `${100 * p}%`;
      row.querySelector('.prob-value')!.textContent = probs ? pct(p, 0) : '';
      row.classList.toggle('best', d === best);
    }
    if (probs) this.say(String(best), probs[best]);
  }

  private say(text: string, p: number | null): void {
    const el = $('pad-prediction');
    if (p === null) {
      el.textContent = text;
      delete el.dataset.digit;
      return;
    }
    el.replaceChildren(h('span', { class: 'big' }, text), h('span', {}, ` ${pct(p, 0)} sure`));
    el.dataset.digit = text;
  }
}
