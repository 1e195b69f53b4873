/**
 * A file that cannot be read as what it should be, or written. The message starts with the
 * file's path, so every such error names the file.
 */
export class FileFormatError extends Error {
  constructor(readonly file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = new.target.name;
  }
}

/** A file or folder that cannot be written (no space, no permission, a path that cannot exist). */
export class FileWriteError extends FileFormatError {}

/** The part of a system error worth showing: its code and what it means. */
export function describeSystemError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const known: Record<string, string> = {
    ENOENT: "no such file or folder", EACCES: "permission denied", EPERM: "operation not permitted", ENOSPC: "no space left on the device",
    EROFS: "read-only file system", ENOTDIR: "a part of the path is not a folder", EISDIR: "is a folder", EEXIST: "already exists", EDQUOT: "disk quota exceeded",
    ELOOP: "a symbolic link loop (or too many links) on the path", ENAMETOOLONG: "the path is too long",
  };
  return err.code !== undefined && known[err.code] !== undefined ? `${known[err.code]} (${err.code})` : err.message;
}
