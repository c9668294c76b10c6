// The GPT page (#27), end to end, in Debian's Chromium: paste a short text
// (with markup in it), train the small size for a few seconds on the CPU
// backend in its Web Worker, see the loss fall and a sample appear, stop, write
// from a prompt longer than the context, save the model and hand the file to
// `webgrad generate`; reload the page, open the saved file and let it write;
// open files that are no character model and see them refused by name.
// Nothing pasted, generated or read from a file may become markup, and any
// console error but the refusals shown fails the run. The whole path runs on the CPU worker (8 s);
// then WebGPU trains until the loss halves and a sample appears: on
// SwiftShader its 128 pipelines take most of a minute to compile on an idle
// 2-core machine (75 s for the whole path there) and minutes on a loaded one.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { decodeSafetensors, dense, gpt, sequential } from '../../src/index.js';
import { runCli } from '../helpers/cli.js';
import { fileOf } from '../helpers/model-file.js';
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

/** Opens `path` with the page's Open button and waits until the page says it opened it, or shows an error naming it: that text, or ''. */
async function openFile(path: string): Promise<string> {
  const name = path.split('/').at(-1)!;
  await page.setInputFiles('#open', path);
  const shown = await page.waitForFunction((n) => {
    const error = document.getElementById('error')!;
    // An object: waitForFunction waits for a truthy value, and no error is ''.
    if (!error.hidden && error.textContent!.startsWith(n)) return { error: error.textContent };
    return document.getElementById('phase')!.textContent === `Opened ${n}` ? { error: '' } : null;
  }, name, { timeout: 60_000 });
  return ((await shown.jsonValue()) as { error: string }).error;
}

/** Writes `length` characters after `prompt` and returns what the model wrote (the prompt as read cut off). */
async function writeFrom(prompt: string, length: number): Promise<string> {
  await page.fill('#prompt', prompt);
  await page.fill('#length', String(length));
  await page.evaluate(() => (document.getElementById('written')!.textContent = ''));
  await page.click('#write');
  await page.waitForFunction(() => (document.getElementById('written')!.textContent ?? '').length > 0 && !(document.getElementById('write') as HTMLButtonElement).disabled, null, { timeout: 30_000 });
  expect(await page.textContent('#written .prompt-part')).toBe(prompt);
  return (await page.textContent('#written'))!.slice(prompt.length);
}

test('opens the saved model after a reload, in the CPU worker, writes from it only characters it knows, and saves it again', async () => {
  const t0 = Date.now();
  // The file the test above saved from the page.
  const saved = join(OUTPUT, 'webgrad-gpt.safetensors');
  await page.goto(`${demo.server.url}dist-demo/gpt.html`);
  await page.waitForSelector('body[data-ready]', { timeout: 60_000 });
  expect(await page.isDisabled('#write')).toBe(true);
  expect(await page.isDisabled('#save')).toBe(true);
  await page.check('#backend-cpu');
  expect(await openFile(saved)).toBe('');
  expect(await page.textContent('#device')).toContain('CPU backend (TypeScript, in a Web Worker)');
  expect(await page.textContent('#model-info')).toMatch(/^Opened webgrad-gpt\.safetensors: the model “demo_gpt”, [\d,]+ parameters · 35 characters · context 32\. It writes and saves here; Train starts a new model on the text\. Its characters: newline, space, "\.1<=>_abcdefghijklmnopqrstuvwxyz$/);
  const written = await writeFrom('the lazy dog ', 60);
  const known = new Set(TEXT);
  expect(Array.from(written)).toHaveLength(60);
  expect(Array.from(written).filter((c) => !known.has(c))).toEqual([]);
  console.log(`opened and wrote: ${JSON.stringify(written)}`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
  expect(download.suggestedFilename()).toBe('webgrad-gpt.safetensors');
  const again = join(OUTPUT, 'webgrad-gpt-again.safetensors');
  await download.saveAs(again);
  // The same weights and characters (the topology's JSON may order its keys differently).
  const tensors = (path: string) => decodeSafetensors(new Uint8Array(readFileSync(path)), path);
  expect(tensors(again).tensors).toEqual(tensors(saved).tensors);
  expect(tensors(again).metadata.vocabulary).toBe(tensors(saved).metadata.vocabulary);
  await expectNoMarkup();
  await page.screenshot({ path: join(OUTPUT, 'gpt-opened.png'), fullPage: true });
  expect(demo.problems).toEqual([]);
  console.log(`GPT page, open and write: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});

test('shows an opened model\'s name and characters as text, and refuses by name a file that is no character model, keeping the model it had', async () => {
  const t0 = Date.now();
  const dialogs: string[] = [];
  page.on('dialog', (d) => void (dialogs.push(d.message()), d.dismiss()));
  // A GPT whose name is markup and whose characters are markup's own.
  const NAME = '<img src=x onerror=alert(1)>';
  const chars = ['<', '>', '&', ' ', 'a'];
  const hostile = gpt({ vocabularySize: chars.length, contextLength: 8, width: 8, blocks: 1, heads: 1, name: NAME });
  hostile.setVocabulary(chars);
  const hostileFile = join(OUTPUT, 'hostile-gpt.safetensors');
  writeFileSync(hostileFile, await fileOf(hostile, [8]));
  expect(await openFile(hostileFile)).toBe('');
  expect(await page.textContent('#model-info')).toMatch(/^Opened hostile-gpt\.safetensors: the model “<img src=x onerror=alert\(1\)>”, [\d,]+ parameters · 5 characters · context 8\..* Its characters: space, <>&a$/);
  const written = await writeFrom('<a&', 30);
  expect(Array.from(written).filter((c) => !chars.includes(c))).toEqual([]);
  await expectNoMarkup();

  // No character model: a picture, and a model without characters. Each is refused by name and the page keeps the model it opened.
  const noVocabulary = join(OUTPUT, 'mlp.safetensors');
  writeFileSync(noVocabulary, await fileOf(sequential([dense(3, { inputShape: [4], activation: 'softmax' })]), [4]));
  const refusals = [
    [join(OUTPUT, 'gpt-opened.png'), /^gpt-opened\.png: header length \d+ bytes is absurd .*this is not a safetensors file/],
    [noVocabulary, /^mlp\.safetensors has no vocabulary, so it is not a character model; train a character model on text/],
  ] as const;
  for (const [file, message] of refusals) {
    expect(await openFile(file)).toMatch(message);
    expect(await page.textContent('#phase')).toBe('Opened hostile-gpt.safetensors');
    expect(await page.isDisabled('#write')).toBe(false);
  }
  expect(Array.from(await writeFrom('a', 5)).every((c) => chars.includes(c))).toBe(true);
  await expectNoMarkup();
  expect(dialogs).toEqual([]);
  // The page logs each error it shows: those two lines, and nothing else.
  expect(demo.problems).toHaveLength(refusals.length);
  demo.problems.forEach((p, i) => expect(p).toMatch(new RegExp(`^console\\.error: webgrad demo: ${refusals[i][1].source.slice(1)}`)));
  demo.problems.splice(0);
  console.log(`GPT page, hostile and refused files: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});

test('trains it on WebGPU too', async () => {
  const t0 = Date.now();
  await trainUntilLearned('webgpu', 300_000);
  expect(demo.problems).toEqual([]);
  console.log(`GPT page on WebGPU: ${((Date.now() - t0) / 1000).toFixed(1)} s, compiling included`);
});
