// The IDX format of MNIST and Fashion-MNIST, parsed from bytes. Browser-safe;
// reading files and gunzipping them lives in idx.ts (Node).
//
// Layout: bytes 0-1 are zero, byte 2 is the element type, byte 3 the number
// of dimensions d; then d big-endian uint32 sizes; then the elements,
// big-endian, row-major.
import { ShapeError, ValueError } from '../core/errors.js';
import type { Dataset } from './dataset.js';

export type IdxType = 'u8' | 'i8' | 'i16' | 'i32' | 'f32' | 'f64';

export interface IdxArray {
  type: IdxType;
  shape: number[];
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const TYPES: Record<number, { type: IdxType; bytes: number }> = {
  0x08: { type: 'u8', bytes: 1 },
  0x09: { type: 'i8', bytes: 1 },
  0x0b: { type: 'i16', bytes: 2 },
  0x0c: { type: 'i32', bytes: 4 },
  0x0d: { type: 'f32', bytes: 4 },
  0x0e: { type: 'f64', bytes: 8 },
};

const hex = (v: number, width = 2) => '0x' + v.toString(16).padStart(width, '0');

/** True when `bytes` start with the gzip magic number 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Parses an (uncompressed) IDX file; `source` names it in every error. */
export function parseIdx(bytes: Uint8Array, source: string): IdxArray {
  const { kind, shape, headerBytes, byteLength } = readIdxHeader(bytes, source);
  const expected = byteLength - headerBytes;
  const got = bytes.length - headerBytes;
  if (got < expected) {
    throw new ValueError(`${source}: truncated: expected ${expected} bytes of data after the header (shape [${shape.join(', ')}], ${kind.type}), got ${got}`);
  }
  if (got > expected) {
    throw new ValueError(`${source}: ${got - expected} unexpected bytes after the data: shape [${shape.join(', ')}] of ${kind.type} needs ${expected} bytes, got ${got}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { type: kind.type, shape, data: decode(view, headerBytes, expected / kind.bytes, kind.type) };
}

/**
 * The header of an IDX file (or of the first bytes of one): element type,
 * shape, and the length the whole file must have, header and data. What a
 * gzipped file may decompress to is bounded by it.
 */
export function readIdxHeader(bytes: Uint8Array, source: string): { kind: { type: IdxType; bytes: number }; shape: number[]; headerBytes: number; byteLength: number } {
  if (bytes.length < 4) throw new ValueError(`${source}: ${bytes.length} bytes is too short for an IDX header (4 bytes of magic number)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const got = [...bytes.subarray(0, 4)].map((b) => hex(b)).join(' ');
    throw new ValueError(`${source}: bad magic number: an IDX file starts with 0x00 0x00, a type code and a rank, got ${got}`);
  }
  const kind = TYPES[bytes[2]];
  if (!kind) {
    const known = Object.entries(TYPES).map(([code, t]) => `${hex(Number(code))} ${t.type}`).join(', ');
    throw new ValueError(`${source}: unknown IDX type code ${hex(bytes[2])} (known: ${known})`);
  }
  const rank = bytes[3];
  if (rank === 0) throw new ValueError(`${source}: IDX rank is 0; an IDX array needs at least one dimension`);
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) {
    throw new ValueError(`${source}: truncated header: rank ${rank} needs ${headerBytes} header bytes, got ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let d = 0; d < rank; d++) shape.push(view.getUint32(4 + 4 * d, false));
  return { kind, shape, headerBytes, byteLength: headerBytes + shape.reduce((a, b) => a * b, 1) * kind.bytes };
}

/** Big-endian elements → a native typed array (a copy, so the result owns aligned memory). */
function decode(view: DataView, at: number, count: number, type: IdxType): IdxArray['data'] {
  switch (type) {
    case 'u8':
      return new Uint8Array(view.buffer.slice(view.byteOffset + at, view.byteOffset + at + count));
    case 'i8':
      return new Int8Array(view.buffer.slice(view.byteOffset + at, view.byteOffset + at + count));
    case 'i16':
      return Int16Array.from({ length: count }, (_, i) => view.getInt16(at + 2 * i, false));
    case 'i32':
      return Int32Array.from({ length: count }, (_, i) => view.getInt32(at + 4 * i, false));
    case 'f32':
      return Float32Array.from({ length: count }, (_, i) => view.getFloat32(at + 4 * i, false));
    case 'f64':
      return Float64Array.from({ length: count }, (_, i) => view.getFloat64(at + 8 * i, false));
  }
}

/** The two files of an images / labels pair, each named in the message about it. */
export interface IdxFiles {
  images: string;
  labels: string;
}

/**
 * An MNIST-style pair, images u8 [n, rows, cols] and labels u8 [n], as a
 * Dataset: x in [0, 1] as [n, rows*cols], Int32Array labels, `classes` classes.
 * `source` names the pair in messages: one name, or each file by its role.
 */
export function idxToDataset(images: IdxArray, labels: IdxArray, source: string | IdxFiles, classes = 10): Dataset {
  const files = typeof source === 'string' ? { images: `${source} (images)`, labels: `${source} (labels)` } : source;
  const pair = typeof source === 'string' ? source : `${source.images} + ${source.labels}`;
  checkRole(images, 'images', files.images);
  checkRole(labels, 'labels', files.labels);
  const [n, rows, cols] = images.shape;
  if (n === 0) throw new ValueError(`${files.images}: the images file holds no images`);
  if (rows === 0 || cols === 0) throw new ShapeError(`${files.images}: its header gives ${n} images of ${rows}×${cols} pixels; an image needs at least one row and one column`);
  if (labels.shape[0] !== n) throw new ShapeError(`${pair}: ${n} images but ${labels.shape[0]} labels; the counts must agree`);
  const px = images.data as Uint8Array; // a single concrete type keeps this 47M-pixel loop fast
  const x = new Float32Array(px.length);
  for (let i = 0; i < x.length; i++) x[i] = px[i] / 255;
  const y = Int32Array.from(labels.data);
  for (let i = 0; i < n; i++) {
    if (y[i] >= classes) throw new ValueError(`${files.labels}: label ${y[i]} of sample ${i} is outside [0, ${classes})`);
  }
  // NHWC images, one channel (Keras' layout): what conv2d takes; an MLP starts with flatten().
  return { x, xShape: [n, rows, cols, 1], y, yShape: [n], classes };
}

const ROLES = {
  images: { rank: 3, shape: 'u8 [n, rows, cols]', example: 'train-images-idx3-ubyte' },
  labels: { rank: 1, shape: 'u8 [n]', example: 'train-labels-idx1-ubyte' },
} as const;

/** Refuses an array that cannot play `role`, saying what it holds, what was expected and, for a swap, what it looks like. */
function checkRole(a: IdxArray, role: keyof typeof ROLES, where: string): void {
  const want = ROLES[role];
  if (a.type === 'u8' && a.shape.length === want.rank) return;
  const found = `rank ${a.shape.length} [${a.shape.join(', ')}] of ${a.type}`;
  let hint = '';
  if (a.shape.length !== want.rank) {
    const other = role === 'images' ? ROLES.labels : ROLES.images;
    if (a.shape.length === other.rank) hint = `; it looks like ${role === 'images' ? 'a labels' : 'an images'} file (such as ${other.example}): are the two swapped?`;
    else if (role === 'images' && a.shape.length === 2) hint = '; a 2-D [n, pixels] file has lost each image\'s rows and columns: write it as [n, rows, cols]';
  } else {
    hint = `; MNIST-style ${role} are unsigned bytes (type code 0x08)`;
  }
  throw new ShapeError(`${where}: expected ${role}, ${want.shape} (rank ${want.rank}); found ${found}${hint}`);
}
