// A pickle machine that builds data and never executes code. It reads protocols 0-5 and makes
// Python's data types into JavaScript values:
//   None -> null, bool -> boolean, int -> number (bigint beyond 2^53), float -> number,
//   str -> string, bytes/bytearray -> Uint8Array, list -> Array, tuple -> frozen Array,
//   dict -> Map (insertion order, as Python's), set/frozenset -> Set.
// A global that is only referred to (e.g. torch.FloatStorage) becomes a PyGlobal. A call (REDUCE)
// is performed only for globals on the allow-list: a few builtins here, plus whatever the caller
// adds (tensor rebuilders, NumPy). Any other call fails, naming the global, as PyTorch's
// weights_only loader does. An instance of a class made by NEWOBJ/INST/OBJ is a PyObject holding
// the class name, its arguments and the state BUILD gave it: no constructor or __setstate__ runs.
//
// Written here rather than taken from a library: no JavaScript unpickler keeps to an allow-list,
// and reading untrusted checkpoints safely is the point. Every length read from the stream is
// checked against the bytes that remain, so a pickle of N bytes never makes this allocate much
// more than N.
import { FileFormatError } from "../file-error.js";
import { copyBytes, plainBytes } from "./bytes.js";

export class PickleError extends FileFormatError {}

/** A reference to a Python global (module.name) that was never called. */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualifiedName(): string { return `${this.module}.${this.name}`; }
  toString(): string { return this.qualifiedName; }
}

/** An instance of a class that was not constructed: its class, constructor arguments and state. */
export class PyObject {
  state: unknown = undefined;
  constructor(readonly className: string, readonly args: readonly unknown[]) {}
}

/** Attributes BUILD set on a value that is not a PyObject (e.g. an OrderedDict's _metadata). */
export const pyAttributes = new WeakMap<object, Map<unknown, unknown>>();

/** A callable on the allow-list: receives the call's arguments, returns the value. */
export type PickleCall = (args: readonly unknown[]) => unknown;

export interface UnpickleOptions {
  /** File the bytes came from, for errors. */
  file: string;
  /** Extra allowed calls by qualified name (module.name), e.g. "torch._utils._rebuild_tensor_v2". */
  calls?: ReadonlyMap<string, PickleCall>;
  /** Resolves a persistent id (PyTorch's storages). Without it a persistent id is an error. */
  persistentLoad?: (pid: unknown) => unknown;
  /** Applies BUILD's state to a value a call made (e.g. a NumPy array); return false to fall through. */
  build?: (target: unknown, state: unknown) => boolean;
  /** Where to start in the bytes (0). */
  offset?: number;
}

export interface UnpickleResult {
  value: unknown;
  /** Byte just past the STOP opcode. */
  end: number;
  /** Qualified names of the classes of the PyObjects made (not constructed). */
  unconstructed: string[];
}

/** Python 2 names of builtins, as pickles written by Python 2-era code carry them. */
const MODULE_ALIASES: Record<string, string> = { __builtin__: "builtins", copy_reg: "copyreg" };

function canonical(module: string, name: string): string {
  return `${MODULE_ALIASES[module] ?? module}.${name}`;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** ASCII text (names, keys) is most of a checkpoint's strings: decoded without the UTF-8 decoder. */
function isAscii(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] > 0x7f) return false;
  return true;
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

function tuple(items: unknown[]): readonly unknown[] {
  return Object.freeze(items);
}

function pairsToMap(items: unknown, what: string): Map<unknown, unknown> {
  const m = new Map<unknown, unknown>();
  if (items === undefined || items === null) return m;
  if (items instanceof Map) return new Map(items);
  if (!Array.isArray(items)) throw new Error(`${what} needs a mapping or a list of pairs`);
  for (const p of items) {
    if (!Array.isArray(p) || p.length !== 2) throw new Error(`${what} needs (key, value) pairs`);
    m.set(p[0], p[1]);
  }
  return m;
}

