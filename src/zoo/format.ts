// The probegen zoo format: a folder with zoo.json (what the networks are, how they split, where
// they came from) and safetensors shards, each holding a run of consecutive networks with every
// parameter stacked over them (e.g. seq.0.weight [n, 32, 2]) and per-network metadata fields
// (e.g. label [n]). Everything a build writes is written atomically.
//
// Version 1 holds networks of one architecture: zoo.json has `architecture` and `parameters`.
// Version 2 holds networks of several (CNN Wild Park): zoo.json lists `architectures`, each with
// its parameters, and the I32 field `architectureField` gives each network's architecture. A
// version-2 shard stacks each architecture's networks under "<k>/<name>" ([n_k, ...shape], the
// shard's networks of architecture k in order). probegen writes version 1 whenever the zoo has
// one architecture, so those zoos read in older versions too. Either version may carry `codes`
// (names of a categorical field's values) and per-network strings (e.g. source paths, kept as
// JSON in each shard's metadata).
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { encodeSafetensors, readSafetensors, readSafetensorsTensor, type SafeArray, type SafeDtype, type SafeTensor } from "../io/safetensors.js";
import { FileFormatError } from "../file-error.js";
import { readRegularFile } from "../io/read-file.js";
import { isBlackBoxSpec } from "../nets/onnx-black-box.js";

export const ZOO_FORMAT = "probegen-zoo";
/** The newest version this probegen reads and writes. */
export const ZOO_FORMAT_VERSION = 2;
export const MANIFEST_FILE = "zoo.json";
/** zoo.json may not be larger than this (a 10-million-network zoo's manifest is a few MB). */
export const MANIFEST_LIMIT = 2 ** 28;
/** Metadata field dtypes a zoo may hold. */
export const FIELD_DTYPES: readonly SafeDtype[] = ["F32", "I32", "U8"];

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

export interface ZooParameter { name: string; shape: number[] }

/** One architecture of a zoo and the parameters (state-dict order) its networks have. */
export interface ZooArchitecture {
  architecture: Record<string, unknown>;
  parameters: ZooParameter[];
}

export interface ZooField {
  name: string;
  dtype: SafeDtype;
  description: string;
  /** A categorical field: the name of each code. */
  codes?: string[];
}

export interface ZooStringField { name: string; description: string }

export interface ZooManifest {
  format: typeof ZOO_FORMAT;
  /** The version on disk (1 for zoos of one architecture). */
  version: 1 | 2;
  /** Network family, e.g. "siren". */
  family: string;
  /** Every architecture of the zoo; most zoos have one. */
  architectures: ZooArchitecture[];
  /** With several architectures: the I32 field holding each network's index into `architectures`. */
  architectureField?: string;
  /** Per-network metadata fields stored in every shard. */
  fields: ZooField[];
  /** Per-network strings stored in every shard's metadata. */
  strings: ZooStringField[];
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

/** Sorted, merged half-open ranges covering exactly the given indices. */
export function indicesToRanges(indices: readonly number[]): Ranges {
  const sorted = [...indices].sort((a, b) => a - b);
  const out: Ranges = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && last[1] === i) last[1] = i + 1;
    else if (last === undefined || i >= last[1]) out.push([i, i + 1]);
  }
  return out;
}

export function parameterSize(p: ZooParameter): number {
  return p.shape.reduce((a, b) => a * b, 1);
}

/** The architecture of a zoo that has one; an error naming the zoo otherwise. */
export function soleArchitecture(m: ZooManifest, what = "this"): ZooArchitecture {
  if (m.architectures.length !== 1) throw new RangeError(`${what} needs a zoo of one architecture; this zoo has ${m.architectures.length}`);
  return m.architectures[0];
}

