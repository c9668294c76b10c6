import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, DeviceTensor } from '../../src/backend/backend.js';
import { CpuBackend } from '../../src/backend/cpu.js';
import { gradients } from '../../src/graph/autodiff.js';
import { compileGraph } from '../../src/graph/executor.js';
import { fuse } from '../../src/graph/fuse.js';
import type { Value } from '../../src/graph/graph.js';
import { Graph } from '../../src/graph/graph.js';
import type { ActivationKind } from '../../src/ops/activation.js';
import { activation } from '../../src/ops/activation.js';
import { biasAdd } from '../../src/ops/bias.js';
import { accumulate, scale } from '../../src/ops/elementwise.js';
import { matmul } from '../../src/ops/matmul.js';
import { reduceSum } from '../../src/ops/reduce.js';
import { loadBuiltinMnist } from '../../src/data/mnist.js';
import { conv2d, maxPooling2d } from '../../src/nn/conv-layers.js';
import { chainGraph, dense, flatten } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import type { ModelSpec } from '../../src/nn/graphs.js';
import { evalGraph, trainGraph } from '../../src/nn/graphs.js';
import { resolveLoss, resolveMetric } from '../../src/nn/losses.js';
import type { OptimizerConfig } from '../../src/optim/optimizers.js';
import { makeOptimizer, OPTIMIZERS } from '../../src/optim/optimizers.js';
import { backends } from '../helpers/backends.js';
import { expectClose, randn, rng } from '../helpers/check.js';

const U = 2 ** -24;

/** Two Dense layers (29 → 19 → 11, a batch of 37) and the loss L = Σ of the output, differentiated for every weight. */
function twoLayers(act1: ActivationKind, act2: ActivationKind = 'linear') {
  const g = new Graph();
  const x = g.input('x', [37, 29]);
  const w1 = g.param('w1', [29, 19]);
  const b1 = g.param('b1', [19]);
  const w2 = g.param('w2', [19, 11]);
  const b2 = g.param('b2', [11]);
  const layer = (h: Value, w: Value, b: Value, kind: ActivationKind, name: string) => {
    const z = g.op(biasAdd, [g.op(matmul, [h, w], {}, `${name}/matmul`), b], {}, `${name}/bias`);
    return kind === 'linear' ? z : g.op(activation, [z], { kind }, `${name}/${kind}`);
  };
  const out = layer(layer(x, w1, b1, act1, 'l1'), w2, b2, act2, 'l2');
  const L = g.op(reduceSum, [out], {}, 'L');
  const weights = [w1, b1, w2, b2];
  const grads = gradients(g, L, weights);
  return { g, x, weights, grads: weights.map((w) => grads.get(w)!), L };
}

const kernels = (g: Graph) => g.nodes.map((n) => n.kernel.name);