/** Builtin calls any pickle of plain data may make. */
const BUILTIN_CALLS = new Map<string, PickleCall>([
  ["collections.OrderedDict", (a) => pairsToMap(a[0], "OrderedDict")],
  ["builtins.dict", (a) => pairsToMap(a[0], "dict")],
  ["collections.defaultdict", () => new Map()],
  ["builtins.list", (a) => (a.length === 0 ? [] : Array.isArray(a[0]) ? [...a[0]] : fail("list() of a non-list"))],
  ["builtins.tuple", (a) => tuple(a.length === 0 ? [] : Array.isArray(a[0]) ? [...a[0]] : fail("tuple() of a non-list"))],
  ["builtins.set", (a) => new Set(a.length === 0 ? [] : Array.isArray(a[0]) ? a[0] : fail("set() of a non-list"))],
  ["builtins.frozenset", (a) => new Set(a.length === 0 ? [] : Array.isArray(a[0]) ? a[0] : fail("frozenset() of a non-list"))],
  ["builtins.bytearray", (a) => (a.length === 0 ? new Uint8Array(0) : a[0] instanceof Uint8Array ? copyBytes(a[0], a[0].length) : fail("bytearray() of a non-bytes value"))],
  ["builtins.bytes", (a) => (a.length === 0 ? new Uint8Array(0) : a[0] instanceof Uint8Array ? a[0] : fail("bytes() of a non-bytes value"))],
  ["_codecs.encode", (a) => {
    const [s, enc] = a;
    if (typeof s !== "string") return fail("_codecs.encode of a non-string");
    const e = String(enc ?? "utf-8").toLowerCase().replace(/_/g, "-");
    if (e === "latin1" || e === "latin-1" || e === "iso-8859-1") {
      const out = new Uint8Array(s.length);
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c > 255) return fail("_codecs.encode: character outside latin-1");
        out[i] = c;
      }
      return out;
    }
    if (e === "utf-8" || e === "utf8") return new TextEncoder().encode(s);
    return fail(`_codecs.encode with encoding ${JSON.stringify(enc)}`);
  }],
  // Protocol 0/1 pickles of new-style instances: copyreg._reconstructor(cls, object, None).
  ["copyreg._reconstructor", (a) => {
    const cls = a[0];
    if (!(cls instanceof PyGlobal)) return fail("copyreg._reconstructor of a non-class");
    return new PyObject(cls.qualifiedName, []);
  }],
]);

function fail(detail: string): never {
  throw new Error(detail);
}

/**
 * Runs the pickle in `bytes` from `offset` to its STOP opcode and returns the value.
 * Errors are PickleErrors naming the file and the byte offset.
 */
