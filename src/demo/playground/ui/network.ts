// The network as the Playground draws it: a column of input features, a
// column per hidden layer (with its + / − neuron buttons and its activation),
// the output; a thumbnail per neuron (what it outputs over the plane) and a
// link per weight, coloured by sign and as wide as |w| is large. Links are
// drawn on one canvas, so a 64×64 layer costs one redraw, not 4,096 elements.
import { css, gridPoints, linkWidth, paint } from '../colors.js';
import type { Snapshot } from '../engine.js';
import { GRID, THUMB } from '../engine.js';
import type { Feature } from '../features.js';
import { FEATURE_INFO, FEATURES } from '../features.js';
import type { PlaygroundState } from '../state.js';
import { HIDDEN_ACTIVATIONS, MAX_NEURONS } from '../state.js';
import type { Curve } from './link-hit.js';
import { curveAt } from './link-hit.js';

export type NodeRef = { kind: 'input'; feature: Feature } | { kind: 'hidden'; layer: number; unit: number } | { kind: 'output' };

export interface NetworkHandlers {
  toggleFeature(f: Feature): void;
  resize(layer: number, delta: 1 | -1): void;
  setActivation(layer: number, activation: string): void;
  hover(node: NodeRef | null): void;
}

interface Placed {
  ref: NodeRef;
  canvas: HTMLCanvasElement;
  /** Centre and size, in CSS pixels of the container. */
  x: number;
  y: number;
  size: number;
}

const HEAD = 64;
const LABEL = 58;
const OUTPUT_SIZE = 44;
/** How near the pointer must be to a link to show its weight, in CSS pixels: a 1 px link is still easy to hit. */
const HOVER_PX = 4;

/** A drawn link: its curve and which weight it is (layer's kernel, row i, column j). */
type DrawnLink = Curve & { layer: number; i: number; j: number; from: Placed; to: Placed };

/** A neuron's name on the weight card. */
function nodeName(ref: NodeRef): string {
  if (ref.kind === 'input') return `${ref.feature} (${FEATURE_INFO[ref.feature].label})`;
  return ref.kind === 'output' ? 'the output' : `layer ${ref.layer + 1}, neuron ${ref.unit + 1}`;
}

/** A neuron's size and the spacing of its column: the Playground's 30 pixels up to 8 neurons, smaller beyond. */
function sizing(n: number): { size: number; step: number } {
  const size = Math.max(10, Math.min(30, Math.floor(300 / n) - 4));
  return { size, step: size + Math.max(4, Math.round(size / 3)) };
}

/** Each input feature over the thumbnail grid, computed here: an input is not the model's to compute. */
const FEATURE_VALUES: Record<Feature, Float32Array> = (() => {
  const grid = gridPoints(THUMB);
  const out = {} as Record<Feature, Float32Array>;
  for (const f of FEATURES) out[f] = Float32Array.from({ length: THUMB * THUMB }, (_, i) => FEATURE_INFO[f].f(grid[2 * i], grid[2 * i + 1]));
  return out;
})();

export class NetworkView {
  private inputs: Placed[] = [];
  private hidden: Placed[][] = [];
  private output: Placed | null = null;
  private readonly links: HTMLCanvasElement;
  /** The weight under the pointer, as text only (the original's hover card). */
  private readonly card: HTMLElement;
  private drawn: DrawnLink[] = [];
  private hoveredLink: DrawnLink | null = null;
  private last: Snapshot | null = null;
  private discretize = false;
  private toHeat: (v: number) => number = (v) => v;

  constructor(private readonly box: HTMLElement, private readonly on: NetworkHandlers) {
    this.links = document.createElement('canvas');
    this.links.className = 'pg-links';
    this.card = document.createElement('div');
    this.card.className = 'pg-link-card';
    this.card.dataset.testid = 'link-card';
    this.card.hidden = true;
    // The links canvas takes no pointer events: over a link, the pointer is over the box itself.
    box.addEventListener('mousemove', (e) => {
      const r = box.getBoundingClientRect();
      this.hoverLink(e.target === box ? curveAt(this.drawn, e.clientX - r.left, e.clientY - r.top, HOVER_PX) : -1, e.clientX - r.left, e.clientY - r.top);
    });
    box.addEventListener('mouseleave', () => this.hoverLink(-1, 0, 0));
  }

  private hoverLink(index: number, x: number, y: number): void {
    this.hoveredLink = this.drawn[index] ?? null;
    this.card.hidden = !this.hoveredLink;
    if (!this.hoveredLink) return;
    Object.assign(this.card.style, { left: `${x + 12}px`, top: `${y + 12}px` });
    this.showWeight();
  }

