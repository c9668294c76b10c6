// The demo's Load button with hostile model files (#24): a model file's
// names, and the file's own name, reach the page only as text. A file whose
// names are markup loads and is evaluated with no element or script added;
// one whose name the loader refuses shows the refusal, as text, in one line.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from '../../src/interop/safetensors.js';
import { dense, flatten } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import { modelToBytes } from '../../src/nn/saving.js';
import type { DemoSession } from './browser.js';
import { openDemo } from './browser.js';
import { waitUntil } from './page.js';
import type { StaticServer } from './server.js';

const OUTPUT = 'test/e2e/output';
const MARKUP = `</script><img src=x onerror="window.__hacked=1"><script>window.__hacked=2</script>`;

let demo: DemoSession;
let server: StaticServer;
let page: Page;
let problems: string[];

beforeAll(async () => {
  demo = await openDemo(OUTPUT);
  ({ server, page, problems } = demo);
});

afterAll(() => demo?.close());

/** What markup could have added: elements that run or fetch, inline handlers, a flag the payload sets, the title. */
const injected = (p: Page) =>
  p.evaluate(() => ({
    elements: document.querySelectorAll('img, script, iframe, object, embed').length,
    handlers: Array.from(document.querySelectorAll('*')).filter((el) => Array.from(el.attributes).some((a) => a.name.startsWith('on'))).length,
    hacked: (window as unknown as { __hacked?: number }).__hacked ?? null,
    title: document.title,
  }));

/** A 784 → 10 softmax model for the demo's digits, every name of it `MARKUP`-laden. */
async function hostileModel(): Promise<Uint8Array> {
  const m = sequential([flatten({ inputShape: [28, 28, 1], name: `flat ${MARKUP}` }), dense(10, { activation: 'softmax', name: `out ${MARKUP}` })], { name: MARKUP, seed: 1 });
  m.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'], backend: 'cpu' });
  m.setClassNames(Array.from({ length: 10 }, (_, i) => `${i} ${MARKUP}`));
  await m.predict({ data: new Float32Array(784), shape: [1, 28, 28, 1] });
  const bytes = await modelToBytes(m);
  m.dispose();
  return bytes;
}

describe('the demo loads hostile model files as data', () => {
  test('a file whose names (and file name) are markup loads and is evaluated, and nothing is injected', async () => {
    await page.goto(`${server.url}dist-demo/`, { timeout: 30_000 });
    await page.waitForSelector('body[data-ready]', { timeout: 60_000 });
    await page.waitForFunction(() => /^8,000 training/.test(document.getElementById('data-status')!.textContent ?? ''), undefined, { timeout: 30_000 });
    const before = await injected(page);
    // The file's own name is markup too: it is shown in the phase line.
    const fileName = `<img src=x onerror="window.__hacked=3">.safetensors`;
    const path = join(OUTPUT, fileName);
    writeFileSync(path, await hostileModel());
    await page.setInputFiles('#load', path);
    await waitUntil(page, 'the hostile model to be evaluated', (s) => s.testNote.startsWith('as loaded'), 60_000);
    expect(await page.textContent('#phase')).toBe(`Loaded ${fileName}`);
    expect(await injected(page)).toEqual(before);
    expect(problems).toEqual([]);
  });

  test('a file whose name holds a newline and a script is refused in one line of text, and nothing is injected', async () => {
    const before = await injected(page);
    const { tensors, metadata } = decodeSafetensors(await hostileModel(), 'hostile');
    const topology = JSON.parse(metadata.topology);
    topology.name = `x\n${MARKUP}`;
    const path = join(OUTPUT, 'refused.safetensors');
    writeFileSync(path, encodeSafetensors(tensors, { ...metadata, topology: JSON.stringify(topology) }));
    await page.setInputFiles('#load', path);
    await page.waitForSelector('#error:not([hidden])', { timeout: 30_000 });
    const error = (await page.textContent('#error')) ?? '';
    expect(error).toMatch(/^refused\.safetensors: topology\.name "x\\n<\/script><img src=x onerror=\\"window\.__hacked=1\\"><script>.*holds U\+000A at index 1/);
    expect(error).not.toContain('\n');
    expect(await injected(page)).toEqual(before);
    // The demo logs what it shows; that is the one console error, and it is this one.
    expect(problems).toEqual([`console.error: webgrad demo: ${error}`]);
  });
});
