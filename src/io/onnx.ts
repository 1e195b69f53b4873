// Reading ONNX models: the ModelProto of onnx/onnx.proto, decoded with protobufjs, then checked
// before anything is built from it. Every tensor's size is checked against the bytes the file
// (or its external-data file) really holds before it is allocated; external data is read only
// from inside the model's own folder; the graph is put in order and refused, with a named
// error, when a value is used that nothing defines, when its nodes form a cycle, when its
// opset is one probegen does not know, or when a shape is absurd.
import { closeSync, readSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import type Long from "long";
import { FileFormatError } from "../file-error.js";
import { bfloat16ToFloat, halfToFloat } from "./numpy-dtype.js";
import { isInside } from "./paths.js";
import { openRegularFile, readRegularFile } from "./read-file.js";
import { ModelProtoType, ONNX_ATTRIBUTE_TYPES, ONNX_DTYPES, type OnnxDtype, type OnnxDtypeCode } from "./onnx-schema.js";

export class OnnxFormatError extends FileFormatError {}

/** The largest ONNX model file read whole (protobuf's own limit is 2 GiB; larger models keep their weights in external data). */
export const MAX_ONNX_BYTES = 2 ** 31 - 1;
/** The newest default-domain opset probegen knows; newer models are refused by name. */
export const MAX_OPSET = 23;
/** Bounds past which a tensor or a declared shape is absurd rather than large. */
export const MAX_TENSOR_ELEMENTS = 2 ** 31 - 1;
export const MAX_RANK = 32;

export interface OnnxTensor {
  name: string;
  dtype: OnnxDtype;
  dims: number[];
  /**
   * The values: floating types (float16, bfloat16, float64 too) as float32, which is what the
   * engine computes in; integer and bool types as float64, exact to 2^53 (shape arithmetic, and
   * Slice's INT64_MAX for "to the end" keeps its magnitude).
   */
  data: Float32Array | Float64Array;
  /** Read from an external-data file beside the model (not set for inline values). */
  external?: true;
}

export type OnnxAttribute =
  | { kind: "float"; value: number }
  | { kind: "int"; value: number }
  | { kind: "string"; value: string }
  | { kind: "tensor"; value: OnnxTensor }
  | { kind: "floats"; value: number[] }
  | { kind: "ints"; value: number[] }
  | { kind: "strings"; value: string[] }
  /** A subgraph (If, Loop, Scan) or a kind probegen does not read: kept by name only. */
  | { kind: "other"; type: string };

export interface OnnxNode {
  /** The node's name, or `<op_type>#<index>` when it has none. */
  name: string;
  opType: string;
  /** "" for the default ONNX domain. */
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Map<string, OnnxAttribute>;
}

/** A declared value: its element type and shape, each dimension a size, a symbol (dynamic), or null (unknown). */
export interface OnnxValueInfo {
  name: string;
  dtype: OnnxDtype | null;
  shape: (number | string | null)[] | null;
}

export interface OnnxGraph {
  name: string;
  /** In an order where every node comes after the nodes it reads. */
  nodes: OnnxNode[];
  initializers: Map<string, OnnxTensor>;
  /** The graph's inputs that are not initializers: what the caller feeds. */
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  valueInfo: Map<string, OnnxValueInfo>;
}

export interface OnnxModel {
  file: string;
  irVersion: number;
  /** Opset version per domain ("" is the default ONNX domain). */
  opsets: Map<string, number>;
  producer: string;
  graph: OnnxGraph;
}

/** Reads and checks an ONNX model file; external data is looked up beside it. */
export function readOnnx(file: string): OnnxModel {
  return parseOnnx(readRegularFile(file, MAX_ONNX_BYTES), file);
}

type Int64 = number | Long;
const num = (v: Int64 | null | undefined): number => (v === null || v === undefined ? 0 : typeof v === "number" ? v : v.toNumber());

interface RawTensor {
  dims?: Int64[]; dataType?: number; name?: string; rawData?: Uint8Array; dataLocation?: number;
  floatData?: number[]; int32Data?: number[]; int64Data?: Int64[]; doubleData?: number[]; uint64Data?: Int64[];
  stringData?: Uint8Array[]; externalData?: { key?: string; value?: string }[];
}
interface RawAttribute {
  name?: string; type?: number; f?: number; i?: Int64; s?: Uint8Array; t?: RawTensor; g?: unknown;
  floats?: number[]; ints?: Int64[]; strings?: Uint8Array[]; tensors?: RawTensor[]; graphs?: unknown[];
}
interface RawNode { input?: string[]; output?: string[]; name?: string; opType?: string; domain?: string; attribute?: RawAttribute[] }
interface RawDim { dimValue?: Int64; dimParam?: string }
interface RawValueInfo { name?: string; type?: { tensorType?: { elemType?: number; shape?: { dim?: RawDim[] } }; sequenceType?: unknown; mapType?: unknown } }
interface RawGraph {
  node?: RawNode[]; name?: string; initializer?: RawTensor[]; sparseInitializer?: unknown[];
  input?: RawValueInfo[]; output?: RawValueInfo[]; valueInfo?: RawValueInfo[];
}
interface RawModel { irVersion?: Int64; opsetImport?: { domain?: string; version?: Int64 }[]; producerName?: string; producerVersion?: string; graph?: RawGraph }

/** Decodes and checks a model's bytes; `file` names it in errors and locates its external data. */
export function parseOnnx(bytes: Uint8Array, file: string): OnnxModel {
  const fail = (detail: string): never => { throw new OnnxFormatError(file, detail); };
  let raw: RawModel;
  try {
    raw = ModelProtoType.decode(bytes) as unknown as RawModel;
  } catch (e) {
    // A message nested past the stack's depth is a hostile file, not a model.
    if (e instanceof RangeError && /call stack/i.test(e.message)) fail("is not an ONNX model: its messages are nested too deeply");
    fail(`is not an ONNX model (protobuf: ${(e as Error).message})`);
  }
  const g = raw!.graph;
  if (g === undefined || g === null) fail("is not an ONNX model: it has no graph");
  const opsets = new Map<string, number>();
  for (const o of raw!.opsetImport ?? []) {
    const domain = o.domain === "ai.onnx" ? "" : o.domain ?? "";
    opsets.set(domain, num(o.version));
  }
  const irVersion = num(raw!.irVersion);
  // Before IR version 3 a model had no opset_import, and opset 1 was implied.
  if (!opsets.has("") && irVersion < 3) opsets.set("", 1);
  const opset = opsets.get("");
  if (opset === undefined) fail("imports no default-domain ONNX opset (opset_import has no \"\" or \"ai.onnx\" entry)");
  if (!Number.isInteger(opset) || opset! < 1) fail(`declares ONNX opset ${opset}, which is not a version`);
  if (opset! > MAX_OPSET) fail(`uses ONNX opset ${opset}, newer than the ${MAX_OPSET} probegen knows; export it at opset ${MAX_OPSET} or lower`);
  const dir = dirname(file);
  const graph = readGraph(g!, file, dir);
  return { file, irVersion, opsets, producer: [raw!.producerName, raw!.producerVersion].filter((s) => s).join(" "), graph };
}

function readGraph(g: RawGraph, file: string, dir: string): OnnxGraph {
  const fail = (detail: string): never => { throw new OnnxFormatError(file, detail); };
  if ((g.sparseInitializer?.length ?? 0) > 0) fail("holds sparse initializers, which probegen does not read");
  const initializers = new Map<string, OnnxTensor>();
  for (const t of g.initializer ?? []) {
    const tensor = readTensor(t, file, dir);
    if (tensor.name === "") fail("has an initializer with no name");
    if (initializers.has(tensor.name)) fail(`has two initializers named '${tensor.name}'`);
    initializers.set(tensor.name, tensor);
  }
  const declared = (v: RawValueInfo, where: string) => readValueInfo(v, file, where);
  const allInputs = (g.input ?? []).map((v) => declared(v, "graph input"));
  const inputs = allInputs.filter((v) => !initializers.has(v.name));
  const outputs = (g.output ?? []).map((v) => declared(v, "graph output"));
  const valueInfo = new Map((g.valueInfo ?? []).map((v) => { const d = declared(v, "value_info"); return [d.name, d] as const; }));
  if (outputs.length === 0) fail("has a graph with no outputs");
  const nodes = (g.node ?? []).map((n, i) => readNode(n, i, file, dir));
  return { name: g.name ?? "", nodes: sortNodes(nodes, new Set([...inputs.map((v) => v.name), ...initializers.keys()]), outputs, file), initializers, inputs, outputs, valueInfo };
}

/**
 * The nodes in an order where each comes after what it reads (the spec asks files to be sorted;
 * some exporters are not). A value read that nothing defines, a value defined twice, and a cycle
 * are errors, named.
 */
function sortNodes(nodes: OnnxNode[], defined: Set<string>, outputs: OnnxValueInfo[], file: string): OnnxNode[] {
  const fail = (detail: string): never => { throw new OnnxFormatError(file, detail); };
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => {
    for (const o of n.outputs) {
      if (o === "") continue;
      if (defined.has(o)) fail(`node ${n.name} (${n.opType}) writes '${o}', which is a graph input or initializer`);
      if (producer.has(o)) fail(`'${o}' is written by two nodes: ${nodes[producer.get(o)!].name} and ${n.name}`);
      producer.set(o, i);
    }
  });
  const waiting = new Int32Array(nodes.length);
  const readers = new Map<number, number[]>();
  nodes.forEach((n, i) => {
    for (const v of n.inputs) {
      if (v === "" || defined.has(v)) continue;
      const p = producer.get(v);
      if (p === undefined) fail(`node ${n.name} (${n.opType}) reads '${v}', which no node, graph input or initializer defines`);
      waiting[i]++;
      readers.set(p!, [...(readers.get(p!) ?? []), i]);
    }
  });
  // Kahn's algorithm, taking ready nodes in file order so a sorted file keeps its order.
  const order: OnnxNode[] = [];
  const ready: number[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) if (waiting[i] === 0) ready.push(i);
  while (ready.length > 0) {
    const i = ready.pop()!;
    order.push(nodes[i]);
    const next: number[] = [];
    for (const r of readers.get(i) ?? []) if (--waiting[r] === 0) next.push(r);
    ready.push(...next.sort((a, b) => b - a));
    ready.sort((a, b) => b - a);
  }
  if (order.length < nodes.length) {
    const stuck = nodes.filter((_, i) => waiting[i] > 0).slice(0, 4).map((n) => `${n.name} (${n.opType})`);
    fail(`its nodes form a cycle (through ${stuck.join(", ")}${nodes.length - order.length > 4 ? ", ..." : ""})`);
  }
  for (const o of outputs) if (!defined.has(o.name) && !producer.has(o.name)) fail(`graph output '${o.name}' is written by no node`);
  return order;
}

