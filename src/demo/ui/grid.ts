// Test digits with the model's guesses; wrong ones in red with the true label.
import type { Digits, Insight } from '../train/protocol.js';
import { $, drawDigit, h, pct } from './dom.js';

const CELLS = 96;

export class TestGrid {
  private last: Insight | null = null;

  constructor(private digits: () => Digits | null) {
    $<HTMLInputElement>('mistakes-only').addEventListener('change', () => this.last && this.show(this.last));
  }

  clear(): void {
    this.last = null;
    $('grid').replaceChildren();
    $('grid-note').textContent = 'Train or load a model to see its guesses.';
  }

  show(insight: Insight): void {
    const test = this.digits();
    if (!test) return;
    this.last = insight;
    const mistakesOnly = $<HTMLInputElement>('mistakes-only').checked;
    const wrong: number[] = [];
    for (let i = 0; i < test.n; i++) if (insight.predicted[i] !== test.y[i]) wrong.push(i);
    const shown = mistakesOnly ? wrong.slice(0, CELLS) : Array.from({ length: Math.min(CELLS, test.n) }, (_, i) => i);
    const side = test.side;
    const cells = shown.map((i) => {
      const canvas = h('canvas', { width: String(side), height: String(side) });
      drawDigit(canvas.getContext('2d')!, test.x.subarray(i * side * side, (i + 1) * side * side), side);
      const p = insight.predicted[i];
      const ok = p === test.y[i];
      const label = ok ? h('span', { class: 'guess' }, String(p)) : h('span', { class: 'guess' }, String(p), h('small', {}, ` not ${test.y[i]}`));
      return h('figure', { class: ok ? 'cell' : 'cell wrong', title: `test digit ${i}: predicted ${p} (${pct(insight.confidence[i])}), labelled ${test.y[i]}` }, canvas, label);
    });
    $('grid').replaceChildren(...cells);
    const errors = `${wrong.length} of ${test.n} test digits wrong (${pct(wrong.length / test.n, 2)})`;
    $('grid-note').textContent = mistakesOnly ? `${errors}; showing ${shown.length}.` : `The first ${shown.length} test digits. ${errors}.`;
  }
}