/** zoo.json's text: version 1 for one architecture, version 2 otherwise. */
export function manifestJson(m: ZooManifest): string {
  const { format, family, architectures, architectureField, fields, strings, task, count, splits, shards, provenance } = m;
  const extra = strings.length > 0 ? { strings } : {};
  const doc = architectures.length === 1
    ? { format, version: 1, family, architecture: architectures[0].architecture, parameters: architectures[0].parameters, fields, ...extra, task, count, splits, shards, provenance }
    : { format, version: 2, family, architectures, architectureField, fields, ...extra, task, count, splits, shards, provenance };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Checks a parsed manifest's structure and returns it in memory form; errors name the file. */
export function validateManifest(raw: unknown, file: string): ZooManifest {
  const fail = (detail: string): never => { throw new ZooFormatError(file, detail); };
  if (!isObject(raw)) return fail("not a JSON object");
  const z = raw;
  if (z.format !== ZOO_FORMAT) fail(`not a probegen zoo manifest (format is ${JSON.stringify(z.format)}, expected "${ZOO_FORMAT}")`);
  if (z.version !== 1 && z.version !== 2) fail(`zoo format version ${String(z.version)} is not supported (this probegen reads versions 1 and ${ZOO_FORMAT_VERSION})`);
  if (typeof z.family !== "string") fail("missing family");
  if (!Number.isInteger(z.count) || (z.count as number) < 0) fail(`invalid count ${JSON.stringify(z.count)}`);
  const count = z.count as number;
  // Only a black-box network (an ONNX graph the engine cannot run, kept whole) has none in the shards.
  const checkParameters = (ps: unknown, where: string, architecture: unknown): ZooParameter[] => {
    if (!Array.isArray(ps) || (ps.length === 0 && !(z.family === "onnx" && isBlackBoxSpec(architecture)))) return fail(`missing parameters${where}`);
    for (const p of ps) {
      if (!isObject(p) || typeof p.name !== "string" || !Array.isArray(p.shape) || !p.shape.every((d) => Number.isInteger(d) && d > 0)) fail(`invalid parameter entry${where} ${JSON.stringify(p)}`);
    }
    return ps as ZooParameter[];
  };
  let architectures: ZooArchitecture[];
  if (z.version === 1) {
    if (!isObject(z.architecture)) fail("missing architecture");
    architectures = [{ architecture: z.architecture as Record<string, unknown>, parameters: checkParameters(z.parameters, "", z.architecture) }];
  } else {
    if (!Array.isArray(z.architectures) || z.architectures.length === 0) return fail("missing architectures");
    architectures = z.architectures.map((a, k) => {
      if (!isObject(a) || !isObject(a.architecture)) return fail(`architectures[${k}] has no architecture`);
      return { architecture: a.architecture, parameters: checkParameters(a.parameters, ` of architectures[${k}]`, a.architecture) };
    });
  }
  if (!Array.isArray(z.fields)) fail("missing fields");
  for (const f of z.fields as unknown[]) {
    if (!isObject(f) || typeof f.name !== "string" || typeof f.dtype !== "string") fail(`invalid field entry ${JSON.stringify(f)}`);
    if (!(FIELD_DTYPES as readonly unknown[]).includes((f as { dtype: unknown }).dtype)) fail(`field ${(f as { name: string }).name} has dtype ${String((f as { dtype: unknown }).dtype)}; zoo fields are ${FIELD_DTYPES.join(", ")}`);
  }
  const fields = z.fields as ZooField[];
  const strings = (z.strings ?? []) as ZooStringField[];
  if (!Array.isArray(strings) || !strings.every((s) => isObject(s) && typeof s.name === "string")) fail("invalid strings entry");
  if (architectures.length > 1) {
    const f = fields.find((x) => x.name === z.architectureField);
    if (f === undefined || f.dtype !== "I32") fail(`architectureField ${JSON.stringify(z.architectureField)} is not an I32 field of the zoo`);
  }
  const task = z.task as ZooTask;
  if (!isObject(task) || (task.kind !== "classification" && task.kind !== "regression")) fail(`invalid task ${JSON.stringify(z.task)}`);
  if (task.kind === "classification" && !Array.isArray(task.labelNames)) fail("classification task without labelNames");
  if (!Array.isArray(z.shards)) fail("missing shards");
  let next = 0;
  for (const s of z.shards as unknown[]) {
    if (!isObject(s) || typeof s.file !== "string" || s.file.includes("/") || s.file.includes("\\") || s.file === ".." || s.start !== next || !Number.isInteger(s.count) || (s.count as number) < 1) {
      fail(`invalid shard entry ${JSON.stringify(s)} (shards must be contiguous from 0)`);
    }
    next += (s as { count: number }).count;
  }
  if (next !== count) fail(`shards hold ${next} networks but count is ${count}`);
  // Ranges are checked against each other, never expanded: a manifest's count costs nothing here.
  const all: [number, number, SplitName][] = [];
  const splits = z.splits as Record<SplitName, Ranges> | undefined;
  for (const name of SPLIT_NAMES) {
    const r = splits?.[name];
    if (!Array.isArray(r)) return fail(`missing split ${name}`);
    for (const range of r) {
      const [a, b] = Array.isArray(range) ? range : [NaN, NaN];
      if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < a || b > count) fail(`split ${name}: invalid range ${JSON.stringify(range)}`);
      if (b > a) all.push([a, b, name]);
    }
  }
  all.sort((x, y) => x[0] - y[0]);
  for (let i = 1; i < all.length; i++) {
    if (all[i][0] < all[i - 1][1]) fail(`split ${all[i][2]}: network ${all[i][0]} is also in ${all[i - 1][2]}`);
  }
  return {
    format: ZOO_FORMAT, version: z.version as 1 | 2, family: z.family as string, architectures,
    ...(architectures.length > 1 ? { architectureField: z.architectureField as string } : {}),
    fields, strings, task, count, splits: splits!, shards: z.shards as ZooManifest["shards"],
    provenance: isObject(z.provenance) ? z.provenance : {},
  };
}