  /** The hovered link's weight now (training moves it) and the two neurons it joins. */
  private showWeight(): void {
    const l = this.hoveredLink;
    const layer = l && this.last?.links[l.layer];
    if (!l || !layer) return;
    const w = layer.kernel[l.i * layer.units + l.j];
    this.card.textContent = `Weight ${Number.isFinite(w) ? w.toPrecision(3) : String(w)}: ${nodeName(l.from.ref)} → ${nodeName(l.to.ref)}`;
  }

  /** Lays the columns out anew for the state's features and layers. */
  build(s: PlaygroundState): void {
    this.box.replaceChildren(this.links, this.card);
    this.drawn = [];
    this.hoverLink(-1, 0, 0);
    const width = Math.max(420, this.box.clientWidth || 600);
    const columns = s.networkShape.length;
    const first = LABEL + 40;
    const last = width - OUTPUT_SIZE - 4;
    const colX = (i: number) => first + ((i + 1) * (last - first)) / (columns + 1);
    let height = HEAD + FEATURES.length * 38;
    const { size: inSize, step: inStep } = sizing(8);
    this.inputs = FEATURES.map((feature, i) => {
      const p = this.node({ kind: 'input', feature }, first, HEAD + i * inStep + inSize / 2, inSize, THUMB);
      p.canvas.classList.add('input');
      p.canvas.classList.toggle('off', !s[feature]);
      p.canvas.title = `${feature} (${FEATURE_INFO[feature].label}): click to turn ${s[feature] ? 'off' : 'on'}`;
      p.canvas.addEventListener('click', () => this.on.toggleFeature(feature));
      const label = document.createElement('div');
      label.className = `pg-feature-label${s[feature] ? '' : ' off'}`;
      label.textContent = FEATURE_INFO[feature].label;
      label.style.left = '0px';
      label.style.top = `${p.y - 9}px`;
      label.addEventListener('click', () => this.on.toggleFeature(feature));
      this.box.append(label);
      return p;
    });
    this.hidden = s.networkShape.map((units, layer) => {
      const { size, step } = sizing(units);
      height = Math.max(height, HEAD + units * step);
      this.box.append(this.columnHead(s, layer, colX(layer)));
      return Array.from({ length: units }, (_, unit) => this.node({ kind: 'hidden', layer, unit }, colX(layer), HEAD + unit * step + size / 2, size, THUMB));
    });
    this.output = this.node({ kind: 'output' }, last - OUTPUT_SIZE / 2 + OUTPUT_SIZE / 2, HEAD + OUTPUT_SIZE / 2, OUTPUT_SIZE, GRID);
    this.box.style.height = `${height + 8}px`;
    const dpr = Math.min(2, window.devicePixelRatio || 1);
    this.links.width = Math.round(width * dpr);
    this.links.height = Math.round((height + 8) * dpr);
    this.links.style.width = `${width}px`;
    this.links.style.height = `${height + 8}px`;
    this.last = null;
    this.drawInputs();
  }

  /** Draws every thumbnail and link from a snapshot; toHeat puts the output on the colour scale. */
  update(snap: Snapshot, discretize: boolean, toHeat: (v: number) => number): void {
    this.last = snap;
    this.discretize = discretize;
    this.toHeat = toHeat;
    this.drawInputs();
    snap.neurons.forEach((grid, layer) => {
      const units = this.hidden[layer]?.length ?? 0;
      const one = new Float32Array(THUMB * THUMB);
      for (let unit = 0; unit < units; unit++) {
        for (let i = 0; i < one.length; i++) one[i] = grid[i * units + unit];
        this.paint(this.hidden[layer][unit].canvas, one, THUMB);
      }
    });
    if (this.output) this.paint(this.output.canvas, Float32Array.from(snap.output, toHeat), GRID);
    this.drawLinks(snap);
  }

  /** What a neuron outputs over the plane, for the large view: values on the colour scale and the grid's side; null before a snapshot. */
  values(ref: NodeRef): { values: Float32Array; side: number } | null {
    if (ref.kind === 'input') return { values: FEATURE_VALUES[ref.feature], side: THUMB };
    const snap = this.last;
    if (!snap) return null;
    if (ref.kind === 'output') return { values: Float32Array.from(snap.output, this.toHeat), side: GRID };
    const grid = snap.neurons[ref.layer];
    const units = this.hidden[ref.layer]?.length ?? 0;
    if (!grid || ref.unit >= units) return null;
    return { values: Float32Array.from({ length: THUMB * THUMB }, (_, i) => grid[i * units + ref.unit]), side: THUMB };
  }

  private drawInputs(): void {
    for (const p of this.inputs) if (p.ref.kind === 'input') this.paint(p.canvas, FEATURE_VALUES[p.ref.feature], THUMB);
  }

