import type { Backend, DeviceTensor } from '../backend/backend.js';
import { CpuBackend } from '../backend/cpu.js';
import { createWebGPUBackend } from '../backend/load.js';
import { AdapterError, ValueError } from '../core/errors.js';
import type { Random } from '../core/random.js';
import type { Shape } from '../core/shape.js';
import { packLayout, sizeOf } from '../core/shape.js';
import type { CompiledGraph } from '../graph/executor.js';
import { compileGraph } from '../graph/executor.js';
import type { Value } from '../graph/graph.js';
import type { Optimizer } from '../optim/optimizers.js';
import { packOrder } from '../optim/optimizers.js';
import type { ModelSpec, StepGraph } from './graphs.js';
import type { ParamSpec } from './layer-base.js';
import { isTrainable } from './layer-base.js';
import { evalGraph, predictGraph, statisticsGraph, sumNames, trainGraph } from './graphs.js';

export type BackendChoice = 'webgpu' | 'cpu' | 'auto';

/** One compiled step for one batch size, with its input tensors. */
export interface CompiledStep {
  readonly graph: StepGraph;
  readonly compiled: CompiledGraph;
  /** The tensors each batch is written to: one per input (StepGraph.x), one per output's targets (StepGraph.y). */
  readonly x: DeviceTensor[];
  readonly y: DeviceTensor[];
}

/** Opens the backend a model asked for. 'auto' takes WebGPU where an adapter exists, else the CPU, and says so. */
export async function openBackend(choice: BackendChoice, warn: (msg: string) => void = console.warn): Promise<Backend> {
  if (choice === 'cpu') return new CpuBackend();
  if (choice !== 'webgpu' && choice !== 'auto') throw new ValueError(`unknown backend '${choice}' (use 'webgpu', 'cpu' or 'auto')`);
  try {
    return await createWebGPUBackend();
  } catch (e) {
    if (choice === 'webgpu' || !(e instanceof AdapterError)) throw e;
    warn(`${e.message}\nwebgrad: training on the CPU backend instead.`);
    return new CpuBackend();
  }
}

/**
 * Where each trainable weight starts in the packed buffers, by its index: laid
 * out in the optimizer's packOrder (weights excluded from weight decay last),
 * as trainGraph packs them.
 */
function packedLayout(trainable: readonly ParamSpec[], optimizer: Optimizer | null): { offsets: number[]; size: number } {
  const order = packOrder(optimizer, trainable.map((p) => p.name));
  const { offsets, size } = packLayout(order.map((i) => trainable[i].shape));
  const byIndex: number[] = [];
  order.forEach((i, k) => (byIndex[i] = offsets[k]));
  return { offsets: byIndex, size };
}

/**
 * A model living on a backend: its weights, its optimizer state and
 * accumulators, and the steps compiled so far (one per batch size: the last
 * batch of an epoch is usually smaller).
 */
export class Runtime {
  /** Every weight, trainable or not, in the order of spec.params. */
  readonly weights: DeviceTensor[];
  /** Optimizer slots, per trainable weight. */
  slots: DeviceTensor[][] = [];
  /**
   * Where the trainable weights, and each optimizer slot, live in one buffer
   * apiece (packLayout), so one launch can update them all: the buffers, or
   * null when those weights would not fit in one storage binding.
   */
  private arenas: { weights: DeviceTensor; slots: DeviceTensor[] } | null = null;
  /** The trainable weights (spec.params filtered), which the optimizer and the arenas hold. */
  private trainable: ParamSpec[];
  /** Weights with a buffer of their own (all of them, without arenas; else the non-trainable ones). */
  private separate: DeviceTensor[] = [];
  private layout: { offsets: number[]; size: number };
  /** Optimizer steps taken: Adam's t. */
  step = 0;
  /** What every training step reads besides its batch (StepGraph.step, .stepValues), written by nextStep. */
  private stepInputs: { number: DeviceTensor; values: DeviceTensor } | null = null;
  private sums = new Map<'train' | 'eval', DeviceTensor[]>();
  /** StepGraph.passState's tensors, by value name: the compiled steps of one pass (a full and a last, smaller batch) share them. */
  private passState = new Map<string, DeviceTensor>();
  private steps = new Map<string, CompiledStep>();

