// The functional API, as Keras' and TensorFlow.js': input() makes a symbolic
// tensor, layer.apply(x) calls a layer on symbolic tensors and checks the
// shapes at once, model({ inputs, outputs }) collects the calls between them
// into a model. A layer called twice shares its weights.
import { ValueError } from '../core/errors.js';
import type { OptionsOf } from '../core/options.js';
import { defineOptions, opt } from '../core/options.js';
import type { Layer, LayerConfig, ModelGraph, ModelNode } from './layers.js';
import { checkCallArgs, isAutoNamed, layerFromConfig, nameInModel, withFileDefaults } from './layers.js';
import type { Topology, TopologyInput } from './model.js';
import { Model, Sequential } from './model.js';
import { INPUT_OPTIONS, SymbolicTensor } from './symbolic.js';

export { input, SymbolicTensor } from './symbolic.js';
export type { ApplyArgs } from './symbolic.js';

const MODEL_OPTIONS = defineOptions('model', {
  inputs: opt.custom<SymbolicTensor | SymbolicTensor[]>('SymbolicTensor | SymbolicTensor[]', 'the model input (input()), or a list of them', () => null),
  outputs: opt.custom<SymbolicTensor | SymbolicTensor[]>('SymbolicTensor | SymbolicTensor[]', "the tensor the model outputs (a layer's apply), or a list of them", () => null),
  name: opt.string("the model's name (default 'model')"),
  seed: opt.integer('seeds the initial weights and the shuffling, so runs repeat exactly (default 42)', { min: 0 }),
});

/**
 * A model of the layer calls between `inputs` and `outputs` (Keras'
 * keras.Model(inputs, outputs), TensorFlow.js' tf.model): every call the
 * outputs depend on, each input used, nothing else. It trains, evaluates,
 * predicts, summarises and saves as a Sequential model does.
 */
export function model(options: OptionsOf<typeof MODEL_OPTIONS.spec>): Functional {
  const o = MODEL_OPTIONS.check(options);
  const ins = o.inputs === undefined ? [] : Array.isArray(o.inputs) ? o.inputs : [o.inputs];
  const outs = o.outputs === undefined ? [] : Array.isArray(o.outputs) ? o.outputs : [o.outputs];
  if (ins.length === 0) throw new ValueError('model: no inputs given; model({ inputs: input({ shape: [...] }), outputs: ... })');
  if (outs.length === 0) throw new ValueError('model: no outputs given; model({ inputs, outputs: someLayer.apply(x) })');
  [...ins.map((t, i) => ['inputs', t, i] as const), ...outs.map((t, i) => ['outputs', t, i] as const)].forEach(([what, t, i]) => {
    if (!(t instanceof SymbolicTensor)) throw new ValueError(`model: ${what}[${i}] is not a symbolic tensor (from input() or a layer's apply), got ${Object.prototype.toString.call(t)}`);
  });
  ins.forEach((t, i) => {
    if (t.call.layer) throw new ValueError(`model: inputs[${i}] (${t.name}) is the output of ${t.call.layer.name}, not a model input; give the tensors made by input()`);
  });
  const twice = (list: SymbolicTensor[]) => list.find((t, i) => list.indexOf(t) !== i);
  if (twice(ins)) throw new ValueError(`model: input ${twice(ins)!.name} is given twice`);
  if (twice(outs)) throw new ValueError(`model: output ${twice(outs)!.name} is given twice`);
  // Every call the outputs depend on, found backwards; each must lead back to one of the inputs.
  const needed = new Map<number, SymbolicTensor>();
  const visit = (t: SymbolicTensor, path: string) => {
    if (needed.has(t.call.id)) return;
    needed.set(t.call.id, t);
    if (!t.call.layer && !ins.includes(t)) throw new ValueError(`model: the outputs are not connected to the inputs: ${path} reads ${t.name}, an input() that is not among the model's inputs (${ins.map((i) => i.name).join(', ')})`);
    for (const i of t.call.inputs) visit(i, `${t.call.layer!.name}`);
  };
  outs.forEach((t) => visit(t, 'the output'));
  ins.forEach((t) => {
    if (!needed.has(t.call.id)) throw new ValueError(`model: input ${t.name} is not connected to the outputs (no layer the outputs depend on reads it)`);
  });
  outs.forEach((t, i) => {
    if (!t.call.layer) throw new ValueError(`model: outputs[${i}] is the input ${t.name} itself; a model needs at least one layer between its input and its output`);
  });
  // Calls in the order they were made: each reads only tensors made before it.
  const order = [...needed.values()].filter((t) => t.call.layer).sort((a, b) => a.call.id - b.call.id);
  // An auto-named layer is named by its place in this model (dense_1, ...), as Sequential.add does; a shared one once.
  const renamed = new Map<Layer, Layer>();
  const taken = new Set(order.map((t) => t.call.layer!).filter((l) => !isAutoNamed(l)).map((l) => l.name));
  for (const t of order) {
    const l = t.call.layer!;
    if (renamed.has(l)) continue;
    const named = isAutoNamed(l) ? layerFromConfig({ ...l.config, name: nameInModel(l, taken) } as LayerConfig) : l;
    if ([...renamed.values()].some((m) => m.name === named.name)) throw new ValueError(`model: two different layers are named '${named.name}'; layer names must be unique in a model (a layer called twice is one layer, shared)`);
    taken.add(named.name);
    renamed.set(l, named);
  }
  const layers = [...renamed.values()];
  const ids = new Map<number, number>(ins.map((t, i) => [t.call.id, i]));
  const nodes: ModelNode[] = order.map((t, k) => {
    ids.set(t.call.id, ins.length + k);
    const args = Object.keys(t.call.args).length ? { args: t.call.args } : {};
    return { layer: layers.indexOf(renamed.get(t.call.layer!)!), inputs: t.call.inputs.map((i) => ids.get(i.call.id)!), ...args };
  });
  const graph: ModelGraph = { layers, nodes, inputs: ins.length, outputs: outs.map((t) => ids.get(t.call.id)!) };
  return new Functional(graph, ins.map((t) => ({ name: t.name, shape: [...t.sampleShape], dtype: t.dtype })), { name: o.name ?? 'model', seed: o.seed });
}

