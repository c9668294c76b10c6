// The Playground page's logic without a browser, in `npm test`: the link
// (hash) read and written, CSV points, the colour scale and grid, the plan
// from state to model, and the engine behind the page on the CPU backend.
import { describe, expect, test } from 'vitest';
import { CpuBackend, modelFromBytes, toyPoints } from '../../src/index.js';
import { gridPoints, shade, toCanvas } from '../../src/demo/playground/colors.js';
import { Engine, GRID, THUMB } from '../../src/demo/playground/engine.js';
import { LinkProblems } from '../../src/demo/playground/link-problems.js';
import { curveAt, curvePoint } from '../../src/demo/playground/ui/link-hit.js';
import { accuracy, dataLoss, modelLayers, planFrom, targets } from '../../src/demo/playground/plan.js';
import { parsePointsCsv, pointSet } from '../../src/demo/playground/points.js';
import { defaultState, parseHash, seedNumber, serializeHash } from '../../src/demo/playground/state.js';

describe('the link', () => {
  test('an empty hash is the Playground\u2019s defaults, written with its keys and commas', () => {
    const { state, problems } = parseHash('', '7');
    expect(problems).toEqual([]);
    expect(state).toEqual(defaultState('7'));
    const hash = serializeHash(state);
    expect(hash).toContain('dataset=circle&regDataset=reg-plane&problem=classification&noise=0&percTrainData=50&batchSize=10&learningRate=0.03&activation=tanh');
    expect(hash).toContain('networkShape=4,2');
    expect(hash).toContain('x=true&y=true&xSquared=false');
    expect(hash).not.toContain('activations=');
  });

  test('every key round-trips, per-layer activations included', () => {
    const s = defaultState('42');
    Object.assign(s, { dataset: 'spiral', noise: 25, percTrainData: 70, batchSize: 3, learningRate: 0.1, activation: 'relu', activations: ['relu', 'gelu', 'tanh'], networkShape: [8, 8, 3] });
    Object.assign(s, { regularization: 'L2', regularizationRate: 0.003, xTimesY: true, sinX: true, discretize: true, showTestData: true, optimizer: 'adam', loss: 'crossentropy', dropout: 0.2, batchNorm: true, backend: 'cpu' });
    const hash = serializeHash(s);
    expect(hash).toContain('activations=relu,gelu,tanh');
    expect(hash).toContain('backend=cpu');
    const back = parseHash(`#${hash}`);
    expect(back.problems).toEqual([]);
    expect(back.hasSeed).toBe(true);
    expect(back.state).toEqual(s);
  });

  test("reads the original's links: regression sets by its names, its other keys ignored", () => {
    const { state, problems } = parseHash('#activation=tanh&batchSize=10&dataset=circle&regDataset=reg-gauss&learningRate=0.03&regularizationRate=0&noise=0&networkShape=4,2&seed=0.71355&showTestData=false&discretize=false&percTrainData=50&x=true&y=true&xTimesY=false&xSquared=false&ySquared=false&cosX=false&sinX=false&cosY=false&sinY=false&collectStats=false&problem=regression&initZero=false&hideText=false&dataset_hide=true');
    expect(problems).toEqual([]);
    expect(state.problem).toBe('regression');
    expect(state.regDataset).toBe('multigauss');
    expect(state.seed).toBe('0.71355');
    expect(serializeHash(state)).toContain('regDataset=reg-gauss');
    // Our shorter spelling.
    expect(parseHash('dataset=plane').state).toMatchObject({ problem: 'regression', regDataset: 'plane', dataset: 'circle' });
  });

  test('a bad value is named, with the nearest valid one, and falls back to its default', () => {
    const { state, problems: found } = parseHash('#learningRate=fast&activation=tanhh&networkShape=4,0&noise=80&x=maybe', '1');
    const problems = found.map((p) => p.text);
    expect(found.map((p) => p.keys)).toEqual([['learningRate'], ['activation'], ['networkShape'], ['noise'], ['x']]);
    expect(state.learningRate).toBe(0.03);
    expect(state.activation).toBe('tanh');
    expect(state.networkShape).toEqual([4, 2]);
    expect(state.noise).toBe(0);
    expect(state.x).toBe(true);
    expect(problems).toHaveLength(5);
    expect(problems[0]).toMatch(/^link: learningRate must be a finite number > 0 and <= 100, got "fast"; using 0.03$/);
    expect(problems[1]).toContain("did you mean 'tanh'?");
    expect(problems[2]).toMatch(/networkShape must list whole numbers of neurons from 1 to 64, got "4,0"; using 4,2/);
    expect(problems[3]).toMatch(/noise must be a whole number >= 0 and <= 50, got "80"; using 0/);
    expect(problems[4]).toMatch(/x must be true or false, got "maybe"; using true/);
  });

  test('an unknown key is named with the nearest one; a hostile one is quoted and clipped, never trusted', () => {
    const found = parseHash('#learningrat=0.1&%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E=1&seed=%3Cb%3E&cosX=true&%E0%A4%A=1').problems;
    const problems = found.map((p) => p.text);
    // The misspelt key is taken to mean the nearest; the others name no key of the page's but the seed.
    expect(found.map((p) => p.keys)).toEqual([['learningRate'], [], ['seed'], [], []]);
    expect(problems[0]).toMatch(/unknown option "learningrat" \(did you mean 'learningRate'\?\).*; ignored$/);
    expect(problems[1]).toContain('unknown option "<img src=x onerror=alert(1)>"');
    expect(problems[2]).toMatch(/^link: seed must be up to 40 letters.*got "<b>"; using /);
    expect(problems[3]).toMatch(/cosX="true" is a TensorFlow Playground setting this page does not have/);
    expect(problems[4]).toMatch(/is not URL-encoded text; ignored/);
    const long = parseHash(`#activation=${'a'.repeat(500)}`).problems[0].text;
    expect(long.length).toBeLessThan(400);
  });

  test('per-layer activations that do not fit networkShape, and no features at all, are refused', () => {
    const a = parseHash('#networkShape=3&activations=relu,relu');
    expect(a.state.activations).toEqual(['tanh']);
    expect(a.problems[0].text).toMatch(/activations lists 2 activations for 1 hidden layer/);
    const b = parseHash('#x=false&y=false');
    expect(b.state.x && b.state.y).toBe(true);
    expect(b.problems[0].text).toMatch(/every input feature is off/);
    expect(parseHash('#networkShape=').state.networkShape).toEqual([]);
  });

  test('seeds: integers are themselves, the original\u2019s 0.12345 is hashed, both repeatably', () => {
    expect(seedNumber('17')).toBe(17);
    expect(seedNumber('0.71355')).toBe(seedNumber('0.71355'));
    expect(seedNumber('0.71355')).not.toBe(seedNumber('0.71356'));
    expect(seedNumber('99999999999')).toBeLessThan(2 ** 32);
  });
});