describe('fuse', () => {
  it('folds each Dense forward into one launch, the gradient into the layer below into its matmul, the seed into one fill', () => {
    const { g, grads, L } = twoLayers('relu');
    const before = g.nodes.length;
    expect(fuse(g, [L, ...grads])).toEqual({ pruned: 0, fused: 4 });
    expect(g.nodes.length).toBe(before - 5);
    const k = kernels(g);
    expect(k.filter((n) => n === 'matmulBiasActivation')).toHaveLength(2);
    expect(k.filter((n) => n === 'matmulActivationGrad')).toHaveLength(1);
    for (const gone of ['biasAdd', 'activation', 'activationBackwardFromOutput', 'broadcastScalar']) expect(k).not.toContain(gone);
    // The fused node stands where the chain ended: every value is written before it is read.
    const written = new Set<Value>(g.values.filter((v) => v.role !== 'temp'));
    for (const n of g.nodes) {
      for (const v of n.inputs) expect(written.has(v), `${n.kernel.name} reads ${v.name} before it is written`).toBe(true);
      n.outputs.forEach((o) => written.add(o));
    }
  });

  it('leaves an activation whose gradient needs its input (softplus) to its own launch forward, fusing the bias only; its gradient rides in the matmul, from its input', () => {
    const { g, grads, L } = twoLayers('softplus');
    fuse(g, [L, ...grads]);
    const k = kernels(g);
    expect(k.filter((n) => n === 'activation')).toHaveLength(1);
    expect(k.filter((n) => n === 'matmulBiasActivation')).toHaveLength(2);
    expect(k.filter((n) => n === 'matmulActivationGradOfInput')).toHaveLength(1);
    expect(k).not.toContain('activationBackward');
    expect(k).not.toContain('matmulActivationGrad');
  });

  it('drops launches nothing reads, keeps what `keep` names, and in-place updates always', () => {
    const g = new Graph();
    const x = g.param('x', [5]);
    const dead = g.op(reduceSum, [g.op(scale, [x], { alpha: 2 }, 'dead1')], {}, 'dead2');
    const kept = g.op(scale, [x], { alpha: 3 }, 'kept');
    g.update(accumulate, [x], [g.state('s', [5])], { alpha: 1 });
    expect(fuse(g, [kept])).toEqual({ pruned: 2, fused: 0 });
    expect(g.nodes.map((n) => n.outputs[0].name)).toEqual(['kept', 's']);
    expect(dead.name).toBe('dead2');
  });

  it('adds a sum into its accumulator in one launch', () => {
    const g = new Graph();
    const v = g.input('v', [9]);
    g.update(accumulate, [g.op(reduceSum, [v], {})], [g.state('total', [1])], { alpha: 0.5 });
    expect(fuse(g)).toEqual({ pruned: 0, fused: 1 });
    expect(kernels(g)).toEqual(['reduceSumInto']);
    expect(g.nodes[0].attrs).toEqual({ alpha: 0.5 });
  });

  it('keeps what `keep` names or a second op reads, and never reaches across an in-place update', () => {
    const make = () => {
      const g = new Graph();
      const x = g.input('x', [4, 3]);
      const w = g.param('w', [3, 2]);
      const b = g.param('b', [2]);
      const z = g.op(matmul, [x, w], {}, 'z');
      return { g, x, w, b, z };
    };
    {
      const { g, b, z } = make();
      const h = g.op(activation, [g.op(biasAdd, [z, b], {}, 'zb')], { kind: 'relu' }, 'h');
      expect(fuse(g, [z, h]).fused).toBe(0);
    }
    {
      const { g, b, z } = make();
      const zb = g.op(biasAdd, [z, b], {}, 'zb');
      const other = g.op(reduceSum, [z], {}, 'also reads z');
      expect(fuse(g, [zb, other]).fused).toBe(0);
    }
    {
      const { g, w, b, z } = make();
      g.update(accumulate, [g.param('dw', [3, 2])], [w], { alpha: 1 }); // w changes between matmul and biasAdd
      const zb = g.op(biasAdd, [z, b], {}, 'zb');
      expect(fuse(g, [zb]).fused).toBe(0);
    }
    {
      const { g, b, z } = make();
      const zb = g.op(biasAdd, [z, b], {}, 'zb');
      const h = g.op(activation, [zb], { kind: 'relu' }, 'h');
      expect(fuse(g, [zb, h]).fused).toBe(1); // bias fused, relu kept: zb is asked for
      expect(kernels(g)).toEqual(['matmulBiasActivation', 'activation']);
      expect(g.nodes[0].outputs[0]).toBe(zb);
      expect(g.nodes[1].outputs[0]).toBe(h);
    }
  });
});

/** The spec Sequential.compile builds, for the benchmark's W1: 784-128-10, relu, softmax cross-entropy, accuracy. */
function w1Spec(fuseKernels: boolean): ModelSpec {
  const layers = [dense(128, { activation: 'relu' }), dense(10, { activation: 'softmax' })];
  const loss = resolveLoss('sparseCategoricalCrossentropy', 'softmax');
  const params = [...layers[0].params([784]), ...layers[1].params([128])];
  return { graph: chainGraph(layers), inputShapes: [[784]], outputs: [{ name: 'dense', shape: [10], loss, metrics: [resolveMetric('accuracy', loss)], targetShape: [], weight: 1 }], params, paramCounts: [2, 2], fuse: fuseKernels };
}

