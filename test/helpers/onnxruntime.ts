/*
 * onnxruntime-node for the ONNX interop tests. It is about 300 MB (binaries
 * for every OS), so npm ci does not install it: .ci/run does, at this
 * version, and there the tests fail without it; elsewhere they are skipped,
 * saying how to install it. Its API is declared here, the part the tests use,
 * so that the project type-checks without the package.
 */
export const ONNXRUNTIME_VERSION = '1.31.1';
export const ONNXRUNTIME_INSTALL = `npm install --no-save --onnxruntime-node-install=skip onnxruntime-node@${ONNXRUNTIME_VERSION}`;

export interface OrtTensor {
  readonly data: unknown;
  readonly dims: readonly number[];
}

export interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}

export interface Ort {
  readonly InferenceSession: { create(model: Uint8Array): Promise<OrtSession> };
  readonly Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
}

/** onnxruntime-node, or null with why it could not be loaded; in CI its absence is an error. */
export async function loadOnnxruntime(): Promise<{ ort: Ort | null; why: string }> {
  const name = 'onnxruntime-node'; // not a literal import: the package may be absent, and its types with it
  try {
    return { ort: (await import(/* @vite-ignore */ name)) as Ort, why: '' };
  } catch (e) {
    const why = `onnxruntime-node cannot be loaded (${(e as Error).message}); install it with: ${ONNXRUNTIME_INSTALL}`;
    if (process.env.CI) throw new Error(`CI needs onnxruntime-node for the ONNX interop tests (.ci/run installs it): ${why}`);
    return { ort: null, why };
  }
}
