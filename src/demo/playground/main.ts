// The Playground page: the state (in the URL hash), the engine (WebGPU here,
// or the CPU backend in a worker), the play loop, and the pictures.
import type { ToyPoint } from '../../index.js';
import { heat, planFrom, planText } from './plan.js';
import type { ModelPlan } from './plan.js';
import { pointSet } from './points.js';
import type { PointSet, UploadedPoints } from './points.js';
import type { DeviceText, EngineData, Snapshot } from './engine.js';
import { LinkProblems } from './link-problems.js';
import { Engines } from './open.js';
import type { EngineApi } from './rpc.js';
import type { LinkKey, PlaygroundState } from './state.js';
import { MAX_LAYERS, parseHash, reshapeActivations, serializeHash, setFromText } from './state.js';
import { Player } from './player.js';
import { LossChart } from './ui/chart.js';
import type { ControlKey } from './ui/controls.js';
import { setUpControls, showControls } from './ui/controls.js';
import { setUpDatasets } from './ui/datasets.js';
import { fmtLoss } from './ui/format.js';
import { Heatmap } from './ui/heatmap.js';
import { NetworkView } from './ui/network.js';
import type { NodeRef } from './ui/network.js';
import { readUpload, showLinkProblems } from './ui/page.js';
import { saveBytes } from '../ui/dom.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

/** What a change needs: new points (and a new model), a new model, the same weights at a new learning rate, the training moved to the other backend, or only a redraw. */
type Effect = 'data' | 'model' | 'retune' | 'backend' | 'redraw';
const EFFECT: Partial<Record<LinkKey, Effect>> = {
  dataset: 'data', regDataset: 'data', problem: 'data', noise: 'data', percTrainData: 'data', seed: 'data',
  learningRate: 'retune', discretize: 'redraw', showTestData: 'redraw', backend: 'backend',
};
/** The keys a change of one key sets too (picking a data set sets the problem type; the activation sets every layer's). */
const ALSO_SETS: Partial<Record<LinkKey, LinkKey[]>> = { dataset: ['regDataset', 'problem'], activation: ['activations'] };

const randomSeed = () => String(Math.floor(Math.random() * 1e6));

class App {
  private state: PlaygroundState;
  private upload: UploadedPoints | null = null;
  private points!: PointSet;
  private plan!: ModelPlan;
  private engine!: EngineApi;
  private readonly engines = new Engines((message) => this.error(message));
  /** The link's problems, until the user has set what they named, or another link is loaded. */
  private problems: LinkProblems;
  /** Whether the link opened named its backend (a fallback from webgpu is then worth a word). */
  private linkNamedBackend: boolean;
  private last: Snapshot | null = null;
  private hovered: NodeRef | null = null;
  private readonly chart = new LossChart($<HTMLCanvasElement>('chart'));
  private readonly heatmap = new Heatmap($<HTMLCanvasElement>('boundary'), $<HTMLCanvasElement>('points'));
  private readonly network: NetworkView;
  private readonly player: Player;
  private selectDataset!: (name: PlaygroundState['dataset'] | PlaygroundState['regDataset'] | null) => void;

  constructor() {
    const link = parseHash(location.hash, randomSeed());
    this.state = link.state;
    this.problems = new LinkProblems(link.problems);
    this.linkNamedBackend = link.named.includes('backend');
    showLinkProblems(this.problems);
    this.network = new NetworkView($('network'), {
      toggleFeature: (f) => this.toggleFeature(f),
      resize: (layer, delta) => this.change('networkShape', () => (this.state.networkShape[layer] += delta)),
      setActivation: (layer, a) => this.change('activations', () => (this.state.activations[layer] = a)),
      hover: (node) => {
        this.hovered = node;
        this.drawBoundary();
      },
    });
    this.player = new Player(() => this.engine, {
      shown: (snap) => this.show(snap),
      epoch: (epoch) => ($('epoch').textContent = epoch.toLocaleString('en-US')),
      playing: (on) => ($('play').textContent = on ? 'Pause' : 'Play'),
      speed: (text) => ($('speed').textContent = `${text} · ${this.deviceText}`),
      error: (message) => this.error(message),
    });
  }

  private deviceText = '';