function readNode(n: RawNode, index: number, file: string, dir: string): OnnxNode {
  const opType = n.opType ?? "";
  const name = n.name !== undefined && n.name !== "" ? n.name : `${opType || "node"}#${index}`;
  if (opType === "") throw new OnnxFormatError(file, `node ${name} has no op_type`);
  const attributes = new Map<string, OnnxAttribute>();
  for (const a of n.attribute ?? []) {
    const attrName = a.name ?? "";
    if (attrName === "") throw new OnnxFormatError(file, `node ${name} (${opType}) has an attribute with no name`);
    attributes.set(attrName, readAttribute(a, `node ${name} (${opType}) attribute ${attrName}`, file, dir));
  }
  return { name, opType, domain: n.domain === "ai.onnx" ? "" : n.domain ?? "", inputs: n.input ?? [], outputs: n.output ?? [], attributes };
}

const utf8 = new TextDecoder("utf-8", { fatal: false });

function readAttribute(a: RawAttribute, where: string, file: string, dir: string): OnnxAttribute {
  const type = ONNX_ATTRIBUTE_TYPES[(a.type ?? 0) as keyof typeof ONNX_ATTRIBUTE_TYPES];
  switch (type) {
    case "float": return { kind: "float", value: a.f ?? 0 };
    case "int": return { kind: "int", value: num(a.i) };
    case "string": return { kind: "string", value: utf8.decode(a.s ?? new Uint8Array()) };
    case "tensor":
      if (a.t === undefined) throw new OnnxFormatError(file, `${where} is a tensor attribute with no tensor`);
      return { kind: "tensor", value: readTensor(a.t, file, dir) };
    case "floats": return { kind: "floats", value: [...(a.floats ?? [])] };
    case "ints": return { kind: "ints", value: (a.ints ?? []).map(num) };
    case "strings": return { kind: "strings", value: (a.strings ?? []).map((s) => utf8.decode(s)) };
    case undefined: {
      // IR version 1 had no type field: the one value field present says it.
      if (a.type === undefined || a.type === 0) {
        if (a.t !== undefined) return { kind: "tensor", value: readTensor(a.t, file, dir) };
        if ((a.ints?.length ?? 0) > 0) return { kind: "ints", value: a.ints!.map(num) };
        if ((a.floats?.length ?? 0) > 0) return { kind: "floats", value: [...a.floats!] };
        if (a.s !== undefined && a.s.length > 0) return { kind: "string", value: utf8.decode(a.s) };
        if (a.i !== undefined) return { kind: "int", value: num(a.i) };
        if (a.f !== undefined) return { kind: "float", value: a.f };
      }
      throw new OnnxFormatError(file, `${where} has attribute type ${a.type}, which ONNX does not define`);
    }
    default: return { kind: "other", type };
  }
}

