// NumPy dtypes as .npy headers and pickles spell them ("<f4", "f8", "|b1", "<i8"), and the
// decoding of raw little- or big-endian bytes of such a dtype into a typed array.
import { copyBytes } from "./bytes.js";

export type NumericArray = Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array
  | Uint8Array | Uint16Array | Uint32Array | BigUint64Array;

export interface NumpyDtype {
  /** "f" float, "i" signed, "u" unsigned, "b" bool. */
  kind: "f" | "i" | "u" | "b";
  /** Bytes per element. */
  size: number;
  littleEndian: boolean;
  /** The descr string, e.g. "<f4". */
  descr: string;
}

const SUPPORTED = new Set(["f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1"]);
const ALIASES: Record<string, string> = {
  float16: "f2", float32: "f4", float64: "f8", float: "f8", int8: "i1", int16: "i2", int32: "i4", int64: "i8",
  uint8: "u1", uint16: "u2", uint32: "u4", uint64: "u8", bool: "b1", "?": "b1",
};

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const TYPED: Record<string, new (b: ArrayBuffer) => NumericArray> = {
  f4: Float32Array, f8: Float64Array, i1: Int8Array, i2: Int16Array, i4: Int32Array, i8: BigInt64Array,
  u1: Uint8Array, u2: Uint16Array, u4: Uint32Array, u8: BigUint64Array,
};

/** Parses a descr such as "<f4"; returns null for what this reader does not decode (objects, strings, complex, records). */
export function parseDtype(descr: string, byteOrder?: string): NumpyDtype | null {
  let s = descr.trim();
  let order = "=";
  if ("<>|=".includes(s[0] ?? "")) { order = s[0]; s = s.slice(1); }
  if (byteOrder !== undefined && "<>|=".includes(byteOrder)) order = byteOrder === "|" && order !== "=" ? order : byteOrder;
  s = ALIASES[s] ?? s;
  if (!SUPPORTED.has(s)) return null;
  const kind = s[0] as NumpyDtype["kind"];
  const size = Number(s.slice(1));
  // "=" is the writer's native order; every platform NumPy writes these files on is little-endian
  // but s390x, so "=" is read as little-endian, and single bytes have no order.
  const littleEndian = order !== ">";
  return { kind, size, littleEndian, descr: `${size === 1 ? "|" : littleEndian ? "<" : ">"}${s}` };
}

/** Decodes `count` elements from `bytes` (count * size bytes) into a new typed array of the dtype. */
export function decodeNumeric(bytes: Uint8Array, dtype: NumpyDtype, count: number): NumericArray {
  const n = count * dtype.size;
  if (bytes.length < n) throw new RangeError(`${count} ${dtype.descr} values need ${n} bytes, got ${bytes.length}`);
  const le = dtype.littleEndian;
  // Values in this machine's byte order are copied in one go; others are decoded one by one.
  if (le === HOST_LITTLE_ENDIAN && dtype.kind !== "b" && !(dtype.kind === "f" && dtype.size === 2)) {
    const Ctor = TYPED[`${dtype.kind}${dtype.size}`];
    if (Ctor !== undefined) {
      return new Ctor(copyBytes(bytes, n).buffer as ArrayBuffer);
    }
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, n);
  const fill = <T extends { [i: number]: number | bigint }>(out: T, get: (o: number) => number | bigint): T => {
    for (let i = 0; i < count; i++) out[i] = get(i * dtype.size);
    return out;
  };
  switch (`${dtype.kind}${dtype.size}`) {
    case "f2": return fill(new Float32Array(count), (o) => halfToFloat(view.getUint16(o, le)));
    case "f4": return fill(new Float32Array(count), (o) => view.getFloat32(o, le));
    case "f8": return fill(new Float64Array(count), (o) => view.getFloat64(o, le));
    case "i1": return fill(new Int8Array(count), (o) => view.getInt8(o));
    case "i2": return fill(new Int16Array(count), (o) => view.getInt16(o, le));
    case "i4": return fill(new Int32Array(count), (o) => view.getInt32(o, le));
    case "i8": return fill(new BigInt64Array(count), (o) => view.getBigInt64(o, le));
    case "u1": case "b1": return copyBytes(bytes, count);
    case "u2": return fill(new Uint16Array(count), (o) => view.getUint16(o, le));
    case "u4": return fill(new Uint32Array(count), (o) => view.getUint32(o, le));
    case "u8": return fill(new BigUint64Array(count), (o) => view.getBigUint64(o, le));
    default: throw new RangeError(`dtype ${dtype.descr} is not decoded`);
  }
}

/** IEEE 754 half precision bits to a number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** bfloat16 bits to a number: the upper half of a float32. */
export function bfloat16ToFloat(b: number): number {
  const v = new DataView(new ArrayBuffer(4));
  v.setUint32(0, b << 16);
  return v.getFloat32(0);
}

/** The values as numbers (bigints converted; exact up to 2^53). */
export function toNumbers(a: NumericArray): ArrayLike<number> {
  return a instanceof BigInt64Array || a instanceof BigUint64Array ? Array.from(a, Number) : a;
}
