// The GPT page's model and everything the page asks of it, where the model
// lives: on the page for WebGPU, in a Web Worker for the CPU backend
// (worker.ts). The page drives training a chunk of steps at a time (one
// fit() call each), so Stop, samples and the prompt take turns with it. A
// model file opened here (load) writes and saves; it does not train.
import type { Backend, Model, TextData } from '../../index.js';
import { characterModel, encodeText, gpt, modelFromBytes, Random, sampleToken, textDataset, ValueError } from '../../index.js';
import { deviceInfo } from '../train/model.js';
import type { BackendName, DeviceInfo } from '../train/protocol.js';
import { openBackend } from '../train/trainer.js';

/** The page's sizes: nanoGPT's n_embd / n_layer / n_head / block_size, and windows per step. */
export const SIZES = {
  small: { width: 64, blocks: 2, heads: 2, contextLength: 32, batchSize: 16 },
  medium: { width: 128, blocks: 4, heads: 4, contextLength: 64, batchSize: 32 },
} as const;
export type SizeName = keyof typeof SIZES;

/** Adam at 3e-3 with the gradients' joint norm clipped to 1 (nanoGPT's grad_clip): an open-ended run has no length for a cosine schedule to span. */
export const OPTIMIZER = { type: 'adam', learningRate: 3e-3, globalClipnorm: 1 } as const;

/** Test windows the page's test loss is taken over: enough for a steady figure, few enough to cost a fraction of a second. */
const TEST_WINDOWS = 64;

/** What the page shows of a model, built here or opened from a file. */
export interface ModelInfo {
  /** The model's own name (from its file: data, shown as text only). */
  name: string;
  params: number;
  /** Its characters' count. */
  vocabulary: number;
  /** Its characters, in id order. */
  characters: string[];
  contextLength: number;
}

export interface BuildInfo extends ModelInfo {
  batchSize: number;
  trainWindows: number;
  testWindows: number;
  trainCharacters: number;
  testCharacters: number;
}

export interface ChunkResult {
  steps: number;
  /** The mean training loss over the chunk's steps, in nats per character. */
  loss: number;
  /** Characters predicted: steps × batch × context. */
  tokens: number;
  /** Seconds fit() took. */
  seconds: number;
  /** Passes over the training windows so far. */
  epochs: number;
}

export interface Written {
  /** The prompt's characters the model read: its last contextLength. */
  read: string;
  /** How many characters were cropped from the prompt's start. */
  cropped: number;
  text: string;
}

export class GptEngine {
  private backend: Backend | null = null;
  private model: Model | null = null;
  /** The training text's windows: null for a model opened from a file, which writes but does not train. */
  private data: TextData | null = null;
  /** The model's characters and the steps it reads. */
  private chars: string[] = [];
  private contextLength = 1;
  private batchSize = 1;
  private order: Int32Array = new Int32Array(0);
  private next = 0;
  private stepsDone = 0;
  private rng = new Random(1);

  /** Opens the backend once; WebGPU throws AdapterError where there is none. */
  async open(name: BackendName): Promise<DeviceInfo> {
    this.backend ??= await openBackend(name);
    return deviceInfo(this.backend.describe());
  }

  /** A new GPT for this text and size, untrained: its windows are the CLI's (non-overlapping, the last 10% held out). */
  async build(text: string, size: SizeName, seed: number): Promise<BuildInfo> {
    const backend = this.backend;
    if (!backend) throw new ValueError('the engine has no backend yet: open() it first');
    const s = SIZES[size];
    if (!s) throw new ValueError(`unknown size '${String(size)}' (${Object.keys(SIZES).join(' or ')})`);
    const data = textDataset(text, { context: s.contextLength, source: 'the text' });
    this.dispose();
    const model = gpt({ vocabularySize: data.vocabulary.length, contextLength: s.contextLength, width: s.width, blocks: s.blocks, heads: s.heads, seed, name: 'demo_gpt' });
    model.setVocabulary(data.vocabulary);
    model.compile({ optimizer: { ...OPTIMIZER }, loss: 'sparseCategoricalCrossentropy', backend });
    this.model = model;
    this.data = data;
    this.chars = data.vocabulary;
    this.contextLength = s.contextLength;
    const windows = data.train.xShape[0];
    this.batchSize = Math.min(s.batchSize, windows);
    this.rng = new Random(seed);
    this.order = this.rng.permutation(windows);
    this.next = 0;
    this.stepsDone = 0;
    return {
      ...this.info(),
      batchSize: this.batchSize,
      trainWindows: windows,
      testWindows: data.test.xShape[0],
      trainCharacters: data.trainCharacters,
      testCharacters: data.testCharacters,
    };
  }

  /**
   * A model file (as save() or `webgrad train --data FILE.txt --save` writes
   * one) in place of the current model, for writing and saving: refused by
   * name (modelFromBytes' errors, characterModel's) when it is no character
   * model, and then the current model stays.
   */
  async load(bytes: Uint8Array, fileName: string): Promise<ModelInfo> {
    const backend = this.backend;
    if (!backend) throw new ValueError('the engine has no backend yet: open() it first');
    const model = modelFromBytes(bytes, fileName);
    try {
      const { vocabulary, contextLength } = characterModel(model, fileName);
      // Its own loss and optimizer (with their state, which save() keeps), on this page's backend.
      model.compile({ ...(model.compileOptions ?? { loss: 'sparseCategoricalCrossentropy' }), backend });
      this.dispose();
      this.model = model;
      this.chars = vocabulary;
      this.contextLength = contextLength;
      return this.info();
    } catch (e) {
      model.dispose();
      throw e;
    }
  }

