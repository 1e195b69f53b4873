// Zip archives through fflate, with the limits an untrusted file needs: the entries extracted
// may not together exceed a byte budget set by the caller (so a small file cannot inflate into a
// large allocation), names must be unique, and every failure is a FileFormatError naming the
// file. Writing stores entries uncompressed, each one's data aligned to 64 bytes (as PyTorch's
// writer does, so a reader can map tensors in place), with a fixed timestamp so that the same
// entries always give the same bytes.
import { unzipSync, zipSync, type Zippable } from "fflate";
import { FileFormatError } from "../file-error.js";

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
 * default); `budget` caps the bytes all extracted entries may take together.
 */
export function readZip(bytes: Uint8Array, file: string, budget: number, wanted: (name: string) => boolean = () => true): Map<string, Uint8Array> {
  if (!hasEndRecord(bytes)) throw new ZipError(file, `truncated or not a whole zip archive: no end-of-central-directory record in its last bytes (${bytes.length} bytes in all)`);
  const seen = new Set<string>();
  let entries = 0, total = 0;
  const maxEntries = Math.floor(bytes.length / CENTRAL_HEADER) + 1;
  let out: Record<string, Uint8Array>;
  try {
    out = unzipSync(bytes, {
      filter: (f) => {
        // Each central directory entry takes at least 46 bytes: more entries than that means
        // the directory's count is corrupt.
        if (++entries > maxEntries) throw new ZipError(file, "corrupt zip: the central directory counts more entries than the file can hold");
        if (seen.has(f.name)) throw new ZipError(file, `corrupt zip: entry ${f.name} appears twice`);
        seen.add(f.name);
        if (!wanted(f.name)) return false;
        if (f.compression !== 0 && f.compression !== 8) throw new ZipError(file, `zip entry ${f.name} uses compression method ${f.compression} (only stored and deflated entries are read)`);
        const size = f.compression === 0 ? f.size : f.originalSize;
        if (!Number.isFinite(size) || size < 0) throw new ZipError(file, `corrupt zip: entry ${f.name} has size ${size}`);
        total += size;
        if (total > budget) throw new ZipError(file, `zip entries declare ${total} bytes, more than a ${bytes.length}-byte file can hold (limit ${budget}); refusing to inflate`);
        return true;
      },
    });
  } catch (e) {
    if (e instanceof ZipError) throw e;
    throw new ZipError(file, `not a valid zip archive (${(e as Error).message})`);
  }
  const result = new Map<string, Uint8Array>();
  for (const [name, data] of Object.entries(out)) result.set(name, data);
  return result;
}

/** Whether the end-of-central-directory signature is within the last 64 KiB + 22 bytes, where it must be. */
function hasEndRecord(bytes: Uint8Array): boolean {
  for (let e = bytes.length - 22; e >= 0 && bytes.length - e <= 65557; e--) {
    if (bytes[e] === 0x50 && bytes[e + 1] === 0x4b && bytes[e + 2] === 0x05 && bytes[e + 3] === 0x06) return true;
  }
  return false;
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
