// The folder of a training run, and everything that touches it: config.json (the settings and
// the zoo they ran on), metrics.jsonl (one record per evaluation), the best and last checkpoints,
// result.json, and a lock so that two processes never write one run. A new run needs a new or
// empty folder (a folder holding anything else is never written into); a resumed run restores
// its last checkpoint and drops the metrics logged after it, so that it ends as an
// uninterrupted run would.
import { appendFileSync, closeSync, existsSync, readSync, readdirSync, statSync } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { join } from "node:path";
import { FileFormatError, FileWriteError, describeSystemError } from "../file-error.js";
import { removeStaleTemporaries, writeFileAtomic } from "../io/atomic.js";
import { makeDirectory } from "../io/dirs.js";
import { FolderLock, LOCK_FILE } from "../io/folder-lock.js";
import { openRegularFile, readRegularFile } from "../io/read-file.js";
import { METHODS } from "../probes/source.js";
import type { RunResult } from "./trainer.js";
import { loadCheckpoint, saveCheckpoint, type CheckpointInfo, type OptimizerState } from "./checkpoint.js";
import { validateTrainConfig, type TrainConfig } from "./config.js";
import type { Tensor } from "../engine/index.js";

export class RunFolderError extends FileFormatError {}

/** What config.json records: the settings and what the zoo was. */
export interface RunFile {
  config: TrainConfig;
  family: string;
  /** The zoo's architecture (a zoo of one). */
  architecture?: Record<string, unknown>;
  /** The zoo's architectures (a zoo of several). */
  architectures?: Record<string, unknown>[];
  task: "classification" | "regression";
  classes: number;
  labelNames: string[];
  /** Regression: the zoo's target field (e.g. test_accuracy). */
  target?: string;
  /** The image set the zoo's networks were trained on, when the zoo records one (data probes need it). */
  dataset?: string;
  zooCount: number;
  probegenVersion: string;
}

/** What an evaluation logs: the loss, the selection score, and the task's metrics. */
export interface SplitMetrics {
  loss: number;
  score: number;
  accuracy?: number;
  kendallTau?: number;
  r2?: number;
  mae?: number;
}

export interface MetricsRecord {
  step: number;
  epoch: number;
  lr: number;
  trainLoss: number;
  val: SplitMetrics | null;
  test: SplitMetrics | null;
  modelsPerSec: number;
  seconds: number;
}

/** Where a resumed run continues from. */
export interface RestoredState {
  step: number;
  best: CheckpointInfo["best"];
  seconds: number;
}

const CONFIG = "config.json", METRICS = "metrics.jsonl", RESULT = "result.json";

function readJson(file: string, limit: number): unknown {
  const text = Buffer.from(readRegularFile(file, limit)).toString("utf8");
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new RunFolderError(file, `not valid JSON (${(e as Error).message})`);
  }
}

/** Reads and checks a run's config.json; errors name the file. */
export function readRunFile(dir: string): RunFile {
  const file = join(dir, CONFIG);
  if (!existsSync(file)) throw new RunFolderError(file, `not found (is ${dir} a probegen run folder?)`);
  return parseRunFile(readJson(file, 2 ** 24), file);
}

/** Checks what a run file holds (config.json's, or a shipped predictor's copy); errors name `file`. */
export function parseRunFile(parsed: unknown, file: string): RunFile {
  const v = parsed as Partial<RunFile> | null;
  const fail = (detail: string): never => { throw new RunFolderError(file, `not a probegen run file: ${detail}`); };
  if (v === null || typeof v !== "object" || Array.isArray(v)) return fail("not a JSON object");
  const c = v.config;
  if (c === null || typeof c !== "object") return fail("no config");
  if (typeof c.zoo !== "string") fail("config.zoo is not a folder name");
  if (!(METHODS as readonly unknown[]).includes(c.method)) fail(`config.method ${JSON.stringify(c.method)} is not one of ${METHODS.join(", ")}`);
  if (c.head === null || typeof c.head !== "object" || c.generator === null || typeof c.generator !== "object") fail("config.head or config.generator is missing");
  // Runs from before --probe-init started their generators as initialised.
  if (c.probeInit === undefined) c.probeInit = "random";
  // Runs from before --readout read the logits alone.
  if (c.readout === undefined) c.readout = "logits";
  try {
    validateTrainConfig(c);
  } catch (e) {
    fail((e as Error).message);
  }
  if (typeof v.family !== "string") fail("no family");
  if (v.task !== "classification" && v.task !== "regression") fail(`task ${JSON.stringify(v.task)}`);
  if (!Number.isInteger(v.classes) || !Array.isArray(v.labelNames)) fail("no classes or label names");
  if (v.architecture === undefined && !Array.isArray(v.architectures)) fail("no architecture");
  return v as RunFile;
}

