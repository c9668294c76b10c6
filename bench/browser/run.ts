// Drives the browser bench page in headless Chromium (SwiftShader's WebGPU):
// builds the page with Vite, serves it and the digits on 127.0.0.1, loads it
// with the plan in the URL, and waits, with a deadline, for its results.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { build } from 'vite';
import { loadBuiltinMnist } from '../../src/data/mnist.js';
import type { MatmulShape } from '../lib/jobs.js';
import { shuffledDigits, W4, W5 } from '../workloads.js';
import type { TrainWorkload } from '../workloads.js';
import type { BrowserPlan, BrowserResult } from './page.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** WEBGPU-SETUP.md: SwiftShader's Vulkan WebGPU adapter in headless Chromium. */
const ARGS = ['--headless', '--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-webgpu-adapter=swiftshader', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const PAGE_OUT = 'node_modules/.cache/webgrad-bench-page';
const BROWSER_W4 = (quick: boolean) => (quick ? 128 : 1024);

/** The page's plan; `only` keeps just those training workloads (--workloads). */
export function browserPlan(quick: boolean, only?: readonly string[]): BrowserPlan {
  // SwiftShader runs tfjs' W2 at ~84 samples/s: its runs are shortened to a number of steps.
  let workloads: TrainWorkload[] = [
    { id: 'W1', title: 'MLP 784-128-10, batch 128', layers: [784, 128, 10], batch: 128, samples: quick ? 512 : 8000 },
    { id: 'W2', title: 'MLP 784-1000-100-10, batch 100', layers: [784, 1000, 100, 10], batch: 100, samples: quick ? 100 : 1000 },
  ];
  // W3 is one step (61 GFLOP): tfjs-webgpu needs about two minutes for it on SwiftShader, so --quick leaves it out.
  if (!quick) workloads.push({ id: 'W3', title: 'MLP 784-4096-4096-10, batch 512, 1 step', layers: [784, 4096, 4096, 10], batch: 512, samples: 512 });
  // W4 on the first BROWSER_W4 digits: SwiftShader trains tfjs-webgpu's W4 at a few samples/s.
  const w4 = W4(quick);
  workloads.push({ ...w4, title: w4.title.replace('one epoch', `first ${BROWSER_W4(quick)} digits`), samples: BROWSER_W4(quick) });
  // W5, the Playground page's own work on this adapter: 20 epochs a run, as in Node (SwiftShader is where the page trains here).
  workloads.push(W5);
  if (only) workloads = workloads.filter((w) => only.includes(w.id));
  const shapes: MatmulShape[] = [{ label: '1024³', M: 1024, K: 1024, N: 1024, transA: false, transB: false }];
  if (!quick) shapes.push({ label: '256³', M: 256, K: 256, N: 256, transA: false, transB: false });
  return { workloads, shapes, budgetSeconds: quick ? 8 : 60, maxRuns: quick ? 1 : 3, variants: !quick };
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json', '.wasm': 'application/wasm' };

function serve(root: string, digits: Buffer): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (path === '/digits.bin') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(digits);
      return;
    }
    const file = normalize(join(root, path === '/' ? 'index.html' : path));
    if (!file.startsWith(normalize(root)) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const addr = server.address();
    resolve({ server, url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/` });
  }));
}

function digitsBuffer(): Buffer {
  const { train } = loadBuiltinMnist();
  const d = shuffledDigits(train.x, train.y as Int32Array);
  return Buffer.concat([Buffer.from(d.x.buffer, d.x.byteOffset, d.x.byteLength), Buffer.from(d.y.buffer, d.y.byteOffset, d.y.byteLength)]);
}

/** Runs the page; resolves with its results or rejects with what went wrong, within `timeoutSeconds`. */
export async function runBrowserBench(plan: BrowserPlan, timeoutSeconds: number, log: (line: string) => void): Promise<BrowserResult> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH`);
  await build({ root: 'bench/browser', base: './', logLevel: 'error', build: { outDir: `../../${PAGE_OUT}`, emptyOutDir: true, target: 'es2022' } });
  const { chromium } = await import('playwright-core');
  const { server, url } = await serve(PAGE_OUT, digitsBuffer());
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 60_000 });
  try {
    const page = await browser.newPage();
    page.on('console', (m) => log(`    [page] ${m.text()}`));
    page.on('pageerror', (e) => log(`    [page error] ${e.message}`));
    await page.goto(`${url}?plan=${encodeURIComponent(JSON.stringify(plan))}`, { timeout: 60_000 });
    await page.waitForFunction(() => window.benchResult !== undefined || window.benchError !== undefined, undefined, { timeout: timeoutSeconds * 1000, polling: 1000 });
    const error = await page.evaluate(() => window.benchError);
    if (error) throw new Error(`the bench page failed: ${error}`);
    return (await page.evaluate(() => window.benchResult)) as BrowserResult;
  } finally {
    await browser.close();
    server.close();
  }
}
