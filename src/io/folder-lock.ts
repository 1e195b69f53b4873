// A lock on a folder that one probegen process writes (a training run, a zoo being built or
// imported): a file holding the owner's pid, host and task. It is written whole under a temporary
// name and then hard-linked to the lock's name, which fails if the lock exists: a lock is never seen
// half-written (an O_EXCL file would be empty for a moment, and its owner unknown to a rival). A second process
// is refused while the owner lives; a lock whose process is gone (killed) is taken over.
// A lock from another machine cannot be checked that way (a SLURM job requeued on another node
// finds its old node's lock): its owner refreshes the lock's time every HEARTBEAT_MS, and a lock
// not refreshed for LEASE_MS is taken as abandoned. `--break-lock` (breakLocks) takes any lock
// whose owner is not a live process on this machine. A signal releases the lock (interrupts.ts).
import { closeSync, linkSync, openSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { FileWriteError, describeSystemError } from "../file-error.js";
import { readRegularFile } from "./read-file.js";
import { atInterrupt } from "./interrupts.js";

export const LOCK_FILE = ".probegen.lock";

/** How often a held lock's time is refreshed (30 s), and how long a lock of another machine stays valid unrefreshed (10 min). */
export const HEARTBEAT_MS = 30_000;
export const LEASE_MS = 10 * 60_000;

let breakForeign = false;

/** `--break-lock`: take locks whose owners are not live processes on this machine, lease or not. */
export function breakLocks(on: boolean): void {
  breakForeign = on;
}

interface LockInfo { pid: number; host: string; task: string; since: string }

/** Locks this process holds, so that a lock of our own pid is told apart from a stale one. */
const held = new Set<string>();

/** Whether process `pid` of this machine is running (a zombie is not). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  // A killed process stays a zombie until its parent reaps it, and signals still reach it.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true;
  }
}

function readLock(file: string): LockInfo | null {
  try {
    const v = JSON.parse(Buffer.from(readRegularFile(file, 4096)).toString("utf8")) as LockInfo;
    return Number.isInteger(v.pid) ? v : null;
  } catch {
    return null;
  }
}

/** Milliseconds since the lock at `file` was written or refreshed (0 when it cannot be read). */
function lockAge(file: string): number {
  try {
    return Math.max(0, Date.now() - statSync(file).mtimeMs);
  } catch {
    return 0;
  }
}

/** Puts the lock written at `temp` in place as `file`, failing with EEXIST if it exists. */
function placeLock(temp: string, file: string, content: string): void {
  try {
    linkSync(temp, file);
  } catch (e) {
    // A file system without hard links (some network and FUSE mounts): an exclusive create, then
    // the write; a rival may then, for a moment, find the lock empty and not name its owner.
    if (!["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS"].includes((e as NodeJS.ErrnoException).code ?? "")) throw e;
    const fd = openSync(file, "wx");
    try {
      writeSync(fd, content);
    } finally {
      closeSync(fd);
    }
  }
}

export class FolderLock {
  private released = false;
  private readonly onExit = () => this.release();
  private readonly forget: () => void;
  private readonly timer: NodeJS.Timeout;
  private touched = Date.now();

  private constructor(readonly file: string) {
    held.add(file);
    process.once("exit", this.onExit);
    this.forget = atInterrupt(this.onExit);
    // unref: a heartbeat never keeps a finished process alive.
    this.timer = setInterval(() => this.heartbeat(true), HEARTBEAT_MS).unref();
  }

  /** Refreshes the lock's time (at most every HEARTBEAT_MS unless `now`), so other machines see its owner live. */
  heartbeat(now = false): void {
    if (this.released || (!now && Date.now() - this.touched < HEARTBEAT_MS)) return;
    this.touched = Date.now();
    try {
      const t = new Date();
      utimesSync(this.file, t, t);
    } catch { /* a lock removed by hand: nothing to refresh */ }
  }

  /** Takes the lock of `dir` for `task` (e.g. "a training run"); a FileWriteError if another live
   * process holds it. `name` gives a lock of its own to a part of the folder's work (a build part). */
  static acquire(dir: string, task: string, name = LOCK_FILE): FolderLock {
    const file = join(dir, name);
    const info: LockInfo = { pid: process.pid, host: hostname(), task, since: new Date().toISOString() };
    const temp = `${file}.${info.host}.${process.pid}.tmp`;
    try {
      writeFileSync(temp, JSON.stringify(info));
    } catch (e) {
      throw new FileWriteError(file, `cannot be made: ${describeSystemError(e)}`);
    }
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          placeLock(temp, file, JSON.stringify(info));
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw new FileWriteError(file, `cannot be made: ${describeSystemError(e)}`);
          const owner = readLock(file);
          const here = owner !== null && owner.host === info.host;
          const liveHere = here && (owner.pid === process.pid ? held.has(file) : processAlive(owner.pid));
          const age = lockAge(file);
          const stale = owner === null
            ? breakForeign
            : here ? !liveHere : breakForeign || age > LEASE_MS;
          if (attempt === 0 && stale) {
            rmSync(file, { force: true });
            continue;
          }
          const who = owner === null ? "another probegen process" : `probegen process ${owner.pid} on ${owner.host} (${owner.task}, since ${owner.since})`;
          const advice = here
            ? `wait for it to finish`
            : `wait for it to finish; if that process is gone (a job requeued on another machine), the lock lapses ${Math.ceil(Math.max(0, LEASE_MS - age) / 60_000)} min after its last heartbeat, or rerun with --break-lock to take it now`;
          throw new FileWriteError(dir, `is in use by ${who}; ${advice}`);
        }
        return new FolderLock(file);
      }
    } finally {
      rmSync(temp, { force: true });
    }
    throw new FileWriteError(file, "could not be taken");
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    held.delete(this.file);
    process.removeListener("exit", this.onExit);
    this.forget();
    clearInterval(this.timer);
    const owner = readLock(this.file);
    if (owner?.pid === process.pid) rmSync(this.file, { force: true });
  }
}
