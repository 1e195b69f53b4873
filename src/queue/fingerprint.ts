// What a job's inputs are now, as a short hash: part of a queue job's identity, so that a finished
// job is reused only while its files are the ones it read. A file counts by its size, its
// modification time and a hash of its first and last MiB (a whole checkpoint is hashed: runs are
// small and a changed head would leave the rest unseen); a folder by the same of every file in it.
// Cheap enough for thousands of inputs, and a replaced or rewritten file always changes it.
import { createHash, type Hash } from "node:crypto";
import { closeSync, lstatSync, openSync, readSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** Bytes hashed at each end of a file (1 MiB). */
const END_BYTES = 1 << 20;
/** Files of a folder looked at before giving up on it (a folder of a million files is no input). */
const FOLDER_FILES = 100_000;

function hashRange(h: Hash, fd: number, start: number, length: number): void {
  const buf = Buffer.alloc(Math.min(length, 1 << 16));
  let off = 0;
  while (off < length) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, length - off), start + off);
    if (n === 0) break;
    h.update(buf.subarray(0, n));
    off += n;
  }
}

function addFile(h: Hash, path: string, whole: boolean): void {
  const st = lstatSync(path, { bigint: true });
  h.update(`${path}\0${st.size}\0${st.mtimeNs}\0${st.ino}\0`);
  if (!st.isFile()) return;
  const size = Number(st.size);
  const fd = openSync(path, "r");
  try {
    if (whole || size <= 2 * END_BYTES) hashRange(h, fd, 0, size);
    else {
      hashRange(h, fd, 0, END_BYTES);
      hashRange(h, fd, size - END_BYTES, END_BYTES);
    }
  } finally {
    closeSync(fd);
  }
}

function addTree(h: Hash, path: string, budget: { files: number }, whole: (name: string) => boolean): void {
  const st = lstatSync(path);
  if (!st.isDirectory()) {
    if (--budget.files < 0) throw new Error(`${path}: more than ${FOLDER_FILES} files to fingerprint`);
    addFile(h, path, whole(path));
    return;
  }
  h.update(`${path}/\0`);
  for (const name of readdirSync(path).sort()) {
    // Temporaries and locks come and go while the folder's content stays the same.
    if (name.endsWith(".tmp") || name === ".probegen.lock") continue;
    addTree(h, join(path, name), budget, whole);
  }
}

/**
 * A hash of what the paths hold now (files, or folders and everything in them); missing paths
 * count as missing. `whole` says which files are hashed whole rather than by their ends.
 */
export function fingerprint(paths: readonly string[], whole: (file: string) => boolean = () => false): string {
  const h = createHash("sha256");
  const budget = { files: FOLDER_FILES };
  for (const p of paths) {
    try {
      addTree(h, p, budget, whole);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === undefined) throw e;
      h.update(`${p}\0missing:${code}\0`);
    }
  }
  return h.digest("hex").slice(0, 24);
}
