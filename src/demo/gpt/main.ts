// The GPT page: a text, a size and a backend in; a training loop that the
// page drives a chunk of steps at a time, with the loss curve, a sample every
// few seconds and the speed; then a prompt to write from and a model file,
// saved, or opened to write from (a file the CLI trained, or this page).
// Everything the user or the model wrote reaches the page as text, never markup.
import { vocabularyOf } from '../../index.js';
import { errorText } from '../train/model.js';
import type { BackendName, Phase } from '../train/protocol.js';
import type { Remote } from '../train/rpc.js';
import { workerProxy } from '../train/rpc.js';
import { probeWebGPU } from '../ui/banner.js';
import { $, fmt, h, reportingErrors, saveBytes, showError } from '../ui/dom.js';
import { showDevice, showPhase } from '../ui/stats.js';
import { builtinCorpus } from './corpus.js';
import { LossCurve } from './curve.js';
import { describeOpened } from './describe.js';
import type { BuildInfo, ModelInfo, SizeName } from './engine.js';
import { ENGINE_METHODS, GptEngine } from './engine.js';

type EngineApi = Remote<GptEngine, (typeof ENGINE_METHODS)[number]>;

/** Seconds of training between samples (and test losses): "a sample that improves every few seconds". */
const SAMPLE_EVERY_S = 3;
/** Characters in each sample while training. */
const SAMPLE_LENGTH = 100;
const SAMPLE_TEMPERATURE = 0.8;
/** A chunk of steps (one fit() call) lasts about this long: short enough for Stop to answer at once, long enough that the calls cost little. */
const CHUNK_S = 0.4;
const MAX_CHUNK_STEPS = 64;

const checked = (name: string) => document.querySelector<HTMLInputElement>(`input[name="${name}"]:checked`)!.value;

class GptPage {
  private readonly engines = new Map<BackendName, EngineApi>();
  /** The engine that holds the current model. */
  private active: EngineApi | null = null;
  private info: ModelInfo | null = null;
  /** What Save names the file: the opened file's name, or the page's own for a model trained here. */
  private fileName = 'webgrad-gpt.safetensors';
  private running = false;
  private opening = false;
  private writing = false;
  private stopRequested = false;
  private readonly curve = new LossCurve($<HTMLCanvasElement>('curves'));
  private readonly text = $<HTMLTextAreaElement>('text');

  async start(): Promise<void> {
    $('train').addEventListener('click', () => void this.act(() => this.train()));
    $('stop').addEventListener('click', () => (this.stopRequested = true));
    $('write').addEventListener('click', () => void this.act(() => this.write()));
    $('save').addEventListener('click', () => void this.act(() => this.save()));
    $<HTMLInputElement>('open').addEventListener('change', (e) => void this.act(() => this.open(e.target as HTMLInputElement)));
    $('builtin').addEventListener('click', () => void this.act(() => this.useBuiltin()));
    $('clear-text').addEventListener('click', () => this.setText(''));
    this.text.addEventListener('input', () => this.showTextStatus());
    this.curve.reset(null);
    this.buttons();
    await probeWebGPU();
    document.body.dataset.ready = '';
  }