  private paint(canvas: HTMLCanvasElement, values: Float32Array, side: number): void {
    const ctx = canvas.getContext('2d')!;
    const image = ctx.createImageData(side, side);
    paint(values, side, this.discretize, 255, image.data);
    ctx.putImageData(image, 0, 0);
  }

  private node(ref: NodeRef, x: number, y: number, size: number, side: number): Placed {
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = side;
    canvas.className = 'pg-node';
    Object.assign(canvas.style, { left: `${x - size / 2}px`, top: `${y - size / 2}px`, width: `${size}px`, height: `${size}px` });
    canvas.addEventListener('mouseenter', () => this.on.hover(ref));
    canvas.addEventListener('mouseleave', () => this.on.hover(null));
    if (ref.kind === 'hidden') canvas.title = `layer ${ref.layer + 1}, neuron ${ref.unit + 1}`;
    if (ref.kind === 'output') canvas.title = 'the output';
    this.box.append(canvas);
    return { ref, canvas, x, y, size };
  }

  private columnHead(s: PlaygroundState, layer: number, x: number): HTMLElement {
    const head = document.createElement('div');
    head.className = 'pg-col-head';
    head.style.left = `${x - 48}px`;
    const units = s.networkShape[layer];
    const button = (text: string, delta: 1 | -1, disabled: boolean, title: string) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = text;
      b.disabled = disabled;
      b.title = title;
      b.addEventListener('click', () => this.on.resize(layer, delta));
      return b;
    };
    const row = document.createElement('div');
    row.append(button('+', 1, units >= MAX_NEURONS, `Add a neuron (up to ${MAX_NEURONS})`), ' ', button('−', -1, units <= 1, 'Remove a neuron'));
    const count = document.createElement('span');
    count.textContent = `${units} neuron${units === 1 ? '' : 's'}`;
    const select = document.createElement('select');
    select.title = `Layer ${layer + 1}'s activation`;
    select.dataset.layer = String(layer);
    for (const a of HIDDEN_ACTIVATIONS) select.append(new Option(a, a));
    select.value = s.activations[layer] ?? s.activation;
    select.addEventListener('change', () => this.on.setActivation(layer, select.value));
    head.append(row, count, select);
    return head;
  }

  private drawLinks(snap: Snapshot): void {
    const ctx = this.links.getContext('2d')!;
    const scale = this.links.width / parseFloat(this.links.style.width);
    ctx.setTransform(scale, 0, 0, scale, 0, 0);
    ctx.clearRect(0, 0, this.links.width, this.links.height);
    const sources = [this.inputs.filter((p) => !p.canvas.classList.contains('off')), ...this.hidden];
    const targets = [...this.hidden, this.output ? [this.output] : []];
    this.drawn = [];
    snap.links.forEach((l, layer) => {
      const from = sources[layer] ?? [];
      const to = targets[layer] ?? [];
      if (from.length !== l.inputs || to.length !== l.units) return;
      for (let i = 0; i < l.inputs; i++) {
        for (let j = 0; j < l.units; j++) {
          const w = l.kernel[i * l.units + j];
          const a = from[i];
          const b = to[j];
          const x0 = a.x + a.size / 2 + 1;
          const x1 = b.x - b.size / 2 - 1;
          const mid = (x0 + x1) / 2;
          this.drawn.push({ x0, y0: a.y, x1, y1: b.y, layer, i, j, from: a, to: b });
          ctx.beginPath();
          ctx.moveTo(x0, a.y);
          ctx.bezierCurveTo(mid, a.y, mid, b.y, x1, b.y);
          ctx.strokeStyle = Number.isFinite(w) ? css(w) : '#c62828';
          ctx.lineWidth = Number.isFinite(w) ? linkWidth(w) : 1;
          ctx.globalAlpha = 0.85;
          ctx.stroke();
        }
      }
      // The bias of each unit: a small square at its lower left, coloured as the Playground's.
      to.forEach((b, j) => {
        ctx.globalAlpha = 1;
        ctx.fillStyle = css(l.bias[j] ?? 0);
        ctx.fillRect(b.x - b.size / 2 - 7, b.y + b.size / 2 - 5, 5, 5);
        b.canvas.title = `${b.ref.kind === 'output' ? 'the output' : `layer ${(b.ref as { layer: number }).layer + 1}, neuron ${j + 1}`} · bias ${(l.bias[j] ?? 0).toPrecision(3)}`;
      });
    });
    ctx.globalAlpha = 1;
    if (this.hoveredLink) {
      const { layer, i, j } = this.hoveredLink;
      this.hoveredLink = this.drawn.find((d) => d.layer === layer && d.i === i && d.j === j) ?? null;
      this.card.hidden = !this.hoveredLink;
      this.showWeight();
    }
  }
}