/** The records of a run's metrics.jsonl (none when it has none yet). */
export function readMetricsRecords(dir: string): MetricsRecord[] {
  const file = join(dir, METRICS);
  if (!existsSync(file)) return [];
  const records: MetricsRecord[] = [];
  let line = 0;
  // Read in pieces and parsed line by line: a long run's log can pass the longest string V8 makes.
  forEachLine(file, METRICS_LIMIT, (text) => {
    line++;
    if (text === "") return;
    let r: unknown;
    try {
      r = JSON.parse(text);
    } catch {
      throw new RunFolderError(file, `line ${line} is not a JSON record`);
    }
    const why = metricsRecordProblem(r, records.length > 0 ? records[records.length - 1].step : -1);
    if (why !== null) throw new RunFolderError(file, `line ${line}: ${why}`);
    records.push(r as MetricsRecord);
  });
  return records;
}

/** metrics.jsonl of more than this (1 GiB, some four million evaluations) is not a run's. */
const METRICS_LIMIT = 2 ** 30;

/** What is wrong with a metrics record (numbers where numbers belong, steps increasing), or null. */
function metricsRecordProblem(r: unknown, lastStep: number): string | null {
  if (r === null || typeof r !== "object" || Array.isArray(r)) return "is not a JSON object";
  const o = r as Record<string, unknown>;
  // NaN and infinities are written by JSON as null.
  const num = (v: unknown) => v === null || typeof v === "number";
  if (!Number.isInteger(o.step) || (o.step as number) < 0) return `step is ${JSON.stringify(o.step)}, not a step count`;
  if ((o.step as number) <= lastStep) return `step ${String(o.step)} does not follow step ${lastStep}: the log repeats or reorders evaluations`;
  for (const k of ["epoch", "lr", "trainLoss", "modelsPerSec", "seconds"]) if (o[k] !== undefined && !num(o[k])) return `${k} is ${JSON.stringify(o[k])}, not a number`;
  for (const split of ["val", "test"]) {
    const m = o[split];
    if (m === null || m === undefined) continue;
    if (typeof m !== "object" || Array.isArray(m)) return `${split} is ${JSON.stringify(m)}, not an evaluation`;
    for (const [k, v] of Object.entries(m as Record<string, unknown>)) if (!num(v)) return `${split}.${k} is ${JSON.stringify(v)}, not a number`;
  }
  return null;
}

/** Calls `each` with every line of a regular file of at most `limit` bytes, reading it in 16 MiB pieces. */
function forEachLine(file: string, limit: number, each: (line: string) => void): void {
  const { fd, size } = openRegularFile(file);
  try {
    if (size > limit) throw new RunFolderError(file, `is ${size} bytes, more than the ${limit} a run's log may be`);
    const buf = Buffer.alloc(Math.min(size, 1 << 24) || 1);
    let carry = "";
    const decoder = new StringDecoder("utf8");
    for (let off = 0; off < size;) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, size - off), off);
      if (n === 0) break;
      off += n;
      const parts = (carry + decoder.write(buf.subarray(0, n))).split("\n");
      carry = parts.pop()!;
      if (carry.length > 1 << 24) throw new RunFolderError(file, "has a line longer than 16 MiB: not a log of evaluations");
      for (const p of parts) each(p);
    }
    if (carry !== "") each(carry);
  } finally {
    closeSync(fd);
  }
}

/** A run's result.json, or null when the run has not finished. */
export function readRunResult(dir: string): RunResult | null {
  const file = join(dir, RESULT);
  return existsSync(file) ? readJson(file, 2 ** 24) as RunResult : null;
}

