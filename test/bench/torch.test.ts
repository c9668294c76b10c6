import { afterAll, describe, expect, it } from 'vitest';
import { loadBuiltinMnist } from '../../src/data/mnist.js';
import { probeTorch, torchTrainer } from '../../bench/systems/torch.js';
import type { Trainer } from '../../bench/systems/trainer.js';
import { webgradTrainer } from '../../bench/systems/webgrad.js';
import type { TrainWorkload } from '../../bench/workloads.js';
import { firstDigits, playgroundPoints, shuffledDigits, W5 } from '../../bench/workloads.js';
import { corpusWindows, W7, withVocabulary } from '../../bench/gpt-workload.js';
import { benchCorpus } from '../../bench/lib/corpus.js';

/**
 * torch-cpu trains the bench's networks from the bench's arrays: after the
 * same steps on the same samples from the same weights, its mean loss is
 * webgrad CPU's. Each workload is a small copy of a bench workload's kind, so
 * that every layout torch_worker.py converts is exercised: Linear kernels
 * transposed, NHWC convolutions and their flatten order, the LSTM's gate
 * blocks and its one Keras bias against torch's two, W5's tanh, squared error
 * and SGD.
 */
const torch = probeTorch();
const has = 'version' in torch;

const SMALL: TrainWorkload[] = [
  { id: 'mlp', title: 'MLP 784-16-10', layers: [784, 16, 10], batch: 32, samples: 96 },
  { id: 'cnn', title: 'CNN conv4 3×3, pool 2, conv8 3×3, pool 2, dense 16-10', layers: [200, 16, 10], conv: { input: [28, 28, 1], blocks: [{ filters: 4, kernel: 3, pool: 2 }, { filters: 8, kernel: 3, pool: 2 }] }, batch: 32, samples: 96 },
  { id: 'lstm', title: 'LSTM 8 on 28 steps of 28, dense 10', layers: [8, 10], lstm: { steps: 28, features: 28, units: 8 }, batch: 32, samples: 96 },
  { ...W5, epochs: 3 },
];

describe.skipIf(!has)('torch-cpu (PyTorch on the CPU) in the bench', () => {
  const { train } = loadBuiltinMnist();
  const digits = shuffledDigits(train.x, train.y as Int32Array);
  const open: Trainer[] = [];
  afterAll(async () => {
    for (const t of open) await t.dispose();
  });

  it.each(SMALL.map((w) => [w.id, w] as const))('%s: the same mean loss as webgrad CPU after the same steps, and its own clocks', async (_, w) => {
    const data = w.playground ? playgroundPoints() : firstDigits(digits, w.samples);
    const ours = webgradTrainer('cpu', w);
    const theirs = torchTrainer(w);
    open.push(ours, theirs);
    // Three steps (W5: three epochs of 25) after a first pass, so that the optimizer's state carries over between calls as in a timed run.
    const losses: number[][] = [];
    for (const t of [ours, theirs]) losses.push([await t.train(data, 1), await t.train(data, w.epochs ?? 1)]);
    // float32 sums in other orders move these means by ~1e-6 relative over a few steps; a transposed kernel,
    // a gate block out of place or the NCHW flatten order moves them by 1e-2 or more.
    for (const i of [0, 1]) expect(Math.abs(losses[1][i] - losses[0][i]) / losses[0][i], `${w.id} run ${i}: torch ${losses[1][i]} vs webgrad ${losses[0][i]}`).toBeLessThan(1e-4);
    const m = theirs.measured?.();
    expect(m?.seconds).toBeGreaterThan(0);
    expect(m?.cpuSeconds).toBeGreaterThan(0);
    expect(theirs.device()).toMatch(/^PyTorch \d.* on the CPU, 2 threads/);
  }, 60_000);

  // W7's kind, small: torch_gpt.py's GPT from webgrad's named weights (Dense kernels transposed, the attention's
  // [D, H, dk] and [H, dv, D] kernels folded, the layer norms, both embeddings), the causal mask, erf GELU, the loss at every step.
  it('gpt: the same mean loss as webgrad CPU after the same steps on the corpus\' windows', async () => {
    const corpus = corpusWindows(benchCorpus(), 16);
    const w = withVocabulary({ ...W7(true), gpt: { context: 16, width: 16, blocks: 2, heads: 2, vocabulary: 0 }, batch: 8, samples: 24 }, corpus.vocabulary);
    const data = firstDigits(corpus.data, w.samples);
    const ours = webgradTrainer('cpu', w);
    const theirs = torchTrainer(w);
    open.push(ours, theirs);
    const losses: number[][] = [];
    for (const t of [ours, theirs]) losses.push([await t.train(data, 1), await t.train(data, 1)]);
    // ~1e-7 relative seen at W7's size; dropping the causal mask or the output kernel's transpose moves them by 8e-3 and 4e-3.
    for (const i of [0, 1]) expect(Math.abs(losses[1][i] - losses[0][i]) / losses[0][i], `gpt run ${i}: torch ${losses[1][i]} vs webgrad ${losses[0][i]}`).toBeLessThan(1e-4);
  }, 60_000);
});

describe('torch-cpu where torch is missing', () => {
  it('names the Python that did not start and how to get torch', () => {
    const r = probeTorch('/nonexistent/python3');
    expect(r).toEqual({ missing: expect.stringMatching(/^\/nonexistent\/python3 did not start \(ENOENT\); install python3 and python3-torch, or name a Python with torch in WEBGRAD_BENCH_PYTHON$/) });
  });
});