describe('launches per step of W1 (784-128-10, Adam, accuracy)', () => {
  it('training: 16 fused, 25 unfused; each Adam update reads the step values and updates its weight', () => {
    const launches = (f: boolean) => trainGraph(w1Spec(f), 128, makeOptimizer('adam'));
    const plain = launches(false);
    const fused = launches(true);
    expect(plain.graph.nodes.length).toBe(25);
    expect(fused.graph.nodes.length).toBe(16);
    const updates = fused.graph.nodes.filter((n) => n.kernel.name === 'adam');
    updates.forEach((n, k) => expect([n.outputs[0], n.inputs[1]]).toEqual([fused.weights[k], fused.stepValues]));
    expect(updates).toHaveLength(4);
    expect(kernels(fused.graph)).toEqual([
      'matmulBiasActivation', 'matmulBiasActivation', // Dense forwards, bias and relu included
      'fill', 'softmaxCrossEntropyWithGrad', // the loss and its gradient, for the seed 1/128
      'reduceSumInto', 'argmaxAccuracy', 'reduceSumInto', // loss and metric into their totals
      'biasGrad', 'matmul', 'matmulActivationGrad', 'biasGrad', 'matmul', // backward
      'adam', 'adam', 'adam', 'adam',
    ]);
  });

  it('training with the weights packed: 13 launches, one Adam update for all four weights', () => {
    const packed = trainGraph(w1Spec(true), 128, makeOptimizer('adam'), true);
    expect(kernels(packed.graph)).toEqual([
      'matmulBiasActivation', 'matmulBiasActivation',
      'fill', 'softmaxCrossEntropyWithGrad',
      'reduceSumInto', 'argmaxAccuracy', 'reduceSumInto',
      'biasGrad', 'matmul', 'matmulActivationGrad', 'biasGrad', 'matmul',
      'adam',
    ]);
    const update = packed.graph.nodes[packed.graph.nodes.length - 1];
    expect(update.inputs[1]).toBe(packed.stepValues);
    expect(update.outputs).toEqual([packed.packed!.weights, ...packed.packed!.slots]);
    // 784·128, 128, 128·10 and 10 values, each rounded up to a multiple of 64.
    expect(packed.packed!.weights.shape).toEqual([100352 + 128 + 1280 + 64]);
    expect(packed.graph.packs.get(update.inputs[0])!.members.map((m) => m.shape)).toEqual([[784, 128], [128], [128, 10], [10]]);
    // Unfused graphs keep an update per weight.
    expect(trainGraph(w1Spec(false), 128, makeOptimizer('adam'), true).packed).toBeNull();
  });

  it('evaluation: 6 fused, 11 unfused', () => {
    expect(evalGraph(w1Spec(false), 128).graph.nodes.length).toBe(11);
    expect(evalGraph(w1Spec(true), 128).graph.nodes.length).toBe(6);
  });
});

describe.each(backends)('fused graphs on %s', (_name, make) => {
  let be: Backend;
  beforeAll(async () => (be = await make()));
  afterAll(() => be?.dispose());

  async function run(act1: ActivationKind, act2: ActivationKind, fused: boolean, seed: number) {
    const { g, x, weights, grads, L } = twoLayers(act1, act2);
    if (fused) fuse(g, [L, ...grads]);
    const rand = rng(seed);
    const bound = new Map<Value, DeviceTensor>();
    for (const v of [x, ...weights]) {
      const t = be.allocate(v.shape);
      be.write(t, randn(rand, [...v.shape], -1, 1).data);
      bound.set(v, t);
    }
    const c = await compileGraph(be, g, bound, [L, ...grads]);
    c.program.run();
    const out = await Promise.all([L, ...grads].map((v) => be.read(c.tensor(v))));
    c.dispose();
    for (const t of bound.values()) be.free(t);
    return { out, launches: g.nodes.length };
  }

  // The float32 operations are the same in both graphs; only a compiler's contraction of a multiply-add may differ.
  it.each([['relu', 'linear'], ['tanh', 'sigmoid'], ['elu', 'leakyRelu'], ['gelu', 'relu']] as [ActivationKind, ActivationKind][])(
    '%s then %s: loss and every gradient equal to the unfused graph',
    async (a1, a2) => {
      const plain = await run(a1, a2, false, 4);
      const fused = await run(a1, a2, true, 4);
      expect(fused.launches).toBeLessThan(plain.launches);
      const names = ['L', 'dw1', 'db1', 'dw2', 'db2'];
      plain.out.forEach((want, i) => {
        const scaleOf = Math.max(...Array.from(want, Math.abs));
        expectClose(fused.out[i], want, { atol: 64 * U * scaleOf, rtol: 8 * U, why: 'same f32 operations; contraction of a multiply-add may differ, and sums carry it' }, names[i]);
      });
    },
  );
});

