import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShapeError, ValueError } from '../../src/core/errors.js';
import { Random } from '../../src/core/random.js';
import { FileError, readModelFile, writeFileAtomic } from '../../src/nn/file.js';
import { decodeSafetensors, encodeSafetensors, type SafetensorsTensor } from '../../src/interop/safetensors.js';

const enc = new TextEncoder();

/** A file as another implementation would write it: u64 LE length, header text, raw bytes. */
function handBuilt(header: string, data: number[]): Uint8Array {
  const h = enc.encode(header);
  const n = h.length;
  return Uint8Array.from([n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24, 0, 0, 0, 0, ...h, ...data]);
}

/** One tensor named 'w' with the given header entry, followed by `dataBytes` zero bytes. */
function oneTensor(entry: unknown, dataBytes: number): Uint8Array {
  return handBuilt(JSON.stringify({ w: entry }), new Array(dataBytes).fill(0));
}

function f32(shape: number[], values: number[]): SafetensorsTensor {
  return { dtype: 'F32', shape, data: Float32Array.from(values) };
}

describe('safetensors encode / decode', () => {
  it('round-trips F32 and I32 tensors, scalars, 1-sized and empty dims, and metadata', () => {
    const r = new Random(7);
    const big = Float32Array.from({ length: 3 * 1 * 5 }, () => r.normal());
    const tensors: Record<string, SafetensorsTensor> = {
      'dense.kernel': { dtype: 'F32', shape: [3, 1, 5], data: big },
      'dense.bias': f32([1], [-0.0]),
      scalar: f32([], [Math.PI]),
      specials: f32([4], [NaN, Infinity, -Infinity, 1e-45]),
      steps: { dtype: 'I32', shape: [2, 1], data: Int32Array.from([2147483647, -2147483648]) },
      '0': { dtype: 'I32', shape: [], data: Int32Array.from([-3]) },
      empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
    };
    const metadata = { format: 'webgrad', 'layer config': '{"units": 5}', unicode: 'σ→ü' };
    const bytes = encodeSafetensors(tensors, metadata);
    const back = decodeSafetensors(bytes);
    expect(back.metadata).toEqual(metadata);
    expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      const got = back.tensors[name];
      expect(got.dtype, name).toBe(t.dtype);
      expect(got.shape, name).toEqual(t.shape);
      expect(got.data.constructor, name).toBe(t.data.constructor);
      // Bit-exact, including NaN, -0 and denormals.
      expect(new Uint8Array(got.data.buffer), name).toEqual(new Uint8Array(t.data.buffer));
    }
    // The data start 8-byte aligned, so a view would have been possible; the result must be a copy.
    bytes.fill(0);
    expect(Array.from(back.tensors.steps.data)).toEqual([2147483647, -2147483648]);
    expect(back.tensors.scalar.data[0]).toBe(Math.fround(Math.PI));
  });

  it('writes exactly the bytes the spec prescribes, in sorted order, data 8-byte aligned', () => {
    const bytes = encodeSafetensors(
      { b: { dtype: 'I32', shape: [1], data: Int32Array.from([258]) }, a: f32([2], [1, -2.5]), '10': f32([], [0]) },
      { z: '1', k: 'v' },
    );
    const header =
      '{"__metadata__":{"k":"v","z":"1"},' +
      '"10":{"dtype":"F32","shape":[],"data_offsets":[0,4]},' +
      '"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},' +
      '"b":{"dtype":"I32","shape":[1],"data_offsets":[12,16]}}';
    const padded = header + ' '.repeat((8 - ((8 + header.length) % 8)) % 8);
    expect((8 + padded.length) % 8).toBe(0);
    const data = [0, 0, 0, 0, 0, 0, 0x80, 0x3f, 0, 0, 0x20, 0xc0, 2, 1, 0, 0];
    expect(bytes).toEqual(handBuilt(padded, data));
    // Deterministic: the same input in another insertion order gives the same bytes.
    const again = encodeSafetensors(
      { '10': f32([], [0]), a: f32([2], [1, -2.5]), b: { dtype: 'I32', shape: [1], data: Int32Array.from([258]) } },
      { k: 'v', z: '1' },
    );
    expect(again).toEqual(bytes);
  });

  it('reads a hand-built file from another writer: spaced JSON, unsorted offsets, unaligned data, no metadata', () => {
    // 'b' comes first in the data; the header length (97) leaves the data unaligned.
    const header = '{ "a" : {"dtype": "F32", "shape": [2, 1], "data_offsets": [4, 12]},\n  "b": {"dtype":"I32","shape":[],"data_offsets":[0,4]}}';
    const file = handBuilt(header, [0xff, 0xff, 0xff, 0xff, 0, 0, 0x80, 0x3f, 0, 0, 0x20, 0xc0]);
    expect((8 + enc.encode(header).length) % 4).not.toBe(0);
    // Also start the whole file at an odd offset of a larger buffer.
    const host = new Uint8Array(file.length + 3);
    host.set(file, 3);
    const view = host.subarray(3);
    const { tensors, metadata } = decodeSafetensors(view);
    expect(metadata).toEqual({});
    expect(tensors.a).toEqual({ dtype: 'F32', shape: [2, 1], data: Float32Array.from([1, -2.5]) });
    expect(tensors.b).toEqual({ dtype: 'I32', shape: [], data: Int32Array.from([-1]) });
    // The result is a copy: changing the file's bytes afterwards changes nothing.
    view.fill(0x7f);
    expect(Array.from(tensors.a.data)).toEqual([1, -2.5]);
    expect(tensors.a.data.buffer).not.toBe(host.buffer);
  });

  it('reads metadata and a tensor named __proto__ as plain data', () => {
    const file = handBuilt('{"__metadata__":{"format":"pt"},"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', [0, 0, 0x80, 0x3f]);
    const { tensors, metadata } = decodeSafetensors(file);
    expect(metadata).toEqual({ format: 'pt' });
    expect(Object.keys(tensors)).toEqual(['__proto__']);
    expect(Array.from(Object.getOwnPropertyDescriptor(tensors, '__proto__')!.value.data)).toEqual([1]);
  });
});