  constructor(
    readonly backend: Backend,
    readonly spec: ModelSpec,
    readonly optimizer: Optimizer | null,
    init: Random | Float32Array[],
    /** A backend the model opened itself is closed with it; one passed in belongs to the caller. */
    private ownsBackend = true,
  ) {
    const values = spec.params.map((p, i) => (Array.isArray(init) ? init[i] : p.init(init)));
    this.trainable = spec.params.filter(isTrainable);
    this.layout = packedLayout(this.trainable, optimizer);
    const limit = backend.describe().limits.maxStorageBufferBindingSize ?? Infinity;
    const own = (i: number) => {
      const t = backend.allocate(spec.params[i].shape);
      backend.write(t, values[i]);
      this.separate.push(t);
      return t;
    };
    if (this.trainable.length > 0 && this.layout.size * 4 <= limit) {
      const all = new Float32Array(this.layout.size);
      const arena = backend.allocate([this.layout.size]);
      const views = this.views(arena);
      let k = 0;
      this.weights = spec.params.map((p, i) => {
        if (!isTrainable(p)) return own(i);
        all.set(values[i], this.layout.offsets[k]);
        return views[k++];
      });
      backend.write(arena, all);
      this.arenas = { weights: arena, slots: [] };
    } else {
      this.weights = spec.params.map((_, i) => own(i));
    }
    if (optimizer) this.resetOptimizer();
  }

  /**
   * Counts one more optimizer step and writes what the compiled training
   * steps read for it: the step number and the optimizer's values at that
   * step (its scheduled rate, Adam's bias corrections). Data, like the batch:
   * no launch changes.
   */
  nextStep(): void {
    if (!this.optimizer) throw new ValueError('fit: the model has no optimizer; call compile() first');
    this.step++;
    if (this.step > 0x7fffffff) throw new ValueError(`fit: the step count ${this.step} passed 2^31 − 1, which the step input (i32) holds`);
    const inputs = this.stepTensors(this.optimizer);
    this.backend.write(inputs.number, Int32Array.of(this.step));
    this.backend.write(inputs.values, Float32Array.from(this.optimizer.values(this.step)));
  }

  resetOptimizer(): void {
    const be = this.backend;
    const count = this.optimizer?.slots ?? 0;
    if (this.arenas) {
      for (const s of this.arenas.slots) be.free(s);
      this.arenas.slots = Array.from({ length: count }, () => this.zeros([this.layout.size]));
      const views = this.arenas.slots.map((a) => this.views(a));
      this.slots = this.trainable.map((_, i) => views.map((v) => v[i]));
    } else {
      for (const s of this.slots.flat()) be.free(s);
      this.slots = this.trainable.map((p) => Array.from({ length: count }, () => this.zeros(p.shape)));
    }
    this.step = 0;
  }

  /** The accumulators a kind of step adds its loss and metric sums into. */
  accumulators(kind: 'train' | 'eval'): DeviceTensor[] {
    let s = this.sums.get(kind);
    if (!s) {
      s = sumNames(this.spec).map(() => this.backend.allocate([1]));
      this.sums.set(kind, s);
    }
    return s;
  }

  zero(kind: 'train' | 'eval'): void {
    for (const t of this.accumulators(kind)) this.backend.write(t, [0]);
  }

  async readSums(kind: 'train' | 'eval'): Promise<number[]> {
    return Promise.all(this.accumulators(kind).map(async (t) => (await this.backend.read(t))[0]));
  }

  async trainStep(batch: number): Promise<CompiledStep> {
    if (!this.optimizer) throw new ValueError('fit: the model has no optimizer; call compile() first');
    const optimizer = this.optimizer;
    return this.cached(`train:${batch}`, () => trainGraph(this.spec, batch, optimizer, this.arenas !== null), 'train');
  }