export interface ShardData {
  /** Parameters [count, ...shape] by name, for a zoo of one architecture (empty otherwise). */
  params: Map<string, Float32Array>;
  /** Per architecture: its networks' parameters stacked [n_k, ...shape], by name. */
  groups: Map<string, Float32Array>[];
  /** Each network's architecture (all 0 in a zoo of one). */
  architecture: Int32Array;
  /** Metadata fields [count], by name. */
  fields: Map<string, SafeArray>;
  /** Per-network strings, by name. */
  strings: Map<string, string[]>;
  count: number;
}

/** One network: its architecture index, parameters, fields and strings. */
export interface ZooNetwork {
  architecture: number;
  params: Map<string, Float32Array>;
  fields: Map<string, number>;
  strings: Map<string, string>;
}

function typedArrayFor(dtype: SafeDtype, n: number): SafeArray {
  return dtype === "F32" ? new Float32Array(n) : dtype === "I32" ? new Int32Array(n) : new Uint8Array(n);
}

/** A zoo on disk: its manifest and lazily read shards. */
export class Zoo {
  private constructor(readonly dir: string, readonly manifest: ZooManifest, private readonly memory: ShardData | null = null) {}

  /**
   * A zoo held in memory (networks read from files to predict, say): `all` is what readAll()
   * returns, as one shard. `name` stands for the folder in errors.
   */
  static inMemory(name: string, manifest: ZooManifest, all: ShardData): Zoo {
    if (all.count !== manifest.count) throw new RangeError(`an in-memory zoo of ${manifest.count} networks given ${all.count}`);
    return new Zoo(name, manifest, all);
  }

  static open(dir: string): Zoo {
    const file = join(dir, MANIFEST_FILE);
    if (!existsSync(dir)) throw new ZooFormatError(dir, "no such zoo folder");
    if (!existsSync(file)) {
      const unfinished = existsSync(join(dir, "build.json"));
      throw new ZooFormatError(file, unfinished
        ? "not found: the build in this folder has not finished (rerun the same `probegen zoo build` or `zoo import` to resume it)"
        : "not found (is this a probegen zoo folder?)");
    }
    const text = Buffer.from(readRegularFile(file, MANIFEST_LIMIT)).toString("utf8");
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
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
    if (this.memory !== null) return this.memory;
    return readShardFile(this.shardPath(i), this.manifest, this.manifest.shards[i].count, this.manifest.shards[i].start);
  }

