/**
 * The safetensors model format (Hugging Face's open format), browser-safe.
 *
 * Layout: an 8-byte little-endian u64 N, then N bytes of UTF-8 JSON
 *   { "__metadata__": { string: string }, "<name>": { "dtype", "shape", "data_offsets": [begin, end] } }
 * then the data, each tensor's bytes at [begin, end) relative to the end of
 * the header, row-major, little-endian, packed without gaps.
 */
import { ShapeError, ValueError } from '../core/errors.js';

export type SafetensorsDtype = 'F32' | 'I32';

/** One tensor as stored: F32 data is a Float32Array, I32 data an Int32Array. */
export interface SafetensorsTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array | Int32Array;
}

export interface SafetensorsFile {
  tensors: Record<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

/** Bytes per element of every dtype of the format; webgrad holds F32 and I32, and reads F16, BF16 and F64 as F32 on request. */
const BYTES: Record<string, number> = { F32: 4, I32: 4, F64: 8, F16: 2, BF16: 2, I64: 8, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1, F8_E4M3: 1, F8_E5M2: 1 };
const ARRAY = { F32: Float32Array, I32: Int32Array } as const;
/** The float dtypes decodeSafetensors widens to F32 with `widenFloats`. */
const WIDENED = ['F16', 'BF16', 'F64'];

/** How decodeSafetensors reads a file another tool wrote (a torch state_dict). */
export interface DecodeOptions {
  /** Read F16, BF16 and F64 tensors too, as F32 (exactly for F16 and BF16; F64 rounded to nearest). */
  readonly widenFloats?: boolean;
  /** Tensors to check but leave out of the result, whatever their dtype (torch's I64 num_batches_tracked). */
  readonly skip?: (name: string) => boolean;
}
/** The reference implementation's limit; a larger header is a corrupt length, not a model. */
export const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Serialises tensors and string metadata. Deterministic: tensors are laid out
 * in sorted name order, metadata keys sorted, and the header is padded with
 * spaces so that the data starts at a multiple of 8 bytes.
 */
export function encodeSafetensors(tensors: Record<string, SafetensorsTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const names = Object.keys(tensors).sort();
  const parts: string[] = [];
  const metaKeys = Object.keys(metadata).sort();
  if (metaKeys.length > 0) {
    const fields = metaKeys.map((k) => {
      const v = metadata[k];
      if (typeof v !== 'string') throw new ValueError(`encodeSafetensors: metadata '${k}' is a ${typeof v}; safetensors metadata values must be strings`);
      return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
    });
    parts.push(`${JSON.stringify(METADATA_KEY)}:{${fields.join(',')}}`);
  }
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    checkTensorToWrite(name, t);
    const end = offset + t.data.length * BYTES[t.dtype];
    const info = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, end] };
    parts.push(`${JSON.stringify(name)}:${JSON.stringify(info)}`);
    offset = end;
  }
  // The JSON is built by hand so that the key order is the sorted one (objects put integer-like keys first).
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerLength = Math.ceil((8 + json.length) / 8) * 8 - 8;
  const out = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLength, true); // the high 32 bits stay 0: headers are < 100 MB
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const name of names) {
    const { data } = tensors[name];
    writeLittleEndian(out, at, data);
    at += data.byteLength;
  }
  return out;
}

function checkTensorToWrite(name: string, t: SafetensorsTensor): void {
  const where = `encodeSafetensors: tensor '${name}'`;
  if (name === METADATA_KEY) throw new ValueError(`${where}: the name '${METADATA_KEY}' is reserved for metadata`);
  if (t === null || typeof t !== 'object') throw new ValueError(`${where} is not a { dtype, shape, data } object`);
  if (t.dtype !== 'F32' && t.dtype !== 'I32') throw new ValueError(`${where} has dtype ${JSON.stringify(t.dtype)}; webgrad writes F32 or I32`);
  if (!(t.data instanceof ARRAY[t.dtype])) {
    throw new ValueError(`${where} is ${t.dtype} but its data is ${describeArray(t.data)}; ${t.dtype} needs ${t.dtype === 'F32' ? 'a Float32Array' : 'an Int32Array'}`);
  }
  const shapeProblem = checkShape(t.shape);
  if (shapeProblem) throw new ShapeError(`${where}: ${shapeProblem}`);
  const count = numel(t.shape);
  if (count !== t.data.length) {
    throw new ShapeError(`${where} has shape [${t.shape.join(', ')}] (${count} values) but its data holds ${t.data.length}`);
  }
}