describe.each(backends)('a model trains the same fused and unfused on %s', (name) => {
  it('784-64-10 relu, 20 steps of Adam: the same losses and weights', async () => {
    const { train } = loadBuiltinMnist();
    const n = 256;
    const x = { data: train.x.subarray(0, n * 784), shape: [n, 784] };
    const y = { data: (train.y as Int32Array).subarray(0, n), shape: [n] };
    const results: { loss: number[]; weights: Float32Array[] }[] = [];
    for (const fuseKernels of [false, true]) {
      const model = sequential([dense(64, { activation: 'relu', inputShape: [784] }), dense(10, { activation: 'softmax' })], { seed: 5 });
      model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', backend: name, fuse: fuseKernels });
      const h = await model.fit(x, y, { epochs: 10, batchSize: 128, shuffle: false, verbose: 0 });
      results.push({ loss: h.history.loss, weights: await model.getWeights() });
      model.dispose();
    }
    const [plain, fused] = results;
    expect(fused.loss[9]).toBeLessThan(fused.loss[0]);
    // Bit-equal on the CPU; on WebGPU, equal up to a contracted multiply-add, which 20 Adam steps carry along.
    expectClose(fused.loss, plain.loss, { atol: 0, rtol: 1e-5, why: 'same operations; at most contraction differences, grown over 20 steps' }, 'loss');
    fused.weights.forEach((w, i) => expectClose(w, plain.weights[i], { atol: 1e-5, rtol: 1e-4, why: 'as the loss' }, `weight ${i}`));
  });

  it('a CNN (conv8 3×3 relu, max pool, conv4 3×3 same tanh, flatten, dense 10), 16 steps of Adam: the same losses and weights', async () => {
    const { train } = loadBuiltinMnist();
    const n = 128;
    const x = { data: train.x.subarray(0, n * 784), shape: [n, 28, 28, 1] };
    const y = { data: (train.y as Int32Array).subarray(0, n), shape: [n] };
    const results: { loss: number[]; weights: Float32Array[] }[] = [];
    for (const fuseKernels of [false, true]) {
      const model = sequential([
        conv2d(8, 3, { activation: 'relu', inputShape: [28, 28, 1] }),
        maxPooling2d(2),
        conv2d(4, 3, { activation: 'tanh', padding: 'same' }),
        flatten(),
        dense(10, { activation: 'softmax' }),
      ], { seed: 4 });
      model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', backend: name, fuse: fuseKernels });
      const h = await model.fit(x, y, { epochs: 8, batchSize: 64, shuffle: false, verbose: 0 });
      results.push({ loss: h.history.loss, weights: await model.getWeights() });
      model.dispose();
    }
    const [plain, fused] = results;
    expect(fused.loss[7]).toBeLessThan(fused.loss[0]);
    // As the MLP above: bit-equal on the CPU, up to contracted multiply-adds on WebGPU.
    expectClose(fused.loss, plain.loss, { atol: 0, rtol: 1e-5, why: 'same operations; at most contraction differences, grown over 16 steps' }, 'loss');
    fused.weights.forEach((w, i) => expectClose(w, plain.weights[i], { atol: 1e-5, rtol: 1e-4, why: 'as the loss' }, `weight ${i}`));
  });

  // The packed update runs the same per-element arithmetic over one buffer; the padding between weights stays 0.
  it.each(OPTIMIZERS.map((o) => [o]))('%s: one update for all weights trains like one per weight', async (type) => {
    const rand = rng(8);
    const x = { data: randn(rand, [50, 7], -1, 1).data, shape: [50, 7] };
    const y = { data: Int32Array.from({ length: 50 }, (_, i) => (i * 7) % 3), shape: [50] };
    const results: Float32Array[][] = [];
    for (const fuseKernels of [false, true]) {
      const model = sequential([dense(5, { activation: 'tanh', inputShape: [7] }), dense(4, { activation: 'relu' }), dense(3, { activation: 'softmax' })], { seed: 2 });
      model.compile({ optimizer: { type, weightDecay: 0.01 } as OptimizerConfig, loss: 'sparseCategoricalCrossentropy', backend: name, fuse: fuseKernels });
      await model.fit(x, y, { epochs: 4, batchSize: 16, shuffle: false, verbose: 0 });
      results.push(await model.getWeights());
      model.dispose();
    }
    results[1].forEach((w, i) => expectClose(w, results[0][i], { atol: 1e-6, rtol: 1e-5, why: 'same operations; at most contraction differences over 16 steps' }, `weight ${i}`));
  });

  // A backend whose storage bindings hold less than all the weights: each weight its own buffer and update.
  it.runIf(name === 'cpu')('weights too large for one binding: an update per weight, the same training', async () => {
    class Counting extends CpuBackend {
      views = 0;
      // Packing shows as views past offset 0 (the executor also views flat arena buffers at 0 with a value's shape).
      override view(...args: Parameters<CpuBackend['view']>) {
        if (args[1] !== 0) this.views++;
        return super.view(...args);
      }
    }
    class SmallBindings extends Counting {
      override describe() {
        return { ...super.describe(), limits: { maxStorageBufferBindingSize: 4 * 100 } };
      }
    }
    const x = { data: randn(rng(3), [40, 7], -1, 1).data, shape: [40, 7] };
    const y = { data: Int32Array.from({ length: 40 }, (_, i) => i % 3), shape: [40] };
    const results: Float32Array[][] = [];
    const backends = [new Counting(), new SmallBindings()];
    for (const backend of backends) {
      const model = sequential([dense(5, { activation: 'relu', inputShape: [7] }), dense(3, { activation: 'softmax' })], { seed: 2 });
      model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', backend });
      await model.fit(x, y, { epochs: 2, batchSize: 16, shuffle: false, verbose: 0 });
      results.push(await model.getWeights());
      model.dispose();
    }
    results[1].forEach((w, i) => expect(Array.from(w), `weight ${i}`).toEqual(Array.from(results[0][i])));
    // 7·5 + 5 + 5·3 + 3 = 58 values pack into 256 with padding, over the 100 that fit: no packed views, no packing.
    expect(backends.map((b) => b.views > 0)).toEqual([true, false]);
  });

  it('refuses a fuse option that is not a boolean', () => {
    const model = sequential([dense(2, { inputShape: [3] })]);
    expect(() => model.compile({ loss: 'meanSquaredError', fuse: 'yes' as never })).toThrow(/compile: fuse must be true or false, got 'yes'/);
  });
});