  /**
   * Refuses a manifest whose shards cannot hold what it declares, before memory is set aside for
   * it: each network's parameters take 4 bytes a value in its shard.
   */
  private checkSizes(): void {
    const m = this.manifest;
    const smallest = Math.min(...m.architectures.map((a) => a.parameters.reduce((s, p) => s + parameterSize(p), 0)));
    m.shards.forEach((s, i) => {
      const file = this.shardPath(i);
      if (!existsSync(file)) throw new ZooFormatError(file, `is missing: zoo.json places ${s.count} networks in it (a build interrupted, or a shard removed; rerun the build to make it again)`);
      const size = statSync(file).size;
      if (size < s.count * smallest * 4) throw new ZooFormatError(file, `holds ${size} bytes, too few for the ${s.count} networks zoo.json places in it (${s.count * smallest * 4} bytes of parameters at least)`);
    });
  }

  /** Total bytes of the manifest and shards. */
  bytes(): number {
    if (this.memory !== null) return 0;
    let total = statSync(join(this.dir, MANIFEST_FILE)).size;
    for (let i = 0; i < this.manifest.shards.length; i++) total += existsSync(this.shardPath(i)) ? statSync(this.shardPath(i)).size : 0;
    return total;
  }

  /**
   * Every network's parameters, stacked per architecture in zoo order ([n_k, ...shape]), each
   * network's architecture, and every metadata field [count]. `into` gives the array that
   * architecture k's parameter `p` is read into, for its `networks` networks ([n_k, ...p.shape]),
   * a new one by default: a trainer passes tensor memory. The shards are read one at a time, after their
   * architecture columns (each read alone), so the zoo is held once, plus one shard: reading every
   * shard before stacking, and stacking before copying into tensors, held a zoo of 4,000 Wild Park
   * checkpoints (0.29 GB of parameters) three times over while a run loaded it.
   */
  readAll(into?: (k: number, p: ZooParameter, networks: number) => Float32Array): ShardData {
    const m = this.manifest;
    if (this.memory !== null) {
      if (into === undefined) return this.memory;
      const held = this.memory;
      const networks = new Array<number>(m.architectures.length).fill(0);
      for (const k of held.architecture) networks[k]++;
      const groups = m.architectures.map((a, k) => new Map(a.parameters.map((p) => {
        const array = into(k, p, networks[k]);
        array.set(held.groups[k].get(p.name)!);
        return [p.name, array];
      })));
      return { ...held, groups, params: groups.length === 1 ? groups[0] : new Map() };
    }
    this.checkSizes();
    const architecture = new Int32Array(m.count);
    if (m.architectures.length > 1) m.shards.forEach((s, i) => architecture.set(this.architectureColumn(i), s.start));
    const perArch = new Array<number>(m.architectures.length).fill(0);
    for (const k of architecture) perArch[k]++;
    const groups = m.architectures.map((a, k) => new Map(a.parameters.map((p) => {
      const length = perArch[k] * parameterSize(p);
      const array = into === undefined ? new Float32Array(length) : into(k, p, perArch[k]);
      if (array.length !== length) throw new RangeError(`readAll: ${p.name} of architecture ${k} needs ${length} values, given an array of ${array.length}`);
      return [p.name, array];
    })));
    const filled = new Array<number>(m.architectures.length).fill(0);
    const fields = new Map<string, SafeArray>(m.fields.map((f) => [f.name, typedArrayFor(f.dtype, m.count)]));
    const strings = new Map<string, string[]>(m.strings.map((f) => [f.name, []]));
    m.shards.forEach((s, i) => {
      const shard = this.readShard(i);
      const j = shard.architecture.findIndex((k, n) => k !== architecture[s.start + n]);
      if (j >= 0) throw new ZooFormatError(this.shardPath(i), `changed while the zoo was read: network ${s.start + j} was architecture ${architecture[s.start + j]}, is now ${shard.architecture[j]}`);
      const inShard = new Array<number>(m.architectures.length).fill(0);
      for (const k of shard.architecture) inShard[k]++;
      shard.groups.forEach((g, k) => {
        if (g.size === 0) return;
        for (const p of m.architectures[k].parameters) groups[k].get(p.name)!.set(g.get(p.name)!, filled[k] * parameterSize(p));
        filled[k] += inShard[k];
      });
      for (const f of m.fields) fields.get(f.name)!.set(shard.fields.get(f.name)!, s.start);
      for (const f of m.strings) for (const v of shard.strings.get(f.name)!) strings.get(f.name)!.push(v);
    });
    return { params: m.architectures.length === 1 ? groups[0] : new Map(), groups, architecture, fields, strings, count: m.count };
  }

