// The numbers panel: phase, device, counters, speed, test accuracy; and the
// CPU-vs-GPU throughput comparison once both backends have trained.
import { extrasFlags, layersSpec } from '../train/architecture.js';
import type { DeviceInfo, Phase, Progress, RunSummary } from '../train/protocol.js';
import { $, fmt, h, pct } from './dom.js';

export function deviceLabel(d: DeviceInfo): string {
  if (d.backend === 'cpu') return 'CPU backend (TypeScript, in a Web Worker)';
  const name = [d.vendor, d.architecture].filter(Boolean).join(' ') || d.description || d.device || 'unknown adapter';
  return `WebGPU · ${name}${d.software ? ' (software adapter: runs on the CPU)' : ''}`;
}

export function showPhase(phase: Phase, text: string): void {
  const el = $('phase');
  el.textContent = text;
  el.dataset.phase = phase;
  $('run-card').dataset.phase = phase;
}

export function showDevice(d: DeviceInfo): void {
  const el = $('device');
  el.textContent = deviceLabel(d);
  el.title = [d.description, d.api && `api ${d.api}`, `feature level ${d.featureLevel}`].filter(Boolean).join(' · ');
}

export function showProgress(p: Progress): void {
  $('epoch').textContent = `${Math.min(p.epoch + 1, p.epochs)} / ${p.epochs}`;
  $('step').textContent = `${fmt(p.step)} / ${fmt(p.steps)}`;
  $('speed').textContent = `${fmt(p.recentSamplesPerSecond)} /s`;
  $('speed').title = `${fmt(p.samplesPerSecond)} samples/s over ${p.trainSeconds.toFixed(1)} s of training`;
  $('elapsed').textContent = `${p.trainSeconds.toFixed(1)} s`;
  const bar = $<HTMLProgressElement>('progress');
  bar.max = p.steps;
  bar.value = p.step;
}

/** At the end of a run: the rate over the whole run, rather than the last second's. */
export function showRunSpeed(s: RunSummary): void {
  $('speed').textContent = `${fmt(s.samplesPerSecond)} /s`;
  $('speed').title = `${fmt(s.samplesPerSecond)} samples/s: ${fmt(s.samples)} samples in ${s.trainSeconds.toFixed(1)} s of training`;
}

/** The test accuracy the page reports: model.evaluate's, on the whole test set. */
export function showTest(test: { loss: number; accuracy: number }, n: number, when: string): void {
  const el = $('test-accuracy');
  el.textContent = pct(test.accuracy, 2);
  el.dataset.value = String(test.accuracy);
  el.title = `model.evaluate on ${fmt(n)} test digits ${when}: loss ${test.loss.toFixed(4)}`;
  $('test-note').textContent = `${when} · loss ${test.loss.toFixed(3)}`;
}

/** Says that the test figures use batch normalization's recomputed statistics, and over what. */
export function showBatchNormStatistics(samples: number): void {
  const note = $('test-note');
  note.textContent = `${note.textContent} · batch-norm statistics recomputed over the ${fmt(samples)} training digits`;
}

export function clearRun(): void {
  for (const id of ['epoch', 'step', 'speed', 'elapsed']) $(id).textContent = '–';
  $('test-accuracy').textContent = '–';
  delete $('test-accuracy').dataset.value;
  $('test-note').textContent = 'model.evaluate on the test set';
  $<HTMLProgressElement>('progress').value = 0;
}

const modelKey = (s: RunSummary) => `${layersSpec(s.config.layers)}/${extrasFlags(s.config)}/${s.config.activation}/${s.config.batchSize}`;

/** "128 relu --batch-norm --dropout 0.2": the model a run trained, in the CLI's words. */
const modelText = (s: RunSummary) => [s.config.layers.length ? layersSpec(s.config.layers) : 'no hidden layer', s.config.activation, extrasFlags(s.config)].filter(Boolean).join(' ');

/** The last finished run on each backend, side by side. */
export class Comparison {
  private runs = new Map<string, RunSummary>();

  add(summary: RunSummary): void {
    if (summary.samples === 0) return;
    this.runs.set(summary.backend, summary);
    this.render();
  }

  private render(): void {
    const box = $('compare');
    const runs = ['webgpu', 'cpu'].map((b) => this.runs.get(b)).filter((r): r is RunSummary => Boolean(r));
    const top = Math.max(...runs.map((r) => r.samplesPerSecond));
    const rows = runs.map((r) =>
      h('div', { class: `bar-row ${r.backend}`, 'data-backend': r.backend, 'data-rate': String(r.samplesPerSecond) },
        h('span', { class: 'bar-label' }, r.backend === 'webgpu' ? 'WebGPU' : 'CPU'),
        h('span', { class: 'bar-track' }, h('span', { class: 'bar-fill', style: `width:${(100 * r.samplesPerSecond) / top}%` })),
        h('span', { class: 'bar-value' }, `${fmt(r.samplesPerSecond)} samples/s`),
        h('span', { class: 'bar-note' }, `${deviceLabel(r.device)} · ${modelText(r)}, batch ${r.config.batchSize}, ${fmt(r.samples)} samples in ${r.trainSeconds.toFixed(1)} s`),
      ),
    );
    const [gpu, cpu] = [this.runs.get('webgpu'), this.runs.get('cpu')];
    let verdict = 'Train on both backends to compare them.';
    if (gpu && cpu) {
      const [fast, slow] = gpu.samplesPerSecond >= cpu.samplesPerSecond ? [gpu, cpu] : [cpu, gpu];
      const name = (s: RunSummary) => (s.backend === 'webgpu' ? 'WebGPU' : 'the CPU backend');
      const ratio = `${name(fast).replace(/^t/, 'T')} trained ${(fast.samplesPerSecond / slow.samplesPerSecond).toFixed(1)}× as many samples per second as ${name(slow)}`;
      verdict =
        modelKey(gpu) === modelKey(cpu)
          ? `${ratio}, same model and batch size.`
          : `${ratio}, but the runs used different models or batch sizes: train both with the same settings for a fair comparison.`;
      if (gpu.device.software) verdict += ' This WebGPU adapter is a software one, so both figures are CPU figures.';
    }
    box.replaceChildren(...rows, h('p', { class: 'verdict', id: 'compare-verdict' }, verdict));
  }
}
