/** Base class: every error webgrad raises on purpose is one of these. */
export class WebgradError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A tensor had the wrong shape, dtype or size for what was asked of it. */
export class ShapeError extends WebgradError {}

/** An argument was outside what the operation accepts (unknown name, bad range). */
export class ValueError extends WebgradError {}

/** No WebGPU adapter or device could be had. The message says what was tried. */
export class AdapterError extends WebgradError {}

/** A WGSL shader failed to compile or a GPU command failed validation. */
export class GpuError extends WebgradError {}

export function fail(message: string): never {
  throw new ValueError(message);
}
