// Debian's Chromium, headless, with WebGPU on its bundled SwiftShader
// adapter (see shared/WEBGPU-SETUP.md), and a record of everything the page
// says is wrong: console errors, uncaught exceptions, WebGPU warnings.
import { existsSync, mkdirSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import type { StaticServer } from './server.js';
import { serveStatic } from './server.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-webgpu-adapter=swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
}

/** Console errors, page errors, crashes, and any console line about WebGPU validation. */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (msg) => {
    const text = msg.text();
    if (msg.type() === 'error' || (msg.type() === 'warning' && /webgpu|validation|GPU/i.test(text))) problems.push(`console.${msg.type()}: ${text}`);
  });
  page.on('pageerror', (err) => problems.push(`uncaught: ${err.message}`));
  page.on('crash', () => problems.push('the page crashed'));
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()} (${req.failure()?.errorText ?? '?'})`));
  return problems;
}

/**
 * Runs in the page before its own scripts: counts pipelines created with the
 * blocking and the async API, and reports every uncaptured WebGPU error on
 * the console itself, whatever the page does with it.
 */
function instrumentWebGPU(): void {
  const w = window as unknown as { pipelines: { sync: number; async: number } };
  w.pipelines = { sync: 0, async: 0 };
  if (typeof GPUDevice === 'undefined') return;
  const proto = GPUDevice.prototype;
  const sync = proto.createComputePipeline;
  const async = proto.createComputePipelineAsync;
  proto.createComputePipeline = function (this: GPUDevice, d: GPUComputePipelineDescriptor) {
    w.pipelines.sync++;
    return sync.call(this, d);
  };
  proto.createComputePipelineAsync = function (this: GPUDevice, d: GPUComputePipelineDescriptor) {
    w.pipelines.async++;
    return async.call(this, d);
  };
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (this: GPUAdapter, d?: GPUDeviceDescriptor) {
    const device = await requestDevice.call(this, d);
    device.addEventListener('uncapturederror', (ev) => console.error(`WebGPU uncaptured error: ${(ev as GPUUncapturedErrorEvent).error.message}`));
    return device;
  };
}

export async function newPage(browser: Browser, options: { noWebGPU?: boolean } = {}): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1500, height: 1300 }, acceptDownloads: true });
  await context.addInitScript(instrumentWebGPU);
  if (options.noWebGPU) {
    // What a browser without WebGPU looks like to the page.
    await context.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true }));
  }
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  return { context, page, problems: watchProblems(page) };
}

/** What an end-to-end file opens before its tests: the built demo served from the repository root, Chromium, one page. */
export interface DemoSession {
  readonly server: StaticServer;
  readonly browser: Browser;
  readonly context: BrowserContext;
  readonly page: Page;
  readonly problems: string[];
  close(): Promise<void>;
}

/** Serves the repository root, so the demo lives at /dist-demo/ (the build must work from a sub-path), and opens a page. */
export async function openDemo(output: string): Promise<DemoSession> {
  mkdirSync(output, { recursive: true });
  const server = await serveStatic('.', 'dist-demo/index.html');
  const browser = await launchChromium();
  const { context, page, problems } = await newPage(browser);
  return {
    server, browser, context, page, problems,
    async close() {
      await context.close().catch(() => {});
      await browser.close().catch(() => {});
      await server.close();
    },
  };
}