  /** Shard i's architecture column, read without its parameters, checked as readShard checks it. */
  private architectureColumn(i: number): Int32Array {
    const file = this.shardPath(i), name = this.manifest.architectureField!;
    const column = checkField(readSafetensorsTensor(file, name), { name, dtype: "I32" }, this.manifest.shards[i].count, file);
    return checkArchitectures(column as Int32Array, this.manifest, file);
  }

  /** One network's parameters, by name, with its fields and strings. */
  network(index: number): ZooNetwork {
    if (!Number.isInteger(index) || index < 0 || index >= this.count) {
      throw new RangeError(`${join(this.dir, MANIFEST_FILE)}: network ${index} out of range [0, ${this.count})`);
    }
    const si = this.manifest.shards.findIndex((s) => index < s.start + s.count);
    const shard = this.readShard(si);
    const k = index - this.manifest.shards[si].start;
    const arch = shard.architecture[k];
    let row = 0;
    for (let j = 0; j < k; j++) if (shard.architecture[j] === arch) row++;
    const params = new Map(this.manifest.architectures[arch].parameters.map((p) => {
      const per = parameterSize(p);
      return [p.name, shard.groups[arch].get(p.name)!.slice(row * per, (row + 1) * per)];
    }));
    const fields = new Map(this.manifest.fields.map((f) => [f.name, Number(shard.fields.get(f.name)![k])]));
    const strings = new Map(this.manifest.strings.map((f) => [f.name, shard.strings.get(f.name)![k]]));
    return { architecture: arch, params, fields, strings };
  }
}

function tensorName(m: ZooManifest, arch: number, name: string): string {
  return m.architectures.length === 1 ? name : `${arch}/${name}`;
}

/** A shard's metadata field `f` of `count` networks, refused by name if it is missing or of another dtype or shape. */
function checkField(t: SafeTensor | undefined, f: { name: string; dtype: SafeDtype }, count: number, file: string): SafeArray {
  if (t === undefined) throw new ZooFormatError(file, `missing metadata field ${f.name}`);
  if (t.dtype !== f.dtype || t.shape.length !== 1 || t.shape[0] !== count) {
    throw new ZooFormatError(file, `metadata field ${f.name} is ${t.dtype} [${t.shape.join(",")}], expected ${f.dtype} [${count}]`);
  }
  return t.data;
}

/** A shard's architecture column, refused if it names an architecture zoo.json does not list. */
function checkArchitectures(column: Int32Array, m: ZooManifest, file: string): Int32Array {
  const bad = column.findIndex((a) => a < 0 || a >= m.architectures.length);
  if (bad >= 0) throw new ZooFormatError(file, `network ${bad} of the shard has architecture ${column[bad]}, but zoo.json lists ${m.architectures.length}`);
  return column;
}