  private info(): ModelInfo {
    const model = this.requireModel();
    return {
      name: model.name,
      params: model.paramSpecs().reduce((sum, p) => sum + p.shape.reduce((a, b) => a * b, 1), 0),
      vocabulary: this.chars.length,
      characters: [...this.chars],
      contextLength: this.contextLength,
    };
  }

  private dispose(): void {
    this.model?.dispose();
    this.model = null;
    this.data = null;
  }

  /** `steps` optimizer steps of whole batches, the windows drawn in a shuffled order that is drawn anew after each pass. */
  async train(steps: number): Promise<ChunkResult> {
    const { model, data } = this.require();
    if (!Number.isInteger(steps) || steps < 1) throw new ValueError(`train: steps must be a whole number from 1, got ${steps}`);
    const T = data.train.xShape[1];
    const n = steps * this.batchSize;
    const x = new Float32Array(n * T);
    const y = new Int32Array(n * T);
    for (let i = 0; i < n; i++) {
      if (this.next + 1 > this.order.length) {
        this.order = this.rng.permutation(this.order.length);
        this.next = 0;
      }
      const w = this.order[this.next++];
      x.set(data.train.x.subarray(w * T, (w + 1) * T), i * T);
      y.set(data.train.y.subarray(w * T, (w + 1) * T), i * T);
    }
    const t0 = performance.now();
    // Every batch full, so one compiled step serves every chunk; shuffled here, so fit need not.
    const history = await model.fit({ data: x, shape: [n, T] }, { data: y, shape: [n, T] }, { epochs: 1, batchSize: this.batchSize, shuffle: false, verbose: 0 });
    const seconds = (performance.now() - t0) / 1000;
    this.stepsDone += steps;
    return { steps, loss: history.history.loss[0], tokens: n * T, seconds, epochs: (this.stepsDone * this.batchSize) / this.order.length };
  }

  /** The loss on the held-out text's first TEST_WINDOWS windows, in nats per character. */
  async testLoss(): Promise<number> {
    const { model, data } = this.require();
    const [count, T] = data.test.xShape;
    const n = Math.min(count, TEST_WINDOWS);
    const logs = await model.evaluate({ data: data.test.x.subarray(0, n * T), shape: [n, T] }, { data: (data.test.y as Int32Array).subarray(0, n * T), shape: [n, T] });
    return logs.loss;
  }

  /**
   * `length` characters after `prompt`, each drawn from the model's
   * next-character probabilities sharpened by 1/temperature. The model reads
   * at most its context: a longer prompt is cropped to its last characters
   * (nanoGPT's idx[:, -block_size:]), and so is the text as it grows.
   */
  async write(prompt: string, length: number, temperature: number, seed: number): Promise<Written> {
    const model = this.requireModel();
    if (prompt === '') throw new ValueError('the prompt is empty; type at least one character');
    if (!Number.isInteger(length) || length < 1 || length > 10_000) throw new ValueError(`the length must be a whole number of characters from 1 to 10,000, got ${length}`);
    if (!(temperature > 0 && temperature <= 10)) throw new ValueError(`the temperature must be above 0 and at most 10, got ${temperature}`);
    const chars = this.chars;
    const T = this.contextLength;
    const ids = Array.from(encodeText(prompt, chars, 'the prompt'));
    const promptChars = Array.from(prompt);
    const r = new Random(seed);
    const window = new Float32Array(T);
    const out: string[] = [];
    for (let k = 0; k < length; k++) {
      // Causal attention: the prediction at the last real step has seen only the steps up to it, not the zeros after.
      const recent = ids.slice(-T);
      window.fill(0);
      window.set(recent);
      const { data: p } = await model.predict({ data: window, shape: [1, T] });
      const next = sampleToken(p.subarray((recent.length - 1) * chars.length, recent.length * chars.length), temperature, r);
      ids.push(next);
      out.push(chars[next]);
    }
    const cropped = Math.max(0, promptChars.length - T);
    return { read: promptChars.slice(cropped).join(''), cropped, text: out.join('') };
  }

  /** The model file (safetensors, with its vocabulary), as `webgrad train --save` writes one: `webgrad generate` reads it. */
  async save(): Promise<Uint8Array> {
    return this.requireModel().toBytes();
  }

  private requireModel(): Model {
    if (!this.model) throw new ValueError('no model yet: press Train, or open a model file');
    return this.model;
  }

  private require(): { model: Model; data: TextData } {
    const model = this.requireModel();
    if (!this.data) throw new ValueError('this model was opened from a file, for writing and saving; press Train to train a new model on the text');
    return { model, data: this.data };
  }
}

/** What the page calls, on the page or in the worker. */
export const ENGINE_METHODS = ['open', 'build', 'load', 'train', 'testLoss', 'write', 'save'] as const;