/** W4 as the layers build it: conv32:3 relu, maxpool 2, conv64:3 relu, maxpool 2, flatten, dense 128 relu, dense 10 softmax. */
function w4Spec(): ModelSpec {
  const layers = [conv2d(32, 3, { activation: 'relu' }), maxPooling2d(2), conv2d(64, 3, { activation: 'relu' }), maxPooling2d(2), flatten(), dense(128, { activation: 'relu' }), dense(10, { activation: 'softmax' })];
  const loss = resolveLoss('sparseCategoricalCrossentropy', 'softmax');
  let shape = [28, 28, 1];
  const params = layers.flatMap((l) => {
    const p = l.params(shape);
    shape = l.outputShape(shape);
    return p;
  });
  return { graph: chainGraph(layers), inputShapes: [[28, 28, 1]], outputs: [{ name: 'dense', shape: [10], loss, metrics: [resolveMetric('accuracy', loss)], targetShape: [], weight: 1 }], params, paramCounts: [2, 0, 2, 0, 0, 2, 2], fuse: true };
}

describe('launches per step of W4 (a CNN, Adam, accuracy)', () => {
  it('lowers each convolution to im2col + a matmul with the bias and relu fused, and packs all eight weights into one update', () => {
    const step = trainGraph(w4Spec(), 64, makeOptimizer('adam'), true);
    expect(kernels(step.graph).filter((k) => k !== 'reshape')).toEqual([
      'im2col', 'matmulBiasActivation', 'maxPool2d', // conv 1 forward: bias and relu in the matmul
      'im2col', 'matmulBiasActivation', 'maxPool2d',
      'matmulBiasActivation', 'matmulBiasActivation',
      'fill', 'softmaxCrossEntropyWithGrad', 'reduceSumInto', 'argmaxAccuracy', 'reduceSumInto',
      'biasGrad', 'matmul', 'matmulActivationGrad', 'biasGrad', 'matmul', 'matmul', // the dense layers, and d(flatten)
      'maxPool2dBackward', 'activationBackwardFromOutput', 'biasGrad', 'matmul', 'matmul', 'col2im', // conv 2: d(kernel), d(input)
      'maxPool2dBackward', 'activationBackwardFromOutput', 'biasGrad', 'matmul', // conv 1: only d(kernel), the input needs none
      'adam',
    ]);
    // The kernel gradients are matmul results [kh·kw·cin, cout]; the packed update reads them as they are.
    expect(step.packed).not.toBeNull();
    const update = step.graph.nodes[step.graph.nodes.length - 1];
    expect(step.graph.packs.get(update.inputs[0])!.members.map((m) => m.shape)).toEqual([[9, 32], [32], [288, 64], [64], [1600, 128], [128], [128, 10], [10]]);
    expect(step.graph.nodes.some((n) => n.kernel.view && update.inputs.includes(n.outputs[0]))).toBe(false);
  });
});