  async start(): Promise<void> {
    setUpControls((key, raw) => this.control(key, raw));
    this.selectDataset = setUpDatasets($('datasets'), (name) => this.pickDataset(name));
    $('play').addEventListener('click', () => this.player.toggle());
    $('step').addEventListener('click', () => void this.player.step());
    $('reset').addEventListener('click', () => void this.rebuild('model'));
    $('regenerate').addEventListener('click', () => this.change('seed', () => (this.state.seed = randomSeed())));
    $('add-layer').addEventListener('click', () => this.change('networkShape', () => this.state.networkShape.length < MAX_LAYERS && this.state.networkShape.push(2)));
    $('remove-layer').addEventListener('click', () => this.change('networkShape', () => this.state.networkShape.pop()));
    $('export').addEventListener('click', () => void this.player.serial(async () => saveBytes(await this.engine.exportModel(), `webgrad-playground-${this.upload ? 'upload' : this.state.problem === 'regression' ? this.state.regDataset : this.state.dataset}.safetensors`)).catch((e) => this.error(String((e as Error).message ?? e))));
    $<HTMLInputElement>('csv').addEventListener('change', (e) => void this.loadCsv(e.target as HTMLInputElement));
    window.addEventListener('hashchange', () => this.followLink());
    if (!(await this.engines.probe())) {
      const gpu = $<HTMLSelectElement>('backend').options.namedItem('backend-webgpu')!;
      gpu.disabled = true;
      gpu.textContent = 'WebGPU (not available here)';
    }
    await this.useBackend();
    await this.rebuild('data');
    document.body.dataset.ready = '';
  }

  private device(d: DeviceText): void {
    this.deviceText = d.backend === 'webgpu' ? `WebGPU (${d.adapter}${d.software ? ', a software adapter: CPU speed' : ''})` : 'the CPU backend in a Web Worker';
    $('speed').textContent = `Press play to measure the speed on ${this.deviceText}.`;
  }

  /** The engine of the state's backend (cpu where a link asks for WebGPU that is not here); no model moves. */
  private async useBackend(): Promise<void> {
    if (this.state.backend === 'webgpu' && !this.engines.hasWebGPU) {
      this.state.backend = 'cpu';
      if (this.linkNamedBackend) this.engines.noteFallback();
    }
    const opened = await this.engines.get(this.state.backend);
    this.engine = opened.engine;
    this.device(opened.device);
  }

  /**
   * The backend control: the training so far (weights, optimizer state,
   * epoch) continues on the other backend, so the two can be compared on one
   * run; a model with nothing to carry (weights gone to NaN) starts anew.
   */
  private async switchBackend(): Promise<void> {
    this.player.pause();
    try {
      const carried = await this.player.serial(() => this.engine.carry());
      await this.useBackend();
      if (!carried) this.chart.reset();
      const { snapshot } = await this.player.reset(this.plan, engineData(this.points), carried);
      this.show(snapshot);
      // For scripts and tests: the model now lives on this backend.
      document.body.dataset.trainingOn = this.state.backend;
    } catch (e) {
      this.error((e as Error).message);
    }
  }

  /** The link changed under the page (typed, or back and forward): read it all again. */
  private followLink(): void {
    if (location.hash.slice(1) === serializeHash(this.state)) return;
    const link = parseHash(location.hash, this.state.seed);
    this.problems = new LinkProblems(link.problems);
    this.linkNamedBackend = link.named.includes('backend');
    showLinkProblems(this.problems);
    this.state = link.state;
    this.upload = null;
    this.player.pause();
    void this.useBackend().then(() => this.rebuild('data'), (e) => this.error((e as Error).message));
  }

  private control(key: ControlKey, raw: string): void {
    const problem = setFromText(this.state, key, raw);
    if (problem) return this.error(problem);
    this.after(key);
  }

  /** Applies a change to the state, then what it needs. */
  private change(key: LinkKey, edit: () => unknown): void {
    edit();
    if (key === 'networkShape') this.state.activations = reshapeActivations(this.state);
    this.after(key);
  }

  private after(key: LinkKey): void {
    this.userSet([key, ...(ALSO_SETS[key] ?? [])]);
    if (key === 'activation') this.state.activations = this.state.networkShape.map(() => this.state.activation);
    const effect = EFFECT[key] ?? 'model';
    if (effect === 'data' && key !== 'seed') this.upload = null;
    void this.rebuild(effect);
  }

  private pickDataset(name: string): void {
    this.change('dataset', () => {
      if (name === 'plane' || name === 'multigauss') [this.state.problem, this.state.regDataset] = ['regression', name];
      else [this.state.problem, this.state.dataset] = ['classification', name as PlaygroundState['dataset']];
    });
  }

  private toggleFeature(f: keyof PlaygroundState & string): void {
    const s = this.state as unknown as Record<string, boolean>;
    const on = this.plan?.features.length ?? 0;
    if (s[f] && on <= 1) return this.error('The network needs at least one input feature: turn another on first.');
    this.change(f as LinkKey, () => (s[f] = !s[f]));
  }