export function unpickle(input: Uint8Array, opts: UnpickleOptions): UnpickleResult {
  const file = opts.file;
  const bytes = plainBytes(input);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = opts.offset ?? 0;
  let opPos = pos;
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  const unconstructed: string[] = [];
  const calls = opts.calls;

  const error = (detail: string): PickleError => new PickleError(file, `pickle at byte ${opPos}: ${detail}`);
  const need = (n: number | bigint): number => {
    if (typeof n === "bigint" || n < 0 || n > bytes.length - pos) {
      throw error(`truncated or corrupt: needs ${n} bytes, ${bytes.length - pos} remain`);
    }
    return Number(n);
  };
  const take = (n: number | bigint): Uint8Array => {
    const k = need(n);
    const out = bytes.subarray(pos, pos + k);
    pos += k;
    return out;
  };
  const takeCopy = (n: number | bigint): Uint8Array => { const b = take(n); return copyBytes(b, b.length); };
  const u8 = () => { need(1); return bytes[pos++]; };
  const u16 = () => { need(2); const v = view.getUint16(pos, true); pos += 2; return v; };
  const i32 = () => { need(4); const v = view.getInt32(pos, true); pos += 4; return v; };
  const u32 = () => { need(4); const v = view.getUint32(pos, true); pos += 4; return v; };
  const u64 = () => { need(8); const v = view.getBigUint64(pos, true); pos += 8; return v; };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) throw error("truncated: a text argument has no end of line");
    const s = latin1(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): unknown => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1])) throw error("stack underflow");
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1])) throw error("stack underflow");
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const k = marks.pop();
    if (k === undefined) throw error("no MARK on the stack");
    return stack.splice(k);
  };
  const str = (b: Uint8Array): string => {
    if (b.length < 256 && isAscii(b)) return latin1(b);
    try {
      return utf8.decode(b);
    } catch {
      throw error("a string is not valid UTF-8");
    }
  };
  const decodeLong = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const globalOf = (module: string, name: string): PyGlobal => {
    if (module.length === 0 || name.length === 0) throw error("empty global name");
    return new PyGlobal(module, name);
  };
  const call = (fn: unknown, args: unknown): unknown => {
    if (!(fn instanceof PyGlobal)) throw error(`call of a value that is not an allowed global (${describe(fn)})`);
    if (!Array.isArray(args)) throw error(`call of ${fn.qualifiedName} without an argument tuple`);
    const name = canonical(fn.module, fn.name);
    const f = calls?.get(name) ?? calls?.get(fn.qualifiedName) ?? BUILTIN_CALLS.get(name);
    if (f === undefined) throw error(`refused to call ${fn.qualifiedName}: it is not on the allow-list of data constructors (nothing was executed)`);
    try {
      return f(args);
    } catch (e) {
      if (e instanceof FileFormatError) throw e;
      throw error(`${fn.qualifiedName}: ${(e as Error).message}`);
    }
  };
  const instantiate = (cls: unknown, args: readonly unknown[]): unknown => {
    if (!(cls instanceof PyGlobal)) throw error(`NEWOBJ of a value that is not a class (${describe(cls)})`);
    const name = canonical(cls.module, cls.name);
    // Classes whose instances are plain data are built as such; every other class stays a record.
    if (name === "collections.OrderedDict" || name === "builtins.dict" || name === "collections.defaultdict") return new Map();
    if (name === "builtins.list") return [];
    if (name === "builtins.set" || name === "builtins.frozenset") return new Set();
    if (name === "builtins.object") return new PyObject(name, args);
    unconstructed.push(cls.qualifiedName);
    return new PyObject(cls.qualifiedName, args);
  };
  const setItems = (target: unknown, items: unknown[]) => {
    if (items.length % 2 !== 0) throw error("SETITEMS with an odd number of items");
    if (target instanceof Map) {
      for (let i = 0; i < items.length; i += 2) target.set(hashable(items[i]), items[i + 1]);
    } else if (target instanceof PyObject) {
      // A dict subclass we do not construct: keep its items as its state's "items".
      const s = (target.state ??= new Map<unknown, unknown>()) as Map<unknown, unknown>;
      if (!(s instanceof Map)) throw error(`SETITEMS on ${target.className} whose state is not a mapping`);
      for (let i = 0; i < items.length; i += 2) s.set(hashable(items[i]), items[i + 1]);
    } else {
      throw error(`SETITEM on a ${describe(target)}`);
    }
  };
  const appendItems = (target: unknown, items: unknown[]) => {
    if (Array.isArray(target) && !Object.isFrozen(target)) for (const x of items) target.push(x);
    else if (target instanceof Set) for (const x of items) target.add(x);
    else if (target instanceof PyObject) {
      const s = (target.state ??= []) as unknown[];
      if (!Array.isArray(s)) throw error(`APPEND on ${target.className} whose state is not a list`);
      for (const x of items) s.push(x);
    } else throw error(`APPEND on a ${describe(target)}`);
  };
  const build = (target: unknown, state: unknown) => {
    if (opts.build?.(target, state)) return;
    if (target instanceof PyObject) {
      target.state = target.state instanceof Map && state instanceof Map ? new Map([...target.state, ...state]) : state;
      return;
    }
    if (target !== null && typeof target === "object") {
      // Python sets these as attributes (or a slot state pair); keep them beside the value.
      const attrs = pyAttributes.get(target) ?? new Map<unknown, unknown>();
      const parts = Array.isArray(state) && state.length === 2 ? state : [state];
      for (const part of parts) if (part instanceof Map) for (const [k, v] of part) attrs.set(k, v);
      pyAttributes.set(target, attrs);
      return;
    }
    throw error(`BUILD on a ${describe(target)}`);
  };

  if (pos >= bytes.length) throw new PickleError(file, "empty: no pickle data");
  try {
    return run();
  } catch (e) {
    // Whatever a corrupt stream provokes (say, a structure too deep to compare) is this file's error.
    if (e instanceof FileFormatError) throw e;
    throw error(`corrupt pickle (${(e as Error).message})`);
  }

  function run(): UnpickleResult {
    for (;;) {
      opPos = pos;
      if (pos >= bytes.length) throw error("truncated: the pickle ends before its STOP opcode");
      const op = bytes[pos++];
      switch (op) {
        case 0x80: { // PROTO
          const p = u8();
          if (p > 5) throw error(`pickle protocol ${p} is newer than 5`);
          break;
        }
        case 0x95: u64(); break; // FRAME: a hint; the data follows inline
        case 0x2e: { // STOP
          if (stack.length !== 1 || marks.length !== 0) throw error(`STOP with ${stack.length} values on the stack`);
          return { value: stack[0], end: pos, unconstructed };
        }
        // Constants and numbers.
        case 0x4e: stack.push(null); break; // NONE
        case 0x88: stack.push(true); break; // NEWTRUE
        case 0x89: stack.push(false); break; // NEWFALSE
        case 0x4b: stack.push(u8()); break; // BININT1
        case 0x4d: stack.push(u16()); break; // BININT2
        case 0x4a: stack.push(i32()); break; // BININT
        case 0x8a: stack.push(decodeLong(take(u8()))); break; // LONG1
        case 0x8b: { // LONG4
          const n = i32();
          if (n < 0) throw error("LONG4 with a negative length");
          stack.push(decodeLong(take(n)));
          break;
        }
        case 0x47: { need(8); stack.push(view.getFloat64(pos, false)); pos += 8; break; } // BINFLOAT (big-endian)
        case 0x49: { // INT (text)
          const s = line();
          if (s === "01") stack.push(true);
          else if (s === "00") stack.push(false);
          else stack.push(parseIntText(s, error));
          break;
        }
        case 0x4c: stack.push(parseIntText(line().replace(/L$/, ""), error)); break; // LONG (text)
        case 0x46: { // FLOAT (text)
          const s = line().trim();
          const v = Number(s === "nan" ? NaN : s === "inf" ? Infinity : s === "-inf" ? -Infinity : s);
          if (Number.isNaN(v) && s !== "nan") throw error(`FLOAT ${JSON.stringify(s)} is not a number`);
          stack.push(v);
          break;
        }
        // Strings and bytes.
        case 0x58: stack.push(str(take(u32()))); break; // BINUNICODE
        case 0x8c: stack.push(str(take(u8()))); break; // SHORT_BINUNICODE
        case 0x8d: stack.push(str(take(u64()))); break; // BINUNICODE8
        case 0x56: stack.push(unescapeRawUnicode(line())); break; // UNICODE (raw-unicode-escape)
        case 0x55: stack.push(latin1(take(u8()))); break; // SHORT_BINSTRING (Python 2 str)
        case 0x54: { // BINSTRING
          const n = i32();
          if (n < 0) throw error("BINSTRING with a negative length");
          stack.push(latin1(take(n)));
          break;
        }
        case 0x53: stack.push(unquotePython(line(), error)); break; // STRING (text)
        case 0x43: stack.push(takeCopy(u8())); break; // SHORT_BINBYTES
        case 0x42: stack.push(takeCopy(u32())); break; // BINBYTES
        case 0x8e: stack.push(takeCopy(u64())); break; // BINBYTES8
        case 0x96: stack.push(takeCopy(u64())); break; // BYTEARRAY8
        case 0x97: throw error("NEXT_BUFFER: out-of-band buffers are not supported");
        case 0x98: break; // READONLY_BUFFER
        // Containers.
        case 0x29: stack.push(tuple([])); break; // EMPTY_TUPLE
        case 0x85: stack.push(tuple([pop()])); break; // TUPLE1
        case 0x86: { const b = pop(), a = pop(); stack.push(tuple([a, b])); break; } // TUPLE2
        case 0x87: { const c = pop(), b = pop(), a = pop(); stack.push(tuple([a, b, c])); break; } // TUPLE3
        case 0x74: stack.push(tuple(popMark())); break; // TUPLE
        case 0x5d: stack.push([]); break; // EMPTY_LIST
        case 0x6c: stack.push(popMark()); break; // LIST
        case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
        case 0x64: { const m = new Map(); setItems(m, popMark()); stack.push(m); break; } // DICT
        case 0x8f: stack.push(new Set()); break; // EMPTY_SET
        case 0x91: stack.push(new Set(popMark())); break; // FROZENSET
        case 0x90: { const items = popMark(); const s = top(); if (!(s instanceof Set)) throw error(`ADDITEMS on a ${describe(s)}`); for (const x of items) s.add(x); break; }
        case 0x61: { const v = pop(); appendItems(top(), [v]); break; } // APPEND
        case 0x65: { const items = popMark(); appendItems(top(), items); break; } // APPENDS
        case 0x73: { const v = pop(), k = pop(); setItems(top(), [k, v]); break; } // SETITEM
        case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
        // Stack and memo.
        case 0x28: marks.push(stack.length); break; // MARK
        case 0x30: pop(); break; // POP
        case 0x31: popMark(); break; // POP_MARK
        case 0x32: stack.push(top()); break; // DUP
        case 0x71: memo.set(u8(), top()); break; // BINPUT
        case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
        case 0x70: memo.set(Number(parseIntText(line(), error)), top()); break; // PUT
        case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
        case 0x68: case 0x6a: case 0x67: { // BINGET, LONG_BINGET, GET
          const k = op === 0x68 ? u8() : op === 0x6a ? u32() : Number(parseIntText(line(), error));
          if (!memo.has(k)) throw error(`memo entry ${k} was never stored`);
          stack.push(memo.get(k));
          break;
        }
        // Globals, calls and objects.
        case 0x63: { const module = line(), name = line(); stack.push(globalOf(module, name)); break; } // GLOBAL
        case 0x93: { // STACK_GLOBAL
          const name = pop(), module = pop();
          if (typeof module !== "string" || typeof name !== "string") throw error("STACK_GLOBAL needs two strings");
          stack.push(globalOf(module, name));
          break;
        }
        case 0x52: { const args = pop(), fn = pop(); stack.push(call(fn, args)); break; } // REDUCE
        case 0x81: { // NEWOBJ
          const args = pop(), cls = pop();
          if (!Array.isArray(args)) throw error("NEWOBJ without an argument tuple");
          stack.push(instantiate(cls, args));
          break;
        }
        case 0x92: { // NEWOBJ_EX
          pop(); // keyword arguments
          const args = pop(), cls = pop();
          if (!Array.isArray(args)) throw error("NEWOBJ_EX without an argument tuple");
          stack.push(instantiate(cls, args));
          break;
        }
        case 0x69: { // INST (protocol 0): module, name, then the arguments since MARK
          const module = line(), name = line();
          stack.push(instantiate(globalOf(module, name), popMark()));
          break;
        }
        case 0x6f: { // OBJ (protocol 1): class and arguments since MARK
          const items = popMark();
          if (items.length === 0) throw error("OBJ without a class");
          stack.push(instantiate(items[0], items.slice(1)));
          break;
        }
        case 0x62: { const state = pop(); build(top(), state); break; } // BUILD
        case 0x51: { // BINPERSID
          const pid = pop();
          if (opts.persistentLoad === undefined) throw error("a persistent id, but this file type has no persistent storage");
          stack.push(opts.persistentLoad(pid));
          break;
        }
        case 0x50: { // PERSID (text)
          const pid = line();
          if (opts.persistentLoad === undefined) throw error("a persistent id, but this file type has no persistent storage");
          stack.push(opts.persistentLoad(pid));
          break;
        }
        case 0x82: case 0x83: case 0x84: throw error("extension registry codes (EXT1/2/4) are not supported");
        default: throw error(`unknown opcode 0x${op.toString(16).padStart(2, "0")}`);
      }
    }
  }
}

