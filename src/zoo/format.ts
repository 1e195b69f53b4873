// The probegen zoo format: a folder with zoo.json (what the networks are, how they split, where
// they came from) and safetensors shards, each holding a run of consecutive networks with every
// parameter stacked over them (e.g. seq.0.weight [n, 32, 2]) and per-network metadata fields
// (e.g. label [n]). Everything a build writes is written atomically.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { readSafetensors, type SafeArray, type SafeDtype } from "../io/safetensors.js";
import { FileFormatError } from "../file-error.js";

export const ZOO_FORMAT = "probegen-zoo";
export const ZOO_FORMAT_VERSION = 1;
export const MANIFEST_FILE = "zoo.json";

export type SplitName = "train" | "val" | "test";
export const SPLIT_NAMES: readonly SplitName[] = ["train", "val", "test"];
/** Half-open index ranges [start, end). */
export type Ranges = [number, number][];

export interface ZooTask {
  kind: "classification" | "regression";
  /** Classification: the name of each label. */
  labelNames?: string[];
  /** Regression: which metadata field is the target. */
  target?: string;
}

export interface ZooManifest {
  format: typeof ZOO_FORMAT;
  version: typeof ZOO_FORMAT_VERSION;
  /** Network family, e.g. "siren". */
  family: string;
  architecture: Record<string, unknown>;
  /** Per-network parameter names and shapes, state-dict order. */
  parameters: { name: string; shape: number[] }[];
  /** Per-network metadata fields stored in every shard. */
  fields: { name: string; dtype: SafeDtype; description: string }[];
  task: ZooTask;
  count: number;
  splits: Record<SplitName, Ranges>;
  shards: { file: string; start: number; count: number }[];
  provenance: Record<string, unknown>;
}

export class ZooFormatError extends FileFormatError {}

export function shardFileName(i: number): string {
  return `shard-${String(i).padStart(5, "0")}.safetensors`;
}

/** Contiguous shards of at most shardSize networks covering [0, count). */
export function planShards(count: number, shardSize: number): ZooManifest["shards"] {
  const shards: ZooManifest["shards"] = [];
  for (let start = 0, i = 0; start < count; start += shardSize, i++) {
    shards.push({ file: shardFileName(i), start, count: Math.min(shardSize, count - start) });
  }
  return shards;
}

export function rangesSize(r: Ranges): number {
  return r.reduce((s, [a, b]) => s + (b - a), 0);
}

export function rangesIndices(r: Ranges): number[] {
  return r.flatMap(([a, b]) => Array.from({ length: b - a }, (_, i) => a + i));
}

/** Checks a parsed manifest's structure; errors name the file. */
export function validateManifest(m: unknown, file: string): ZooManifest {
  const fail = (detail: string): never => { throw new ZooFormatError(file, detail); };
  if (m === null || typeof m !== "object" || Array.isArray(m)) fail("not a JSON object");
  const z = m as ZooManifest;
  if (z.format !== ZOO_FORMAT) fail(`not a probegen zoo manifest (format is ${JSON.stringify(z.format)}, expected "${ZOO_FORMAT}")`);
  if (z.version !== ZOO_FORMAT_VERSION) fail(`zoo format version ${String(z.version)} is not supported (this probegen reads version ${ZOO_FORMAT_VERSION})`);
  if (typeof z.family !== "string") fail("missing family");
  if (!Number.isInteger(z.count) || z.count < 0) fail(`invalid count ${JSON.stringify(z.count)}`);
  if (!Array.isArray(z.parameters) || z.parameters.length === 0) fail("missing parameters");
  for (const p of z.parameters) {
    if (typeof p.name !== "string" || !Array.isArray(p.shape) || !p.shape.every((d) => Number.isInteger(d) && d > 0)) fail(`invalid parameter entry ${JSON.stringify(p)}`);
  }
  if (!Array.isArray(z.fields)) fail("missing fields");
  if (z.task?.kind !== "classification" && z.task?.kind !== "regression") fail(`invalid task ${JSON.stringify(z.task)}`);
  if (z.task.kind === "classification" && !Array.isArray(z.task.labelNames)) fail("classification task without labelNames");
  if (!Array.isArray(z.shards)) fail("missing shards");
  let next = 0;
  for (const s of z.shards) {
    if (typeof s.file !== "string" || s.file.includes("/") || s.file.includes("\\") || s.start !== next || !Number.isInteger(s.count) || s.count < 1) {
      fail(`invalid shard entry ${JSON.stringify(s)} (shards must be contiguous from 0)`);
    }
    next += s.count;
  }
  if (next !== z.count) fail(`shards hold ${next} networks but count is ${z.count}`);
  const seen = new Uint8Array(z.count);
  for (const name of SPLIT_NAMES) {
    const r = z.splits?.[name];
    if (!Array.isArray(r)) fail(`missing split ${name}`);
    for (const range of r) {
      const [a, b] = range;
      if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < a || b > z.count) fail(`split ${name}: invalid range ${JSON.stringify(range)}`);
      for (let i = a; i < b; i++) {
        if (seen[i]) fail(`split ${name}: network ${i} is in two splits`);
        seen[i] = 1;
      }
    }
  }
  return z;
}

