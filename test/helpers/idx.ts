/** An IDX file of unsigned bytes, as MNIST's: two zero bytes, type 0x08, the number of dimensions, each dimension as a big-endian u32, then the bytes. */
export function idxBytes(dims: number[], body: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt8(0x08, 2);
  head.writeUInt8(dims.length, 3);
  dims.forEach((d, k) => head.writeUInt32BE(d, 4 + 4 * k));
  return Buffer.concat([head, body]);
}
