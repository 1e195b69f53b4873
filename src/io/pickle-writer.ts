// Writing plain data as a protocol-2 pickle, with only the opcodes PyTorch's weights_only loader
// accepts: None, booleans, integers, floats, strings, lists, tuples (frozen arrays), dicts (Maps
// or plain objects), OrderedDicts, and the caller's own values through `custom` (e.g. tensors,
// which PyTorch pickles as a call of torch._utils._rebuild_tensor_v2 on a persistent storage id).

/** An OrderedDict: Python's collections.OrderedDict, as PyTorch state dicts are. */
export class OrderedDictValue {
  constructor(readonly entries: [string, unknown][]) {}
}

/** A Python global referred to by a value written through `custom` (e.g. torch.FloatStorage). */
export class GlobalRef {
  constructor(readonly module: string, readonly name: string) {}
}

/** A call `fn(*args)` of an allowed global. */
export class CallValue {
  constructor(readonly fn: GlobalRef, readonly args: readonly unknown[]) {}
}

/** A persistent id: written as the tuple, then BINPERSID. */
export class PersistentId {
  constructor(readonly id: readonly unknown[]) {}
}

const enc = new TextEncoder();

export class PickleWriter {
  private readonly parts: Uint8Array[] = [];
  private size = 0;

  private push(bytes: Uint8Array | number[]): void {
    const b = bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes);
    this.parts.push(b);
    this.size += b.length;
  }

  private u32(n: number): number[] {
    return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
  }

  private int(n: number | bigint): void {
    if (typeof n === "number" && Number.isInteger(n) && n >= 0 && n < 256) this.push([0x4b, n]); // BININT1
    else if (typeof n === "number" && Number.isInteger(n) && n >= 0 && n < 65536) this.push([0x4d, n & 0xff, n >> 8]); // BININT2
    else if (typeof n === "number" && Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31) this.push([0x4a, ...this.u32(n >>> 0)]); // BININT
    else {
      // LONG1: little-endian two's complement, as few bytes as hold the sign.
      let v = BigInt(n);
      const bytes: number[] = [];
      while (true) {
        const b = Number(v & 0xffn);
        bytes.push(b);
        v >>= 8n;
        if ((v === 0n && (b & 0x80) === 0) || (v === -1n && (b & 0x80) !== 0)) break;
      }
      this.push([0x8a, bytes.length, ...bytes]);
    }
  }

  private str(s: string): void {
    const b = enc.encode(s);
    this.push([0x58, ...this.u32(b.length)]); // BINUNICODE
    this.push(b);
  }

  private global(g: GlobalRef): void {
    this.push([0x63]); // GLOBAL
    this.push(enc.encode(`${g.module}\n${g.name}\n`));
  }

  value(v: unknown): void {
    if (v === null || v === undefined) this.push([0x4e]);
    else if (v === true) this.push([0x88]);
    else if (v === false) this.push([0x89]);
    else if (typeof v === "bigint") this.int(v);
    else if (typeof v === "number") {
      if (Number.isInteger(v) && Number.isSafeInteger(v) && !Object.is(v, -0)) this.int(v);
      else {
        const b = new Uint8Array(9);
        b[0] = 0x47; // BINFLOAT, big-endian
        new DataView(b.buffer).setFloat64(1, v, false);
        this.push(b);
      }
    } else if (typeof v === "string") this.str(v);
    else if (v instanceof GlobalRef) this.global(v);
    else if (v instanceof PersistentId) { this.tuple(v.id); this.push([0x51]); } // BINPERSID
    else if (v instanceof CallValue) { this.global(v.fn); this.tuple(v.args); this.push([0x52]); } // REDUCE
    else if (v instanceof OrderedDictValue) {
      this.global(new GlobalRef("collections", "OrderedDict"));
      this.push([0x29, 0x52]); // EMPTY_TUPLE, REDUCE
      this.items(v.entries);
    } else if (v instanceof Map) { this.push([0x7d]); this.items([...v.entries()]); }
    else if (Array.isArray(v)) {
      if (Object.isFrozen(v)) this.tuple(v);
      else {
        this.push([0x5d]); // EMPTY_LIST
        if (v.length > 0) { this.push([0x28]); for (const x of v) this.value(x); this.push([0x65]); } // MARK ... APPENDS
      }
    } else if (typeof v === "object") { this.push([0x7d]); this.items(Object.entries(v as Record<string, unknown>)); }
    else throw new TypeError(`cannot pickle a ${typeof v}`);
  }

  private tuple(items: readonly unknown[]): void {
    if (items.length === 0) { this.push([0x29]); return; } // EMPTY_TUPLE
    if (items.length <= 3) { for (const x of items) this.value(x); this.push([0x84 + items.length]); return; } // TUPLE1..3
    this.push([0x28]);
    for (const x of items) this.value(x);
    this.push([0x74]); // TUPLE
  }

  private items(entries: [unknown, unknown][]): void {
    if (entries.length === 0) return;
    this.push([0x28]); // MARK
    for (const [k, x] of entries) { this.value(k); this.value(x); }
    this.push([0x75]); // SETITEMS
  }

  /** The whole pickle: PROTO 2, the value, STOP. */
  static dump(v: unknown): Uint8Array {
    const w = new PickleWriter();
    w.push([0x80, 2]);
    w.value(v);
    w.push([0x2e]);
    const out = new Uint8Array(w.size);
    let o = 0;
    for (const p of w.parts) { out.set(p, o); o += p.length; }
    return out;
  }
}
