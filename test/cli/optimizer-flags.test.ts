import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli/args.js';
import { TRAIN_BOOLEANS, TRAIN_FLAGS, trainOptions } from '../../src/cli/train-options.js';
import { loadModel } from '../../src/nn/saving.js';
import { runCli } from '../helpers/cli.js';

/* webgrad train's flags for what a GPT's training asks of the optimizer (#27): clipping, weight decay and its exclusions, warmup. */
const dir = mkdtempSync(join(tmpdir(), 'webgrad-optim-flags-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const options = (...argv: string[]) => trainOptions(parseArgs(argv, TRAIN_FLAGS, TRAIN_BOOLEANS));

describe('webgrad train: optimizer flags', () => {
  it('reads them into the options', () => {
    const o = options('--optimizer', 'adamw', '--global-clipnorm', '1', '--weight-decay', '0.1', '--exclude-from-weight-decay', 'bias, layer_normalization', '--lr-schedule', 'cosine', '--warmup-steps', '100');
    expect(o).toMatchObject({ optimizer: 'adamw', globalClipnorm: 1, weightDecay: 0.1, excludeFromWeightDecay: ['bias', 'layer_normalization'], lrSchedule: 'cosine', warmupSteps: 100 });
    expect(options('--optimizer', 'sgd', '--clipvalue', '0.5')).toMatchObject({ clipvalue: 0.5, clipnorm: undefined, globalClipnorm: undefined });
  });

  it('refuses combinations that mean nothing, naming the flags', () => {
    expect(() => options('--clipnorm', '1', '--global-clipnorm', '1')).toThrow(/--clipnorm and --global-clipnorm: give one \(Keras takes one of clipnorm, global_clipnorm and clipvalue\)/);
    expect(() => options('--warmup-steps', '10')).toThrow(/--warmup-steps warms up into the cosine schedule: add --lr-schedule cosine/);
    expect(() => options('--exclude-from-weight-decay', 'bias')).toThrow(/--exclude-from-weight-decay needs weight decay: give --weight-decay W, or --optimizer adamw/);
    expect(() => options('--optimizer', 'adamw', '--exclude-from-weight-decay', 'bias,,norm')).toThrow(/separated by commas, e.g. bias,layer_normalization,embedding/);
    expect(() => options('--global-clipnorm', '0')).toThrow(/--global-clipnorm must be a positive number; got '0'/);
    expect(() => options('--weight-decay', '-1')).toThrow(/--weight-decay must be a number >= 0/);
    expect(() => options('--lr-schedule', 'cosine', '--warmup-steps', '0')).toThrow(/--warmup-steps must be a whole number >= 1/);
  });

  it('trains with them and saves them: AdamW, global clipping, biases undecayed, a warmup into the cosine', async () => {
    const file = join(dir, 'warm.safetensors');
    const argv = ['train', '--backend', 'cpu', '--data', 'circle', '--epochs', '2', '--layers', '8', '--optimizer', 'adamw', '--lr', '0.01', '--lr-schedule', 'cosine'];
    const r = await runCli([...argv, '--warmup-steps', '10', '--global-clipnorm', '1', '--exclude-from-weight-decay', 'bias', '--save', file]);
    expect(r.code, r.err).toBe(0);
    const m = await loadModel(file);
    const saved = m.compileOptions!.optimizer as { learningRate?: unknown };
    expect(saved).toMatchObject({ type: 'adamw', globalClipnorm: 1, excludeFromWeightDecay: ['bias'] });
    // Keras' CosineDecay(0, rest of the run, warmup_target=0.01, warmup_steps=10): 2 epochs of 25 batches of 10 points.
    expect(saved.learningRate).toEqual({ type: 'cosineDecay', initialLearningRate: 0, decaySteps: 40, warmupTarget: 0.01, warmupSteps: 10 });
    m.dispose();
    const long = await runCli([...argv, '--warmup-steps', '50']);
    expect(long.code).toBe(1);
    expect(long.err).toContain("--warmup-steps 50 leaves nothing of the run's 50 steps (2 epochs of 25) for the cosine; give fewer");
  });
});
