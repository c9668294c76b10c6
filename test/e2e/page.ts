// Reading the demo page and waiting on it, always with a deadline, and
// giving up at once when the page shows an error.
import type { Page } from 'playwright-core';

export interface PageState {
  phase: string;
  epoch: string;
  step: number;
  speed: string;
  testAccuracy: number | null;
  testNote: string;
  error: string;
}

export async function readState(page: Page): Promise<PageState> {
  return page.evaluate(() => {
    const text = (id: string) => document.getElementById(id)?.textContent?.trim() ?? '';
    const acc = document.getElementById('test-accuracy')?.dataset.value;
    const err = document.getElementById('error') as HTMLElement | null;
    return {
      phase: document.getElementById('phase')?.dataset.phase ?? 'idle',
      epoch: text('epoch'),
      step: Number(text('step').split('/')[0].replace(/,/g, '')) || 0,
      speed: text('speed'),
      testAccuracy: acc === undefined ? null : Number(acc),
      testNote: text('test-note'),
      error: err && !err.hidden ? text('error') : '',
    };
  });
}

/**
 * Waits until `condition` (evaluated in the page, given the state above)
 * holds. Fails with the page's state when the time is up, and at once when
 * the page reports an error.
 */
export async function waitUntil(page: Page, what: string, condition: (s: PageState) => boolean, timeoutMs: number): Promise<PageState> {
  const deadline = Date.now() + timeoutMs;
  let state = await readState(page);
  for (;;) {
    if (state.error || state.phase === 'error') throw new Error(`while waiting for ${what}, the page reported an error: ${state.error || state.phase}`);
    if (condition(state)) return state;
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs / 1000} s waiting for ${what}; the page shows ${JSON.stringify(state)}`);
    await page.waitForTimeout(250);
    state = await readState(page);
  }
}

/** Draws a polyline on the pad with the mouse; points are fractions of the pad's size. */
export async function drawOnPad(page: Page, points: [number, number][]): Promise<void> {
  const box = await page.locator('#pad').boundingBox();
  if (!box) throw new Error('the drawing pad is not visible');
  const at = ([fx, fy]: [number, number]) => [box.x + fx * box.width, box.y + fy * box.height] as const;
  await page.mouse.move(...at(points[0]));
  await page.mouse.down();
  for (const p of points.slice(1)) await page.mouse.move(...at(p), { steps: 8 });
  await page.mouse.up();
}

/**
 * Records the longest gap between animation frames from now on, so a test
 * can tell whether the page kept drawing (stayed responsive) while training.
 */
export async function startFrameWatch(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { frameWatch?: { last: number; maxGap: number; frames: number } };
    const running = w.frameWatch !== undefined;
    w.frameWatch = { last: performance.now(), maxGap: 0, frames: 0 };
    if (running) return;
    const tick = (t: number) => {
      const f = w.frameWatch!;
      f.maxGap = Math.max(f.maxGap, t - f.last);
      f.last = t;
      f.frames++;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
}

export async function frameWatch(page: Page): Promise<{ maxGap: number; frames: number }> {
  return page.evaluate(() => {
    const f = (window as unknown as { frameWatch: { last: number; maxGap: number; frames: number } }).frameWatch;
    return { maxGap: Math.max(f.maxGap, performance.now() - f.last), frames: f.frames };
  });
}