function readValueInfo(v: RawValueInfo, file: string, where: string): OnnxValueInfo {
  const name = v.name ?? "";
  if (name === "") throw new OnnxFormatError(file, `a ${where} has no name`);
  const t = v.type?.tensorType;
  if (t === undefined) return { name, dtype: null, shape: null };
  const dtype = ONNX_DTYPES[t.elemType as OnnxDtypeCode]?.name ?? null;
  if (t.shape === undefined || t.shape === null) return { name, dtype, shape: null };
  const dims = t.shape.dim ?? [];
  if (dims.length > MAX_RANK) throw new OnnxFormatError(file, `${where} '${name}' has rank ${dims.length}, more than ${MAX_RANK}`);
  const shape = dims.map((d): number | string | null => {
    if (d.dimParam !== undefined && d.dimParam !== "") return d.dimParam;
    if (d.dimValue === undefined || d.dimValue === null) return null;
    const n = num(d.dimValue);
    if (!Number.isSafeInteger(n) || n < 0 || n > MAX_TENSOR_ELEMENTS) throw new OnnxFormatError(file, `${where} '${name}' declares a dimension of ${n}`);
    return n;
  });
  return { name, dtype, shape };
}

/** A tensor's dims, checked: non-negative, a product within MAX_TENSOR_ELEMENTS. */
function tensorDims(t: RawTensor, name: string, file: string): { dims: number[]; count: number } {
  const dims = (t.dims ?? []).map(num);
  if (dims.length > MAX_RANK) throw new OnnxFormatError(file, `tensor '${name}' has rank ${dims.length}, more than ${MAX_RANK}`);
  let count = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new OnnxFormatError(file, `tensor '${name}' has a dimension of ${d}`);
    count *= d;
    if (count > MAX_TENSOR_ELEMENTS) throw new OnnxFormatError(file, `tensor '${name}' of shape [${dims.join(",")}] has more than ${MAX_TENSOR_ELEMENTS} elements`);
  }
  return { dims, count };
}

