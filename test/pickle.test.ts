// The pickle machine on files written by real Python (every protocol), NumPy and PyTorch
// (every storage dtype, strided and overlapping views, both container formats); the pickle
// writer read back; CRC-32 damage.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { unpickle, PickleError, PyGlobal } from "../src/io/pickle.js";
import { NUMPY_CALLS, buildNumpy, NdArray } from "../src/io/numpy-pickle.js";
import { GlobalRef, PickleWriter, OrderedDictValue } from "../src/io/pickle-writer.js";
import { decodeTorchCheckpoint, TorchTensor } from "../src/io/torch-checkpoint.js";
import { encodeTorchCheckpoint, TensorToSave } from "../src/io/torch-save.js";
import { crc32, crc32Reference } from "../src/io/crc32.js";
import { readZip } from "../src/io/zip.js";

const DIR = fileURLToPath(new URL("../../test/fixtures/pickles/", import.meta.url));
const expected = JSON.parse(readFileSync(join(DIR, "expected.json"), "utf8"));

/** The JSON form make.py writes for a Python value. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return { bytes: Array.from(v) };
  if (v instanceof Set) return { set: [...v].map(plain).sort() };
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), plain(x)]));
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === "bigint") return v > 2n ** 53n || v < -(2n ** 53n) ? { bigint: v.toString() } : Number(v);
  return v;
}

test("plain data in pickle protocols 0 to 5, as Python writes it", () => {
  for (let proto = 0; proto <= 5; proto++) {
    const file = join(DIR, `plain-protocol${proto}.pkl`);
    const { value, end } = unpickle(readFileSync(file), { file });
    assert.equal(end, readFileSync(file).length, `protocol ${proto}: reads to the end`);
    const got = plain(value) as Record<string, unknown>;
    assert.deepEqual(got, expected.plain, `protocol ${proto}`);
    const tuple = (value as Map<string, unknown>).get("tuple");
    assert.ok(Array.isArray(tuple) && Object.isFrozen(tuple), `protocol ${proto}: tuples are frozen arrays`);
  }
});

test("NumPy scalars and arrays (C and Fortran order, big-endian) become plain values", () => {
  const file = join(DIR, "numpy.pkl");
  const { value } = unpickle(readFileSync(file), { file, calls: NUMPY_CALLS, build: buildNumpy });
  const m = value as Map<string, unknown>;
  for (const [k, e] of Object.entries(expected.numpy as Record<string, unknown>)) {
    const v = m.get(k);
    if (typeof e === "object" && e !== null) {
      assert.ok(v instanceof NdArray, k);
      assert.deepEqual(v.shape, (e as { shape: number[] }).shape, k);
      assert.deepEqual(Array.from(v.data as ArrayLike<number>, Number), (e as { values: number[] }).values, k);
    } else {
      assert.equal(typeof v === "bigint" ? Number(v) : v, e, k);
    }
  }
  assert.throws(() => unpickle(readFileSync(file), { file }), /refused to call numpy\.core\.multiarray\._reconstruct/);
});

test("tensors of every storage dtype and view, in the zip and the legacy format, as PyTorch saved them", () => {
  for (const name of ["tensors.pt", "tensors-legacy.pt"]) {
    const file = join(DIR, name);
    const ckpt = decodeTorchCheckpoint(readFileSync(file), file);
    assert.equal(ckpt.format, name.includes("legacy") ? "legacy" : "zip");
    const m = ckpt.value as Map<string, TorchTensor>;
    for (const [k, e] of Object.entries(expected.tensors as Record<string, { shape: number[]; values: number[]; dtype: string }>)) {
      const t = m.get(k)!;
      assert.ok(t instanceof TorchTensor, `${name} ${k}`);
      assert.deepEqual(t.shape, e.shape, `${name} ${k} shape`);
      assert.equal(t.dtype, e.dtype, `${name} ${k} dtype`);
      assert.deepEqual(Array.from(t.values() as ArrayLike<number | bigint>, Number), e.values, `${name} ${k} values`);
    }
    assert.equal(m.get("param")!.requiresGrad, true, "a Parameter keeps requires_grad");
  }
});

test("the pickle writer's output reads back, and tensors saved by probegen read back bit for bit", () => {
  const v = new Map<unknown, unknown>([["a", [1, -2, 2 ** 40, -(2n ** 63n)]], ["b", Object.freeze([0.25, "s", null, true])], ["c", { nested: new Map([["k", false]]) }]]);
  const bytes = PickleWriter.dump(new OrderedDictValue([["x", v], ["big", 2n ** 70n]]));
  const back = unpickle(bytes, { file: "mem" }).value as Map<string, unknown>;
  assert.deepEqual(plain(back), { x: { a: [1, -2, 2 ** 40, { bigint: (-(2n ** 63n)).toString() }], b: [0.25, "s", null, true], c: { nested: { k: false } } }, big: { bigint: (2n ** 70n).toString() } });
  const w = Float32Array.from({ length: 12 }, (_, i) => Math.fround(i / 3 - 1));
  const ckpt = decodeTorchCheckpoint(encodeTorchCheckpoint(new OrderedDictValue([["w", new TensorToSave(w, [3, 4])], ["n", 5]])), "mem");
  const t = (ckpt.value as Map<string, unknown>).get("w") as TorchTensor;
  assert.deepEqual(t.shape, [3, 4]);
  assert.deepEqual(Buffer.from((t.values() as Float32Array).buffer), Buffer.from(w.buffer));
});

test("damage is caught: a changed byte fails the entry's CRC-32, and a refused global is named", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) % 256);
  assert.equal(crc32(data), crc32Reference(data));
  const file = join(DIR, "tensors.pt");
  const bytes = readFileSync(file);
  const entries = readZip(bytes, file, Infinity);
  const storage = [...entries.keys()].find((n) => n.endsWith("/data/0"))!;
  const at = bytes.indexOf(Buffer.from(entries.get(storage)!.subarray(0, 16)));
  const damaged = Uint8Array.from(bytes);
  damaged[at + 5] ^= 0x10;
  assert.throws(() => decodeTorchCheckpoint(damaged, file), (e: Error) => e.message.startsWith(file) && /data\/0 fails its CRC-32 check/.test(e.message));
  const evil = PickleWriter.dump(new Map([["x", new GlobalRef("builtins", "eval")]]));
  // A global that is only referred to is harmless; calling it is refused.
  assert.ok((unpickle(evil, { file: "mem" }).value as Map<string, unknown>).get("x") instanceof PyGlobal);
  const call = Uint8Array.from([0x80, 0x02, 0x63, ...new TextEncoder().encode("builtins\neval\n"), 0x58, 4, 0, 0, 0, ...new TextEncoder().encode("1+1;"), 0x85, 0x52, 0x2e]);
  assert.throws(() => unpickle(call, { file: "evil.pkl" }), (e: Error) => e instanceof PickleError && /evil\.pkl: pickle at byte \d+: refused to call builtins\.eval/.test(e.message));
});
