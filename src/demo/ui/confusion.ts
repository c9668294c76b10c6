// Rows: the true digit. Columns: the model's guess. Shade: share of the row.
import type { Digits, Insight } from '../train/protocol.js';
import { $, h, pct } from './dom.js';

export function confusionCounts(predicted: Uint8Array, labels: Int32Array, classes: number): number[][] {
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < labels.length; i++) m[labels[i]][predicted[i]]++;
  return m;
}

export function showConfusion(insight: Insight, test: Digits): void {
  const k = test.classes;
  const m = confusionCounts(insight.predicted, test.y, k);
  const head = h('tr', {}, h('th', { class: 'corner' }, 'true ↓ guess →'), ...m.map((_, c) => h('th', {}, String(c))), h('th', {}, 'recall'));
  let correct = 0;
  const rows = m.map((row, r) => {
    const total = row.reduce((a, b) => a + b, 0);
    correct += row[r];
    const cells = row.map((count, c) => {
      const share = total ? count / total : 0;
      // Diagonal cells shade green by share; off-diagonal red, stretched so a few mistakes still show.
      const style = r === c ? `background: rgba(34, 160, 90, ${0.15 + 0.7 * share})` : count ? `background: rgba(214, 39, 40, ${Math.min(0.85, 0.12 + 4 * share)})` : '';
      return h('td', { style, title: `true ${r}, guessed ${c}: ${count} (${pct(share)})` }, count ? String(count) : '·');
    });
    return h('tr', {}, h('th', {}, String(r)), ...cells, h('td', { class: 'recall' }, total ? pct(row[r] / total, 0) : '–'));
  });
  $('confusion').replaceChildren(h('table', {}, h('thead', {}, head), h('tbody', {}, ...rows)));
  $('confusion-note').textContent = `${correct} of ${test.n} right (${pct(correct / test.n, 2)}), counted from the predictions.`;
}
