// What the page and a trainer (on the page for WebGPU, in a Web Worker for
// the CPU) say to each other. Everything here survives structured cloning.

export type BackendName = 'webgpu' | 'cpu';

/** One hidden layer, in Keras' terms; an MLP's are all 'dense'. */
export type LayerChoice =
  | { type: 'conv2d'; filters: number; kernelSize: number }
  | { type: 'maxPooling2d'; poolSize: number }
  | { type: 'flatten' }
  | { type: 'dense'; units: number };

/**
 * What the CLI's --dropout, --batch-norm and --l2 add to every layer of a
 * kind; train/architecture.ts places them as the CLI's layersFromSpec does.
 */
export interface LayerExtras {
  /** Dropout of this rate after every hidden Dense layer, in [0, 1); 0 for none. */
  dropout: number;
  /** BatchNormalization after every hidden Dense and Conv2D layer. */
  batchNorm: boolean;
  /** An L2 penalty of this factor on every Dense and Conv2D kernel, the softmax layer's too; 0 for none. */
  l2: number;
}

/** The form's choices, checked by ui/form.ts. */
export interface TrainConfig extends LayerExtras {
  /** The hidden layers (train/architecture.ts); a softmax Dense over the classes follows. Empty is softmax regression. */
  layers: LayerChoice[];
  activation: string;
  optimizer: string;
  learningRate: number;
  batchSize: number;
  epochs: number;
  backend: BackendName;
  /** The last fraction of the training set held out for validation (Keras' validationSplit). */
  validationSplit: number;
  seed: number;
}

/** Square grey images, row-major, in [0, 1], with integer labels. */
export interface Digits {
  x: Float32Array;
  y: Int32Array;
  n: number;
  side: number;
  classes: number;
}

/** The part of DeviceDescription the page shows. */
export interface DeviceInfo {
  backend: BackendName;
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  api: string;
  featureLevel: string;
  software: boolean;
}

export interface ModelInfo {
  /** e.g. "784 → 128 relu → 10 softmax". */
  layers: string;
  /** Every weight, as Keras' "Total params"; nonTrainable of them are moving statistics. */
  params: number;
  nonTrainable: number;
  optimizer: string;
}

export type Phase = 'preparing' | 'compiling' | 'training' | 'paused' | 'evaluating' | 'done' | 'stopped' | 'error';

export interface Progress {
  epoch: number;
  epochs: number;
  /** Optimizer steps taken in this run. */
  step: number;
  steps: number;
  /** Samples of this epoch done, of epochSize. */
  seen: number;
  epochSize: number;
  /** Over the whole run, and over about the last second. */
  samplesPerSecond: number;
  recentSamplesPerSecond: number;
  trainSeconds: number;
}

/** Predictions on the whole test set plus the first layer's weights: what the lower panels draw. */
export interface Insight {
  /** Fractional epochs trained when it was taken. */
  at: number;
  predicted: Uint8Array;
  confidence: Float32Array;
  /** Test loss and accuracy from model.evaluate, where it was run (epoch ends, the end). */
  test: { loss: number; accuracy: number } | null;
  /** The first layer's kernel: Dense [inputs, units] or Conv2D [kh, kw, cin, filters], row-major. */
  kernel: Float32Array;
  kernelShape: number[];
}

export interface RunSummary {
  backend: BackendName;
  device: DeviceInfo;
  stopped: boolean;
  /** The training digits batch normalization's moving statistics were recomputed over at the end; null without batch normalization. */
  batchNormSamples: number | null;
  samples: number;
  trainSeconds: number;
  samplesPerSecond: number;
  config: TrainConfig;
}

export type TrainerEvent =
  | { type: 'phase'; phase: Phase; text: string }
  | { type: 'device'; device: DeviceInfo }
  | { type: 'model'; info: ModelInfo }
  | { type: 'progress'; progress: Progress }
  /** Running loss and accuracy over the epoch so far, as fit's progress line shows them. */
  | { type: 'live'; at: number; logs: Record<string, number> }
  | { type: 'epoch'; epoch: number; logs: Record<string, number> }
  | { type: 'insight'; insight: Insight }
  | { type: 'done'; summary: RunSummary }
  | { type: 'error'; message: string };

/** The calls a trainer answers, wherever it runs. */
export interface TrainerApi {
  setData(train: Digits, test: Digits): Promise<void>;
  train(config: TrainConfig): Promise<RunSummary | null>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
  /** Class probabilities, [n, classes] row-major, for n images. */
  predict(x: Float32Array): Promise<Float32Array>;
  save(): Promise<Uint8Array>;
  load(bytes: Uint8Array, backend: BackendName, name: string): Promise<ModelInfo>;
}
