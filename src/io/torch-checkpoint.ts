// Reading PyTorch checkpoints (.pth, .pt) without PyTorch and without executing anything.
//
// Two container formats:
// - zip (torch >= 1.6): <prefix>/data.pkl is the pickle; each storage is the raw little-endian
//   record <prefix>/data/<key>. The prefix is the file stem (torch 1.x) or "archive" (2.x), so
//   data.pkl is found by its suffix.
// - legacy: a sequence of pickles (magic number, protocol version, sys info, the object, the
//   sorted storage keys), then each storage's bytes after an 8-byte element count.
// Tensors are rebuilt from torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...):
// views of a larger storage are materialised by their offset and strides. Their values are
// decoded when first asked for, so unused state (an optimiser's moments) costs nothing. A file of
// N bytes may make the reader allocate at most about 4N bytes; declared sizes are checked before
// anything is allocated.
import { FileFormatError } from "../file-error.js";
import { bfloat16ToFloat, decodeNumeric, parseDtype, type NumericArray } from "./numpy-dtype.js";
import { NUMPY_CALLS, buildNumpy } from "./numpy-pickle.js";
import { unwrapOmegaConf } from "./omegaconf.js";
import { plainBytes } from "./bytes.js";
import { PickleError, PyGlobal, unpickle, type PickleCall } from "./pickle.js";
import { readFileHead, readRegularFile } from "./read-file.js";
import { isZip, readZip } from "./zip.js";

export class TorchCheckpointError extends FileFormatError {}

export type TorchDtype = "float32" | "float64" | "float16" | "bfloat16" | "int64" | "int32" | "int16" | "int8" | "uint8" | "bool";

const FLOAT_DTYPES: ReadonlySet<TorchDtype> = new Set(["float32", "float64", "float16", "bfloat16"]);

/** A tensor's values as weights: float32, refused (naming the file and tensor) when it is not floating point. */
export function floatWeights(t: TorchTensor, file: string, name: string): Float32Array {
  if (!FLOAT_DTYPES.has(t.dtype)) throw new TorchCheckpointError(file, `tensor ${name} is ${t.dtype}; weights are floating point (float32, float64, float16 or bfloat16)`);
  return t.toFloat32();
}

/** Storage classes by name, with the dtype and bytes per element they hold. */
export const STORAGE_TYPES: Readonly<Record<string, { dtype: TorchDtype; size: number }>> = {
  FloatStorage: { dtype: "float32", size: 4 }, DoubleStorage: { dtype: "float64", size: 8 },
  HalfStorage: { dtype: "float16", size: 2 }, BFloat16Storage: { dtype: "bfloat16", size: 2 },
  LongStorage: { dtype: "int64", size: 8 }, IntStorage: { dtype: "int32", size: 4 },
  ShortStorage: { dtype: "int16", size: 2 }, CharStorage: { dtype: "int8", size: 1 },
  ByteStorage: { dtype: "uint8", size: 1 }, BoolStorage: { dtype: "bool", size: 1 },
  UntypedStorage: { dtype: "uint8", size: 1 },
};

const NUMPY_DESCR: Record<Exclude<TorchDtype, "bfloat16">, string> = {
  float32: "<f4", float64: "<f8", float16: "<f2", int64: "<i8", int32: "<i4", int16: "<i2", int8: "|i1", uint8: "|u1", bool: "|b1",
};

/** What a persistent id names: one storage of the file. */
interface StorageRef {
  key: string;
  dtype: TorchDtype;
  size: number;
  numel: number;
  /** Legacy storage views: this storage is elements [offset, offset + numel) of `root`. */
  root?: StorageRef;
  offset?: number;
}

/** Shared by the tensors of one file: where storage bytes come from, and the allocation budget. */
interface LoadContext {
  file: string;
  bytesOf(key: string): Uint8Array | undefined;
  decoded: Map<string, NumericArray>;
  budget: { left: number; limit: number };
  /** false when only the pickle was read. */
  storages: boolean;
}

