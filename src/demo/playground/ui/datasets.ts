// The data set picker: a thumbnail of each Playground set (200 points, noise
// 0, as the original draws them), classification and regression together.
import { TOY_DATASETS, toyPoints } from '../../../index.js';
import { css, toCanvas } from '../colors.js';

export type DatasetName = (typeof TOY_DATASETS)[number];

export function setUpDatasets(box: HTMLElement, pick: (name: DatasetName) => void): (selected: DatasetName | null) => void {
  const buttons = TOY_DATASETS.map((name) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.dataset = name;
    button.title = `The ${name} data set`;
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 100;
    const ctx = canvas.getContext('2d')!;
    for (const p of toyPoints(name, { points: 200, seed: 0 })) {
      const [x, y] = toCanvas(p.x, p.y, 100);
      ctx.fillStyle = css(p.label);
      ctx.fillRect(x - 2, y - 2, 4, 4);
    }
    button.append(canvas, name);
    button.addEventListener('click', () => pick(name));
    box.append(button);
    return button;
  });
  return (selected) => buttons.forEach((b) => b.classList.toggle('selected', b.dataset.dataset === selected));
}