/** A model of any graph of layer calls (model({ inputs, outputs })). */
export class Functional extends Model {
  private readonly calls: ModelGraph;

  /** @internal Use model({ inputs, outputs }), or load a saved one. */
  constructor(graph: ModelGraph, private readonly inputSpecs: TopologyInput[], options: { name: string; seed?: number }) {
    super({ ...options, inputShape: inputSpecs[0].shape });
    this.layers.push(...graph.layers);
    this.calls = { ...graph, layers: this.layers };
  }

  graph(): ModelGraph {
    return this.calls;
  }

  protected override inputNames(): string[] {
    return this.inputSpecs.map((i) => i.name);
  }

  protected override inputShapes(): number[][] {
    return this.inputSpecs.map((i) => [...i.shape]);
  }

  /** The model's inputs: name, sample shape and dtype of each. */
  get inputs(): TopologyInput[] {
    return this.inputSpecs.map((i) => ({ ...i, shape: [...i.shape] }));
  }

  topology(): Topology {
    this.alive('topology');
    const { layers, nodes, outputs } = this.calls;
    return {
      name: this.name,
      inputShape: this.inputShape,
      seed: this.seed,
      layers: layers.map((l) => l.config),
      inputs: this.inputs,
      nodes: nodes.map((n) => ({ layer: layers[n.layer].name, inputs: [...n.inputs], ...(n.args ? { args: { ...n.args } } : {}) })),
      outputs: [...outputs],
    };
  }

  /** A functional model from its topology (a file's: every field checked). */
  static fromTopology(t: Topology): Functional {
    const where = 'model topology';
    if (!Array.isArray(t.inputs) || t.inputs.length === 0) throw new ValueError(`${where}: a functional model needs a list of inputs, got ${JSON.stringify(t.inputs)?.slice(0, 80)}`);
    if (!Array.isArray(t.nodes) || !Array.isArray(t.outputs)) throw new ValueError(`${where}: a functional model needs its nodes and outputs`);
    const inputSpecs = t.inputs.map((i, k) => {
      const checked = INPUT_OPTIONS.check({ shape: i?.shape, dtype: i?.dtype, name: i?.name });
      if (typeof checked.name !== 'string' || !checked.shape) throw new ValueError(`${where}: inputs[${k}] needs a name and a shape`);
      return { name: checked.name, shape: [...checked.shape], dtype: checked.dtype ?? 'float32' } as TopologyInput;
    });
    const layers = t.layers.map((c) => layerFromConfig(withFileDefaults(c)));
    const byName = new Map(layers.map((l, i) => [l.name, i]));
    if (byName.size !== layers.length) throw new ValueError(`${where}: two layers share a name`);
    const count = inputSpecs.length;
    const nodes: ModelNode[] = t.nodes.map((n, k) => {
      const layer = byName.get(n?.layer);
      if (layer === undefined) throw new ValueError(`${where}: node ${k} calls '${String(n?.layer)}', which is not one of the layers`);
      // Only tensors made before the node: the calls stay in an order that runs, with no cycle.
      if (!Array.isArray(n.inputs) || n.inputs.length === 0 || n.inputs.some((i) => !Number.isInteger(i) || i < 0 || i >= count + k)) {
        throw new ValueError(`${where}: node ${k} (${n.layer}) reads ${JSON.stringify(n.inputs)}; each must be a tensor made before it (0 to ${count + k - 1})`);
      }
      if (n.args !== undefined && (typeof n.args !== 'object' || n.args === null || Array.isArray(n.args) || Object.values(n.args).some((a) => !['boolean', 'number', 'string'].includes(typeof a)))) {
        throw new ValueError(`${where}: node ${k} (${n.layer}) has call arguments ${JSON.stringify(n.args)?.slice(0, 80)}; they must be an object of numbers, strings and booleans`);
      }
      return { layer, inputs: [...n.inputs], ...(n.args ? { args: checkCallArgs(layers[layer], n.args) } : {}) };
    });
    if (t.outputs.length === 0 || t.outputs.some((o) => !Number.isInteger(o) || o < count || o >= count + nodes.length)) throw new ValueError(`${where}: outputs ${JSON.stringify(t.outputs)} must each name a tensor a node makes (${count} to ${count + nodes.length - 1})`);
    const names = inputSpecs.map((i) => i.name);
    if (new Set(names).size !== names.length) throw new ValueError(`${where}: two inputs share a name (${names.join(', ')})`);
    const unused = layers.find((_, i) => !nodes.some((n) => n.layer === i));
    if (unused) throw new ValueError(`${where}: layer '${unused.name}' is never called`);
    return new Functional({ layers, nodes, inputs: count, outputs: [...t.outputs] }, inputSpecs, { name: t.name, seed: t.seed });
  }
}

/** The model a topology describes: functional when it has nodes, else Sequential. */
export function modelFromTopology(t: Topology): Model {
  if (!t || !Array.isArray(t.layers)) throw new ValueError('model topology: no layer list');
  return t.nodes !== undefined || t.inputs !== undefined || t.outputs !== undefined ? Functional.fromTopology(t) : Sequential.fromTopology(t);
}
