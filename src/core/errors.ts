/** Base class: every error webgrad raises on purpose is one of these. */
// Names are spelled out, not taken from the constructor: minifiers rename classes.
export class WebgradError extends Error {
  override name = 'WebgradError';
}

/** A tensor had the wrong shape, dtype or size for what was asked of it. */
export class ShapeError extends WebgradError {
  override name = 'ShapeError';
}

/** An argument was outside what the operation accepts (unknown name, bad range). */
export class ValueError extends WebgradError {
  override name = 'ValueError';
}

/** No WebGPU adapter or device could be had. The message says what was tried. */
export class AdapterError extends WebgradError {
  override name = 'AdapterError';
}

/** A WGSL shader failed to compile or a GPU command failed validation. */
export class GpuError extends WebgradError {
  override name = 'GpuError';
}

export function fail(message: string): never {
  throw new ValueError(message);
}