function describeArray(data: unknown): string {
  if (data === null || typeof data !== 'object') return String(data);
  return `a ${(data as object).constructor?.name ?? 'object'}`;
}

/**
 * Parses a safetensors file. `source` (a path, a URL) names the file in
 * errors. The tensors' data are copies: they do not alias `bytes`, and their
 * offsets need not be aligned.
 */
export function decodeSafetensors(bytes: Uint8Array, source = 'model file', options: DecodeOptions = {}): SafetensorsFile {
  const header = readHeader(bytes, source);
  const dataStart = 8 + header.length;
  const dataLength = bytes.length - dataStart;
  const metadata = readMetadata(header.json[METADATA_KEY], source);
  const readable = options.widenFloats ? ['F32', 'I32', ...WIDENED] : ['F32', 'I32'];
  const entries = Object.entries(header.json)
    .filter(([name]) => name !== METADATA_KEY)
    .map(([name, info]) => readEntry(name, info, source, options.skip?.(name) ? Object.keys(BYTES) : readable));
  checkLayout(entries, dataLength, source);
  const tensors: Record<string, SafetensorsTensor> = {};
  for (const e of entries) {
    if (options.skip?.(e.name)) continue;
    const at = dataStart + e.begin;
    const stored = WIDENED.includes(e.dtype) ? { dtype: 'F32' as const, data: widened(bytes, at, e.dtype, numel(e.shape)) } : { dtype: e.dtype as SafetensorsDtype, data: readLittleEndian(bytes, at, e.dtype as SafetensorsDtype, e.end - e.begin) };
    // defineProperty, not assignment: a tensor may be named '__proto__'.
    Object.defineProperty(tensors, e.name, { value: { ...stored, shape: e.shape }, enumerable: true, writable: true, configurable: true });
  }
  return { tensors, metadata };
}

/** F16, BF16 or F64 data as float32: half and bfloat16 exactly, double rounded to nearest (as torch's .float()). */
function widened(bytes: Uint8Array, at: number, dtype: string, count: number): Float32Array {
  const v = new DataView(bytes.buffer, bytes.byteOffset + at, count * BYTES[dtype]);
  const out = new Float32Array(count);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < count; i++) {
    if (dtype === 'F64') out[i] = v.getFloat64(8 * i, true);
    else if (dtype === 'BF16') bits[i] = v.getUint16(2 * i, true) << 16; // bfloat16 is float32's top half
    else out[i] = halfToFloat(v.getUint16(2 * i, true));
  }
  return out;
}

/** IEEE binary16 → number (exact: every half is a float32). */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return sign * f * 2 ** -24;
  if (e === 31) return f ? NaN : sign * Infinity;
  return sign * (1 + f / 1024) * 2 ** (e - 15);
}

/** The names of a safetensors file's tensors, from its header alone (no tensor's data is read); a bad header throws as decodeSafetensors does. */
export function safetensorsNames(bytes: Uint8Array, source = 'model file'): string[] {
  return Object.keys(readHeader(bytes, source).json).filter((name) => name !== METADATA_KEY);
}

