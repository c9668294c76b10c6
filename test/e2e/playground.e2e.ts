// The Playground page (#25), end to end, in Debian's Chromium on the
// SwiftShader WebGPU adapter: open a link, play, watch epochs pass and the
// test loss fall, see a boundary of more than one colour; export the model
// and hand the file to the CLI (predict, both exports); change controls and
// see the link follow, reload it and see the same controls; hover a link to
// read its weight; switch the backend to the CPU worker and keep it through a
// reload; a hostile link and a hostile CSV shown as text only, its problems
// resolved as the user sets what they named; and the page with no WebGPU,
// training on the CPU backend in a worker. Any console error fails the run.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from '../helpers/cli.js';
import type { DemoSession } from './browser.js';
import { newPage, openDemo } from './browser.js';
import type { StaticServer } from './server.js';

const OUTPUT = 'test/e2e/output';
const LINK = 'dataset=circle&seed=3&noise=0&percTrainData=50&batchSize=10&learningRate=0.03&networkShape=4,2&activation=tanh&x=true&y=true';

let demo: DemoSession;
let server: StaticServer;
let browser: Browser;
let page: Page;
let problems: string[];

beforeAll(async () => {
  demo = await openDemo(OUTPUT);
  ({ server, browser, page, problems } = demo);
});

afterAll(() => demo?.close());

interface Shown {
  epoch: number;
  trainLoss: number;
  testLoss: number;
  error: string;
  hash: string;
}

const read = (p: Page): Promise<Shown> =>
  p.evaluate(() => {
    const text = (id: string) => document.getElementById(id)?.textContent?.trim() ?? '';
    const error = document.getElementById('error')!;
    return { epoch: Number(text('epoch').replace(/,/g, '')), trainLoss: Number(text('train-loss')), testLoss: Number(text('test-loss')), error: error.hidden ? '' : text('error'), hash: location.hash };
  });

/** Waits for `condition`, failing at once when the page shows an error, and with what it shows when the time is up. */
async function until(p: Page, what: string, condition: (s: Shown) => boolean, ms: number): Promise<Shown> {
  const deadline = Date.now() + ms;
  for (;;) {
    const s = await read(p);
    if (s.error) throw new Error(`while waiting for ${what}, the page reported: ${s.error}`);
    if (condition(s)) return s;
    if (Date.now() > deadline) throw new Error(`gave up after ${ms / 1000} s waiting for ${what}; the page shows ${JSON.stringify(s)}`);
    await p.waitForTimeout(200);
  }
}

const open = async (p: Page, hash: string) => {
  await p.goto(`${server.url}dist-demo/playground.html#${hash}`);
  await p.waitForSelector('body[data-ready]', { timeout: 60_000 });
};

/** A new document (goto with only the hash changed would stay in the page, which then follows the link). */
const reopen = async (p: Page, hash: string) => {
  await p.goto('about:blank');
  await open(p, hash);
};

/** The middle of the link from the first input that is on to layer 1's first neuron, in page coordinates. */
const firstLinkMiddle = (p: Page) =>
  p.evaluate(() => {
    const a = document.querySelector('#network .pg-node.input:not(.off)')!.getBoundingClientRect();
    const b = document.querySelector('#network .pg-node:not(.input)')!.getBoundingClientRect();
    // Both control points sit at the middle x, so at t = 1/2 the curve passes through the middle of its ends.
    return { x: (a.right + b.left) / 2, y: (a.top + a.bottom + b.top + b.bottom) / 4 };
  });

/** Distinct colours in the boundary canvas, and how many pixels lean orange (−) and blue (+). */
const colours = (p: Page) =>
  p.evaluate(() => {
    const c = document.querySelector<HTMLCanvasElement>('[data-testid="boundary"]')!;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const seen = new Set<number>();
    let orange = 0;
    let blue = 0;
    for (let i = 0; i < d.length; i += 4) {
      seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      if (d[i] > d[i + 2] + 60) orange++;
      if (d[i + 2] > d[i] + 60) blue++;
    }
    return { distinct: seen.size, orange, blue, pixels: d.length / 4 };
  });

/** Elements markup could have added, and the flag a payload sets. */
const injected = (p: Page) =>
  p.evaluate(() => ({
    elements: document.querySelectorAll('img, script:not([type="module"]), iframe, svg, object').length,
    pwned: (window as unknown as { __pwned?: number }).__pwned ?? null,
  }));

