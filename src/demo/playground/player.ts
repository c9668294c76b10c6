// Play, pause, step: the loop that trains the engine chunk by chunk. Each
// call is one fit() of several epochs, sized so that it takes about
// CHUNK_MS; a snapshot (the pictures and the losses) comes back with it at
// most every DRAW_MS, and the browser paints between calls. Every engine
// call goes through serial(), so a reset never lands inside a fit().
import type { Carried, EngineData, Snapshot } from './engine.js';
import type { ModelPlan } from './plan.js';
import type { EngineApi } from './rpc.js';
import { fmtRate } from './ui/format.js';

const CHUNK_MS = 40;
const DRAW_MS = 100;
const MAX_CHUNK = 200;

export interface PlayerView {
  shown(snapshot: Snapshot): void;
  epoch(epoch: number): void;
  playing(on: boolean): void;
  speed(text: string): void;
  error(message: string): void;
}

const frame = () => new Promise<void>((resolve) => requestAnimationFrame(() => resolve()));

export class Player {
  private playing = false;
  private queue: Promise<unknown> = Promise.resolve();
  private chunk = 1;
  /** No epoch trained since the last reset: the first fit() compiles the training step first. */
  private fresh = true;
  private lastDraw = 0;
  /** Over the current window of about a second: epochs and steps trained, fit()'s seconds, and when it began. */
  private window = { epochs: 0, steps: 0, fitSeconds: 0, since: 0 };

  constructor(private readonly engine: () => EngineApi, private readonly view: PlayerView) {}

  /** Runs `job` after every engine call queued before it. */
  serial<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job);
    this.queue = run.catch(() => {});
    return run;
  }

  toggle(): void {
    if (this.playing) return this.pause();
    this.playing = true;
    this.view.playing(true);
    void this.loop();
  }

  pause(): void {
    if (this.playing) this.flush(0.25);
    this.playing = false;
    this.view.playing(false);
  }

  async step(): Promise<void> {
    this.pause();
    await this.train(1, true);
  }

  /** A new model on the engine, or one going on from `carried` (another backend's training). */
  reset(plan: ModelPlan, data: EngineData, carried?: Carried | null): Promise<{ params: number; snapshot: Snapshot }> {
    this.chunk = 1;
    this.fresh = true;
    return this.serial(() => this.engine().reset(plan, data, carried));
  }

  private async loop(): Promise<void> {
    this.window = { epochs: 0, steps: 0, fitSeconds: 0, since: performance.now() };
    while (this.playing) {
      const draw = performance.now() - this.lastDraw >= DRAW_MS;
      const fitSeconds = await this.train(this.chunk, draw);
      if (fitSeconds === null) return this.pause();
      // Aim the next call at CHUNK_MS of fit(), moving halfway there, so one slow call does not swing it.
      const target = (this.chunk * CHUNK_MS) / 1000 / Math.max(fitSeconds, 1e-4);
      this.chunk = Math.max(1, Math.min(MAX_CHUNK, Math.round((this.chunk + target) / 2)));
      await frame();
    }
  }

  /** One engine call; fit()'s seconds, or null when it failed (and was said). */
  private async train(epochs: number, draw: boolean): Promise<number | null> {
    if (this.fresh) this.view.speed('Building the training step (on WebGPU the first epoch waits for its shaders)…');
    this.fresh = false;
    try {
      const r = await this.serial(() => this.engine().run(epochs, draw));
      this.view.epoch(r.epoch);
      if (r.snapshot) {
        this.lastDraw = performance.now();
        this.view.shown(r.snapshot);
      }
      this.meter(epochs, r.steps, r.trainSeconds);
      return r.trainSeconds;
    } catch (e) {
      this.view.error((e as Error).message);
      return null;
    }
  }

  private meter(epochs: number, steps: number, fitSeconds: number): void {
    const w = this.window;
    w.epochs += epochs;
    w.steps += steps;
    w.fitSeconds += fitSeconds;
    if (this.playing) this.flush(1);
  }

  /** Shows the window's rates once it spans at least `seconds`, and starts a new one. */
  private flush(seconds: number): void {
    const w = this.window;
    const wall = (performance.now() - w.since) / 1000;
    if (wall < seconds || w.steps === 0) return;
    this.view.speed(`${fmtRate(w.epochs / wall)} epochs/s · ${fmtRate(w.steps / wall)} steps/s (fit() alone: ${fmtRate(w.steps / w.fitSeconds)} steps/s; ${this.chunk} epoch${this.chunk === 1 ? '' : 's'} per call)`);
    this.window = { epochs: 0, steps: 0, fitSeconds: 0, since: performance.now() };
  }
}