function readTensor(t: RawTensor, file: string, dir: string): OnnxTensor {
  const name = t.name ?? "";
  const fail = (detail: string): never => { throw new OnnxFormatError(file, `tensor '${name}' ${detail}`); };
  const code = (t.dataType ?? 0) as OnnxDtypeCode;
  const kind = ONNX_DTYPES[code];
  if (kind === undefined) fail(t.dataType === 8 ? "holds strings, which probegen does not read" : `has data type ${t.dataType}, which probegen does not read`);
  const { dims, count } = tensorDims(t, name, file);
  const float = kind!.name === "float32" || kind!.name === "float16" || kind!.name === "bfloat16" || kind!.name === "float64";
  // The values' size is checked against the bytes present before the values are allocated: a
  // shape of 2^31 elements over a few bytes of data must not reserve gigabytes.
  const allocate = () => (float ? new Float32Array(count) : new Float64Array(count));
  const external = t.dataLocation === 1 || (t.externalData?.length ?? 0) > 0;
  const raw = external ? readExternal(t, count * kind!.bytes, file, dir, name) : t.rawData;
  if (raw !== undefined && raw.length > 0) {
    if (raw.length !== count * kind!.bytes) fail(`of shape [${dims.join(",")}] needs ${count * kind!.bytes} bytes of ${kind!.name}, and holds ${raw.length}`);
    const out = allocate();
    decodeRaw(raw, kind!.name, out);
    return { name, dtype: kind!.name, dims, data: out, ...(external ? { external: true as const } : {}) };
  }
  // Values in the typed fields: which one depends on the type (onnx.proto's TensorProto).
  const field: ArrayLike<number | Long> | undefined =
    kind!.name === "float32" ? t.floatData :
    kind!.name === "float64" ? t.doubleData :
    kind!.name === "int64" ? t.int64Data :
    kind!.name === "uint32" || kind!.name === "uint64" ? t.uint64Data : t.int32Data;
  const values = field ?? [];
  if (values.length !== count) fail(`of shape [${dims.join(",")}] needs ${count} values, and holds ${values.length}`);
  const out = allocate();
  for (let i = 0; i < count; i++) {
    const v = num(values[i] as Int64);
    out[i] = kind!.name === "float16" ? halfToFloat(v & 0xffff) : kind!.name === "bfloat16" ? bfloat16ToFloat(v & 0xffff) : v;
  }
  return { name, dtype: kind!.name, dims, data: out };
}

