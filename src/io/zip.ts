// Zip archives. Reading is written here: it must check each entry's CRC-32 (PyTorch does, and a
// flipped bit in a weight would otherwise pass unnoticed), which fflate's reader does not expose,
// and it must keep to limits an untrusted file needs: every offset and size is checked against
// the file before use, stored entries are views of the file (no copies), deflated ones inflate to
// at most their declared size, and the entries extracted may not together exceed a byte budget
// set by the caller. Writing goes through fflate: entries are stored uncompressed, each one's
// data aligned to 64 bytes (as PyTorch's writer does, so a reader can map tensors in place), with
// a fixed timestamp so that the same entries always give the same bytes.
import { inflateRawSync } from "node:zlib";
import { zipSync, type Zippable } from "fflate";
import { FileFormatError } from "../file-error.js";
import { crc32 } from "./crc32.js";

export class ZipError extends FileFormatError {}

const LOCAL_HEADER = 30;
const CENTRAL_HEADER = 46;
/** Extra field id PyTorch pads with ("FB"). */
const PAD_FIELD = 0x4246;
/** Noon local time, so that every time zone writes the same DOS date and time. */
const FIXED_MTIME = new Date(2000, 0, 1, 12, 0, 0);

export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

/**
 * The entries of a zip archive held in `bytes`, by name. `wanted` picks entries by name (all by
 * default); `budget` caps the bytes that inflating deflated entries may allocate.
 */
export function readZip(bytes: Uint8Array, file: string, budget: number, wanted: (name: string) => boolean = () => true): Map<string, Uint8Array> {
  const fail = (detail: string): never => { throw new ZipError(file, detail); };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = findEndRecord(bytes);
  if (end < 0) fail(`truncated or not a whole zip archive: no end-of-central-directory record in its last bytes (${bytes.length} bytes in all)`);
  let entries = view.getUint16(end + 10, true);
  let cdSize = view.getUint32(end + 12, true);
  let cdOffset = view.getUint32(end + 16, true);
  // ZIP64: the locator just before the end record points at the 64-bit end record.
  if (end >= 20 && view.getUint32(end - 20, true) === 0x07064b50) {
    const z = Number(view.getBigUint64(end - 12, true));
    if (z + 56 > bytes.length || view.getUint32(z, true) !== 0x06064b50) fail("corrupt zip: its ZIP64 end record is missing");
    entries = Number(view.getBigUint64(z + 32, true));
    cdSize = Number(view.getBigUint64(z + 40, true));
    cdOffset = Number(view.getBigUint64(z + 48, true));
  }
  if (cdOffset + cdSize > bytes.length || entries * CENTRAL_HEADER > cdSize) fail(`corrupt zip: its central directory (${entries} entries, ${cdSize} bytes at ${cdOffset}) does not fit the file`);
  const out = new Map<string, Uint8Array>();
  const seen = new Set<string>();
  let inflated = 0;
  for (let i = 0, p = cdOffset; i < entries; i++) {
    if (p + CENTRAL_HEADER > cdOffset + cdSize || view.getUint32(p, true) !== 0x02014b50) fail(`corrupt zip: central directory entry ${i} is damaged`);
    const method = view.getUint16(p + 10, true);
    const crc = view.getUint32(p + 16, true);
    let csize = view.getUint32(p + 20, true), usize = view.getUint32(p + 24, true);
    const nameLen = view.getUint16(p + 28, true), extraLen = view.getUint16(p + 30, true), commentLen = view.getUint16(p + 32, true);
    let local = view.getUint32(p + 42, true);
    const next = p + CENTRAL_HEADER + nameLen + extraLen + commentLen;
    if (next > cdOffset + cdSize) fail(`corrupt zip: central directory entry ${i} runs past the directory`);
    const name = Buffer.from(bytes.subarray(p + CENTRAL_HEADER, p + CENTRAL_HEADER + nameLen)).toString("utf8");
    // ZIP64 sizes and offset, in the order the spec gives, for the fields that are saturated.
    for (let x = p + CENTRAL_HEADER + nameLen; x + 4 <= p + CENTRAL_HEADER + nameLen + extraLen;) {
      const id = view.getUint16(x, true), len = view.getUint16(x + 2, true);
      if (id === 1) {
        let y = x + 4;
        const take = () => { if (y + 8 > x + 4 + len) fail(`corrupt zip: entry ${name} has a short ZIP64 field`); const v = Number(view.getBigUint64(y, true)); y += 8; return v; };
        if (usize === 0xffffffff) usize = take();
        if (csize === 0xffffffff) csize = take();
        if (local === 0xffffffff) local = take();
      }
      x += 4 + len;
    }
    p = next;
    if (seen.has(name)) fail(`corrupt zip: entry ${name} appears twice`);
    seen.add(name);
    if (!wanted(name)) continue;
    if (local + LOCAL_HEADER > bytes.length || view.getUint32(local, true) !== 0x04034b50) fail(`corrupt zip: entry ${name} has no local header at byte ${local}`);
    const start = local + LOCAL_HEADER + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    if (start + csize > bytes.length) fail(`truncated: entry ${name} needs ${csize} bytes at byte ${start}, the file has ${bytes.length - Math.min(start, bytes.length)} left`);
    const raw = bytes.subarray(start, start + csize);
    let data: Uint8Array;
    if (method === 0) {
      if (usize !== csize) fail(`corrupt zip: stored entry ${name} has sizes ${csize} and ${usize}`);
      data = raw;
    } else if (method === 8) {
      inflated += usize;
      if (inflated > budget) fail(`zip entries would inflate to ${inflated} bytes, more than a ${bytes.length}-byte file may take here (limit ${budget}); refusing`);
      try {
        data = inflateRawSync(raw, { maxOutputLength: Math.max(1, usize) });
      } catch (e) {
        return fail(`corrupt zip: entry ${name} does not inflate to its ${usize} bytes (${(e as Error).message})`);
      }
      if (data.length !== usize) fail(`corrupt zip: entry ${name} inflates to ${data.length} bytes, not its declared ${usize}`);
    } else {
      return fail(`zip entry ${name} uses compression method ${method} (only stored and deflated entries are read)`);
    }
    if (crc32(data) !== crc) fail(`corrupt: entry ${name} fails its CRC-32 check (the file was damaged after it was written)`);
    out.set(name, data);
  }
  return out;
}

/** Where the end-of-central-directory record starts: within the last 64 KiB + 22 bytes, where it must be; -1 if absent. */
function findEndRecord(bytes: Uint8Array): number {
  for (let e = bytes.length - 22; e >= 0 && bytes.length - e <= 65557; e--) {
    if (bytes[e] === 0x50 && bytes[e + 1] === 0x4b && bytes[e + 2] === 0x05 && bytes[e + 3] === 0x06) return e;
  }
  return -1;
}

/** A zip archive of the given entries (in order), stored, each entry's data aligned to `align` bytes. */
export function writeZip(entries: [string, Uint8Array][], align = 64): Uint8Array {
  const zippable: Zippable = {};
  let offset = 0;
  for (const [name, data] of entries) {
    const nameLen = Buffer.byteLength(name, "utf8");
    const start = offset + LOCAL_HEADER + nameLen;
    // An extra field costs 4 bytes of header plus its payload; pad to the next aligned start.
    const pad = (align - ((start + 4) % align)) % align;
    const extra = { [PAD_FIELD]: new Uint8Array(pad).fill(0x5a) };
    zippable[name] = [data, { level: 0, mtime: FIXED_MTIME, extra }];
    offset = start + 4 + pad + data.length;
  }
  return zipSync(zippable);
}
