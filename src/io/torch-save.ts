// Writing PyTorch checkpoints in torch's zip format, as torch.save does, that
// torch.load(weights_only=True) accepts: archive/data.pkl (protocol 2, tensors as
// torch._utils._rebuild_tensor_v2 calls on persistent storage ids), archive/byteorder,
// archive/data/<key> (each storage's little-endian bytes, 64-byte aligned) and archive/version.
// The same value always gives the same bytes.
import { writeFileAtomic } from "./atomic.js";
import { CallValue, GlobalRef, OrderedDictValue, PersistentId, PickleWriter } from "./pickle-writer.js";
import { writeZip } from "./zip.js";

export { OrderedDictValue } from "./pickle-writer.js";

type SavableArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

/** A tensor to save: its values in C order and its shape. */
export class TensorToSave {
  constructor(readonly data: SavableArray, readonly shape: readonly number[]) {
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== data.length) throw new RangeError(`a tensor of shape [${shape.join(",")}] needs ${n} values, got ${data.length}`);
  }
}

function storageType(a: SavableArray): string {
  if (a instanceof Float32Array) return "FloatStorage";
  if (a instanceof Float64Array) return "DoubleStorage";
  if (a instanceof Int32Array) return "IntStorage";
  if (a instanceof BigInt64Array) return "LongStorage";
  return "ByteStorage";
}

/** The checkpoint bytes of `value` (Maps, plain objects, OrderedDictValues, arrays, numbers, strings and TensorToSaves). */
export function encodeTorchCheckpoint(value: unknown, prefix = "archive"): Uint8Array {
  const storages: Uint8Array[] = [];
  const rebuild = new GlobalRef("torch._utils", "_rebuild_tensor_v2");
  const convert = (v: unknown): unknown => {
    if (v instanceof TensorToSave) {
      const key = String(storages.length);
      storages.push(new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength));
      const stride: number[] = [];
      for (let i = v.shape.length - 1, s = 1; i >= 0; i--) { stride[i] = s; s *= v.shape[i]; }
      const pid = new PersistentId(Object.freeze(["storage", new GlobalRef("torch", storageType(v.data)), key, "cpu", v.data.length]));
      return new CallValue(rebuild, Object.freeze([pid, 0, Object.freeze([...v.shape]), Object.freeze(stride), false, new OrderedDictValue([])]));
    }
    if (v instanceof OrderedDictValue) return new OrderedDictValue(v.entries.map(([k, x]) => [k, convert(x)]));
    if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, convert(x)]));
    if (Array.isArray(v)) { const a = v.map(convert); return Object.isFrozen(v) ? Object.freeze(a) : a; }
    if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, convert(x)]));
    }
    return v;
  };
  const pkl = PickleWriter.dump(convert(value));
  const enc = new TextEncoder();
  return writeZip([
    [`${prefix}/data.pkl`, pkl],
    [`${prefix}/byteorder`, enc.encode("little")],
    ...storages.map((s, i): [string, Uint8Array] => [`${prefix}/data/${i}`, s]),
    [`${prefix}/version`, enc.encode("3\n")],
  ]);
}

/** A state dict (names to float32 tensors) plus optional plain entries, as torch.save(OrderedDict) writes it. */
export function stateDictValue(params: Iterable<[string, { data: Float32Array; shape: readonly number[] }]>, extra: [string, unknown][] = []): OrderedDictValue {
  return new OrderedDictValue([...[...params].map(([n, t]): [string, unknown] => [n, new TensorToSave(t.data, t.shape)]), ...extra]);
}

export function writeTorchCheckpoint(file: string, value: unknown): void {
  writeFileAtomic(file, encodeTorchCheckpoint(value));
}