function charge(ctx: LoadContext, bytes: number, what: string): void {
  ctx.budget.left -= bytes;
  if (ctx.budget.left < 0) throw new TorchCheckpointError(ctx.file, `${what} would take the reader past ${ctx.budget.limit} bytes, more than a file of this size can hold; refusing to allocate`);
}

/** A tensor of a checkpoint: dtype, shape, and its values (decoded on first use). */
export class TorchTensor {
  requiresGrad = false;
  private cache: NumericArray | null = null;

  constructor(readonly dtype: TorchDtype, readonly shape: readonly number[], private readonly storage: StorageRef,
    private readonly offset: number, private readonly stride: readonly number[], private readonly ctx: LoadContext) {}

  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** The values in C order: Float32Array for float32/float16/bfloat16, BigInt64Array for int64, and so on. */
  values(): NumericArray {
    if (!this.ctx.storages) throw new TorchCheckpointError(this.ctx.file, "was read without its tensors' data");
    if (this.cache === null) {
      try {
        this.cache = materialise(this, storageValues(this.storage, this.ctx), this.offset, this.stride, this.ctx);
      } catch (e) {
        if (e instanceof FileFormatError) throw e;
        throw new TorchCheckpointError(this.ctx.file, `corrupt tensor data (${(e as Error).message})`);
      }
    }
    return this.cache;
  }

  /** The values as float32 (integers converted). */
  toFloat32(): Float32Array {
    const v = this.values();
    if (v instanceof Float32Array) return v;
    const out = new Float32Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = Number(v[i]);
    return out;
  }
}

function storageValues(s: StorageRef, ctx: LoadContext): NumericArray {
  if (s.root !== undefined) {
    const root = storageValues(s.root, ctx);
    return root.subarray(s.offset!, s.offset! + s.numel) as NumericArray;
  }
  const prior = ctx.decoded.get(s.key);
  if (prior !== undefined) return prior;
  const bytes = ctx.bytesOf(s.key);
  if (bytes === undefined) throw new TorchCheckpointError(ctx.file, `storage ${s.key} is missing from the file`);
  if (bytes.length < s.numel * s.size) throw new TorchCheckpointError(ctx.file, `storage ${s.key} holds ${bytes.length} bytes, its ${s.dtype} x ${s.numel} needs ${s.numel * s.size}`);
  charge(ctx, s.numel * (s.dtype === "float16" || s.dtype === "bfloat16" ? 4 : s.size), `storage ${s.key}`);
  let values: NumericArray;
  if (s.dtype === "bfloat16") {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const out = new Float32Array(s.numel);
    for (let i = 0; i < s.numel; i++) out[i] = bfloat16ToFloat(view.getUint16(2 * i, true));
    values = out;
  } else {
    values = decodeNumeric(bytes, parseDtype(NUMPY_DESCR[s.dtype])!, s.numel);
  }
  ctx.decoded.set(s.key, values);
  return values;
}

function materialise(t: TorchTensor, storage: NumericArray, offset: number, stride: readonly number[], ctx: LoadContext): NumericArray {
  const n = t.numel;
  const shape = t.shape;
  let contiguous = true;
  for (let i = shape.length - 1, expect = 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expect) contiguous = false;
    expect *= shape[i];
  }
  charge(ctx, n * storage.BYTES_PER_ELEMENT, contiguous ? "a tensor" : "a strided tensor view");
  if (contiguous) return storage.slice(offset, offset + n) as NumericArray;
  const out = new (storage.constructor as new (n: number) => NumericArray)(n);
  const idx = new Array<number>(shape.length).fill(0);
  let src = offset;
  for (let o = 0; o < n; o++) {
    (out as { [i: number]: number | bigint })[o] = storage[src];
    for (let a = shape.length - 1; a >= 0; a--) {
      idx[a]++;
      src += stride[a];
      if (idx[a] < shape[a]) break;
      src -= stride[a] * shape[a];
      idx[a] = 0;
    }
  }
  return out;
}

function isIntArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((d) => Number.isInteger(d) && d >= 0);
}

