import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writePng } from '../../src/cli/png.js';
import { loadBuiltinMnist } from '../../src/data/mnist.js';
import { dense } from '../../src/nn/layers.js';
import { sequential } from '../../src/nn/model.js';
import { layersFromSpec, parseSpec } from '../../src/nn/spec.js';
import { lastJson, runCli } from '../helpers/cli.js';

/** A digit [28·28] in [0, 1] as MNIST draws it, white on black, as an RGBA picture. */
function digitPicture(pixels: Float32Array) {
  const rgba = new Uint8Array(28 * 28 * 4);
  pixels.forEach((v, i) => rgba.set([255 * v, 255 * v, 255 * v, 255], i * 4));
  return { width: 28, height: 28, rgba };
}

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'webgrad-cli-cnn-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the --layers spec', () => {
  it('reads dense widths and image tokens, and names a bad token', () => {
    expect(parseSpec('conv32:3,maxpool2,conv64:3:s2:same,avgpool2,gap,128')).toEqual(['conv32:3', 'maxpool2', 'conv64:3:s2:same', 'avgpool2', 'gap', 128]);
    expect(parseSpec('none')).toEqual([]);
    // 'same' alone is padding, not a stride (both start with s).
    const [same] = layersFromSpec(parseSpec('conv4:3:same'), { activation: 'relu', inputShape: [8, 8, 1] });
    expect(same.config).toMatchObject({ padding: 'same', strides: [1, 1] });
    expect(() => parseSpec('conv32:3,maxpol2')).toThrow("--layers: unknown layer 'maxpol2' (did you mean 'maxpool'?)");
    expect(() => parseSpec('conv32')).toThrow("--layers: unknown layer 'conv32'");
    expect(() => parseSpec('0')).toThrow('--layers: a dense layer needs at least 1 unit');
  });

  it('a CNN trains from the command line, and evaluate and predict use the saved file', async () => {
    const model = join(dir, 'cnn.safetensors');
    const t = await runCli(['train', '--backend', 'cpu', '--layers', 'conv4:3:s2,maxpool2,16', '--epochs', '1', '--save', model, '--json']);
    expect(t.code, t.err).toBe(0);
    expect(t.out).toMatch(/hidden_1 \(Conv2D\) +\(None, 13, 13, 4\) +40/);
    expect(t.out).toMatch(/hidden_2 \(MaxPooling2D\) +\(None, 6, 6, 4\)/);
    expect(lastJson(t.out).test_accuracy).toBeGreaterThan(0.5);
    const e = await runCli(['evaluate', model, '--backend', 'cpu', '--json']);
    expect(e.code, e.err).toBe(0);
    expect(lastJson(e.out).test_accuracy).toBeCloseTo(lastJson(t.out).test_accuracy, 6);
    const bad = await runCli(['train', '--backend', 'cpu', '--layers', '32,conv8:3']);
    expect(bad.err).toContain("--layers: 'conv8:3' needs images, but the layers before it give flat vectors");
  }, 120_000);

  it('evaluate refuses to print a figure that is not a number: a model whose finite weights overflow float32 on the digits', async () => {
    const m = sequential([dense(10, { activation: 'softmax', inputShape: [784] })]);
    // A weight of 3e38 (a flipped exponent bit, or training that blew up): finite in the file, Infinity on any digit with ink.
    m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'], backend: 'cpu' });
    m.setWeights([new Float32Array(7840).fill(3e38), new Float32Array(10)]);
    const file = join(dir, 'overflow.safetensors');
    await m.save(file);
    const e = await runCli(['evaluate', file, '--backend', 'cpu']);
    expect(e.code).toBe(1);
    expect(e.err).toMatch(/evaluate: .*overflow\.safetensors gives loss NaN .*overflows float32.*no figure is printed/);
    expect(e.out).not.toMatch(/NaN/);
  });

  it('a model file that takes 784 flat features (MLPs saved before the loaders gave images) still evaluates and predicts on images', async () => {
    const { train, test } = loadBuiltinMnist();
    const flat = (d: typeof train, n: number) => ({ data: d.x.subarray(0, n * 784), shape: [n, 784] });
    const m = sequential([dense(16, { activation: 'relu', inputShape: [784] }), dense(10, { activation: 'softmax' })], { seed: 3 });
    m.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'], backend: 'cpu' });
    await m.fit(flat(train, 2000), { data: train.y.subarray(0, 2000), shape: [2000] }, { epochs: 2, verbose: 0 });
    const { accuracy } = await m.evaluate(flat(test, test.xShape[0]), { data: test.y, shape: test.yShape });
    const file = join(dir, 'flat.safetensors');
    await m.save(file);
    m.dispose();
    // evaluate loads the digits as images [n, 28, 28, 1] and views them as the model's [n, 784].
    const e = await runCli(['evaluate', file, '--backend', 'cpu', '--json']);
    expect(e.code, e.err).toBe(0);
    expect(lastJson(e.out).test_accuracy).toBeCloseTo(accuracy, 6);
    const png = join(dir, 'seven.png');
    writePng(png, digitPicture(test.x.subarray(0, 784)));
    const p = await runCli(['predict', file, png, '--backend', 'cpu', '--json']);
    expect(p.code, p.err).toBe(0);
    expect(lastJson(p.out).probabilities).toHaveLength(10);
    // A model of other inputs is refused by shape.
    const other = join(dir, 'other.safetensors');
    const o = sequential([dense(3, { activation: 'softmax', inputShape: [5] })], { seed: 1 });
    o.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', backend: 'cpu' });
    await o.fit({ data: new Float32Array(10), shape: [2, 5] }, { data: [0, 2], shape: [2] }, { epochs: 1, verbose: 0 });
    await o.save(other);
    o.dispose();
    const bad = await runCli(['evaluate', other, '--backend', 'cpu']);
    expect(bad.err).toContain('evaluate: the model takes 5 features, the data has 28×28×1 images');
    const badPng = await runCli(['predict', other, png, '--backend', 'cpu']);
    expect(badPng.err).toContain('predict: pictures of digits need a model that takes 28×28 pixels ([28, 28, 1] images, or 784 features); ' + other + ' takes 5 features');
  }, 120_000);

  it('a sweep over CNN specs takes lists separated by /', async () => {
    const colon = await runCli(['sweep', '--backend', 'cpu', '--layers', 'conv4:3,16:conv8:3,16']);
    expect(colon.err).toContain("separate layer lists with '/' when they hold convolutions");
  });
});
