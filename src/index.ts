// webgrad's public API. The demo imports only from here (a test checks it);
// everything here runs in the browser and in Node. The CLI is a Node program
// inside the package and imports the modules it needs directly, this API's
// and Node-only ones (file readers, PNG, the export writers).
export type { Backend, DeviceDescription, DeviceTensor, Launch, Program } from './backend/backend.js';
export { CpuBackend } from './backend/cpu.js';
// WebGPU loads only when asked: createWebGPUBackend imports it (and Dawn, in Node) then.
export type { WebGPUBackend } from './backend/webgpu/backend.js';
export { acquireDevice, createWebGPUBackend, NO_ADAPTER_HELP } from './backend/load.js';
export { AdapterError, GpuError, ShapeError, ValueError, WebgradError } from './core/errors.js';
export { Random } from './core/random.js';
export { defineOptions, opt } from './core/options.js';
export type { OptionSet, OptionsOf } from './core/options.js';
export type { DType, Shape, TensorInfo } from './core/shape.js';

export { Graph } from './graph/graph.js';
export type { Value } from './graph/graph.js';
export { gradients } from './graph/autodiff.js';
export { compileGraph } from './graph/executor.js';

export type { Kernel } from './ops/kernel.js';
export * as ops from './ops/all.js';

export { activationLayer, add, average, averagePooling2d, concatenate, multiHeadAttention, multiply, batchNormalization, bidirectional, conv2d, dense, dropout, embedding, flatten, globalAveragePooling2d, gru, l1, l1l2, l2, LAYER_ACTIVATIONS, layerNormalization, lstm, maxPooling2d, pointFeatures, positionEmbedding, randomTranslation, reshape, simpleRNN } from './nn/layers.js';
export { featureRecord, POINT_FEATURES } from './ops/features.js';
export type { FeatureRecord, PointFeature } from './ops/features.js';
export type { BatchNormOptions, BidirectionalOptions, Conv2dOptions, DenseOptions, GruOptions, Layer, LayerActivation, LayerNormOptions, LstmOptions, MergeMode, Pool2dOptions, PositionEmbeddingOptions, Regularizer, SimpleRnnOptions } from './nn/layers.js';
export { INITIALIZERS } from './nn/initializers.js';
export { LOSSES } from './nn/losses.js';
export { OPTIMIZER_OPTIONS, OPTIMIZERS } from './optim/optimizers.js';
export type { OptimizerConfig, OptimizerSpec } from './optim/optimizers.js';
export { Model, sequential, Sequential } from './nn/model.js';
export { Functional, input, model, SymbolicTensor } from './nn/functional.js';
export { gpt, GPT_DEFAULTS } from './nn/gpt.js';
export type { GptOptions } from './nn/gpt.js';
export { characterModel, sampleToken } from './nn/sampling.js';
export type { CharacterModel } from './nn/sampling.js';
export type { CompileOptions, InputScaler, SequentialOptions, Topology } from './nn/model.js';
export type { FitOptions, History } from './nn/train.js';
export { EarlyStopping, earlyStopping, TerminateOnDivergence, terminateOnDivergence, TerminateOnNaN, terminateOnNaN } from './nn/callbacks.js';
export type { Callback, Divergence, EarlyStoppingOptions, Logs, NonFiniteLoss, TerminateOnDivergenceOptions, TrainingStop } from './nn/callbacks.js';
export type { Input, TensorData } from './nn/inputs.js';
export { loadModel, modelFromBytes, modelToBytes, saveModel } from './nn/saving.js';
export { decodeSafetensors, encodeSafetensors } from './interop/safetensors.js';
export { importPytorch, type ImportPytorchOptions, type PytorchArchitecture } from './interop/import-pytorch.js';
export { onnxExport } from './interop/export-onnx.js';

// Browser-safe data helpers, digit preprocessing and charts (file readers are Node-only: src/data/node.ts).
export * from './data/index.js';
export { toMnistInput } from './data/image.js';
export type { DigitImage, MnistInputOptions } from './data/image.js';
export { PALETTE, renderChart } from './plot/index.js';
export type { Chart, ChartSpec, Color, PanelSpec, RgbaImage, SeriesSpec } from './plot/index.js';

// Experiments: hyperparameter sweeps and k-fold cross-validation.
export * from './experiments/index.js';
