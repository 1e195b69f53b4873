// Reading a file whole, bounded by what it really is: it must be a regular file (a FIFO would
// block, a device would never end) no larger than the caller allows, and exactly its size is read.
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { FileFormatError } from "../file-error.js";

export class FileReadError extends FileFormatError {}

function describeErrno(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.code === "ENOENT") return "no such file";
  if (err.code === "EACCES" || err.code === "EPERM") return "permission denied";
  if (err.code === "EISDIR") return "is a folder, not a file";
  if (err.code === "ELOOP") return "a symbolic link loop (or too many links) on the path";
  if (err.code === "ENOTDIR") return "a part of the path is not a folder";
  if (err.code === "ENAMETOOLONG") return "the path is too long";
  return err.message;
}

/** Opens `file` for reading; refuses what is not a regular file. Returns the descriptor and size. */
export function openRegularFile(file: string): { fd: number; size: number } {
  let fd: number;
  try {
    // Non-blocking, so that opening a FIFO returns at once (and is then refused) instead of waiting for a writer.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new FileReadError(file, describeErrno(e));
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new FileReadError(file, st.isDirectory() ? "is a folder, not a file" : "is not a regular file (a device, FIFO or socket); refusing to read it");
    return { fd, size: st.size };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** The bytes of a regular file of at most `limit` bytes. */
export function readRegularFile(file: string, limit = 2 ** 31 - 1): Uint8Array {
  const { fd, size } = openRegularFile(file);
  try {
    if (size > limit) throw new FileReadError(file, `is ${size} bytes, more than the ${limit} bytes allowed here`);
    const out = new Uint8Array(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, out, off, size - off, off);
      if (n === 0) throw new FileReadError(file, `shrank while being read (${off} of ${size} bytes)`);
      off += n;
    }
    return out;
  } catch (e) {
    if (e instanceof FileFormatError) throw e;
    throw new FileReadError(file, describeErrno(e));
  } finally {
    closeSync(fd);
  }
}

/** The first `n` bytes of a regular file (fewer when it is shorter). */
export function readFileHead(file: string, n: number): Uint8Array {
  const { fd, size } = openRegularFile(file);
  try {
    const out = new Uint8Array(Math.min(n, size));
    let off = 0;
    while (off < out.length) {
      const got = readSync(fd, out, off, out.length - off, off);
      if (got === 0) break;
      off += got;
    }
    return out.subarray(0, off);
  } catch (e) {
    if (e instanceof FileFormatError) throw e;
    throw new FileReadError(file, describeErrno(e));
  } finally {
    closeSync(fd);
  }
}
