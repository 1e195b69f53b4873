// Building a zoo shard by shard, resumably, on one thread or on worker threads. A build records
// its manifest in build.json first; rerun with the same settings, it keeps every shard that
// reads back whole and builds only the rest, so an interrupted build ends exactly as an
// uninterrupted one. zoo.json is written last. Every zoo builder (INRs, CNNs) goes through this;
// what differs is only how one shard's networks are made.
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { threadCount } from "../engine/index.js";
import { removeStaleTemporaries, writeFileAtomic } from "../io/atomic.js";
import { makeDirectory } from "../io/dirs.js";
import { FolderLock, LOCK_FILE } from "../io/folder-lock.js";
import { readRegularFile } from "../io/read-file.js";
import { MANIFEST_FILE, MANIFEST_LIMIT, ZooFormatError, manifestJson, readShardFile, validateManifest, type ZooManifest } from "./format.js";

export const BUILD_FILE = "build.json";

export interface ShardBuildReport {
  manifest: ZooManifest;
  /** Whether zoo.json is written (a build part leaves it to the last part, or to `zoo finish`). */
  complete: boolean;
  /** Networks made by this call (0 when everything was already built). */
  built: number;
  /** Shards found complete and skipped. */
  skippedShards: number;
  seconds: number;
}

/** A manifest's settings: what two builds must share to be the same build (the version aside). */
export function settingsOf(m: ZooManifest): string {
  return manifestJson({ ...m, provenance: { ...m.provenance, probegenVersion: undefined } });
}

function describeDifference(a: ZooManifest, b: ZooManifest): string {
  const pa = a.provenance as Record<string, unknown>, pb = b.provenance as Record<string, unknown>;
  for (const k of new Set([...Object.keys(pa), ...Object.keys(pb)])) {
    if (k === "probegenVersion" || JSON.stringify(pa[k]) === JSON.stringify(pb[k])) continue;
    const show = (v: unknown) => { const s = JSON.stringify(v) ?? "nothing"; return s.length > 60 ? `${s.slice(0, 57)}...` : s; };
    return `${k} ${show(pa[k])} vs ${show(pb[k])}`;
  }
  if (a.count !== b.count) return `count ${a.count} vs ${b.count}`;
  if (a.shards.length !== b.shards.length || a.shards[0]?.count !== b.shards[0]?.count) return "shard size differs";
  return "settings differ";
}

/**
 * One of N parts of a build, for schedulers that run N copies of a command (SLURM job arrays,
 * Kubernetes Indexed Jobs): part I builds the shards s with s % N === I. Parts share the folder
 * (storage every machine sees) and each takes a lock of its own; the last part to find every
 * shard in place writes zoo.json, as `probegen zoo finish` does.
 */
export interface BuildPart {
  index: number;
  count: number;
}

const partShards = (m: ZooManifest, part: BuildPart | undefined) => m.shards.map((_, i) => i).filter((i) => part === undefined || i % part.count === part.index);

/**
 * Opens the output folder for a build: refuses a folder holding anything but an earlier build or
 * zoo of the same settings, takes its lock, records build.json, and returns the shards still to
 * build (damaged ones removed), or null when the zoo is complete. With a part, only that part's
 * shards are looked at, and only its own lock and temporary files are touched.
 */
export function startShardBuild(out: string, manifest: ZooManifest, part?: BuildPart, opts: { keepTemporaries?: boolean } = {}): { pending: number[] | null; lock: FolderLock } {
  const manifestFile = join(out, MANIFEST_FILE);
  const buildFile = join(out, BUILD_FILE);
  if (existsSync(out) && !existsSync(manifestFile) && !existsSync(buildFile)) {
    if (!statSync(out).isDirectory()) throw new ZooFormatError(out, "exists and is not a folder");
    const others = readdirSync(out).filter((f) => f !== LOCK_FILE && !/^\..+\.\d+\.tmp$/.test(f));
    if (others.length > 0) {
      throw new ZooFormatError(out, `is not empty and holds no zoo.json or build.json (it has ${others.slice(0, 3).join(", ")}${others.length > 3 ? ", ..." : ""}): probegen writes only into a new or empty folder, or one of its own builds; choose another --out`);
    }
  }
  makeDirectory(out);
  const mine = partShards(manifest, part);
  const lock = part === undefined
    ? FolderLock.acquire(out, "a zoo build")
    : FolderLock.acquire(out, `part ${part.index}/${part.count} of a zoo build`, `.probegen-part-${part.index}-of-${part.count}.lock`);
  try {
    if (!opts.keepTemporaries) removeStaleTemporaries(out, part === undefined ? undefined : mine.map((i) => manifest.shards[i].file));
    for (const f of [manifestFile, buildFile]) {
      if (!existsSync(f)) continue;
      let prior: ZooManifest;
      try {
        prior = validateManifest(JSON.parse(Buffer.from(readRegularFile(f, MANIFEST_LIMIT)).toString("utf8")), f);
      } catch (e) {
        throw new ZooFormatError(f, `exists but is not a zoo manifest (${(e as Error).message.replace(`${f}: `, "")}); move it away to start over`);
      }
      if (settingsOf(prior) !== settingsOf(manifest)) {
        throw new ZooFormatError(f, `holds a ${f === manifestFile ? "zoo" : "build"} with other settings (${describeDifference(prior, manifest)}); choose another --out or remove the folder`);
      }
      if (f === manifestFile) return { pending: null, lock };
    }
    if (!existsSync(buildFile)) writeFileAtomic(buildFile, manifestJson(manifest));
    // A shard counts as done only if it reads back whole and matches the manifest.
    const pending: number[] = [];
    mine.forEach((i) => {
      const s = manifest.shards[i];
      const file = join(out, s.file);
      if (existsSync(file)) {
        try {
          readShardFile(file, manifest, s.count, s.start);
          return;
        } catch {
          rmSync(file, { force: true });
        }
      }
      pending.push(i);
    });
    return { pending, lock };
  } catch (e) {
    lock.release();
    throw e;
  }
}