describe('decodeSafetensors names what is wrong', () => {
  const src = 'net.safetensors';
  const ok = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
  const cases: [string, Uint8Array, RegExp][] = [
    ['shorter than 8 bytes', new Uint8Array(5), /net\.safetensors: not a safetensors file: it is 5 bytes long, shorter than the 8-byte header length/],
    ['header length past the end', Uint8Array.from([50, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d]), /header length 50 bytes is larger than the 2 bytes that follow it/],
    ['absurd header length', Uint8Array.from([0, 0, 0, 0, 1, 0, 0, 0, 0x7b, 0x7d]), /header length 4294967296 bytes is absurd \(limit 100000000\)/],
    ['header not JSON', handBuilt('{"w": {"dtype": ', []), /the 16-byte header is not valid JSON .*it begins "\{\\"w\\": \{\\"dtype\\": "/],
    ['header not UTF-8', Uint8Array.from([2, 0, 0, 0, 0, 0, 0, 0, 0xc3, 0x28]), /the 2-byte header is not valid UTF-8/],
    ['header an array', handBuilt('[1, 2]', []), /the header must be a JSON object of tensors, got an array/],
    ['header a number', handBuilt('42', []), /the header must be a JSON object of tensors, got a number \(42\)/],
    ['metadata not strings', handBuilt('{"__metadata__":{"epoch":3}}', []), /"__metadata__" key 'epoch' holds a number \(3\); metadata values must be strings/],
    ['entry not an object', handBuilt('{"w":[0,4]}', []), /tensor 'w' must be a \{ dtype, shape, data_offsets \} object, got an array/],
    ['unknown dtype', oneTensor({ ...ok, dtype: 'F33' }, 8), /tensor 'w' has unknown dtype "F33" \(supported: F32, I32\)/],
    ['format dtype webgrad cannot hold', oneTensor({ ...ok, dtype: 'F16' }, 8), /tensor 'w' has dtype F16, which webgrad cannot load \(supported: F32, I32\)/],
    ['missing dtype', oneTensor({ shape: [2], data_offsets: [0, 8] }, 8), /tensor 'w' has unknown dtype undefined/],
    ['negative dim', oneTensor({ ...ok, shape: [2, -1] }, 8), /tensor 'w': shape must be a list of non-negative integers, got \[2,-1\]/],
    ['fractional dim', oneTensor({ ...ok, shape: [2.5] }, 8), /tensor 'w': shape must be a list of non-negative integers, got \[2.5\]/],
    ['shape not a list', oneTensor({ ...ok, shape: '2' }, 8), /tensor 'w': shape must be a list of non-negative integers, got "2"/],
    ['offsets reversed', oneTensor({ ...ok, data_offsets: [8, 0] }, 8), /tensor 'w': data_offsets must be \[begin, end\] with integers 0 <= begin <= end, got \[8,0\]/],
    ['offsets negative', oneTensor({ ...ok, data_offsets: [-4, 4] }, 8), /data_offsets must be \[begin, end\] .* got \[-4,4\]/],
    ['offsets missing', oneTensor({ dtype: 'F32', shape: [2] }, 8), /data_offsets must be \[begin, end\] .* got undefined/],
    ['length ≠ shape × dtype size', oneTensor({ ...ok, data_offsets: [0, 12] }, 12), /tensor 'w': data_offsets \[0, 12\] span 12 bytes, but F32 shape \[2\] needs 8/],
    ['offsets out of bounds', oneTensor({ ...ok, data_offsets: [100, 108] }, 8), /tensor 'w' data_offsets \[100, 108\] lie outside the 8-byte data section/],
    ['truncated data', oneTensor(ok, 5), /the header describes 8 bytes of tensor data but only 5 follow it, so tensor 'w' \[0, 8\) is cut off; the data section is truncated/],
    ['stray bytes', oneTensor(ok, 11), /3 stray bytes follow the last tensor \(the data section is 11 bytes, the tensors end at 8\)/],
  ];
  it.each(cases)('%s', (_what, bytes, message) => {
    expect(() => decodeSafetensors(bytes, src)).toThrow(ValueError);
    expect(() => decodeSafetensors(bytes, src)).toThrow(message);
  });

  it('overlapping and gapped tensors', () => {
    const overlap = handBuilt(
      JSON.stringify({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'I32', shape: [1], data_offsets: [4, 8] } }),
      new Array(8).fill(0),
    );
    expect(() => decodeSafetensors(overlap, src)).toThrow(/net\.safetensors: tensor 'b' bytes \[4, 8\) overlap tensor 'a' bytes \[0, 8\)/);
    const gap = handBuilt(
      JSON.stringify({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'I32', shape: [1], data_offsets: [8, 12] } }),
      new Array(12).fill(0),
    );
    expect(() => decodeSafetensors(gap, src)).toThrow(/data bytes \[4, 8\) belong to no tensor \(the gap ends where tensor 'b' begins\)/);
  });

  it('a real file cut short anywhere is refused, never half-read', () => {
    const bytes = encodeSafetensors({ a: f32([3], [1, 2, 3]), b: { dtype: 'I32', shape: [2], data: Int32Array.from([4, 5]) } }, { k: 'v' });
    for (let n = 0; n < bytes.length; n++) expect(() => decodeSafetensors(bytes.subarray(0, n), src), `cut at ${n}`).toThrow(ValueError);
    expect(() => decodeSafetensors(bytes.subarray(0, bytes.length - 1), src)).toThrow(/tensor 'b' \[12, 20\) is cut off; the data section is truncated/);
  });
});

