// webgrad's public API. The demo and the CLI import only from here.
export type { Backend, DeviceDescription, DeviceTensor } from './backend/backend.js';
export { CpuBackend } from './backend/cpu.js';
export { WebGPUBackend } from './backend/webgpu/backend.js';
export { acquireDevice, NO_ADAPTER_HELP } from './backend/webgpu/device.js';
export { AdapterError, GpuError, ShapeError, ValueError, WebgradError } from './core/errors.js';
export { Random } from './core/random.js';
export type { DType, Shape, TensorInfo } from './core/shape.js';
export type { Kernel } from './ops/kernel.js';
export * from './ops/elementwise.js';
export * from './ops/matmul.js';
