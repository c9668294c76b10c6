// The few ONNX protobuf messages an exported model needs, written by hand:
// protobuf's wire format is varints and length-prefixed bytes, which is less
// code than a dependency. Field numbers are those of onnx/onnx.proto (proto2):
//   ModelProto: ir_version 1, producer_name 2, graph 7, opset_import 8
//   OperatorSetIdProto: domain 1, version 2
//   GraphProto: node 1, name 2, initializer 5, input 11, output 12
//   NodeProto: input 1, output 2, name 3, op_type 4, attribute 5
//   AttributeProto: name 1, f 2, i 3, s 4, ints 8, type 20 (FLOAT 1, INT 2, STRING 3, INTS 7)
//   TensorProto: dims 1, data_type 2 (FLOAT 1, INT64 7), name 8, raw_data 9 (little-endian)
//   ValueInfoProto: name 1, type 2; TypeProto: tensor_type 1;
//   TypeProto.Tensor: elem_type 1, shape 2; TensorShapeProto: dim 1;
//   TensorShapeProto.Dimension: dim_value 1, dim_param 2
// Browser-safe: bytes in, bytes out.

/** Protobuf's wire types: a varint, 8 bytes, length-delimited bytes, 4 bytes. */
const VARINT = 0;
const BYTES = 2;
const FIXED32 = 5;

/** An integer as a varint; negatives as 64-bit two's complement (10 bytes), as protobuf writes int64. */
function varint(v: number | bigint): number[] {
  let n = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  do {
    const low = Number(n & 0x7fn);
    n >>= 7n;
    out.push(n > 0n ? low | 0x80 : low);
  } while (n > 0n);
  return out;
}

const tag = (field: number, wire: number) => varint((field << 3) | wire);

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A varint field (int32, int64, an enum). */
const intField = (field: number, v: number | bigint) => Uint8Array.from([...tag(field, VARINT), ...varint(v)]);

/** A length-delimited field: bytes, a string, or an embedded message given as its fields. */
function bytesField(field: number, data: Uint8Array | string | readonly Uint8Array[]): Uint8Array {
  const body = typeof data === 'string' ? new TextEncoder().encode(data) : data instanceof Uint8Array ? data : concat(data);
  return concat([Uint8Array.from([...tag(field, BYTES), ...varint(body.length)]), body]);
}

function floatField(field: number, v: number): Uint8Array {
  const out = new Uint8Array(tag(field, FIXED32).length + 4);
  out.set(tag(field, FIXED32));
  new DataView(out.buffer).setFloat32(out.length - 4, v, true);
  return out;
}

/** An attribute value: the kind says which AttributeProto field holds it (alpha 1 must stay a float). */
export type Attribute = { float: number } | { int: number } | { ints: readonly number[] } | { string: string };

function attribute(name: string, a: Attribute): Uint8Array {
  if ('float' in a) return bytesField(5, [bytesField(1, name), intField(20, 1), floatField(2, a.float)]);
  if ('int' in a) return bytesField(5, [bytesField(1, name), intField(20, 2), intField(3, a.int)]);
  if ('string' in a) return bytesField(5, [bytesField(1, name), intField(20, 3), bytesField(4, a.string)]);
  return bytesField(5, [bytesField(1, name), intField(20, 7), ...a.ints.map((v) => intField(8, v))]);
}

/** A NodeProto, as GraphProto's field 1. */
export function node(opType: string, inputs: readonly string[], outputs: readonly string[], name: string, attrs: Record<string, Attribute> = {}): Uint8Array {
  return bytesField(1, [
    ...inputs.map((i) => bytesField(1, i)),
    ...outputs.map((o) => bytesField(2, o)),
    bytesField(3, name),
    bytesField(4, opType),
    ...Object.entries(attrs).map(([k, a]) => attribute(k, a)),
  ]);
}

/** A float32 or int64 TensorProto, as GraphProto's field 5 (an initializer), its values in raw_data. */
export function initializer(name: string, dims: readonly number[], data: Float32Array | BigInt64Array): Uint8Array {
  const raw = new Uint8Array(data.byteLength);
  const view = new DataView(raw.buffer);
  if (data instanceof Float32Array) data.forEach((v, i) => view.setFloat32(4 * i, v, true));
  else data.forEach((v, i) => view.setBigInt64(8 * i, v, true));
  return bytesField(5, [...dims.map((d) => intField(1, d)), intField(2, data instanceof Float32Array ? 1 : 7), bytesField(8, name), bytesField(9, raw)]);
}

/** A float32 ValueInfoProto for a graph input (field 11) or output (field 12); a string dimension is symbolic. */
export function valueInfo(field: 11 | 12, name: string, dims: readonly (number | string)[]): Uint8Array {
  const dim = (d: number | string) => bytesField(1, [typeof d === 'string' ? bytesField(2, d) : intField(1, d)]);
  const tensorType = bytesField(1, [intField(1, 1), bytesField(2, dims.map(dim))]);
  return bytesField(field, [bytesField(1, name), bytesField(2, [tensorType])]);
}

/** A ModelProto around one graph (its node, initializer, input and output fields, in that order), for the default domain. */
export function model(graphName: string, fields: readonly Uint8Array[], o: { irVersion: number; opset: number; producer: string }): Uint8Array {
  return concat([
    intField(1, o.irVersion),
    bytesField(2, o.producer),
    bytesField(7, [bytesField(2, graphName), ...fields]),
    bytesField(8, [bytesField(1, ''), intField(2, o.opset)]),
  ]);
}