/** Writes zoo.json and removes build.json: the zoo is complete. */
export function writeZooManifest(out: string, manifest: ZooManifest): void {
  writeFileAtomic(join(out, MANIFEST_FILE), manifestJson(manifest));
  rmSync(join(out, BUILD_FILE), { force: true });
}

/** Whether shard i of a build is in its folder and reads back whole, matching the manifest. */
export function shardInPlace(out: string, manifest: ZooManifest, i: number): boolean {
  const s = manifest.shards[i];
  try {
    readShardFile(join(out, s.file), manifest, s.count, s.start);
    return true;
  } catch {
    return false;
  }
}

/** The shards of a build that are absent or do not read back whole (left as they are). */
export function missingShards(out: string, manifest: ZooManifest): number[] {
  return manifest.shards.map((_, i) => i).filter((i) => !shardInPlace(out, manifest, i));
}

/**
 * `probegen zoo finish`: completes a zoo whose shards were built by parts (--shard I/N): checks
 * that every shard of build.json reads back whole and matches it, then writes zoo.json. Throws,
 * naming the missing shards, when some are not there yet.
 */
export function finishShardBuild(out: string): { manifest: ZooManifest; alreadyComplete: boolean } {
  const manifestFile = join(out, MANIFEST_FILE), buildFile = join(out, BUILD_FILE);
  if (existsSync(manifestFile) && !existsSync(buildFile)) {
    return { manifest: validateManifest(JSON.parse(Buffer.from(readRegularFile(manifestFile, MANIFEST_LIMIT)).toString("utf8")), manifestFile), alreadyComplete: true };
  }
  if (!existsSync(buildFile)) throw new ZooFormatError(out, "holds no build.json: it is not a zoo build (or not one of probegen's)");
  let manifest: ZooManifest;
  try {
    manifest = validateManifest(JSON.parse(Buffer.from(readRegularFile(buildFile, MANIFEST_LIMIT)).toString("utf8")), buildFile);
  } catch (e) {
    throw new ZooFormatError(buildFile, `is not a zoo manifest (${(e as Error).message.replace(`${buildFile}: `, "")})`);
  }
  const lock = FolderLock.acquire(out, "finishing a zoo build");
  try {
    const missing = missingShards(out, manifest);
    if (missing.length > 0) {
      const names = missing.slice(0, 5).map((i) => manifest.shards[i].file).join(", ");
      throw new ZooFormatError(out, `${missing.length} of ${manifest.shards.length} shards are missing or incomplete (${names}${missing.length > 5 ? ", ..." : ""}); run the parts that build them (shard s belongs to part s % N of --shard I/N), then finish again`);
    }
    writeZooManifest(out, manifest);
    return { manifest, alreadyComplete: false };
  } finally {
    lock.release();
  }
}

/** A started build: what is left, a progress callback counting on from what was done, and the report. */
export interface OpenShardBuild<R> {
  /** Shards to build; null when the zoo is already complete. */
  pending: number[] | null;
  onDone: (r: R) => void;
  /** Writes zoo.json (when shards were built), removes build.json, releases the folder. */
  finish: (built: number) => ShardBuildReport;
  /** Releases the folder without finishing (the build failed; rerun to resume). */
  abandon: () => void;
}