function decodeRaw(raw: Uint8Array, dtype: OnnxDtype, out: Float32Array | Float64Array): void {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const n = out.length;
  switch (dtype) {
    case "float32": for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true); break;
    case "float64": for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true); break;
    case "float16": for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(2 * i, true)); break;
    case "bfloat16": for (let i = 0; i < n; i++) out[i] = bfloat16ToFloat(view.getUint16(2 * i, true)); break;
    case "int8": for (let i = 0; i < n; i++) out[i] = view.getInt8(i); break;
    case "uint8": case "bool": for (let i = 0; i < n; i++) out[i] = view.getUint8(i); break;
    case "int16": for (let i = 0; i < n; i++) out[i] = view.getInt16(2 * i, true); break;
    case "uint16": for (let i = 0; i < n; i++) out[i] = view.getUint16(2 * i, true); break;
    case "int32": for (let i = 0; i < n; i++) out[i] = view.getInt32(4 * i, true); break;
    case "uint32": for (let i = 0; i < n; i++) out[i] = view.getUint32(4 * i, true); break;
    case "int64": for (let i = 0; i < n; i++) out[i] = Number(view.getBigInt64(8 * i, true)); break;
    case "uint64": for (let i = 0; i < n; i++) out[i] = Number(view.getBigUint64(8 * i, true)); break;
  }
}

/** A tensor's bytes from its external-data file: a file inside the model's folder, the range inside the file. */
function readExternal(t: RawTensor, bytes: number, file: string, dir: string, name: string): Uint8Array {
  const fail = (detail: string): never => { throw new OnnxFormatError(file, `tensor '${name}' ${detail}`); };
  const entries = new Map((t.externalData ?? []).map((e) => [e.key ?? "", e.value ?? ""]));
  const location = entries.get("location");
  if (location === undefined || location === "") fail("is stored externally but names no location");
  if (isAbsolute(location!) || location!.includes("\0")) fail(`names external data at '${location}': it must be a path relative to the model's folder`);
  const path = join(dir, location!);
  if (!isInside(dir, path)) fail(`names external data at '${location}', outside the model's folder ${dir}; refusing to read it`);
  const integer = (key: string, fallback: number): number => {
    const v = entries.get(key);
    if (v === undefined) return fallback;
    if (!/^\d{1,15}$/.test(v)) fail(`has external-data ${key} '${v}', which is not a byte count`);
    return Number(v);
  };
  const offset = integer("offset", 0), length = integer("length", bytes);
  if (length !== bytes) fail(`needs ${bytes} bytes, and its external data says ${length}`);
  let opened: { fd: number; size: number };
  try {
    opened = openRegularFile(path);
  } catch (e) {
    return fail(`names external data that cannot be read: ${(e as Error).message}`);
  }
  const { fd, size } = opened;
  try {
    if (offset + length > size) fail(`reads bytes ${offset} to ${offset + length} of ${path}, which has ${size}`);
    const out = new Uint8Array(length);
    let at = 0;
    while (at < length) {
      const got = readSync(fd, out, at, length - at, offset + at);
      if (got === 0) fail(`external data ${path} shrank while being read`);
      at += got;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}