  private engine(backend: BackendName): EngineApi {
    let e = this.engines.get(backend);
    if (!e) {
      // WebGPU on the page, where its device belongs; the CPU backend in a worker, as the MNIST page runs them.
      e = backend === 'webgpu'
        ? new GptEngine()
        : workerProxy<GptEngine, (typeof ENGINE_METHODS)[number]>(new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'webgrad-gpt-cpu' }), ENGINE_METHODS, (m) => this.error(m));
      this.engines.set(backend, e);
    }
    return e;
  }

  private async useBuiltin(): Promise<void> {
    $('text-status').textContent = 'Loading webgrad’s docs…';
    this.setText(await builtinCorpus(), 'webgrad’s README and docs (the CLI’s webgrad-docs corpus, MIT)');
  }

  private setText(text: string, source = ''): void {
    this.text.value = text;
    this.showTextStatus(source);
  }

  private showTextStatus(source = ''): void {
    const text = this.text.value;
    const el = $('text-status');
    el.textContent = text ? `${fmt(Array.from(text).length)} characters, ${fmt(vocabularyOf(text).length)} different${source ? ` · ${source}` : ''}` : 'No text yet.';
    this.buttons();
  }

  private async train(): Promise<void> {
    const backend = checked('backend') as BackendName;
    const size = checked('size') as SizeName;
    this.running = true;
    this.stopRequested = false;
    this.info = null;
    this.active = null;
    this.buttons();
    try {
      showPhase('preparing', backend === 'webgpu' ? 'Opening the WebGPU device…' : 'Starting the CPU backend…');
      const engine = this.engine(backend);
      showDevice(await engine.open(backend));
      const info = await engine.build(this.text.value, size, 42);
      this.active = engine;
      this.fileName = 'webgrad-gpt.safetensors';
      this.showModel(info);
      showPhase('compiling', backend === 'webgpu' ? 'Compiling the training step’s shaders…' : 'Building the training step…');
      await this.loop(engine);
      showPhase('stopped', 'Stopped');
    } catch (e) {
      showPhase('error', 'Error');
      throw e;
    } finally {
      this.running = false;
      this.buttons();
    }
  }

  private showModel(info: BuildInfo): void {
    this.resetRun(info, 'Appears after the first steps.');
    $('model-info').textContent = `${fmt(info.params)} parameters · ${info.vocabulary} characters · context ${info.contextLength} · batch ${info.batchSize} · ${fmt(info.trainWindows)} training and ${fmt(info.testWindows)} test windows (${fmt(info.trainCharacters)} / ${fmt(info.testCharacters)} characters)`;
  }

  /** A new model's empty run panel, and what the prompt may hold. */
  private resetRun(info: ModelInfo, sample: string): void {
    this.info = info;
    this.curve.reset(info.vocabulary);
    for (const id of ['step', 'epoch', 'speed', 'train-loss', 'test-loss']) $(id).textContent = '–';
    $('sample').textContent = sample;
    delete $('sample').dataset.step;
    $('written').replaceChildren();
    $('write-note').textContent = '';
    $('context-note').textContent = `This model reads at most ${info.contextLength} characters: a longer prompt is cropped to its last ${info.contextLength}, as nanoGPT crops it (idx[:, -block_size:]), and so is the text as it grows. Every character of the prompt must be one the model knows (one of its ${info.vocabulary}).`;
  }

  /**
   * A model file in place of the current model, on the chosen backend, to
   * write from and save again. A file that is no character model is refused
   * by name, and the model the page had stays.
   */
  private async open(input: HTMLInputElement): Promise<void> {
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    const backend = checked('backend') as BackendName;
    const phase = $('phase');
    const before = { phase: phase.dataset.phase as Phase | undefined, text: phase.textContent ?? '' };
    this.opening = true;
    this.buttons();
    try {
      showPhase('preparing', `Opening ${file.name}…`);
      const engine = this.engine(backend);
      const device = await engine.open(backend);
      const info = await engine.load(new Uint8Array(await file.arrayBuffer()), file.name);
      // Only now: a refused file leaves the page's model, and what it says of it, as they were.
      showDevice(device);
      this.active = engine;
      this.fileName = file.name;
      this.resetRun(info, 'An opened model does not train here; it writes under “Let it write”.');
      $('model-info').textContent = describeOpened(info, file.name);
      showPhase('done', `Opened ${file.name}`);
    } catch (e) {
      if (before.phase) showPhase(before.phase, before.text);
      else {
        phase.textContent = before.text;
        delete phase.dataset.phase;
        delete $('run-card').dataset.phase;
      }
      throw e;
    } finally {
      this.opening = false;
    }
  }

  /** Chunks of steps until Stop, each sized to last about CHUNK_S; a sample and the test loss every SAMPLE_EVERY_S of training. */
  private async loop(engine: EngineApi): Promise<void> {
    let steps = 1;
    let step = 0;
    // Characters and seconds inside fit(): samples and test losses are not training time.
    let tokens = 0;
    let seconds = 0;
    let sampledAt = -Infinity;
    const start = this.text.value.includes('\n') ? '\n' : Array.from(this.text.value)[0];
    while (!this.stopRequested) {
      const r = await engine.train(steps);
      if (step === 0) {
        // The first chunk, one step, compiles the training step: its time says nothing of the speed.
        showPhase('training', 'Training');
      } else {
        tokens += r.tokens;
        seconds += r.seconds;
        $('speed').textContent = fmt(tokens / seconds);
        steps = Math.max(1, Math.min(MAX_CHUNK_STEPS, Math.round((steps * CHUNK_S) / Math.max(r.seconds, 1e-3))));
      }
      step += r.steps;
      this.curve.addTrain(step, r.loss);
      $('step').textContent = fmt(step);
      $('epoch').textContent = r.epochs.toFixed(2);
      $('train-loss').textContent = r.loss.toFixed(3);
      if (seconds - sampledAt >= SAMPLE_EVERY_S) {
        sampledAt = seconds;
        await this.look(engine, step, start);
      }
    }
    await this.look(engine, step, start);
  }

  /** A sample from the current weights and the test loss. */
  private async look(engine: EngineApi, step: number, start: string): Promise<void> {
    const loss = await engine.testLoss();
    this.curve.addTest(step, loss);
    $('test-loss').textContent = loss.toFixed(3);
    const s = await engine.write(start, SAMPLE_LENGTH, SAMPLE_TEMPERATURE, step);
    $('sample').textContent = s.text;
    $('sample').dataset.step = String(step);
  }

  private async write(): Promise<void> {
    const engine = this.active;
    if (!engine || !this.info) return;
    const length = Number($<HTMLInputElement>('length').value);
    const temperature = Number($<HTMLInputElement>('temperature').value);
    this.writing = true;
    this.buttons();
    $('write-note').textContent = 'Writing…';
    try {
      const w = await engine.write($<HTMLTextAreaElement>('prompt').value, length, temperature, 42);
      // The prompt as the model read it, then what it wrote: text nodes, so nothing typed or generated becomes markup.
      $('written').replaceChildren(h('span', { class: 'prompt-part' }, w.read), w.text);
      $('write-note').textContent = w.cropped > 0 ? `The prompt was cropped to its last ${this.info.contextLength} characters (${fmt(w.cropped)} cut from its start), the most the model reads.` : '';
    } catch (e) {
      $('write-note').textContent = '';
      throw e;
    } finally {
      this.writing = false;
      this.buttons();
    }
  }

  private async save(): Promise<void> {
    if (!this.active) return;
    saveBytes(await this.active.save(), this.fileName);
  }

  /** Runs a button's action, showing its error instead of losing it. */
  private act(action: () => Promise<void>): Promise<void> {
    return reportingErrors(action, () => this.buttons());
  }

  private error(message: string): void {
    showError(message);
  }

  private buttons(): void {
    const busy = this.running || this.writing || this.opening;
    const ready = this.active !== null && this.info !== null;
    $<HTMLButtonElement>('train').disabled = busy || this.text.value === '';
    $<HTMLButtonElement>('stop').disabled = !this.running;
    $<HTMLButtonElement>('write').disabled = busy || !ready;
    $<HTMLButtonElement>('save').disabled = busy || !ready;
    $<HTMLInputElement>('open').disabled = busy;
    $<HTMLButtonElement>('builtin').disabled = this.running;
    $<HTMLButtonElement>('clear-text').disabled = this.running;
    this.text.readOnly = this.running;
  }
}

void new GptPage().start().catch((e) => {
  console.error(e);
  $('error').textContent = `The page could not start: ${errorText(e)}`;
  $('error').hidden = false;
});