/** Reads a shard file and checks every tensor against the manifest's declarations. */
export function readShardFile(file: string, m: ZooManifest, count: number, start?: number): ShardData {
  if (!existsSync(file)) throw new ZooFormatError(file, "shard file missing");
  const st = readSafetensors(file);
  const meta = st.metadata;
  if (start !== undefined && meta.start !== undefined && (Number(meta.start) !== start || Number(meta.count) !== count)) {
    throw new ZooFormatError(file, `holds networks ${meta.start}..${Number(meta.start) + Number(meta.count) - 1} by its own metadata, but zoo.json places networks ${start}..${start + count - 1} here`);
  }
  const fields = new Map<string, SafeArray>();
  for (const f of m.fields) fields.set(f.name, checkField(st.tensors.get(f.name), f, count, file));
  const architecture = m.architectures.length === 1 ? new Int32Array(count) : Int32Array.from(fields.get(m.architectureField!)!);
  checkArchitectures(architecture, m, file);
  const groups = m.architectures.map((a, k) => {
    const n = architecture.reduce((s, x) => s + (x === k ? 1 : 0), 0);
    const params = new Map<string, Float32Array>();
    if (n === 0) return params;
    for (const p of a.parameters) {
      const name = tensorName(m, k, p.name);
      const t = st.tensors.get(name);
      if (t === undefined) throw new ZooFormatError(file, `missing parameter ${name}`);
      const expect = [n, ...p.shape];
      if (t.dtype !== "F32") throw new ZooFormatError(file, `parameter ${name} is ${t.dtype}, expected F32`);
      if (t.shape.length !== expect.length || t.shape.some((d, i) => d !== expect[i])) {
        throw new ZooFormatError(file, `parameter ${name} has shape [${t.shape.join(",")}] but the architecture in zoo.json declares [${expect.join(",")}]`);
      }
      params.set(p.name, t.data as Float32Array);
    }
    return params;
  });
  const strings = new Map<string, string[]>();
  if (m.strings.length > 0) {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(meta.strings ?? "null") as Record<string, unknown>;
    } catch {
      throw new ZooFormatError(file, "its per-network strings are not valid JSON");
    }
    for (const f of m.strings) {
      const v = parsed?.[f.name];
      if (!Array.isArray(v) || v.length !== count || !v.every((s) => typeof s === "string")) throw new ZooFormatError(file, `missing per-network strings ${f.name} (expected ${count})`);
      strings.set(f.name, v as string[]);
    }
  }
  return { params: m.architectures.length === 1 ? groups[0] : new Map(), groups, architecture, fields, strings, count };
}

/** What a shard holds for one network: its architecture (0 in a zoo of one) and parameters in that architecture's order. */
export interface ShardNetwork {
  architecture?: number;
  params: readonly Float32Array[];
}

/**
 * The bytes of shard `si`: each architecture's parameters stacked over its networks, then the
 * fields in manifest order, then the strings in the metadata.
 */
export function encodeShard(m: ZooManifest, si: number, networks: readonly ShardNetwork[],
  fields: Record<string, ArrayLike<number>>, strings: Record<string, readonly string[]> = {}): Uint8Array {
  const shard = m.shards[si];
  const n = shard.count;
  if (networks.length !== n) throw new RangeError(`shard ${si} holds ${n} networks, got ${networks.length}`);
  const tensors: [string, { shape: number[]; data: SafeArray }][] = [];
  m.architectures.forEach((a, k) => {
    const members = networks.filter((x) => (x.architecture ?? 0) === k);
    if (members.length === 0) return;
    a.parameters.forEach((p, pi) => {
      const per = parameterSize(p);
      const data = new Float32Array(members.length * per);
      members.forEach((x, j) => {
        if (x.params[pi].length !== per) throw new RangeError(`parameter ${p.name} has ${x.params[pi].length} values, its shape [${p.shape.join(",")}] needs ${per}`);
        data.set(x.params[pi], j * per);
      });
      tensors.push([tensorName(m, k, p.name), { shape: [members.length, ...p.shape], data }]);
    });
  });
  for (const f of m.fields) {
    const v = fields[f.name];
    if (v === undefined || v.length !== n) throw new RangeError(`field ${f.name}: ${v === undefined ? "missing" : `${v.length} values for ${n} networks`}`);
    tensors.push([f.name, { shape: [n], data: f.dtype === "F32" ? Float32Array.from(v) : f.dtype === "I32" ? Int32Array.from(v) : Uint8Array.from(v) }]);
  }
  const meta: Record<string, string> = { format: "probegen-zoo-shard", start: String(shard.start), count: String(n) };
  if (m.strings.length > 0) {
    for (const f of m.strings) if (strings[f.name]?.length !== n) throw new RangeError(`strings ${f.name}: expected ${n}`);
    meta.strings = JSON.stringify(Object.fromEntries(m.strings.map((f) => [f.name, strings[f.name]])));
  }
  return encodeSafetensors(tensors, meta);
}