describe('the Playground in Chromium with WebGPU (SwiftShader)', () => {
  let firstTestLoss = NaN;

  test('opens a link on WebGPU, plays, and the test loss falls from its first value', async () => {
    await open(page, LINK);
    expect(await page.textContent('#gpu-banner')).toMatch(/WebGPU ready: google swiftshader/);
    const first = await read(page);
    expect(first.epoch).toBe(0);
    firstTestLoss = first.testLoss;
    expect(Number.isFinite(firstTestLoss)).toBe(true);
    await page.click('[data-testid="play"]');
    const t0 = Date.now();
    const later = await until(page, 'epoch 30', (s) => s.epoch >= 30, 60_000);
    console.log(`playground: epoch ${later.epoch} after ${((Date.now() - t0) / 1000).toFixed(1)} s; ${await page.textContent('#speed')}`);
    await page.click('[data-testid="play"]');
    const shown = await read(page);
    expect(Number.isFinite(shown.trainLoss) && Number.isFinite(shown.testLoss)).toBe(true);
    // At noise 0 the circle is separable: 30 epochs of SGD at the Playground's defaults halve the test loss at least
    // (the same run in Node on the CPU backend: from 1.01 to below 0.1 in 40 epochs, playground-logic.test.ts).
    expect(shown.testLoss).toBeLessThan(firstTestLoss / 2);
    const c = await colours(page);
    expect(c.distinct).toBeGreaterThan(2);
    // The blue disc inside the orange ring: both sides hold a real share of the plane.
    expect(c.orange).toBeGreaterThan(c.pixels / 10);
    expect(c.blue).toBeGreaterThan(c.pixels / 20);
    // Hovering a link shows its weight and the neurons it joins, as text.
    const middle = await firstLinkMiddle(page);
    await page.mouse.move(middle.x, middle.y);
    expect(await page.textContent('[data-testid="link-card"]')).toMatch(/^Weight -?\d+(\.\d+)?(e[-+]\d+)?: x \(X₁\) → layer 1, neuron 1$/);
    await page.screenshot({ path: join(OUTPUT, 'playground-trained.png'), fullPage: true });
    await page.mouse.move(middle.x, middle.y - 40);
    expect(await page.isVisible('[data-testid="link-card"]')).toBe(false);
    expect(problems).toEqual([]);
  });

  test('exports a model file that webgrad predict and both exports take', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="export"]')]);
    expect(download.suggestedFilename()).toBe('webgrad-playground-circle.safetensors');
    const file = join(OUTPUT, 'playground-circle.safetensors');
    await download.saveAs(file);
    const rows = join(OUTPUT, 'playground-points.csv');
    writeFileSync(rows, 'x,y\n0,0\n5,5\n');
    const p = await runCli(['predict', file, rows, '--backend', 'cpu']);
    expect(p.code, p.err).toBe(0);
    expect(p.out.trim().split('\n')).toHaveLength(2);
    const onnx = await runCli(['export', file, '--to', 'onnx', join(OUTPUT, 'playground-circle.onnx')]);
    expect(onnx.code, onnx.err).toBe(0);
    const torch = await runCli(['export', file, '--to', 'pytorch', join(OUTPUT, 'playground-circle-torch')]);
    expect(torch.code, torch.err).toBe(0);
  });

  test('the backend control moves the training to the CPU worker; the link and a reload keep it', async () => {
    await reopen(page, LINK);
    await page.click('[data-testid="play"]');
    await until(page, 'epoch 5 on WebGPU', (s) => s.epoch >= 5, 60_000);
    await page.click('[data-testid="play"]');
    // Pause lets the epochs already asked for finish: wait for the counter to stand still.
    let before = await read(page);
    for (let again = await read(page); ; before = again) {
      await page.waitForTimeout(300);
      again = await read(page);
      if (again.epoch === before.epoch) break;
    }
    expect(await page.getAttribute('body', 'data-training-on')).toBe('webgpu');
    await page.selectOption('#backend', 'cpu');
    await page.waitForSelector('body[data-training-on="cpu"]');
    expect(await page.textContent('#speed')).toBe('Press play to measure the speed on the CPU backend in a Web Worker.');
    // The weights, the optimizer state and the epoch went over with it.
    const moved = await read(page);
    expect(moved.hash).toContain('backend=cpu');
    expect(moved.epoch).toBe(before.epoch);
    await page.click('[data-testid="play"]');
    const later = await until(page, '30 epochs more on the CPU', (s) => s.epoch >= before.epoch + 30, 60_000);
    await page.click('[data-testid="play"]');
    expect(Number.isFinite(later.trainLoss)).toBe(true);
    expect(await page.textContent('#speed')).toMatch(/epochs\/s · .* steps\/s .* · the CPU backend in a Web Worker$/);
    console.log(`playground (CPU worker, chosen): ${await page.textContent('#speed')}`);
    await page.reload();
    await page.waitForSelector('body[data-ready]', { timeout: 60_000 });
    expect((await read(page)).hash).toContain('backend=cpu');
    expect(await page.inputValue('#backend')).toBe('cpu');
    expect(await page.textContent('#speed')).toBe('Press play to measure the speed on the CPU backend in a Web Worker.');
    expect(await page.textContent('#gpu-banner')).toMatch(/WebGPU ready/);
    expect(problems).toEqual([]);
  });

  test('a control change moves the link; reloading the link gives the same controls', async () => {
    await page.selectOption('#learningRate', '0.1');
    await page.selectOption('#activation', 'relu');
    await page.click('#add-layer');
    await page.check('#showTestData');
    await page.selectOption('#optimizer', 'adam');
    const { hash } = await read(page);
    expect(hash).toContain('learningRate=0.1&');
    expect(hash).toContain('activation=relu&');
    expect(hash).toContain('networkShape=4,2,2&');
    expect(hash).toContain('showTestData=true');
    expect(hash).toContain('optimizer=adam');
    await page.reload();
    await page.waitForSelector('body[data-ready]', { timeout: 60_000 });
    expect((await read(page)).hash).toBe(hash);
    expect(await page.inputValue('#learningRate')).toBe('0.1');
    expect(await page.inputValue('#activation')).toBe('relu');
    expect(await page.inputValue('#optimizer')).toBe('adam');
    expect(await page.isChecked('#showTestData')).toBe(true);
    expect(await page.textContent('#layer-count')).toBe('3 hidden layers');
    expect(await page.locator('.pg-col-head select').evaluateAll((s) => s.map((e) => (e as HTMLSelectElement).value))).toEqual(['relu', 'relu', 'relu']);
    expect(await page.isVisible('#link-problems')).toBe(false);
  });

  test('a hostile link and a hostile CSV are shown as text, with no element added', async () => {
    const before = await injected(page);
    await open(page, `dataset=${encodeURIComponent('<img src=x onerror=window.__pwned=1>')}&activation=%3Csvg%20onload%3Dwindow.__pwned%3D2%3E&learningrat=0.1&seed=3`);
    const text = (await page.textContent('#link-problems')) ?? '';
    expect(text).toContain('dataset must be one of');
    expect(text).toContain('"<img src=x onerror=window.__pwned=1>"');
    expect(text).toContain("unknown option \"learningrat\" (did you mean 'learningRate'?)");
    expect(await injected(page)).toEqual(before);
    // The defaults stand in, and the page works.
    expect(await page.inputValue('#activation')).toBe('tanh');
    await page.setInputFiles('#csv', { name: '<b>evil</b>.csv', mimeType: 'text/csv', buffer: Buffer.from('x,y,label\n1,2,1\n1,<img src=x onerror=window.__pwned=3>,1\n') });
    await page.waitForFunction(() => !document.getElementById('error')!.hidden);
    expect(await page.textContent('#error')).toBe('<b>evil</b>.csv: line 3: "<img src=x onerror=window.__pwned=3>" in column 2 (y) is not a finite number');
    expect(await injected(page)).toEqual(before);
    await page.setInputFiles('#csv', { name: 'mine.csv', mimeType: 'text/csv', buffer: Buffer.from('x,y,label\n-3,-3,0\n3,3,1\n-4,-2,0\n2,4,1\n-2,-4,0\n4,2,1\n') });
    await page.waitForFunction(() => document.getElementById('csv-status')!.textContent!.startsWith('mine.csv: 3 training and 3 test points (classification)'));
    // The link's problems go once the user has set what each named: the upload set the data set; two to go.
    expect(await page.locator('#link-problems li.resolved').count()).toBe(1);
    expect(await page.isVisible('#link-problems')).toBe(true);
    await page.selectOption('#activation', 'relu');
    expect(await page.isVisible('#link-problems')).toBe(true);
    await page.selectOption('#learningRate', '0.1');
    expect(await page.isVisible('#link-problems')).toBe(false);
    await page.screenshot({ path: join(OUTPUT, 'playground-upload.png'), fullPage: true });
    expect(problems).toEqual([]);
  });
});

