// The rule for every file a command writes where the user points it (predict --out, report --out,
// zoo render --out): only a path where nothing is, or a file that an earlier probegen run of the
// same kind wrote, is written, and atomically. A device node, a folder, a FIFO, a symbolic link, a
// read-only file or any file probegen cannot recognise as its own is refused before any work is
// done, naming the file, so nothing a user or an earlier run wrote is ever lost. Checked by the
// file's first bytes (a marker each kind carries), since names and extensions prove nothing.
import { lstatSync } from "node:fs";
import { FileWriteError, describeSystemError } from "../file-error.js";
import { writeFileAtomic } from "./atomic.js";
import { readFileHead } from "./read-file.js";

/** How a kind of output file is recognised as probegen's own. */
export interface OutputKind {
  /** What it is, as messages name it: "a probegen prediction file". */
  what: string;
  /** Whether the file's first bytes (up to HEAD_BYTES) are of a file of this kind. */
  recognise(head: Uint8Array): boolean;
}

/** Bytes of an existing file read to recognise it. */
export const HEAD_BYTES = 4096;

/**
 * Throws a FileWriteError unless `file` may be written as `kind`: nothing is there, or an earlier
 * probegen file of this kind that its owner may write. `flag` names the option in the advice.
 */
export function checkOutputFile(file: string, kind: OutputKind, flag = "--out"): void {
  let st;
  try {
    st = lstatSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return;
    throw new FileWriteError(file, `cannot be written: ${describeSystemError(e)}`);
  }
  const refuse = (why: string) => new FileWriteError(file, `${why}; it is not ${kind.what}, so probegen will not replace it; choose another ${flag} or remove it`);
  if (st.isSymbolicLink()) throw refuse("is a symbolic link");
  if (st.isDirectory()) throw refuse("is a folder");
  if (!st.isFile()) throw refuse("is not a regular file (a device, FIFO or socket)");
  // Root may write a read-only file; a file its owner made read-only is still not to be replaced.
  if ((st.mode & 0o222) === 0) throw new FileWriteError(file, `is read-only; probegen will not replace it; choose another ${flag} or make it writable`);
  let head: Uint8Array;
  try {
    head = readFileHead(file, HEAD_BYTES);
  } catch {
    throw refuse("cannot be read");
  }
  if (!kind.recognise(head)) throw refuse("exists");
}

/** Writes `data` to `file` atomically once checkOutputFile allows it. */
export function writeOutputFile(file: string, data: Uint8Array | string, kind: OutputKind, flag = "--out"): void {
  checkOutputFile(file, kind, flag);
  writeFileAtomic(file, data);
}

/** Text at the start of a file, for recognisers. */
export function headText(head: Uint8Array): string {
  return Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString("utf8");
}
