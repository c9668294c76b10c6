// The demo page: wires the form, the trainers and the panels together.
import type { LoadedData } from './data/load.js';
import { loadBuiltin, loadIdxFiles } from './data/load.js';
import { localTrainer, workerTrainer } from './train/client.js';
import { errorText } from './train/model.js';
import type { BackendName, TrainerApi, TrainerEvent } from './train/protocol.js';
import { probeWebGPU } from './ui/banner.js';
import { showConfusion } from './ui/confusion.js';
import { Curves } from './ui/curves.js';
import { $, fmt, reportingErrors, saveBytes, showError } from './ui/dom.js';
import { readConfig, selectedBackend, setUpForm } from './ui/form.js';
import { TestGrid } from './ui/grid.js';
import { Sketchpad } from './ui/sketch.js';
import { clearRun, Comparison, showBatchNormStatistics, showDevice, showPhase, showProgress, showRunSpeed, showTest } from './ui/stats.js';
import { showWeights } from './ui/weights.js';

class App {
  private data: LoadedData | null = null;
  private dataVersion = 0;
  private trainers = new Map<BackendName, { api: TrainerApi; dataVersion: number }>();
  /** The backend whose trainer holds the current model. */
  private active: BackendName | null = null;
  private running = false;
  private paused = false;
  private modelReady = false;
  private readonly curves = new Curves($<HTMLCanvasElement>('curves'));
  private readonly comparison = new Comparison();
  private readonly grid = new TestGrid(() => this.data?.test ?? null);
  private readonly sketch = new Sketchpad((x) => this.trainer(this.active!).predict(x), () => this.modelReady && this.active !== null);

  async start(): Promise<void> {
    setUpForm();
    $('train').addEventListener('click', () => void this.train());
    $('pause').addEventListener('click', () => void this.togglePause());
    $('stop').addEventListener('click', () => void this.act(() => this.trainer(this.active!).stop()));
    $('save').addEventListener('click', () => void this.act(() => this.save()));
    $<HTMLInputElement>('load').addEventListener('change', (e) => void this.act(() => this.load(e.target as HTMLInputElement)));
    $<HTMLInputElement>('idx-files').addEventListener('change', (e) => void this.act(() => this.loadFiles(e.target as HTMLInputElement)));
    $('builtin').addEventListener('click', () => void this.act(() => this.useData(loadBuiltin())));
    this.grid.clear();
    this.buttons();
    await Promise.all([probeWebGPU(), this.act(() => this.useData(loadBuiltin()))]);
    document.body.dataset.ready = '';
  }

  private trainer(backend: BackendName): TrainerApi {
    let t = this.trainers.get(backend);
    if (!t) {
      const onEvent = (ev: TrainerEvent) => this.onEvent(backend, ev);
      t = { api: backend === 'webgpu' ? localTrainer(onEvent) : workerTrainer(onEvent), dataVersion: -1 };
      this.trainers.set(backend, t);
    }
    return t.api;
  }

  private async withData(backend: BackendName): Promise<TrainerApi> {
    const t = this.trainer(backend);
    const entry = this.trainers.get(backend)!;
    if (this.data && entry.dataVersion !== this.dataVersion) {
      await t.setData(this.data.train, this.data.test);
      entry.dataVersion = this.dataVersion;
    }
    return t;
  }

  private async train(): Promise<void> {
    this.error('');
    let config;
    try {
      config = readConfig();
    } catch (e) {
      return this.error(errorText(e));
    }
    if (!this.data) return this.error('No digits loaded yet.');
    this.running = true;
    this.paused = false;
    this.modelReady = false;
    this.active = config.backend;
    this.buttons();
    clearRun();
    this.curves.reset(config.epochs, config.validationSplit);
    try {
      const summary = await (await this.withData(config.backend)).train(config);
      if (summary) this.comparison.add(summary);
    } catch (e) {
      this.error(errorText(e));
    } finally {
      this.running = false;
      this.paused = false;
      this.buttons();
    }
  }

  private async togglePause(): Promise<void> {
    if (!this.running || !this.active) return;
    this.paused = !this.paused;
    this.buttons();
    await (this.paused ? this.trainer(this.active).pause() : this.trainer(this.active).resume());
  }

