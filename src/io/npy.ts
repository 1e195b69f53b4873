// NumPy's .npy format: "\x93NUMPY", a version, a header length, a Python dict literal
// {'descr': '<f4', 'fortran_order': False, 'shape': (n, m), } padded with spaces to a multiple of
// 64 bytes, then the raw values. Arrays are read by rows, straight from the file, so a 5 GB
// weights.npy is never loaded whole; writing streams rows to a temporary file renamed into place
// when complete.
import { closeSync, fsyncSync, openSync, readSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { FileFormatError } from "../file-error.js";
import { decodeNumeric, parseDtype, type NumpyDtype } from "./numpy-dtype.js";
import { openRegularFile } from "./read-file.js";

export class NpyError extends FileFormatError {}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export interface NpyHeader {
  dtype: NumpyDtype;
  shape: number[];
  fortranOrder: boolean;
  /** Byte offset of the first value. */
  dataOffset: number;
}

/** Parses the header dict; every problem is reported against `file`. */
export function parseNpyHeader(bytes: Uint8Array, file: string): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new NpyError(file, "not a .npy file (no \\x93NUMPY magic)");
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let len: number, start: number;
  if (major === 1) { len = view.getUint16(8, true); start = 10; }
  else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new NpyError(file, "truncated .npy header");
    len = view.getUint32(8, true); start = 12;
  } else throw new NpyError(file, `.npy format version ${major}.${bytes[7]} is not supported`);
  if (start + len > bytes.length) throw new NpyError(file, `truncated: the header claims ${len} bytes`);
  const text = Buffer.from(bytes.subarray(start, start + len)).toString(major === 3 ? "utf8" : "latin1");
  // Python reads a repeated key as its last value, a regular expression as its first: refuse either reading.
  for (const key of ["descr", "fortran_order", "shape"]) {
    if ((text.match(new RegExp(`['"]${key}['"]\\s*:`, "g")) ?? []).length > 1) throw new NpyError(file, `header gives '${key}' more than once: ${JSON.stringify(text.trim().slice(0, 120))}`);
  }
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]+)['"]/.exec(text)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw new NpyError(file, `header is not a .npy header dict: ${JSON.stringify(text.trim().slice(0, 120))}`);
  const dtype = parseDtype(descr);
  if (dtype === null) throw new NpyError(file, `dtype ${descr} is not a plain numeric type`);
  const parts = shapeText.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  if (!parts.every((p) => /^\d+L?$/.test(p))) throw new NpyError(file, `shape (${shapeText}) is not a tuple of sizes`);
  return { dtype, shape: parts.map((p) => Number(p.replace("L", ""))), fortranOrder: fortran === "True", dataOffset: start + len };
}

/** Reads an array's rows (what lies under its first axis) on demand as float32, with every size checked against the file. */
export class NpyRowReader {
  readonly header: NpyHeader;
  readonly rows: number;
  readonly rowLength: number;
  private readonly fd: number;
  private readonly rowBytes: number;
  private readonly scratch: Uint8Array;

  constructor(readonly file: string) {
    const { fd, size } = openRegularFile(file);
    this.fd = fd;
    try {
      const head = new Uint8Array(Math.min(size, 65536 + 12));
      readSync(fd, head, 0, head.length, 0);
      this.header = parseNpyHeader(head, file);
      const { shape, dtype, fortranOrder, dataOffset } = this.header;
      if (shape.length < 1) throw new NpyError(file, "holds a scalar, not rows");
      if (fortranOrder && shape.filter((d) => d > 1).length > 1) throw new NpyError(file, "is stored in Fortran (column-major) order; rows cannot be streamed (save it with np.ascontiguousarray)");
      this.rows = shape[0];
      // A row is everything under the first axis ([N, K, outputs]: one network's K x outputs values).
      this.rowLength = shape.slice(1).reduce((a, b) => a * b, 1);
      this.rowBytes = this.rowLength * dtype.size;
      const need = dataOffset + this.rows * this.rowBytes;
      if (need > size) throw new NpyError(file, `truncated: its header declares ${shape.join(" x ")} ${dtype.descr} values (${need} bytes with the header) but the file has ${size} bytes`);
      this.scratch = new Uint8Array(this.rowBytes);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** Row `r` into `out` (at `offset`), as float32. */
  readRow(r: number, out: Float32Array, offset = 0): void {
    if (!Number.isInteger(r) || r < 0 || r >= this.rows) throw new RangeError(`${this.file}: row ${r} is out of [0, ${this.rows})`);
    const pos = this.header.dataOffset + r * this.rowBytes;
    const { dtype } = this.header;
    const direct = dtype.kind === "f" && dtype.size === 4 && dtype.littleEndian;
    const target = direct ? new Uint8Array(out.buffer, out.byteOffset + offset * 4, this.rowBytes) : this.scratch;
    let got = 0;
    while (got < this.rowBytes) {
      const n = readSync(this.fd, target, got, this.rowBytes - got, pos + got);
      if (n === 0) throw new NpyError(this.file, `truncated while reading row ${r}`);
      got += n;
    }
    if (!direct) {
      const v = decodeNumeric(this.scratch, dtype, this.rowLength);
      for (let i = 0; i < this.rowLength; i++) out[offset + i] = Number(v[i]);
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** The header bytes of a little-endian float32 C-order array of `shape` (version 1.0, padded to 64 bytes). */
export function npyHeader(shape: readonly number[]): Uint8Array {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(", ");
  let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  dict = dict.padEnd(total - 10 - 1, " ") + "\n";
  const out = new Uint8Array(total);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, dict.length, true);
  out.set(Buffer.from(dict, "latin1"), 10);
  return out;
}

/** Streams float32 rows into a .npy file: written to a temporary name, renamed when all rows are in. */
export class NpyWriter {
  private readonly tmp: string;
  private readonly fd: number;
  private written = 0;

  constructor(readonly file: string, readonly shape: readonly number[]) {
    this.tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
    this.fd = openSync(this.tmp, "w");
    this.write(npyHeader(shape));
  }

  private write(b: Uint8Array): void {
    let off = 0;
    while (off < b.length) off += writeSync(this.fd, b, off, b.length - off);
  }

  append(values: Float32Array): void {
    this.write(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    this.written += values.length;
  }

  finish(): void {
    const expect = this.shape.reduce((a, b) => a * b, 1);
    if (this.written !== expect) {
      this.abort();
      throw new RangeError(`${this.file}: ${this.written} values written for shape [${this.shape.join(",")}]`);
    }
    fsyncSync(this.fd);
    closeSync(this.fd);
    renameSync(this.tmp, this.file);
  }

  abort(): void {
    try { closeSync(this.fd); } catch { /* already closed */ }
    rmSync(this.tmp, { force: true });
  }
}