export function openShardBuild<R>(out: string, manifest: ZooManifest,
  onProgress?: (done: number, total: number, last: R | null) => void, part?: BuildPart): OpenShardBuild<R> {
  const t0 = performance.now();
  const { pending, lock } = startShardBuild(out, manifest, part);
  const mine = partShards(manifest, part);
  const total = mine.reduce((s, i) => s + manifest.shards[i].count, 0);
  let done = mine.reduce((s, i) => s + (pending === null || !pending.includes(i) ? manifest.shards[i].count : 0), 0);
  try {
    if (pending !== null) onProgress?.(done, total, null);
  } catch (e) {
    lock.release();
    throw e;
  }
  return {
    pending,
    onDone: (r) => onProgress?.(++done, total, r),
    finish: (built) => {
      let complete = true;
      try {
        if (pending !== null) {
          // A part completes the zoo only when every other part's shards are in place too.
          if (part === undefined || missingShards(out, manifest).length === 0) writeZooManifest(out, manifest);
          else complete = false;
        }
      } finally {
        lock.release();
      }
      return { manifest, built, skippedShards: mine.length - (pending?.length ?? 0), seconds: (performance.now() - t0) / 1000, complete };
    },
    abandon: () => lock.release(),
  };
}

/** Runs a build's work (returning how many networks it made) and finishes; releases the folder if it fails. */
export async function runShardBuild<R>(build: OpenShardBuild<R>, work: (pending: number[]) => Promise<number> | number): Promise<ShardBuildReport> {
  try {
    return build.finish(build.pending === null ? 0 : await work(build.pending));
  } catch (e) {
    build.abandon();
    throw e;
  }
}

/** runShardBuild for work done on this thread, synchronously. */
export function runShardBuildSync<R>(build: OpenShardBuild<R>, work: (pending: number[]) => number): ShardBuildReport {
  try {
    return build.finish(build.pending === null ? 0 : work(build.pending));
  } catch (e) {
    build.abandon();
    throw e;
  }
}

/**
 * Collects finished networks by shard (they finish in any order) and hands a shard over to be
 * written as soon as all of its networks are in.
 */
export class ShardCollector<R> {
  private readonly results = new Map<number, (R | undefined)[]>();
  private readonly remaining = new Map<number, number>();

  constructor(private readonly manifest: ZooManifest, shards: readonly number[],
    private readonly write: (shard: number, results: R[]) => void) {
    for (const si of shards) {
      this.results.set(si, new Array<R | undefined>(manifest.shards[si].count));
      this.remaining.set(si, manifest.shards[si].count);
    }
  }

  shardOf(index: number): number {
    return this.manifest.shards.findIndex((s) => index < s.start + s.count);
  }

  add(index: number, r: R): void {
    const si = this.shardOf(index);
    const list = this.results.get(si);
    if (list === undefined) throw new RangeError(`network ${index} is not in a shard being built`);
    list[index - this.manifest.shards[si].start] = r;
    const left = this.remaining.get(si)! - 1;
    this.remaining.set(si, left);
    if (left === 0) {
      this.write(si, list as R[]);
      this.results.delete(si);
    }
  }
}

let offMainThread = false;

/** The command line builds even a one-worker build on a worker thread, so that its main thread
 * stays free to handle a signal (io/interrupts.ts): the zoo is the same bytes either way. */
export function buildOffMainThread(on: boolean): void {
  offMainThread = on;
}

/** Whether a build of `workers` workers runs on this thread. */
export function onThisThread(workers: number): boolean {
  return workers === 1 && !offMainThread;
}

/**
 * Runs whole shards on `workers` worker threads (the largest shards first, each to the least
 * loaded worker). Shards do not depend on which thread builds them, so the zoo is the same as a
 * one-thread build. `script` is a worker module that builds the shards in workerData.shards and
 * posts one message per finished network; returns how many networks were made.
 */
export async function runShardWorkers<R>(script: URL, workerData: Record<string, unknown>, manifest: ZooManifest,
  pending: readonly number[], workers: number, onMessage: (r: R) => void): Promise<number> {
  let messages = 0;
  const loads = Array.from({ length: Math.min(workers, pending.length) }, () => ({ count: 0, shards: [] as number[] }));
  for (const si of [...pending].sort((x, y) => manifest.shards[y].count - manifest.shards[x].count || x - y)) {
    const w = loads.reduce((best, l) => (l.count < best.count ? l : best));
    w.shards.push(si);
    w.count += manifest.shards[si].count;
  }
  const threads: Worker[] = [];
  try {
    await Promise.all(loads.map(({ shards }) => new Promise<void>((resolve, reject) => {
      // the cores are shared between the workers' kernels
      const kernelThreads = Math.max(1, Math.floor(threadCount() / loads.length));
      const w = new Worker(script, { workerData: { ...workerData, shards, kernelThreads } });
      threads.push(w);
      w.on("message", (r: R) => { messages++; onMessage(r); });
      w.on("error", reject);
      w.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`a zoo building worker exited with code ${code}`))));
    })));
  } finally {
    for (const t of threads) await t.terminate();
  }
  return messages;
}