describe('encodeSafetensors refuses what it cannot write', () => {
  it.each([
    ['data length ≠ shape', { w: f32([2, 2], [1, 2, 3]) }, ShapeError, /tensor 'w' has shape \[2, 2\] \(4 values\) but its data holds 3/],
    ['dtype vs array', { w: { dtype: 'I32', shape: [1], data: Float32Array.from([1]) } }, ValueError, /tensor 'w' is I32 but its data is a Float32Array; I32 needs an Int32Array/],
    ['unsupported dtype', { w: { dtype: 'F16', shape: [1], data: Float32Array.from([1]) } }, ValueError, /tensor 'w' has dtype "F16"; webgrad writes F32 or I32/],
    ['bad shape', { w: f32([-1], []) }, ShapeError, /tensor 'w': shape must be a list of non-negative integers, got \[-1\]/],
    ['reserved name', { __metadata__: f32([1], [1]) }, ValueError, /the name '__metadata__' is reserved for metadata/],
  ] as [string, Record<string, SafetensorsTensor>, typeof ValueError, RegExp][])('%s', (_what, tensors, type, message) => {
    expect(() => encodeSafetensors(tensors, {})).toThrow(type);
    expect(() => encodeSafetensors(tensors, {})).toThrow(message);
  });

  it('non-string metadata', () => {
    expect(() => encodeSafetensors({}, { epoch: 3 as unknown as string })).toThrow(/metadata 'epoch' is a number; safetensors metadata values must be strings/);
  });
});

