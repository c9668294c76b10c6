// The GPT page (#27), end to end, in Debian's Chromium: paste a short text
// (with markup in it), train the small size for a few seconds on the CPU
// backend in its Web Worker, see the loss fall and a sample appear, stop, write
// from a prompt longer than the context, save the model and hand the file to
// `webgrad generate`. Nothing pasted or generated may become markup, and any
// console error fails the run. The whole path runs on the CPU worker (8 s);
// then WebGPU trains until the loss halves and a sample appears: on
// SwiftShader its 128 pipelines take most of a minute to compile on an idle
// 2-core machine (75 s for the whole path there) and minutes on a loaded one.
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runCli } from '../helpers/cli.js';
import type { DemoSession } from './browser.js';
import { openDemo } from './browser.js';

const OUTPUT = 'test/e2e/output';
/** One line over and over, which the small GPT learns in seconds; its markup must stay text (35 different characters). */
const TEXT = 'the quick brown fox jumps over the lazy dog <img src=x onerror="window.__hacked=1">\n'.repeat(40);

let demo: DemoSession;
let page: Page;

beforeAll(async () => {
  demo = await openDemo(OUTPUT);
  page = demo.page;
});

afterAll(() => demo?.close());

interface Shown {
  phase: string;
  step: number;
  trainLoss: number;
  testLoss: number;
  speed: number;
  sample: string;
  sampleStep: number;
  error: string;
}

const read = (p: Page): Promise<Shown> =>
  p.evaluate(() => {
    const text = (id: string) => document.getElementById(id)?.textContent?.trim() ?? '';
    const num = (id: string) => Number(text(id).replace(/,/g, ''));
    const error = document.getElementById('error')!;
    return {
      phase: document.getElementById('phase')?.dataset.phase ?? 'idle',
      step: num('step'),
      trainLoss: num('train-loss'),
      testLoss: num('test-loss'),
      speed: num('speed'),
      sample: document.getElementById('sample')!.textContent ?? '',
      sampleStep: Number(document.getElementById('sample')!.dataset.step ?? NaN),
      error: error.hidden ? '' : text('error'),
    };
  });

/** Waits for `condition`, failing at once when the page shows an error, and with what it shows when the time is up. */
async function until(what: string, condition: (s: Shown) => boolean, ms: number): Promise<Shown> {
  const deadline = Date.now() + ms;
  for (;;) {
    const s = await read(page);
    if (s.error || s.phase === 'error') throw new Error(`while waiting for ${what}, the page reported: ${s.error || s.phase}`);
    if (condition(s)) return s;
    if (Date.now() > deadline) throw new Error(`gave up after ${ms / 1000} s waiting for ${what}; the page shows ${JSON.stringify(s)}`);
    await page.waitForTimeout(200);
  }
}

/** No element where only text belongs, and no script that a pasted or generated onerror= could have run. */
async function expectNoMarkup(): Promise<void> {
  const found = await page.evaluate(() => ({
    hacked: (window as unknown as { __hacked?: number }).__hacked ?? null,
    images: document.querySelectorAll('img').length,
    sampleElements: document.getElementById('sample')!.children.length,
    // The written text holds one span (the prompt as read), then text.
    writtenElements: document.getElementById('written')!.querySelectorAll('*').length,
  }));
  expect(found).toEqual({ hacked: null, images: 0, sampleElements: 0, writtenElements: found.writtenElements === 0 ? 0 : 1 });
}

/** Opens the page, pastes TEXT, trains the small size on `backend` until the loss halves and a sample from the trained weights appears, and stops. */
async function trainUntilLearned(backend: 'cpu' | 'webgpu', firstStepMs: number): Promise<Shown> {
  await page.goto(`${demo.server.url}dist-demo/gpt.html`);
  await page.waitForSelector('body[data-ready]', { timeout: 60_000 });
  expect(await page.isChecked('#backend-webgpu')).toBe(true);
  await page.fill('#text', TEXT);
  expect(await page.textContent('#text-status')).toContain('3,360 characters, 35 different');
  expect(await page.isChecked('#size-small')).toBe(true);
  await page.check(`#backend-${backend}`);
  await page.click('#train');
  const first = await until('the first step', (s) => s.step >= 1 && Number.isFinite(s.trainLoss), firstStepMs);
  // Knowing nothing is ln 35 = 3.56 nats per character.
  expect(first.trainLoss).toBeGreaterThan(3);
  expect(await page.textContent('#device')).toContain(backend === 'cpu' ? 'CPU backend (TypeScript, in a Web Worker)' : 'WebGPU');
  expect(await page.textContent('#model-info')).toMatch(/parameters · 35 characters · context 32 · batch 16/);
  const trained = await until('the loss to halve and a sample from the trained weights', (s) => s.trainLoss < first.trainLoss / 2 && s.sampleStep > first.step && s.speed > 0, 60_000);
  console.log(`GPT page, small, on ${backend === 'cpu' ? 'the CPU worker' : 'WebGPU (SwiftShader, a CPU)'}: step ${trained.step}, train loss ${first.trainLoss} → ${trained.trainLoss}, test loss ${trained.testLoss}, ${trained.speed} characters/s; sample: ${JSON.stringify(trained.sample.slice(0, 60))}`);
  expect(trained.sample.length).toBeGreaterThanOrEqual(100);
  await page.click('#stop');
  const stopped = await until('the run to stop', (s) => s.phase === 'stopped', 30_000);
  expect(stopped.testLoss).toBeLessThan(first.trainLoss / 2);
  await expectNoMarkup();
  return stopped;
}

test('trains a small GPT on a pasted text in the CPU worker, writes from a prompt, and saves a file webgrad generate reads', async () => {
  const t0 = Date.now();
  await trainUntilLearned('cpu', 60_000);

  // 46 characters: the model reads the last 32 of them.
  const prompt = 'the lazy dog jumps over the quick brown fox th';
  await page.fill('#prompt', prompt);
  await page.fill('#length', '40');
  await page.click('#write');
  await page.waitForFunction(() => (document.getElementById('written')!.textContent ?? '').length > 0 && !(document.getElementById('write') as HTMLButtonElement).disabled, null, { timeout: 30_000 });
  expect(await page.textContent('#written .prompt-part')).toBe(prompt.slice(-32));
  expect(Array.from((await page.textContent('#written'))!.slice(32))).toHaveLength(40);
  expect(await page.textContent('#write-note')).toContain('cropped to its last 32 characters (14 cut from its start)');
  await expectNoMarkup();
  await page.screenshot({ path: join(OUTPUT, 'gpt-trained.png'), fullPage: true });

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
  expect(download.suggestedFilename()).toBe('webgrad-gpt.safetensors');
  const file = join(OUTPUT, 'webgrad-gpt.safetensors');
  await download.saveAs(file);
  const generated = await runCli(['generate', file, '--length', '50']);
  expect(generated.code).toBe(0);
  // A newline (the default prompt) and 50 characters, printed with a newline after them.
  expect(Array.from(generated.out)).toHaveLength(52);
  expect(demo.problems).toEqual([]);
  console.log(`GPT page end to end: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});

test('trains it on WebGPU too', async () => {
  const t0 = Date.now();
  await trainUntilLearned('webgpu', 300_000);
  expect(demo.problems).toEqual([]);
  console.log(`GPT page on WebGPU: ${((Date.now() - t0) / 1000).toFixed(1)} s, compiling included`);
});