describe("the link's problems once the user takes over", () => {
  test('each is resolved by setting a key it names (a keyless one by any change); none open, no banner', () => {
    const found = parseHash('#learningRate=fast&activation=tanhh&cosX=true').problems;
    const p = new LinkProblems(found);
    expect(p.open).toBe(true);
    // Any change resolves the keyless one (a setting the page does not have), and only that.
    expect(p.changed(['noise'])).toBe(true);
    expect(p.items.map((i) => i.resolvedBy)).toEqual([null, null, '']);
    expect(p.changed(['learningRate'])).toBe(true);
    expect(p.open).toBe(true);
    expect(p.changed(['learningRate'])).toBe(false);
    expect(p.changed(['activation', 'activations'])).toBe(true);
    expect(p.items.map((i) => i.resolvedBy)).toEqual(['learningRate', 'activation', '']);
    expect(p.open).toBe(false);
    // Every feature off names all seven: turning any one on settles it.
    const features = new LinkProblems(parseHash('#x=false&y=false').problems);
    features.changed(['sinY']);
    expect(features.open).toBe(false);
  });
});

describe("a link's weight under the pointer", () => {
  test('the curve nearest the pointer within the tolerance, by its drawn shape', () => {
    const flat = { x0: 0, y0: 10, x1: 100, y1: 10 };
    const down = { x0: 0, y0: 0, x1: 100, y1: 100 };
    const up = { x0: 0, y0: 100, x1: 100, y1: 0 };
    expect(curveAt([flat], 50, 13, 4)).toBe(0);
    expect(curveAt([flat], 50, 15, 4)).toBe(-1);
    expect(curveAt([flat], 105, 10, 4)).toBe(-1);
    // Off the straight line between the ends: the curve runs flat, then steep at the middle x.
    const [x, y] = curvePoint(down, 0.2);
    expect(y).toBeLessThan(x / 2);
    expect(curveAt([up, down], x, y + 1, 4)).toBe(1);
    expect(curveAt([up, down], ...curvePoint(up, 0.8), 4)).toBe(0);
    expect(curveAt([up, down], x, x, 4)).toBe(-1);
  });
});

