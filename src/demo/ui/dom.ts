import { errorText } from '../train/model.js';

/** The element with this id, typed; a missing one is a bug in index.html, said plainly. */
export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`demo: index.html has no element #${id}`);
  return el as T;
}

/** A new element with attributes and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

/** 12,345 or 1.23 as a person reads it. */
export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function pct(x: number, digits = 1): string {
  return `${(100 * x).toFixed(digits)}%`;
}

/**
 * Draws a grey image (values in [0, 1], ink bright) as dark ink on white,
 * the way digits look on paper, at one pixel per value (CSS scales it up).
 */
export function drawDigit(ctx: CanvasRenderingContext2D, pixels: ArrayLike<number>, side: number, x = 0, y = 0): void {
  const img = ctx.createImageData(side, side);
  for (let i = 0; i < side * side; i++) {
    const v = Math.round(255 * (1 - Math.min(1, Math.max(0, pixels[i]))));
    img.data.set([v, v, v, 255], 4 * i);
  }
  ctx.putImageData(img, x, y);
}

/** Runs `draw` at most once per animation frame, however often it is asked for. */
export function onePerFrame(draw: () => void): () => void {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      draw();
    });
  };
}

/** Offers `bytes` as a download named `name` (a model file the CLI also reads). */
export function saveBytes(bytes: Uint8Array, name: string): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Shows `message` in the page's #error box as text (hidden when empty), and in the console. */
export function showError(message: string): void {
  const el = $('error');
  el.textContent = message;
  el.hidden = message === '';
  if (message) console.error(`webgrad demo: ${message}`);
}

/** Runs a button's action with the #error box cleared first and its error shown there instead of lost; `after` runs either way (the page's buttons). */
export async function reportingErrors(action: () => Promise<void>, after: () => void): Promise<void> {
  showError('');
  try {
    await action();
  } catch (e) {
    showError(errorText(e));
  } finally {
    after();
  }
}