/** The calls that rebuild tensors, bound to one file. */
function torchCalls(ctx: LoadContext): Map<string, PickleCall> {
  const calls = new Map<string, PickleCall>();
  const rebuild = (args: readonly unknown[]): TorchTensor => {
    const [storage, offset, size, stride] = args;
    if (!(storage instanceof Object) || !("key" in (storage as object))) throw new Error("the first argument is not a storage");
    const s = storage as StorageRef;
    if (!Number.isInteger(offset) || (offset as number) < 0) throw new Error(`storage offset ${String(offset)} is not a non-negative integer`);
    if (!isIntArray(size)) throw new Error(`size ${JSON.stringify(size)} is not a tuple of sizes`);
    if (!isIntArray(stride) || stride.length !== size.length) throw new Error(`stride ${JSON.stringify(stride)} does not match size [${size.join(",")}]`);
    const numel = size.reduce((a, b) => a * b, 1);
    if (numel > 0) {
      let last = offset as number;
      for (let i = 0; i < size.length; i++) last += (size[i] - 1) * stride[i];
      if (last >= s.numel) throw new Error(`a view of size [${size.join(",")}], stride [${stride.join(",")}] at offset ${String(offset)} reaches element ${last} of a ${s.numel}-element storage`);
    }
    return new TorchTensor(s.dtype, [...size], s, offset as number, [...stride], ctx);
  };
  calls.set("torch._utils._rebuild_tensor_v2", (a) => {
    const t = rebuild(a);
    t.requiresGrad = a[4] === true;
    return t;
  });
  calls.set("torch._utils._rebuild_tensor", rebuild);
  const parameter = (a: readonly unknown[]) => {
    if (!(a[0] instanceof TorchTensor)) throw new Error("a Parameter of something other than a tensor");
    a[0].requiresGrad = a[1] === true;
    return a[0];
  };
  calls.set("torch._utils._rebuild_parameter", parameter);
  calls.set("torch._utils._rebuild_parameter_with_state", parameter);
  calls.set("torch._tensor._rebuild_from_type_v2", (a) => {
    const [fn, , args] = a;
    if (!(fn instanceof PyGlobal)) throw new Error("no rebuild function");
    const f = calls.get(fn.qualifiedName);
    if (f === undefined || !Array.isArray(args)) throw new Error(`refused to call ${fn.qualifiedName}`);
    return f(args);
  });
  calls.set("torch.Size", (a) => (Array.isArray(a[0]) ? Object.freeze([...a[0]]) : []));
  calls.set("torch.device", (a) => String(a[0]));
  for (const [k, v] of NUMPY_CALLS) calls.set(k, v);
  return calls;
}

/** Turns a persistent id tuple into the storage it names. */
function storageRef(pid: unknown, known: Map<string, StorageRef>, file: string): StorageRef {
  if (!Array.isArray(pid) || pid[0] !== "storage") {
    const kind = Array.isArray(pid) ? String(pid[0]) : typeof pid;
    throw new TorchCheckpointError(file, kind === "module"
      ? "holds a whole pickled nn.Module (its class and source code), not a state dict; load it in PyTorch and save model.state_dict()"
      : `unknown persistent id kind ${JSON.stringify(kind)}`);
  }
  const [, type, key, , numel, view] = pid as unknown[];
  if (!(type instanceof PyGlobal)) throw new TorchCheckpointError(file, "a storage without a storage type");
  const info = STORAGE_TYPES[type.name];
  if (info === undefined) throw new TorchCheckpointError(file, `storage type ${type.qualifiedName} is not supported (supported: ${Object.keys(STORAGE_TYPES).join(", ")})`);
  if (typeof key !== "string") throw new TorchCheckpointError(file, "a storage whose key is not a string");
  if (!Number.isInteger(numel) || (numel as number) < 0) throw new TorchCheckpointError(file, `storage ${key} has element count ${String(numel)}`);
  let ref = known.get(key);
  if (ref === undefined) {
    ref = { key, dtype: info.dtype, size: info.size, numel: numel as number };
    known.set(key, ref);
  } else if (ref.dtype !== info.dtype) {
    throw new TorchCheckpointError(file, `storage ${key} is named as both ${ref.dtype} and ${info.dtype}`);
  }
  if (Array.isArray(view)) {
    const [viewKey, offset, viewSize] = view as unknown[];
    if (typeof viewKey !== "string" || !Number.isInteger(offset) || !Number.isInteger(viewSize) || (offset as number) < 0 || (offset as number) + (viewSize as number) > ref.numel) {
      throw new TorchCheckpointError(file, `storage view ${JSON.stringify(view)} does not fit storage ${key}`);
    }
    return { key: viewKey, dtype: ref.dtype, size: ref.size, numel: viewSize as number, root: ref, offset: offset as number };
  }
  return ref;
}