describe('points', () => {
  test('a CSV with a header, 0/1 labels (read as ±1), comments and blank lines', () => {
    const up = parsePointsCsv('x,y,label\n# a comment\n1,2,1\n\n-1,-2,0\r\n3,3,1\n-3,1,0\n', 'p.csv');
    expect(up.regression).toBe(false);
    expect(up.points.map((p) => p.label)).toEqual([1, -1, 1, -1]);
    expect(up.points[1]).toEqual({ x: -1, y: -2, label: -1 });
    const reg = parsePointsCsv('0,0,0.5\n1,1,-0.25\n2,2,3\n7,0,1', 'r.csv');
    expect(reg.regression).toBe(true);
    expect(reg.notes).toEqual(['1 point lies outside the square drawn, [−6, 6]²; trained on all the same', '1 label outside [−1, 1]: the colours stop at ±1']);
  });

  test('a bad CSV is refused naming the line, the column and the cell, quoted', () => {
    expect(() => parsePointsCsv('x,y,label\n1,2,1\n1,<script>,1\n', 'bad.csv')).toThrow('bad.csv: line 3: "<script>" in column 2 (y) is not a finite number');
    expect(() => parsePointsCsv('1,2\n', 'two.csv')).toThrow('two.csv: line 1 has 2 values; each line needs three: x,y,label');
    expect(() => parsePointsCsv('1,2,1\n2,2,1\n', 'few.csv')).toThrow('few.csv: 2 points; at least 4 are needed');
    expect(() => parsePointsCsv('a,b\n', 'h.csv')).toThrow('h.csv: line 1, the header, has 2 columns');
    expect(() => parsePointsCsv('1,2,Infinity\n', 'inf.csv')).toThrow('"Infinity" in column 3 (label) is not a finite number');
    expect(() => parsePointsCsv('1,2,1\n1,2,\u001b[31m\n', 'esc.csv')).toThrow('"?[31m"');
  });

  test('the split is the Playground\u2019s: toyPoints\u2019 shuffled order, the first percTrainData% to train', () => {
    const s = { ...defaultState('5'), dataset: 'xor' as const, noise: 10, percTrainData: 30 };
    const set = pointSet(s, null);
    const all = toyPoints('xor', { noise: 10, seed: 5 });
    expect(set.train).toEqual(all.slice(0, 150));
    expect(set.test).toEqual(all.slice(150));
    expect(set.regression).toBe(false);
    expect(pointSet({ ...s, problem: 'regression', regDataset: 'multigauss' }, null).train).toHaveLength(360);
  });
});

describe('colours and the grid', () => {
  test("the Playground's scale: orange at −1, near-white at 0, blue at +1, clamped; discretize snaps to the sign", () => {
    expect(shade(-1)).toEqual([0xf5, 0x93, 0x22]);
    expect(shade(-7)).toEqual([0xf5, 0x93, 0x22]);
    expect(shade(1)).toEqual([0x08, 0x77, 0xbd]);
    expect(shade(0)).toEqual([0xe8, 0xea, 0xeb]);
    expect(shade(0.2, true)).toEqual(shade(1));
    expect(shade(-0.01, true)).toEqual(shade(-1));
    expect(shade(NaN)).toEqual([0x99, 0x99, 0x99]);
    // 31 shades: values within one bin share a colour.
    expect(shade(0.3)).toEqual(shade(0.32));
    expect(shade(0.3)).not.toEqual(shade(0.4));
  });

  test('the grid runs from (−6, 6) at the top left to (6, −6), row by row', () => {
    const g = gridPoints(100);
    expect([g[0], g[1]]).toEqual([-6, 6]);
    expect([g[2 * 99], g[2 * 99 + 1]]).toEqual([6, 6]);
    expect([g[2 * 9999], g[2 * 9999 + 1]]).toEqual([6, -6]);
    expect(toCanvas(-6, 6, 300)).toEqual([0, 0]);
    expect(toCanvas(0, 0, 300)).toEqual([150, 150]);
  });
});

