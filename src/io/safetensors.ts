// safetensors: an 8-byte little-endian header length N, N bytes of JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {key: string}}, then the
// raw little-endian tensor bytes (offsets relative to the end of the header).
// Writing is deterministic: tensors in the order given, the header padded with spaces to a
// multiple of 8 bytes so that every tensor starts aligned.
import { closeSync, readSync } from "node:fs";
import { openRegularFile, readRegularFile } from "./read-file.js";
import { FileFormatError } from "../file-error.js";

export type SafeDtype = "F32" | "I32" | "U8" | "F64" | "I64" | "F16" | "BF16" | "I16" | "U16" | "I8" | "BOOL" | "U32" | "U64";

const BYTES: Record<SafeDtype, number> = {
  F64: 8, I64: 8, U64: 8, F32: 4, I32: 4, U32: 4, F16: 2, BF16: 2, I16: 2, U16: 2, U8: 1, I8: 1, BOOL: 1,
};

export type SafeArray = Float32Array | Int32Array | Uint8Array;

export interface SafeTensor {
  dtype: SafeDtype;
  shape: number[];
  /** The values (F32, I32 and U8 are decoded; other dtypes stay raw bytes). */
  data: SafeArray;
}

export class SafetensorsError extends FileFormatError {}

function dtypeOf(a: SafeArray): SafeDtype {
  if (a instanceof Float32Array) return "F32";
  if (a instanceof Int32Array) return "I32";
  return "U8";
}

/** Serialises tensors (in the given order) and string metadata. */
export function encodeSafetensors(tensors: [string, { shape: number[]; data: SafeArray }][], metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new Error(`safetensors: ${name} has ${t.data.length} values for shape [${t.shape.join(",")}]`);
    const bytes = t.data.byteLength;
    header[name] = { dtype: dtypeOf(t.data), shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const pad = (8 - ((8 + Buffer.byteLength(json)) % 8)) % 8;
  json += " ".repeat(pad);
  const hb = Buffer.from(json, "utf8");
  const out = new Uint8Array(8 + hb.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let pos = 8 + hb.length;
  for (const [, t] of tensors) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

export interface SafetensorsFile {
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
}

/** A tensor's place in the data section, as the header gives it (checked). */
interface TensorEntry { name: string; dtype: SafeDtype; shape: number[]; begin: number; end: number }

/**
 * The header's tensors and metadata, each checked against a data section of `dataLen` bytes:
 * every problem is reported against `file`. `bytes` holds the header from its 8-byte length on.
 */
function parseHeader(bytes: Uint8Array, fileLen: number, file: string): { entries: TensorEntry[]; metadata: Record<string, string>; dataStart: number } {
  if (fileLen < 8) throw new SafetensorsError(file, `truncated: ${fileLen} bytes, not even a header length`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  if (n > BigInt(fileLen - 8)) throw new SafetensorsError(file, `truncated or corrupt: header claims ${n} bytes but the file has ${fileLen - 8} after the length`);
  const headerLen = Number(n);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLen)).toString("utf8")) as Record<string, unknown>;
  } catch (e) {
    throw new SafetensorsError(file, `corrupt header JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) throw new SafetensorsError(file, "header is not a JSON object");
  const dataStart = 8 + headerLen;
  const dataLen = fileLen - dataStart;
  const entries: TensorEntry[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      if (entry === null || typeof entry !== "object" || Array.isArray(entry) || !Object.values(entry).every((v) => typeof v === "string")) {
        throw new SafetensorsError(file, "__metadata__ is not a map of strings");
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
    const dtype = e.dtype as SafeDtype;
    if (!(dtype in BYTES)) throw new SafetensorsError(file, `tensor ${name}: unknown dtype ${String(e.dtype)}`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new SafetensorsError(file, `tensor ${name}: invalid shape ${JSON.stringify(e.shape)}`);
    const [begin, end] = e.data_offsets ?? [-1, -1];
    const count = e.shape.reduce((a, b) => a * b, 1);
    if (!Number.isInteger(begin) || !Number.isInteger(end) || begin < 0 || end < begin || end - begin !== count * BYTES[dtype]) {
      throw new SafetensorsError(file, `tensor ${name}: data offsets ${JSON.stringify(e.data_offsets)} do not fit ${dtype} [${e.shape.join(",")}]`);
    }
    if (end > dataLen) throw new SafetensorsError(file, `truncated: tensor ${name} ends at byte ${end} of a ${dataLen}-byte data section`);
    entries.push({ name, dtype, shape: e.shape, begin, end });
  }
  // Tensors must not share bytes (the format forbids it; a writer that did was corrupt).
  const spans = [...entries].sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i].begin < spans[i - 1].end) throw new SafetensorsError(file, `corrupt: tensors ${spans[i - 1].name} and ${spans[i].name} overlap (data offsets ${spans[i - 1].begin}..${spans[i - 1].end} and ${spans[i].begin}..${spans[i].end})`);
  }
  return { entries, metadata, dataStart };
}

/** A tensor's values from its raw bytes, copied into an aligned buffer: tensor data need not be 4-byte aligned in a foreign file. */
function tensorOf(e: TensorEntry, raw: Uint8Array): SafeTensor {
  const aligned = new Uint8Array(raw.length);
  aligned.set(raw);
  const data: SafeArray = e.dtype === "F32" ? new Float32Array(aligned.buffer)
    : e.dtype === "I32" ? new Int32Array(aligned.buffer) : aligned;
  return { dtype: e.dtype, shape: e.shape, data };
}

/** Parses safetensors bytes; every structural problem is reported against `file`. */
export function decodeSafetensors(bytes: Uint8Array, file = "<buffer>"): SafetensorsFile {
  const { entries, metadata, dataStart } = parseHeader(bytes, bytes.length, file);
  const tensors = new Map<string, SafeTensor>();
  for (const e of entries) tensors.set(e.name, tensorOf(e, bytes.subarray(dataStart + e.begin, dataStart + e.end)));
  return { tensors, metadata };
}

/**
 * One tensor of a safetensors file (undefined if it has none of that name), reading only the
 * header and that tensor's bytes: a zoo's loader reads each shard's architecture column this way
 * before it sets memory aside for the parameters. The header is checked whole, as by readSafetensors.
 */
export function readSafetensorsTensor(file: string, name: string): SafeTensor | undefined {
  const { fd, size } = openRegularFile(file);
  try {
    const at = (pos: number, length: number): Uint8Array => {
      const out = new Uint8Array(length);
      for (let off = 0; off < length;) {
        const got = readSync(fd, out, off, length - off, pos + off);
        if (got === 0) throw new SafetensorsError(file, `shrank while being read (${pos + off} of ${size} bytes)`);
        off += got;
      }
      return out;
    };
    const head = at(0, Math.min(8, size));
    if (size < 8) parseHeader(head, size, file);
    const n = new DataView(head.buffer).getBigUint64(0, true);
    const bytes = n > BigInt(size - 8) ? head : at(0, 8 + Number(n));
    const { entries, dataStart } = parseHeader(bytes, size, file);
    const e = entries.find((t) => t.name === name);
    return e === undefined ? undefined : tensorOf(e, at(dataStart + e.begin, e.end - e.begin));
  } finally {
    closeSync(fd);
  }
}

export function readSafetensors(file: string): SafetensorsFile {
  return decodeSafetensors(readRegularFile(file), file);
}