describe('the Playground with no WebGPU', () => {
  test('says so, and trains on the CPU backend in a worker', async () => {
    const cpu = await newPage(browser, { noWebGPU: true });
    try {
      // A link that asks for WebGPU, where there is none: the CPU instead, and the banner says so.
      await open(cpu.page, `${LINK}&backend=webgpu`);
      expect(await cpu.page.getAttribute('#gpu-banner', 'data-no-webgpu')).toBe('');
      expect(await cpu.page.textContent('#gpu-banner')).toContain('This link asks for backend=webgpu; with no WebGPU here, it runs on backend=cpu.');
      expect((await read(cpu.page)).hash).toContain('backend=cpu');
      expect(await cpu.page.isDisabled('#backend-webgpu')).toBe(true);
      expect(await cpu.page.textContent('#gpu-banner')).toContain('trains on the CPU backend instead, in a Web Worker');
      const first = await read(cpu.page);
      await cpu.page.click('[data-testid="play"]');
      const later = await until(cpu.page, 'epoch 30 on the CPU', (s) => s.epoch >= 30, 60_000);
      await cpu.page.click('[data-testid="play"]');
      expect(Number.isFinite(later.trainLoss)).toBe(true);
      expect(later.testLoss).toBeLessThan(first.testLoss / 2);
      expect(await cpu.page.textContent('#speed')).toMatch(/epochs\/s · .* steps\/s .* · the CPU backend in a Web Worker$/);
      console.log(`playground (CPU worker): ${await cpu.page.textContent('#speed')}`);
      await cpu.page.screenshot({ path: join(OUTPUT, 'playground-cpu.png'), fullPage: true });
      expect(cpu.problems).toEqual([]);
    } finally {
      await cpu.context.close();
    }
  });
});