export interface TorchCheckpoint {
  file: string;
  format: "zip" | "legacy";
  /** The saved object: Maps for dicts (a state dict is a Map of name to TorchTensor), OmegaConf unwrapped. */
  value: unknown;
  /** Classes whose instances were kept as records (PyObject) and not constructed. */
  unconstructed: string[];
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

export interface ReadCheckpointOptions {
  /**
   * false: read the pickle only (configs, names, shapes), not the tensors' data, which then
   * cannot be asked for. Much faster for a first look at many files.
   */
  storages?: boolean;
}

/** Reads a PyTorch checkpoint file; errors name the file and what is wrong. */
export function readTorchCheckpoint(file: string, opts: ReadCheckpointOptions = {}): TorchCheckpoint {
  // The first bytes say what it is: a large file that is neither format is refused unread.
  const head = readFileHead(file, 4);
  if (!isZip(head) && !(head.length >= 2 && head[0] === 0x80)) {
    throw new TorchCheckpointError(file, head.length === 0 ? "empty file" : "not a PyTorch checkpoint (neither a zip archive nor a legacy pickle stream)");
  }
  const bytes = readRegularFile(file);
  return decodeTorchCheckpoint(bytes, file, opts);
}

/** Reads a PyTorch checkpoint from its bytes. */
export function decodeTorchCheckpoint(input: Uint8Array, file: string, opts: ReadCheckpointOptions = {}): TorchCheckpoint {
  const bytes = plainBytes(input);
  const limit = 4 * bytes.length + 2 ** 20;
  const budget = { left: limit, limit };
  const storages = opts.storages ?? true;
  try {
    if (isZip(bytes)) return readZipCheckpoint(bytes, file, budget, storages);
    if (bytes.length >= 2 && bytes[0] === 0x80) return readLegacyCheckpoint(bytes, file, budget, storages);
  } catch (e) {
    if (e instanceof FileFormatError) throw e;
    throw new TorchCheckpointError(file, `corrupt checkpoint (${(e as Error).message})`);
  }
  throw new TorchCheckpointError(file, bytes.length === 0 ? "empty file" : "not a PyTorch checkpoint (neither a zip archive nor a legacy pickle stream)");
}

function finish(file: string, format: TorchCheckpoint["format"], value: unknown, unconstructed: string[]): TorchCheckpoint {
  return {
    file, format,
    value: unwrapOmegaConf(value, file),
    unconstructed: [...new Set(unconstructed.filter((c) => !c.startsWith("omegaconf.")))],
  };
}

function readZipCheckpoint(bytes: Uint8Array, file: string, budget: LoadContext["budget"], storages: boolean): TorchCheckpoint {
  const entries = readZip(bytes, file, budget.left, storages ? undefined : (name) => name.endsWith("data.pkl") || name.endsWith("byteorder"));
  // Stored entries are views of the file; inflated ones are new memory.
  for (const e of entries.values()) if (e.buffer !== bytes.buffer) budget.left -= e.length;
  const pkl = [...entries.keys()].filter((n) => n === "data.pkl" || n.endsWith("/data.pkl")).sort((a, b) => a.length - b.length)[0];
  if (pkl === undefined) throw new TorchCheckpointError(file, "a zip archive without data.pkl: not a PyTorch checkpoint");
  const prefix = pkl.slice(0, pkl.length - "data.pkl".length);
  const order = entries.get(`${prefix}byteorder`);
  if (order !== undefined && Buffer.from(order).toString("latin1").trim() !== "little") {
    throw new TorchCheckpointError(file, `written on a big-endian machine (byteorder "${Buffer.from(order).toString("latin1").trim()}"); only little-endian checkpoints are read`);
  }
  const ctx: LoadContext = { file, bytesOf: (key) => entries.get(`${prefix}data/${key}`), decoded: new Map(), budget, storages };
  const known = new Map<string, StorageRef>();
  const { value, unconstructed } = unpickle(entries.get(pkl)!, {
    file, calls: torchCalls(ctx), build: buildNumpy,
    persistentLoad: (pid) => {
      const ref = storageRef(pid, known, file);
      if (!storages) return ref;
      const root = ref.root ?? ref;
      const data = ctx.bytesOf(root.key);
      if (data === undefined) throw new TorchCheckpointError(file, `storage record ${prefix}data/${root.key} is missing`);
      if (data.length !== root.numel * root.size) throw new TorchCheckpointError(file, `storage record ${prefix}data/${root.key} holds ${data.length} bytes, but its ${root.dtype} x ${root.numel} needs ${root.numel * root.size}`);
      return ref;
    },
  });
  return finish(file, "zip", value, unconstructed);
}

function readLegacyCheckpoint(bytes: Uint8Array, file: string, budget: LoadContext["budget"], storages: boolean): TorchCheckpoint {
  const plain = (offset: number) => unpickle(bytes, { file, offset });
  const magic = plain(0);
  if (magic.value !== LEGACY_MAGIC) throw new TorchCheckpointError(file, "a pickle, but not a PyTorch checkpoint (no torch magic number)");
  const version = plain(magic.end);
  if (version.value !== 1001) throw new TorchCheckpointError(file, `legacy checkpoint protocol ${String(version.value)} is not supported (expected 1001)`);
  const sysInfo = plain(version.end);
  if (sysInfo.value instanceof Map && sysInfo.value.get("little_endian") === false) {
    throw new TorchCheckpointError(file, "written on a big-endian machine; only little-endian checkpoints are read");
  }
  const storageBytes = new Map<string, Uint8Array>();
  const ctx: LoadContext = { file, bytesOf: (key) => storageBytes.get(key), decoded: new Map(), budget, storages };
  const known = new Map<string, StorageRef>();
  const main = unpickle(bytes, {
    file, offset: sysInfo.end, calls: torchCalls(ctx), build: buildNumpy,
    persistentLoad: (pid) => storageRef(pid, known, file),
  });
  if (!storages) return finish(file, "legacy", main.value, main.unconstructed);
  const keys = plain(main.end);
  if (!Array.isArray(keys.value)) throw new TorchCheckpointError(file, "the storage key list is not a list");
  let pos = keys.end;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const key of keys.value as unknown[]) {
    const ref = typeof key === "string" ? known.get(key) : undefined;
    if (ref === undefined) throw new TorchCheckpointError(file, `the storage key list names ${JSON.stringify(key)}, which no tensor uses`);
    if (pos + 8 > bytes.length) throw new TorchCheckpointError(file, `truncated: storage ${ref.key} should start at byte ${pos} of ${bytes.length}`);
    const count = view.getBigInt64(pos, true);
    pos += 8;
    if (count !== BigInt(ref.numel)) throw new TorchCheckpointError(file, `storage ${ref.key} holds ${count} elements but its tensors declared ${ref.numel}`);
    const n = ref.numel * ref.size;
    if (pos + n > bytes.length) throw new TorchCheckpointError(file, `truncated: storage ${ref.key} needs ${n} bytes at byte ${pos}, the file has ${bytes.length - pos} left`);
    storageBytes.set(ref.key, bytes.subarray(pos, pos + n));
    pos += n;
  }
  for (const ref of known.values()) {
    if (!storageBytes.has(ref.key)) throw new TorchCheckpointError(file, `storage ${ref.key} is used by a tensor but its data is missing`);
  }
  return finish(file, "legacy", main.value, main.unconstructed);
}

export { PickleError };