describe('the plan: state to model', () => {
  test('features, hidden layers with their extras, and the output by target', () => {
    const s = { ...defaultState(), xTimesY: true, networkShape: [3, 2], activations: ['relu', 'tanh'], regularization: 'L1' as const, regularizationRate: 0.01, dropout: 0.25, batchNorm: true };
    const plan = planFrom(s, false);
    expect(plan.features).toEqual(['x', 'y', 'xTimesY']);
    expect(plan.target).toBe('signed');
    const layers = modelLayers(plan);
    expect(layers.map((l) => l.name)).toEqual(['features', 'hidden_1', 'hidden_1_bn', 'hidden_1_dropout', 'hidden_2', 'hidden_2_bn', 'hidden_2_dropout', 'output']);
    expect(layers.map((l) => l.activation)).toEqual(['linear', 'relu', 'linear', 'linear', 'tanh', 'linear', 'linear', 'tanh']);
    const out = layers[7].config as { kernelRegularizer?: { l1: number; l2: number } };
    expect(out.kernelRegularizer).toEqual({ l1: 0.01, l2: 0 });
    expect(planFrom({ ...s, loss: 'crossentropy' }, false).target).toBe('binary');
    expect(planFrom({ ...s, loss: 'crossentropy' }, true).target).toBe('regression');
    expect(modelLayers(planFrom({ ...s, loss: 'crossentropy' }, false)).at(-1)!.activation).toBe('sigmoid');
    expect(planFrom({ ...s, regularizationRate: 0 }, false).penalty).toBeNull();
  });

  test('targets, the data loss and accuracy as the page shows them', () => {
    expect(Array.from(targets([1, -1, 0.5], 'signed'))).toEqual([1, -1, 1]);
    expect(Array.from(targets([1, -1], 'binary'))).toEqual([1, 0]);
    expect(Array.from(targets([0.5, -0.25], 'regression'))).toEqual([0.5, -0.25]);
    expect(dataLoss([0.5, -1], [1, -1], 'signed')).toBeCloseTo(0.125, 12);
    expect(dataLoss([0.5], [1], 'binary')).toBeCloseTo(Math.log(2), 12);
    expect(dataLoss([0], [1], 'binary')).toBeCloseTo(-Math.log(1e-7), 6);
    expect(accuracy([0.2, -0.1, 0.3], [1, 1, -1], 'signed')).toBeCloseTo(1 / 3, 12);
    expect(accuracy([0.6, 0.4], [1, 0], 'binary')).toBe(1);
  });
});

describe('the engine on the CPU backend (as in the page\u2019s worker)', () => {
  test('trains the circle, draws every neuron, and exports a model file that predicts what it drew', async () => {
    const s = { ...defaultState('3') };
    const points = pointSet(s, null);
    const plan = planFrom(s, false);
    const xy = (ps: typeof points.train) => Float32Array.from(ps.flatMap((p) => [p.x, p.y]));
    const engine = new Engine();
    expect((await engine.open('cpu')).backend).toBe('cpu');
    const data = { trainX: xy(points.train), trainLabels: Float32Array.from(points.train, (p) => p.label), testX: xy(points.test), testLabels: Float32Array.from(points.test, (p) => p.label) };
    const { params, snapshot: first } = await engine.reset(plan, data);
    // 2→4 (12), 4→2 (10), 2→1 (3).
    expect(params).toBe(25);
    expect(first.epoch).toBe(0);
    expect(first.output).toHaveLength(GRID * GRID);
    expect(first.neurons.map((n) => n.length)).toEqual([THUMB * THUMB * 4, THUMB * THUMB * 2]);
    expect(first.links.map((l) => [l.inputs, l.units])).toEqual([[2, 4], [4, 2], [2, 1]]);
    const r = await engine.run(40, true);
    expect(r.epoch).toBe(40);
    expect(r.steps).toBe(40 * 25);
    const snap = r.snapshot!;
    // At noise 0 the circle is separable; 40 epochs of SGD at 0.03 (the Playground's defaults) take the test loss well down.
    expect(snap.testLoss).toBeLessThan(first.testLoss / 2);
    expect(snap.testAccuracy).toBeGreaterThan(0.9);
    const bytes = await engine.exportModel();
    const model = modelFromBytes(bytes, 'playground.safetensors');
    model.compile({ ...model.compileOptions!, backend: new CpuBackend() });
    const again = await model.predict({ data: gridPoints(GRID), shape: [GRID * GRID, 2] });
    let worst = 0;
    for (let i = 0; i < again.data.length; i++) worst = Math.max(worst, Math.abs(again.data[i] - snap.output[i]));
    // The same weights on the same backend: the same float32 arithmetic.
    expect(worst).toBe(0);
    // Switching backends carries the training over: weights, optimizer state, epoch; the same output.
    const other = new Engine();
    await other.open('cpu');
    const moved = await other.reset(plan, data, await engine.carry());
    expect(moved.snapshot.epoch).toBe(40);
    expect(moved.snapshot.output).toEqual(snap.output);
    expect((await other.run(1, false)).epoch).toBe(41);
    other.dispose();
    engine.dispose();
  });
});