function differingSettings(a: TrainConfig, b: TrainConfig): string[] {
  return (Object.keys(b) as (keyof TrainConfig)[]).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

export class RunFolder {
  /** Records in metrics.jsonl. */
  private logged = 0;

  private constructor(readonly dir: string, readonly runFile: RunFile, private readonly lock: FolderLock) {}

  /** How many evaluations are logged. */
  get loggedRecords(): number {
    return this.logged;
  }

  /** A new run in `dir`, which must be new or empty (a run already there needs --resume). */
  static create(dir: string, runFile: RunFile): RunFolder {
    if (existsSync(join(dir, CONFIG))) throw new RunFolderError(dir, "already holds a run; pass --resume to continue it, or choose another --out");
    if (existsSync(dir)) {
      if (!statSync(dir).isDirectory()) throw new RunFolderError(dir, "exists and is not a folder");
      const others = readdirSync(dir).filter((f) => f !== LOCK_FILE && !/^\..+\.\d+\.tmp$/.test(f));
      if (others.length > 0) {
        throw new RunFolderError(dir, `is not empty and holds no probegen run (it has ${others.slice(0, 3).join(", ")}${others.length > 3 ? ", ..." : ""}); nothing is written into it; choose another --out`);
      }
    }
    makeDirectory(dir);
    const lock = FolderLock.acquire(dir, "a training run");
    try {
      removeStaleTemporaries(dir);
      writeFileAtomic(join(dir, CONFIG), `${JSON.stringify(runFile, null, 2)}\n`);
      writeFileAtomic(join(dir, METRICS), "");
    } catch (e) {
      lock.release();
      throw e;
    }
    return new RunFolder(dir, runFile, lock);
  }

  /** The run in `dir`, to continue with the settings `config` (which must be the run's own). */
  static resume(dir: string, config: TrainConfig): RunFolder {
    const prior = readRunFile(dir);
    const diff = differingSettings(prior.config, config);
    if (diff.length > 0) throw new RunFolderError(join(dir, CONFIG), `--resume with different settings (${diff.join(", ")}); resume with the run's own settings`);
    const lock = FolderLock.acquire(dir, "a training run");
    removeStaleTemporaries(dir);
    return new RunFolder(dir, prior, lock);
  }

  /**
   * Restores the last checkpoint into the model and optimiser, and drops the metrics logged after
   * it (or all of them, when no checkpoint was written): they are made again.
   */
  restore(saved: [string, Tensor][], optimizer: OptimizerState): RestoredState | null {
    const hasLast = existsSync(join(this.dir, "last.json")) || existsSync(join(this.dir, "last.safetensors"));
    const info = hasLast ? loadCheckpoint(this.dir, "last", saved, optimizer) : null;
    const keep = info?.metricsLines ?? 0;
    const file = join(this.dir, METRICS);
    const lines = existsSync(file) ? Buffer.from(readRegularFile(file)).toString("utf8").split("\n").filter((l) => l !== "") : [];
    writeFileAtomic(file, lines.slice(0, keep).map((l) => `${l}\n`).join(""));
    this.logged = Math.min(keep, lines.length);
    return info === null ? null : { step: info.step, best: info.best, seconds: info.seconds };
  }

  /** Appends one evaluation's record. */
  log(record: MetricsRecord): void {
    const file = join(this.dir, METRICS);
    try {
      appendFileSync(file, `${JSON.stringify(record)}\n`);
      this.logged++;
    } catch (e) {
      throw new FileWriteError(file, `cannot be written: ${describeSystemError(e)}`);
    }
  }

  /** Every record logged so far. */
  records(): MetricsRecord[] {
    return readMetricsRecords(this.dir);
  }

  checkpoint(name: "best" | "last", saved: [string, Tensor][], info: CheckpointInfo, optimizer?: OptimizerState): void {
    saveCheckpoint(this.dir, name, saved, info, optimizer);
  }

  writeResult(result: unknown): void {
    writeFileAtomic(join(this.dir, RESULT), `${JSON.stringify(result, null, 2)}\n`);
  }

  /** Tells other machines the run is alive (a step of a long synchronous loop, whose timers wait). */
  heartbeat(): void {
    this.lock.heartbeat();
  }

  close(): void {
    this.lock.release();
  }
}