export interface ShardData {
  /** Stacked parameters [count, ...shape], by name. */
  params: Map<string, Float32Array>;
  /** Metadata fields [count], by name. */
  fields: Map<string, SafeArray>;
  count: number;
}

/** A zoo on disk: its manifest and lazily read shards. */
export class Zoo {
  private constructor(readonly dir: string, readonly manifest: ZooManifest) {}

  static open(dir: string): Zoo {
    const file = join(dir, MANIFEST_FILE);
    if (!existsSync(dir)) throw new ZooFormatError(dir, "no such zoo folder");
    if (!existsSync(file)) {
      const unfinished = existsSync(join(dir, "build.json"));
      throw new ZooFormatError(file, unfinished
        ? "not found: the build in this folder has not finished (rerun the same `probegen zoo build` to resume it)"
        : "not found (is this a probegen zoo folder?)");
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, "utf8"));
    } catch (e) {
      throw new ZooFormatError(file, `not valid JSON (${(e as Error).message})`);
    }
    return new Zoo(dir, validateManifest(parsed, file));
  }

  get count(): number { return this.manifest.count; }

  shardPath(i: number): string {
    return join(this.dir, this.manifest.shards[i].file);
  }

  /** Reads and checks shard i against the manifest. */
  readShard(i: number): ShardData {
    return readShardFile(this.shardPath(i), this.manifest, this.manifest.shards[i].count);
  }

  /** Total bytes of the manifest and shards. */
  bytes(): number {
    let total = statSync(join(this.dir, MANIFEST_FILE)).size;
    for (let i = 0; i < this.manifest.shards.length; i++) total += existsSync(this.shardPath(i)) ? statSync(this.shardPath(i)).size : 0;
    return total;
  }

  /** Every network's parameters stacked [count, ...shape], and every metadata field [count]. */
  readAll(): ShardData {
    const m = this.manifest;
    const params = new Map(m.parameters.map((p) => [p.name, new Float32Array(m.count * p.shape.reduce((a, b) => a * b, 1))]));
    const fields = new Map<string, SafeArray>(m.fields.map((f) => [f.name, f.dtype === "F32" ? new Float32Array(m.count) : f.dtype === "I32" ? new Int32Array(m.count) : new Uint8Array(m.count)]));
    m.shards.forEach((s, i) => {
      const shard = this.readShard(i);
      for (const p of m.parameters) {
        const per = p.shape.reduce((a, b) => a * b, 1);
        params.get(p.name)!.set(shard.params.get(p.name)!, s.start * per);
      }
      for (const f of m.fields) fields.get(f.name)!.set(shard.fields.get(f.name)!, s.start);
    });
    return { params, fields, count: m.count };
  }

  /** One network's parameters, by name. */
  network(index: number): { params: Map<string, Float32Array>; fields: Map<string, number> } {
    if (!Number.isInteger(index) || index < 0 || index >= this.count) {
      throw new RangeError(`${join(this.dir, MANIFEST_FILE)}: network ${index} out of range [0, ${this.count})`);
    }
    const si = this.manifest.shards.findIndex((s) => index < s.start + s.count);
    const shard = this.readShard(si);
    const k = index - this.manifest.shards[si].start;
    const params = new Map(this.manifest.parameters.map((p) => {
      const per = p.shape.reduce((a, b) => a * b, 1);
      return [p.name, shard.params.get(p.name)!.slice(k * per, (k + 1) * per)];
    }));
    const fields = new Map(this.manifest.fields.map((f) => [f.name, Number(shard.fields.get(f.name)![k])]));
    return { params, fields };
  }
}

/** Reads a shard file and checks every tensor against the manifest's declarations. */
export function readShardFile(file: string, m: ZooManifest, count: number): ShardData {
  if (!existsSync(file)) throw new ZooFormatError(file, "shard file missing");
  const st = readSafetensors(file);
  const params = new Map<string, Float32Array>();
  for (const p of m.parameters) {
    const t = st.tensors.get(p.name);
    if (t === undefined) throw new ZooFormatError(file, `missing parameter ${p.name}`);
    const expect = [count, ...p.shape];
    if (t.dtype !== "F32") throw new ZooFormatError(file, `parameter ${p.name} is ${t.dtype}, expected F32`);
    if (t.shape.length !== expect.length || t.shape.some((d, i) => d !== expect[i])) {
      throw new ZooFormatError(file, `parameter ${p.name} has shape [${t.shape.join(",")}] but the architecture in zoo.json declares [${expect.join(",")}]`);
    }
    params.set(p.name, t.data as Float32Array);
  }
  const fields = new Map<string, SafeArray>();
  for (const f of m.fields) {
    const t = st.tensors.get(f.name);
    if (t === undefined) throw new ZooFormatError(file, `missing metadata field ${f.name}`);
    if (t.dtype !== f.dtype || t.shape.length !== 1 || t.shape[0] !== count) {
      throw new ZooFormatError(file, `metadata field ${f.name} is ${t.dtype} [${t.shape.join(",")}], expected ${f.dtype} [${count}]`);
    }
    fields.set(f.name, t.data);
  }
  return { params, fields, count };
}