  async evalStep(batch: number): Promise<CompiledStep> {
    return this.cached(`eval:${batch}`, () => evalGraph(this.spec, batch), 'eval');
  }

  async predictStep(batch: number): Promise<CompiledStep> {
    return this.cached(`predict:${batch}`, () => predictGraph(this.spec, batch), null);
  }

  /** One batch of the pass that recomputes layer `index`'s moving statistics (statisticsGraph). */
  async statisticsStep(index: number, batch: number): Promise<CompiledStep> {
    return this.cached(`statistics:${index}:${batch}`, () => statisticsGraph(this.spec, batch, index), null);
  }

  /** Zeroes a step's pass state (the rows a statistics pass has seen), before the pass's first batch. */
  startPass(step: CompiledStep): void {
    for (const v of step.graph.passState ?? []) this.backend.write(this.passState.get(v.name)!, new Float32Array(sizeOf(v.shape)));
  }

  dispose(): void {
    for (const s of this.steps.values()) {
      s.compiled.dispose();
      for (const t of [...s.x, ...s.y]) this.backend.free(t);
    }
    this.steps.clear();
    if (this.ownsBackend) {
      this.backend.dispose();
      return;
    }
    const owned = [...this.separate, ...(this.arenas ? [this.arenas.weights, ...this.arenas.slots] : this.slots.flat())];
    if (this.stepInputs) owned.push(this.stepInputs.number, this.stepInputs.values);
    for (const t of [...owned, ...[...this.sums.values()].flat(), ...this.passState.values()]) this.backend.free(t);
    this.sums.clear();
    this.passState.clear();
  }

  /** The step number and the optimizer's values, one pair every compiled training step reads. */
  private stepTensors(optimizer: Optimizer): { number: DeviceTensor; values: DeviceTensor } {
    return (this.stepInputs ??= { number: this.backend.allocate([1], 'i32'), values: this.backend.allocate([optimizer.valueCount]) });
  }

  private zeros(shape: Shape): DeviceTensor {
    const t = this.backend.allocate(shape);
    this.backend.write(t, new Float32Array(t.size));
    return t;
  }

  /** One view per trainable weight into a buffer laid out like them. */
  private views(arena: DeviceTensor): DeviceTensor[] {
    return this.trainable.map((p, i) => this.backend.view(arena, this.layout.offsets[i], p.shape));
  }

  private async cached(key: string, build: () => StepGraph, sums: 'train' | 'eval' | null): Promise<CompiledStep> {
    const hit = this.steps.get(key);
    if (hit) return hit;
    const graph = build();
    const be = this.backend;
    const x = graph.x.map((v) => be.allocate(v.shape, v.dtype));
    const y = graph.y.map((v) => be.allocate(v.shape, v.dtype));
    const bound = new Map<Value, DeviceTensor>([...graph.x.map((v, i) => [v, x[i]] as const), ...graph.y.map((v, i) => [v, y[i]] as const)]);
    graph.weights.forEach((w, i) => bound.set(w, this.weights[i]));
    graph.slots.forEach((s, i) => s.forEach((v, k) => bound.set(v, this.slots[i][k])));
    if (graph.packed && this.arenas) {
      bound.set(graph.packed.weights, this.arenas.weights);
      graph.packed.slots.forEach((v, k) => bound.set(v, this.arenas!.slots[k]));
    }
    if (sums) graph.sums.forEach((v, i) => bound.set(v, this.accumulators(sums)[i]));
    for (const v of graph.passState ?? []) {
      let t = this.passState.get(v.name);
      if (!t) this.passState.set(v.name, (t = be.allocate(v.shape, v.dtype)));
      bound.set(v, t);
    }
    if (graph.stepValues) {
      const inputs = this.stepTensors(this.optimizer!);
      bound.set(graph.stepValues, inputs.values);
      if (graph.step) bound.set(graph.step, inputs.number);
    }
    const compiled = await compileGraph(be, graph.graph, bound, graph.outputs);
    const step = { graph, compiled, x, y };
    this.steps.set(key, step);
    return step;
  }
}
