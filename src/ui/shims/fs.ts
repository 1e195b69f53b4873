// node:fs in the web page: a table of files held in memory (the kernels, the shipped predictors
// and examples, and the files a user drops), read through the same calls the command line makes,
// so the page reads networks with the same code and the same checks. Nothing is written.

const files = new Map<string, Uint8Array>();
const open = new Map<number, string>();
let nextFd = 3;

/** Puts a file in the table (absolute path). */
export function putFile(path: string, bytes: Uint8Array): void {
  files.set(path, bytes);
}

function fail(code: string, syscall: string, path: string): never {
  const e = new Error(`${code}: ${syscall} '${path}'`) as Error & { code: string };
  e.code = code;
  throw e;
}

function isDir(path: string): boolean {
  const prefix = path.endsWith("/") ? path : `${path}/`;
  for (const f of files.keys()) if (f.startsWith(prefix)) return true;
  return false;
}

class Stats {
  constructor(readonly size: number, private readonly dir: boolean) {}
  isFile(): boolean { return !this.dir; }
  isDirectory(): boolean { return this.dir; }
  isSymbolicLink(): boolean { return false; }
  get mtimeMs(): number { return 0; }
}

export const constants = { O_RDONLY: 0, O_NONBLOCK: 0, O_WRONLY: 1, O_CREAT: 64, O_EXCL: 128 };

export function existsSync(path: string): boolean {
  return files.has(path) || isDir(path);
}

export function statSync(path: string): Stats {
  const f = files.get(path);
  if (f !== undefined) return new Stats(f.length, false);
  if (isDir(path)) return new Stats(0, true);
  return fail("ENOENT", "stat", path);
}
export const lstatSync = statSync;

export function openSync(path: string): number {
  if (!files.has(path)) fail(isDir(path) ? "EISDIR" : "ENOENT", "open", path);
  const fd = nextFd++;
  open.set(fd, path);
  return fd;
}

export function fstatSync(fd: number): Stats {
  return statSync(open.get(fd) ?? fail("EBADF", "fstat", String(fd)));
}

export function readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number {
  const f = files.get(open.get(fd) ?? fail("EBADF", "read", String(fd)))!;
  const start = position ?? 0;
  const n = Math.max(0, Math.min(length, f.length - start));
  buffer.set(f.subarray(start, start + n), offset);
  return n;
}

export function closeSync(fd: number): void {
  open.delete(fd);
}

export function readFileSync(path: string): Uint8Array {
  return files.get(path) ?? fail("ENOENT", "open", path);
}

export function readdirSync(path: string): string[] {
  const prefix = path.endsWith("/") ? path : `${path}/`;
  const names = new Set<string>();
  for (const f of files.keys()) if (f.startsWith(prefix)) names.add(f.slice(prefix.length).split("/")[0]);
  if (names.size === 0 && !files.has(path)) fail("ENOENT", "scandir", path);
  return [...names].sort();
}

function readOnly(name: string): () => never {
  return () => { throw new Error(`${name}: the page writes no files`); };
}
export const writeFileSync = readOnly("writeFileSync");
export const appendFileSync = readOnly("appendFileSync");
export const mkdirSync = readOnly("mkdirSync");
export const mkdtempSync = readOnly("mkdtempSync");
export const renameSync = readOnly("renameSync");
export const rmSync = readOnly("rmSync");
export const unlinkSync = readOnly("unlinkSync");
export const cpSync = readOnly("cpSync");
export const fsyncSync = readOnly("fsyncSync");
export const writeSync = readOnly("writeSync");
export const ftruncateSync = readOnly("ftruncateSync");
export const symlinkSync = readOnly("symlinkSync");
export const linkSync = readOnly("linkSync");
export const realpathSync = (p: string): string => p;
export default { constants, existsSync, statSync, lstatSync, openSync, fstatSync, readSync, closeSync, readFileSync, readdirSync, realpathSync };
export const utimesSync = readOnly("utimesSync");
export const createReadStream = readOnly("createReadStream");
export const createWriteStream = readOnly("createWriteStream");
