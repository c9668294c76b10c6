import { ShapeError, ValueError } from '../core/errors.js';
import { checkShape, fmt, sameShape, sizeOf, VIEW_ALIGN } from '../core/shape.js';
import type { DType, Shape } from '../core/shape.js';
import type { Kernel } from '../ops/kernel.js';
import type { Backend, DeviceTensor } from './backend.js';

/** Checks one kernel launch the same way on every backend, before any work is queued. */
export function checkLaunch<A>(
  backend: Backend,
  kernel: Kernel<A>,
  inputs: readonly DeviceTensor[],
  outputs: readonly DeviceTensor[],
  attrs: A,
): void {
  for (const t of [...inputs, ...outputs]) {
    if (t.backend !== backend) {
      throw new ValueError(`${kernel.name}: a ${t.backend.kind} tensor was passed to the ${backend.kind} backend`);
    }
  }
  const storage = (t: DeviceTensor) => t.base ?? t;
  for (const o of outputs) {
    if (inputs.includes(o)) throw new ValueError(`${kernel.name}: a tensor cannot be both an input and an output`);
    // WebGPU refuses a buffer bound writable and read-only in one dispatch; the CPU refuses it too, to agree.
    if (inputs.some((i) => storage(i) === storage(o))) throw new ValueError(`${kernel.name}: output ${fmt(o)} shares its storage (a view) with an input`);
  }
  if (new Set(outputs).size !== outputs.length) throw new ValueError(`${kernel.name}: the same tensor is given twice as an output`);
  const expected = kernel.outputs(inputs, attrs);
  if (expected.length !== outputs.length) {
    throw new ShapeError(`${kernel.name}: expects ${expected.length} output tensor(s), got ${outputs.length}`);
  }
  expected.forEach((e, i) => {
    const o = outputs[i];
    if (!sameShape(e.shape, o.shape) || e.dtype !== o.dtype) {
      throw new ShapeError(`${kernel.name}: output ${i} must be ${fmt(e)}, got ${fmt(o)}`);
    }
  });
}

export function checkAllocation(shape: Shape, dtype: DType): void {
  checkShape(shape, 'allocate');
  if (dtype !== 'f32' && dtype !== 'i32') throw new ValueError(`allocate: unknown dtype '${dtype}' (use 'f32' or 'i32')`);
}

export function checkWrite(t: DeviceTensor, data: ArrayLike<number>): void {
  if (data.length !== t.size) {
    throw new ShapeError(`write: tensor ${fmt(t)} holds ${t.size} values, got ${data.length}`);
  }
  if (t.dtype === 'i32') {
    for (let i = 0; i < data.length; i++) {
      if (!Number.isInteger(data[i])) throw new ValueError(`write: i32 tensor got non-integer ${data[i]} at index ${i}`);
    }
  }
}

/** A view must lie inside its tensor and start where any adapter can bind it. */
export function checkView(t: DeviceTensor, offset: number, shape: Shape): void {
  checkShape(shape, 'view');
  if (!Number.isInteger(offset) || offset < 0 || offset % VIEW_ALIGN !== 0) {
    throw new ValueError(`view: offset must be a whole multiple of ${VIEW_ALIGN} elements (256 bytes), got ${offset}`);
  }
  if (offset + sizeOf(shape) > t.size) {
    throw new ShapeError(`view: ${fmt(shape)} at offset ${offset} runs past the end of ${fmt(t)} (${t.size} values)`);
  }
}
