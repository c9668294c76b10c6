// Every kernel, by family: for code that iterates over them (the self-check, the benchmarks).
export * from './activation.js';
export * from './augment.js';
export * from './bias.js';
export * from './conv.js';
export * from './dropout.js';
export * from './elementwise.js';
export * from './loss.js';
export * from './matmul-epilogue.js';
export * from './matmul.js';
export * from './metrics.js';
export * from './norm.js';
export * from './optimizer.js';
export * from './pool.js';
export * from './reduce.js';
export * from './regularizer.js';
export * from './reshape.js';
export * from './softmax.js';
