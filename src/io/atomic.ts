// Atomic file writes: write a temporary file in the same folder, flush it, then rename it over
// the target, so a reader (or a resumed build) never sees half a file. A failure (a full disk,
// no permission) names the file and leaves no temporary file behind.
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import { FileWriteError, describeSystemError } from "../file-error.js";

/** This machine's name as it can appear in a file name. */
const HOST = hostname().replace(/[^A-Za-z0-9_-]/g, "_") || "host";

/** The temporary name writeFileAtomic uses for `file` in this process; the host is part of it, so
 * processes of the same pid on machines sharing a folder (a build over NFS) never share one. */
export function temporaryName(file: string): string {
  return join(dirname(file), `.${basename(file)}.${HOST}.${process.pid}.tmp`);
}

export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  const tmp = temporaryName(file);
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  let fd: number;
  try {
    fd = openSync(tmp, "w");
  } catch (e) {
    throw new FileWriteError(file, `cannot be written: ${describeSystemError(e)}`);
  }
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
  } catch (e) {
    try { closeSync(fd); } catch { /* already closed */ }
    rmSync(tmp, { force: true });
    throw new FileWriteError(file, `cannot be written: ${describeSystemError(e)}`);
  }
  try {
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new FileWriteError(file, `cannot be written: ${describeSystemError(e)}`);
  }
}

/**
 * Removes temporary files an interrupted writeFileAtomic left in `dir` (any process's), or only
 * those of the given files (a build part, while other parts write theirs).
 */
export function removeStaleTemporaries(dir: string, only?: readonly string[]): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  const mine = only === undefined ? null : new Set(only.map((f) => `.${basename(f)}.`));
  for (const n of names) {
    if (!/^\..+\.\d+\.tmp$/.test(n)) continue;
    // A rival's lock, written whole before it is linked into place (folder-lock.ts), is not ours to remove.
    if (n.startsWith(".probegen.lock.")) continue;
    if (mine !== null && ![...mine].some((prefix) => n.startsWith(prefix))) continue;
    rmSync(join(dir, n), { force: true });
  }
}