/** Dict keys that are tuples are compared by value in Python; JSON text stands in for them here. */
function hashable(k: unknown): unknown {
  return Array.isArray(k) ? JSON.stringify(k, (_k, v) => (typeof v === "bigint" ? v.toString() : v)) : k;
}

function parseIntText(s: string, error: (d: string) => Error): number | bigint {
  if (!/^[-+]?\d+$/.test(s.trim())) throw error(`${JSON.stringify(s)} is not an integer`);
  const v = BigInt(s.trim());
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function unescapeRawUnicode(s: string): string {
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, a: string | undefined, b: string | undefined) => String.fromCodePoint(parseInt(a ?? b!, 16)));
}

/** A Python 2 str repr as protocol 0 writes it: quoted, with backslash escapes. */
function unquotePython(s: string, error: (d: string) => Error): string {
  const q = s[0];
  if ((q !== "'" && q !== '"') || s[s.length - 1] !== q || s.length < 2) throw error(`STRING argument ${JSON.stringify(s)} is not quoted`);
  const body = s.slice(1, -1);
  const simple: Record<string, string> = { n: "\n", t: "\t", r: "\r", "\\": "\\", "'": "'", '"': '"', a: "\x07", b: "\b", f: "\f", v: "\v", "0": "\0" };
  return body.replace(/\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)/g, (_m, e: string) => {
    if (e[0] === "x") return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]+$/.test(e)) return String.fromCharCode(parseInt(e, 8));
    return simple[e] ?? `\\${e}`;
  });
}

function describe(v: unknown): string {
  if (v === null) return "None";
  if (v instanceof PyGlobal) return `global ${v.qualifiedName}`;
  if (v instanceof PyObject) return `${v.className} object`;
  if (v instanceof Map) return "dict";
  if (Array.isArray(v)) return Object.isFrozen(v) ? "tuple" : "list";
  if (v instanceof Uint8Array) return "bytes";
  return typeof v;
}