describe('writeFileAtomic / readModelFile', () => {
  let dir: string;
  beforeAll(async () => (dir = await mkdtemp(join(tmpdir(), 'webgrad-safet-'))));
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('writes, replaces and reads back a model file, leaving no temp file', async () => {
    const path = join(dir, 'model.safetensors');
    await writeFileAtomic(path, encodeSafetensors({ w: f32([2], [1, 2]) }, { v: '1' }));
    await writeFileAtomic(path, encodeSafetensors({ w: f32([3], [4, 5, 6]) }, { v: '2' }));
    const { tensors, metadata } = decodeSafetensors(await readModelFile(path), path);
    expect(metadata).toEqual({ v: '2' });
    expect(Array.from(tensors.w.data)).toEqual([4, 5, 6]);
    expect(await readdir(dir)).toEqual(['model.safetensors']);
  });

  it('writes chunks in order', async () => {
    const path = join(dir, 'chunks.bin');
    await writeFileAtomic(path, [Uint8Array.from([1, 2]), new Uint8Array(0), Uint8Array.from([3])]);
    expect(Array.from(await readFile(path))).toEqual([1, 2, 3]);
    await rm(path);
  });

  it('a write that fails half way leaves the old file intact and no temp file', async () => {
    const path = join(dir, 'keep.safetensors');
    await writeFile(path, 'old contents');
    async function* failing() {
      yield enc.encode('new contents, first half');
      throw new Error('disk went away');
    }
    const err = await writeFileAtomic(path, failing()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileError);
    expect((err as Error).message).toBe(`could not write ${path}: disk went away; the old file, if any, is unchanged`);
    expect(await readFile(path, 'utf8')).toBe('old contents');
    expect((await readdir(dir)).sort()).toEqual(['keep.safetensors', 'model.safetensors']);
  });

  it('a missing directory or a directory as target is an error naming the path', async () => {
    const missing = join(dir, 'no-such-dir', 'm.safetensors');
    await expect(writeFileAtomic(missing, new Uint8Array(8))).rejects.toThrow(
      `could not write ${missing}: the directory ${join(dir, 'no-such-dir')} does not exist`,
    );
    const sub = join(dir, 'sub');
    await import('node:fs/promises').then((fs) => fs.mkdir(sub));
    await expect(writeFileAtomic(sub, new Uint8Array(8))).rejects.toThrow(FileError);
    await expect(writeFileAtomic(sub, new Uint8Array(8))).rejects.toThrow(`could not write ${sub}:`);
    expect((await readdir(dir)).sort()).toEqual(['keep.safetensors', 'model.safetensors', 'sub']);
    await rm(sub, { recursive: true });
  });

  it('readModelFile names a missing file or a directory', async () => {
    const missing = join(dir, 'nope.safetensors');
    await expect(readModelFile(missing)).rejects.toThrow(`model file not found: ${missing}`);
    await expect(readModelFile(dir)).rejects.toThrow(`${dir} is a directory, not a model file`);
  });
});