  private onEvent(backend: BackendName, ev: TrainerEvent): void {
    if (backend !== this.active) return;
    switch (ev.type) {
      case 'phase':
        showPhase(ev.phase, ev.text);
        if (ev.phase === 'training') this.modelReady = true;
        break;
      case 'device':
        showDevice(ev.device);
        break;
      case 'model':
        $('model-info').textContent = `${ev.info.layers} · ${fmt(ev.info.params)} parameters${ev.info.nonTrainable ? ` (${fmt(ev.info.nonTrainable)} non-trainable)` : ''} · ${ev.info.optimizer}`;
        break;
      case 'progress':
        showProgress(ev.progress);
        break;
      case 'live':
        this.curves.addLive(ev.at, ev.logs);
        break;
      case 'epoch':
        this.curves.addEpoch(ev.epoch, ev.logs);
        break;
      case 'insight': {
        const test = this.data!.test;
        this.modelReady = true;
        this.grid.show(ev.insight);
        showConfusion(ev.insight, test);
        showWeights(ev.insight.kernel, ev.insight.kernelShape, test.side);
        if (ev.insight.test) showTest(ev.insight.test, test.n, epochsText(ev.insight.at));
        this.sketch.refresh();
        this.buttons();
        break;
      }
      case 'done':
        showRunSpeed(ev.summary);
        if (ev.summary.batchNormSamples !== null) showBatchNormStatistics(ev.summary.batchNormSamples);
        break;
      case 'error':
        this.error(ev.message);
        break;
    }
  }

  private async useData(pending: Promise<LoadedData>): Promise<void> {
    $('data-status').textContent = 'Loading digits…';
    const data = await pending;
    this.data = data;
    this.dataVersion++;
    this.grid.clear();
    $('data-status').textContent = `${fmt(data.train.n)} training and ${fmt(data.test.n)} test digits (${data.train.side}×${data.train.side}) · ${data.source}`;
    $('data-status').dataset.loaded = '';
    this.buttons();
  }

  private async loadFiles(input: HTMLInputElement): Promise<void> {
    const files = Array.from(input.files ?? []);
    input.value = '';
    if (files.length) await this.useData(loadIdxFiles(files));
  }

  private async save(): Promise<void> {
    saveBytes(await this.trainer(this.active!).save(), 'webgrad-mnist.safetensors');
  }

  private async load(input: HTMLInputElement): Promise<void> {
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    const backend = selectedBackend();
    const t = await this.withData(backend);
    this.active = backend;
    this.modelReady = false;
    clearRun();
    showPhase('preparing', `Loading ${file.name}…`);
    await t.load(new Uint8Array(await file.arrayBuffer()), backend, file.name);
    showPhase('done', `Loaded ${file.name}`);
  }

  /** Runs a button's action, showing its error instead of losing it. */
  private act(action: () => Promise<void>): Promise<void> {
    return reportingErrors(action, () => this.buttons());
  }

  private error(message: string): void {
    showError(message);
  }

  private buttons(): void {
    const r = this.running;
    $<HTMLButtonElement>('train').disabled = r || !this.data;
    $<HTMLButtonElement>('pause').disabled = !r;
    $<HTMLButtonElement>('pause').textContent = this.paused ? 'Resume' : 'Pause';
    $<HTMLButtonElement>('stop').disabled = !r;
    $<HTMLButtonElement>('save').disabled = !this.modelReady;
    $<HTMLInputElement>('load').disabled = r;
    $<HTMLInputElement>('idx-files').disabled = r;
    $<HTMLButtonElement>('builtin').disabled = r;
  }
}

/** "after 2 epochs", "after 0.37 epochs", or a loaded model's "as loaded". */
function epochsText(at: number): string {
  if (at === 0) return 'as loaded';
  const n = Number.isInteger(at) ? String(at) : at.toFixed(2);
  return `after ${n} epoch${at === 1 ? '' : 's'}`;
}

void new App().start().catch((e) => {
  console.error(e);
  $('error').textContent = `The demo could not start: ${errorText(e)}`;
  $('error').hidden = false;
});