function readHeader(bytes: Uint8Array, source: string): { length: number; json: Record<string, unknown> } {
  if (bytes.length < 8) {
    throw new ValueError(`${source}: not a safetensors file: it is ${bytes.length} bytes long, shorter than the 8-byte header length`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(4, true) * 2 ** 32 + view.getUint32(0, true);
  if (length > MAX_HEADER_BYTES) {
    throw new ValueError(`${source}: header length ${length} bytes is absurd (limit ${MAX_HEADER_BYTES}); this is not a safetensors file or its first 8 bytes are corrupt`);
  }
  if (length > bytes.length - 8) {
    throw new ValueError(`${source}: header length ${length} bytes is larger than the ${bytes.length - 8} bytes that follow it; the file is truncated or not a safetensors file`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + length));
  } catch {
    throw new ValueError(`${source}: the ${length}-byte header is not valid UTF-8`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ValueError(`${source}: the ${length}-byte header is not valid JSON (${(e as Error).message}); it begins ${JSON.stringify(text.slice(0, 40))}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new ValueError(`${source}: the header must be a JSON object of tensors, got ${kind(json)}`);
  }
  return { length, json: json as Record<string, unknown> };
}

function readMetadata(raw: unknown, source: string): Record<string, string> {
  const metadata: Record<string, string> = {};
  if (raw === undefined) return metadata;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ValueError(`${source}: "${METADATA_KEY}" must be an object of strings, got ${kind(raw)}`);
  }
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value !== 'string') {
      throw new ValueError(`${source}: "${METADATA_KEY}" key '${key}' holds ${kind(value)}; metadata values must be strings`);
    }
    Object.defineProperty(metadata, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return metadata;
}

interface Entry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

function readEntry(name: string, info: unknown, source: string, readable: readonly string[]): Entry {
  const where = `${source}: tensor '${name}'`;
  if (info === null || typeof info !== 'object' || Array.isArray(info)) {
    throw new ValueError(`${where} must be a { dtype, shape, data_offsets } object, got ${kind(info)}`);
  }
  const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
  if (typeof dtype !== 'string' || !readable.includes(dtype)) {
    const known = typeof dtype === 'string' && Object.hasOwn(BYTES, dtype);
    const what = known ? `dtype ${dtype}, which webgrad cannot load` : `unknown dtype ${JSON.stringify(dtype)}`;
    throw new ValueError(`${where} has ${what} (supported: ${readable.join(', ')})`);
  }
  const shapeProblem = checkShape(shape);
  if (shapeProblem) throw new ValueError(`${where}: ${shapeProblem}`);
  const dims = shape as number[];
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
    throw new ValueError(`${where}: data_offsets must be [begin, end] with integers 0 <= begin <= end, got ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  const expected = numel(dims) * BYTES[dtype];
  if (end - begin !== expected) {
    throw new ValueError(`${where}: data_offsets [${begin}, ${end}] span ${end - begin} bytes, but ${dtype} shape [${dims.join(', ')}] needs ${expected}`);
  }
  return { name, dtype, shape: [...dims], begin, end };
}

/**
 * The tensors must tile the data section exactly, as the reference
 * implementation requires: no overlaps (two tensors sharing bytes), no gaps,
 * nothing past the end, nothing left over.
 */
function checkLayout(entries: Entry[], dataLength: number, source: string): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  let firstFault = '';
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i];
    if (!firstFault && e.begin < pos) {
      const prev = sorted[i - 1];
      firstFault = `tensor '${e.name}' bytes [${e.begin}, ${e.end}) overlap tensor '${prev.name}' bytes [${prev.begin}, ${prev.end})`;
    } else if (!firstFault && e.begin > pos) {
      firstFault = `data bytes [${pos}, ${e.begin}) belong to no tensor (the gap ends where tensor '${e.name}' begins)`;
    }
    pos = Math.max(pos, e.end);
  }
  const last = sorted.reduce<Entry | undefined>((m, e) => (m === undefined || e.end > m.end ? e : m), undefined);
  if (last && pos > dataLength) {
    const why = firstFault
      ? `tensor '${last.name}' data_offsets [${last.begin}, ${last.end}] lie outside the ${dataLength}-byte data section`
      : `the header describes ${pos} bytes of tensor data but only ${dataLength} follow it, so tensor '${last.name}' [${last.begin}, ${last.end}) is cut off; the data section is truncated`;
    throw new ValueError(`${source}: ${why}`);
  }
  if (firstFault) throw new ValueError(`${source}: ${firstFault}`);
  if (pos < dataLength) {
    throw new ValueError(`${source}: ${dataLength - pos} stray bytes follow the last tensor (the data section is ${dataLength} bytes, the tensors end at ${pos})`);
  }
}

/** A problem with a shape, or '' if it is a list of non-negative integers. */
function checkShape(shape: unknown): string {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    return `shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`;
  }
  if (!Number.isSafeInteger(numel(shape))) return `shape ${JSON.stringify(shape)} has too many elements`;
  return '';
}

function numel(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v} (${JSON.stringify(v)})`;
}

function writeLittleEndian(out: Uint8Array, at: number, data: Float32Array | Int32Array): void {
  if (LITTLE_ENDIAN) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    return;
  }
  const view = new DataView(out.buffer, out.byteOffset + at, data.byteLength);
  const float = data instanceof Float32Array;
  for (let i = 0; i < data.length; i++) {
    if (float) view.setFloat32(4 * i, data[i], true);
    else view.setInt32(4 * i, data[i], true);
  }
}

/** Copies (never views) so that the result neither aliases the file nor needs an aligned offset. */
function readLittleEndian(bytes: Uint8Array, at: number, dtype: SafetensorsDtype, byteLength: number): Float32Array | Int32Array {
  const out = new ARRAY[dtype](byteLength / BYTES[dtype]);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes.subarray(at, at + byteLength));
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, byteLength);
  for (let i = 0; i < out.length; i++) out[i] = dtype === 'F32' ? view.getFloat32(4 * i, true) : view.getInt32(4 * i, true);
  return out;
}
