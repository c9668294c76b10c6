import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors } from '../../src/interop/safetensors.js';
import { backends } from '../helpers/backends.js';
import { lastJson, runCli } from '../helpers/cli.js';

/* The CLI on TensorFlow Playground's data sets: --data circle ..., --noise, --points, --test-percent, --features. */

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'webgrad-toy-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const backend = backends.some(([n]) => n === 'webgpu') ? 'webgpu' : 'cpu';

describe('webgrad train --data <Playground set>', () => {
  it("circle with three tanh layers: the Playground's split, batch size and 100 epochs by default, at least 95% test accuracy", async () => {
    const { code, out, err } = await runCli(['train', '--data', 'circle', '--layers', '8,8,8', '--activation', 'tanh', '--backend', 'cpu', '--json']);
    expect(code, err).toBe(0);
    expect(out).toContain("data: TensorFlow Playground's 'circle' (500 points, noise 0, 50% test, seed 42): 250 training and 250 test samples, 2 features, classification");
    expect(out).toContain('Epoch 100/100');
    // 250 points at batch size 10: 25 steps an epoch.
    expect(out).toMatch(/250\/250 \[=+\]/);
    expect(lastJson(out).test_accuracy).toBeGreaterThanOrEqual(0.95);
  });

  it('--features puts a PointFeatures layer first: the saved model predicts from x and y, and evaluate, predict and both exports take it', async () => {
    const model = join(dir, 'xor.safetensors');
    const t = await runCli(['train', '--data', 'xor', '--features', 'xTimesY', '--layers', 'none', '--noise', '10', '--points', '300', '--test-percent', '40', '--backend', backend, '--save', model, '--json']);
    expect(t.code, t.err).toBe(0);
    expect(t.out).toContain("(300 points, noise 10, 40% test, seed 42): 180 training and 120 test samples");
    expect(t.out).toMatch(/features \(PointFeatures\)\s+\(None, 1\)\s+0/);
    const topology = JSON.parse(decodeSafetensors(readFileSync(model)).metadata.topology);
    expect(topology.layers[0]).toMatchObject({ type: 'pointFeatures', features: ['xTimesY'] });
    // The same seed, noise, points and share: the same test points, so the same accuracy.
    const e = await runCli(['evaluate', model, '--data', 'xor', '--noise', '10', '--points', '300', '--test-percent', '40', '--backend', backend, '--json']);
    expect(e.code, e.err).toBe(0);
    expect(lastJson(e.out).test_accuracy).toBeCloseTo(lastJson(t.out).test_accuracy, 6);
    // x·y > 0 is class '1', x·y < 0 class '-1'.
    const rows = join(dir, 'points.csv');
    writeFileSync(rows, 'x,y\n3,4\n-3,4\n-2.5,-5\n4,-1\n');
    const p = await runCli(['predict', model, rows, '--backend', backend]);
    expect(p.code, p.err).toBe(0);
    expect(p.out.trim().split('\n').map((l) => l.replace(/ \(\d+\.\d%\)$/, ''))).toEqual(['row 1 (x=3, y=4): 1', 'row 2 (x=-3, y=4): -1', 'row 3 (x=-2.5, y=-5): 1', 'row 4 (x=4, y=-1): -1']);
    const onnx = await runCli(['export', model, '--to', 'onnx', join(dir, 'xor.onnx')]);
    expect(onnx.code, onnx.err).toBe(0);
    const torch = await runCli(['export', model, '--to', 'pytorch', join(dir, 'xor-torch')]);
    expect(torch.code, torch.err).toBe(0);
    expect(readFileSync(join(dir, 'xor-torch', 'model.py'), 'utf8')).toContain('x = torch.stack([x0 * x1], dim=1)');
    expect(torch.out).toContain("trained on TensorFlow Playground's 'xor', which train.py cannot generate");
  });

  it('regression sets report R²; x and y as features add no layer', async () => {
    const { code, out, err } = await runCli(['train', '--data', 'plane', '--features', 'x,y', '--layers', 'none', '--backend', 'cpu', '--json']);
    expect(code, err).toBe(0);
    expect(out).toContain('1200 points');
    expect(out).not.toContain('PointFeatures');
    expect(lastJson(out).test_r2).toBeGreaterThan(0.99);
  });

  it('refuses what does not fit, naming it', async () => {
    const refused = async (args: string[], message: RegExp) => {
      const r = await runCli(['train', ...args, '--backend', 'cpu']);
      expect(r.code, r.out).toBe(1);
      expect(r.err).toMatch(message);
    };
    await refused(['--noise', '10'], /--noise applies to the Playground's data sets \(--data circle\|xor\|gauss\|spiral\|plane\|multigauss\), not to --data mnist/);
    await refused(['--data', 'circle', '--noise', '60'], /--noise must be a percentage from 0 to 50/);
    await refused(['--data', 'circle', '--features', 'x,cosX'], /--features has unknown feature "cosX"/);
    await refused(['--data', 'circle', '--features', 'x,x'], /--features names 'x' twice/);
    await refused(['--features', 'x,y'], /--features makes features of points \(x, y\); the data has 28×28×1 images/);
    await refused(['--data', 'circle', '--test-data', 'x.csv'], /--test-data goes with --data <dir or CSV file>; the Playground's 'circle' is split by --test-percent/);
    await refused(['--data', 'plane', '--task', 'classification'], /--task classification: the Playground's 'plane' is a regression set/);
    expect(existsSync(join(dir, 'nothing'))).toBe(false);
  });
});