  private async loadCsv(input: HTMLInputElement): Promise<void> {
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    try {
      this.upload = await readUpload(file);
    } catch (e) {
      $('csv-status').textContent = `Not loaded: ${(e as Error).message}`;
      return this.error((e as Error).message);
    }
    this.state.problem = this.upload.regression ? 'regression' : 'classification';
    this.userSet(['dataset', 'regDataset', 'problem']);
    await this.rebuild('data');
  }

  /** The user set these keys: the link's problems about them are resolved. */
  private userSet(keys: LinkKey[]): void {
    if (this.problems.changed(keys)) showLinkProblems(this.problems);
  }

  /** Writes the link, then renews what the change needs, after the engine's current call (the player pauses for a new model). */
  private async rebuild(effect: Effect): Promise<void> {
    this.error('');
    history.replaceState(null, '', `#${serializeHash(this.state)}`);
    showControls(this.state);
    if (effect === 'redraw') return this.redraw();
    if (effect === 'backend') return this.switchBackend();
    if (effect === 'data') this.points = pointSet(this.state, this.upload);
    this.plan = planFrom(this.state, this.points.regression);
    this.showData();
    if (effect !== 'retune') {
      this.player.pause();
      this.network.build(this.state);
      this.chart.reset();
    }
    const nodes = this.state.networkShape.length;
    $('layer-count').textContent = `${nodes} hidden layer${nodes === 1 ? '' : 's'}`;
    try {
      if (effect === 'retune') return await this.player.serial(() => this.engine.retune(this.plan));
      const { params, snapshot } = await this.player.reset(this.plan, engineData(this.points));
      $('model-info').textContent = `${planText(this.plan)} · ${params.toLocaleString('en-US')} parameters`;
      this.show(snapshot);
      document.body.dataset.trainingOn = this.state.backend;
    } catch (e) {
      this.error((e as Error).message);
    }
  }

  private showData(): void {
    const p = this.points;
    this.selectDataset(this.upload ? null : this.state.problem === 'regression' ? this.state.regDataset : this.state.dataset);
    const what = `${p.train.length.toLocaleString('en-US')} training and ${p.test.length.toLocaleString('en-US')} test points (${p.regression ? 'regression' : 'classification'})`;
    $('csv-status').textContent = this.upload ? `${this.upload.name}: ${what}. A link cannot carry uploaded points.${this.upload.notes.map((n) => ` ${n}.`).join('')}` : `${p.source}: ${what}.`;
  }

  private show(snap: Snapshot): void {
    this.last = snap;
    $('epoch').textContent = snap.epoch.toLocaleString('en-US');
    $('train-loss').textContent = fmtLoss(snap.trainLoss);
    $('test-loss').textContent = fmtLoss(snap.testLoss);
    $('test-accuracy').textContent = Number.isNaN(snap.testAccuracy) ? '–' : `${(100 * snap.testAccuracy).toFixed(1)}%`;
    this.chart.add(snap.epoch, snap.trainLoss, snap.testLoss);
    if (!Number.isFinite(snap.trainLoss)) {
      this.player.pause();
      this.error(`The training loss is ${fmtLoss(snap.trainLoss)} at epoch ${snap.epoch}: training diverged. Lower the learning rate (or the regularization rate) and press Reset.`);
    }
    this.redraw();
  }

  private redraw(): void {
    if (!this.last) return;
    this.network.update(this.last, this.state.discretize, (v) => heat(v, this.plan.target));
    this.drawBoundary();
    const points = (ps: ToyPoint[]) => ps;
    this.heatmap.drawPoints(points(this.points.train), this.points.test, this.state.showTestData);
  }

  /** The output, or the neuron under the pointer, large. */
  private drawBoundary(): void {
    const view = this.network.values(this.hovered ?? { kind: 'output' });
    if (!view) return;
    this.heatmap.draw(view.values, view.side, this.state.discretize);
    const h = this.hovered;
    $('heatmap-caption').textContent = !h || h.kind === 'output' ? "The network's output over the plane." : h.kind === 'input' ? `The input feature ${h.feature} over the plane.` : `Layer ${h.layer + 1}, neuron ${h.unit + 1}, over the plane.`;
  }

  private error(message: string): void {
    const el = $('error');
    el.textContent = message;
    el.hidden = message === '';
  }
}

function engineData(p: PointSet): EngineData {
  const xy = (ps: ToyPoint[]) => Float32Array.from(ps.flatMap((q) => [q.x, q.y]));
  return { trainX: xy(p.train), trainLabels: Float32Array.from(p.train, (q) => q.label), testX: xy(p.test), testLabels: Float32Array.from(p.test, (q) => q.label) };
}

void new App().start().catch((e) => {
  console.error(e);
  const el = $('error');
  el.textContent = `The page could not start: ${e instanceof Error ? e.message : String(e)}`;
  el.hidden = false;
});
