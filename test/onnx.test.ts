// The ONNX reader: PyTorch's exports read as they were written (an MLP computed from the read
// weights gives PyTorch's outputs), and hostile files refused with an error naming the file and
// the fault: cycles, dangling inputs, unknown opsets, absurd shapes, short data, external data
// outside the model's folder, and random damage to every fixture.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Rng } from "../src/engine/index.js";
import { FileFormatError } from "../src/file-error.js";
import { OnnxFormatError, parseOnnx, readOnnx, MAX_OPSET, type OnnxTensor } from "../src/io/onnx.js";
import { ModelProtoType } from "../src/io/onnx-schema.js";

const FIX = fileURLToPath(new URL("../../test/fixtures/onnx/", import.meta.url));
interface Expected { file: string; inputShape: number[]; outputShape: number[]; input: number[]; output: number[] }
const EXPECTED = JSON.parse(readFileSync(join(FIX, "expected.json"), "utf8")).models as Record<string, Expected>;

const opCounts = (file: string) => {
  const counts: Record<string, number> = {};
  for (const n of readOnnx(join(FIX, file)).graph.nodes) counts[n.opType] = (counts[n.opType] ?? 0) + 1;
  return counts;
};

test("onnx: PyTorch's exports read with their graphs, opsets and declared inputs", () => {
  const cnn = readOnnx(join(FIX, "small-cnn.onnx"));
  assert.equal(cnn.opsets.get(""), 13);
  assert.deepEqual(cnn.graph.inputs, [{ name: "input", dtype: "float32", shape: ["batch", 1, 32, 32] }]);
  assert.deepEqual(opCounts("small-cnn.onnx"), { Conv: 3, Relu: 3, ReduceMean: 1, Gemm: 1 });
  const convWeights = cnn.graph.nodes.filter((n) => n.opType === "Conv").map((n) => cnn.graph.initializers.get(n.inputs[1])!.dims);
  assert.deepEqual(convWeights, [[16, 1, 3, 3], [16, 16, 3, 3], [16, 16, 3, 3]]);
  const conv = cnn.graph.nodes.find((n) => n.opType === "Conv")!;
  assert.deepEqual(conv.attributes.get("strides"), { kind: "ints", value: [2, 2] });
  assert.deepEqual(conv.attributes.get("pads"), { kind: "ints", value: [1, 1, 1, 1] });
  // The exporter folds eval-mode BatchNorm into the convolutions.
  assert.deepEqual(opCounts("resnet18-w8.onnx"), { Conv: 20, Relu: 17, Add: 8, GlobalAveragePool: 1, Flatten: 1, Gemm: 1 });
  assert.equal(opCounts("tiny-vit.onnx").Erf, 2, "GELU at opset 13 is Erf arithmetic");
  assert.equal(opCounts("unsupported-cumsum.onnx").CumSum, 1);
  // Every node comes after the nodes it reads.
  const vit = readOnnx(join(FIX, "tiny-vit.onnx")).graph;
  const known = new Set([...vit.inputs.map((v) => v.name), ...vit.initializers.keys()]);
  for (const n of vit.nodes) {
    for (const i of n.inputs) assert.ok(i === "" || known.has(i), `${n.name} reads ${i} before it is written`);
    for (const o of n.outputs) known.add(o);
  }
});

test("onnx: an MLP computed from the weights as read gives PyTorch's outputs", () => {
  const m = readOnnx(join(FIX, "mlp.onnx")).graph;
  const [g1, g2] = m.nodes.filter((n) => n.opType === "Gemm");
  const weight = (n: typeof g1, i: number): OnnxTensor => m.initializers.get(n.inputs[i])!;
  assert.deepEqual(weight(g1, 1).dims, [32, 784]);
  assert.equal(g1.attributes.get("transB")?.kind, "int");
  const e = EXPECTED.mlp;
  const gemm = (x: Float64Array, n: typeof g1) => {
    const w = weight(n, 1), b = weight(n, 2);
    const [out, inn] = w.dims;
    const y = new Float64Array(out);
    for (let o = 0; o < out; o++) { let s = b.data[o]; for (let i = 0; i < inn; i++) s += w.data[o * inn + i] * x[i]; y[o] = s; }
    return y;
  };
  for (let r = 0; r < 2; r++) {
    const x = Float64Array.from(e.input.slice(r * 784, (r + 1) * 784));
    const y = gemm(gemm(x, g1).map((v) => Math.max(v, 0)), g2);
    for (let o = 0; o < 10; o++) assert.ok(Math.abs(y[o] - e.output[r * 10 + o]) < 1e-5, `row ${r} output ${o}: ${y[o]} against PyTorch's ${e.output[r * 10 + o]}`);
  }
});

// A model built field by field: a tiny graph whose parts each test changes.
interface Spec {
  opset?: number | null;
  nodes?: { input: string[]; output: string[]; opType: string; attribute?: object[] }[];
  initializer?: object[];
  input?: object[];
  output?: string[];
}
function model(spec: Spec = {}): Uint8Array {
  const f32 = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer);
  const message = ModelProtoType.fromObject({
    irVersion: 7,
    opsetImport: spec.opset === null ? [] : [{ domain: "", version: spec.opset ?? 13 }],
    producerName: "test",
    graph: {
      name: "g",
      node: spec.nodes ?? [{ input: ["x", "w"], output: ["y"], opType: "MatMul" }],
      initializer: spec.initializer ?? [{ name: "w", dims: [2, 2], dataType: 1, rawData: f32([1, 2, 3, 4]) }],
      input: spec.input ?? [{ name: "x", type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: "batch" }, { dimValue: 2 }] } } } }],
      output: (spec.output ?? ["y"]).map((name) => ({ name })),
    },
  });
  return ModelProtoType.encode(message).finish();
}
function refused(bytes: Uint8Array, pattern: RegExp, file = "/models/m.onnx"): void {
  assert.throws(() => parseOnnx(bytes, file), (e: unknown) => {
    assert.ok(e instanceof OnnxFormatError, String(e));
    assert.ok(e.message.startsWith(`${file}: `), e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

test("onnx: a well-formed tiny model reads, and each fault in it is refused by name", () => {
  const ok = parseOnnx(model(), "m.onnx");
  assert.deepEqual([...ok.graph.initializers.get("w")!.data], [1, 2, 3, 4]);
  assert.deepEqual(ok.graph.inputs[0].shape, ["batch", 2]);

  refused(model({ nodes: [{ input: ["x", "nothing"], output: ["y"], opType: "MatMul" }] }), /reads 'nothing', which no node, graph input or initializer defines/);
  refused(model({ nodes: [
    { input: ["x", "b"], output: ["a"], opType: "Add" },
    { input: ["a"], output: ["b"], opType: "Relu" },
    { input: ["a"], output: ["y"], opType: "Relu" },
  ] }), /form a cycle \(through Add#0 \(Add\), Relu#1 \(Relu\)/);
  refused(model({ nodes: [{ input: ["x"], output: ["y"], opType: "Relu" }, { input: ["x"], output: ["y"], opType: "Relu" }] }), /'y' is written by two nodes/);
  refused(model({ output: ["z"] }), /graph output 'z' is written by no node/);
  refused(model({ opset: 99 }), new RegExp(`opset 99, newer than the ${MAX_OPSET} probegen knows`));
  refused(model({ opset: null }), /imports no default-domain ONNX opset/);
  refused(model({ initializer: [{ name: "w", dims: [1 << 20, 1 << 20], dataType: 1 }] }), /more than 2147483647 elements/);
  refused(model({ initializer: [{ name: "w", dims: [2, -1], dataType: 1 }] }), /tensor 'w' has a dimension of -1/);
  // A billion elements declared over 8 bytes: refused by the byte count, before 4 GiB is reserved.
  refused(model({ initializer: [{ name: "w", dims: [1 << 30], dataType: 1, rawData: new Uint8Array(8) }] }), /needs 4294967296 bytes of float32, and holds 8/);
  refused(model({ initializer: [{ name: "w", dims: [1 << 30], dataType: 7, int64Data: [1, 2] }] }), /needs 1073741824 values, and holds 2/);
  refused(model({ initializer: [{ name: "w", dims: [2, 2], dataType: 1, rawData: new Uint8Array(12) }] }), /needs 16 bytes of float32, and holds 12/);
  refused(model({ initializer: [{ name: "w", dims: [3], dataType: 1, floatData: [1, 2] }] }), /needs 3 values, and holds 2/);
  refused(model({ initializer: [{ name: "w", dims: [1], dataType: 8, stringData: [new Uint8Array(1)] }] }), /holds strings/);
  refused(model({ input: [{ name: "x", type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 2 ** 40 }] } } } }] }), /declares a dimension of 1099511627776/);
  refused(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f]), /is not an ONNX model/);
  refused(new Uint8Array(0), /has no graph/);
});

test("onnx: a model nested past the stack is refused by name, not by a crash", () => {
  // AttributeProto.g (field 6) holding a GraphProto whose node (field 1) holds an attribute
  // (field 5) holding a graph ... 200k levels deep, innermost first.
  let inner = new Uint8Array(0);
  const wrap = (field: number, body: Uint8Array) => {
    const len: number[] = [];
    for (let n = body.length; ; n >>>= 7) { if (n < 0x80) { len.push(n); break; } len.push((n & 0x7f) | 0x80); }
    const out = new Uint8Array(1 + len.length + body.length);
    out[0] = (field << 3) | 2; out.set(len, 1); out.set(body, 1 + len.length);
    return out;
  };
  for (let d = 0; d < 20000; d++) inner = wrap(5, wrap(1, wrap(6, inner)));
  const bytes = wrap(7, wrap(1, inner));
  assert.throws(() => parseOnnx(bytes, "deep.onnx"), (e: unknown) => e instanceof OnnxFormatError && /deep.onnx: is not an ONNX model/.test(e.message));
});

test("onnx: external data is read from inside the model's folder only, and within its file", () => {
  const dir = mkdtempSync(join(tmpdir(), "probegen-onnx-"));
  mkdirSync(join(dir, "model"));
  writeFileSync(join(dir, "model", "weights.bin"), new Uint8Array(Float32Array.from([0, 0, 5, 6, 7, 8]).buffer));
  writeFileSync(join(dir, "secret.bin"), new Uint8Array(64));
  const external = (location: string, offset = "8") => model({ initializer: [{ name: "w", dims: [2, 2], dataType: 1, dataLocation: 1, externalData: [{ key: "location", value: location }, { key: "offset", value: offset }] }] });
  const file = join(dir, "model", "m.onnx");
  writeFileSync(file, external("weights.bin"));
  assert.deepEqual([...readOnnx(file).graph.initializers.get("w")!.data], [5, 6, 7, 8]);
  refused(external("../secret.bin"), /outside the model's folder/, file);
  refused(external("/etc/passwd"), /must be a path relative to the model's folder/, file);
  refused(external("weights.bin", "16"), /reads bytes 16 to 32 of .*weights.bin, which has 24/, file);
  refused(external("weights.bin", "-8"), /offset '-8', which is not a byte count/, file);
  refused(external("missing.bin"), /tensor .w. names external data that cannot be read: .*missing.bin: no such file/, file);
});

test("onnx: damaged fixtures end in a value or an error naming the file, quickly", () => {
  const rng = new Rng(27, "onnx-fuzz");
  let refusedCount = 0, cases = 0;
  for (const name of ["mlp", "small-cnn", "siren", "tiny-vit", "unsupported-cumsum"]) {
    const bytes = new Uint8Array(readFileSync(join(FIX, `${name}.onnx`)));
    for (let c = 0; c < 40; c++) {
      const kind = rng.int(3);
      let out = bytes.slice();
      if (kind !== 1) out = out.slice(0, rng.int(out.length));
      if (kind !== 0) for (let i = 0; i < 1 + rng.int(8); i++) out[rng.int(out.length)] = rng.int(256);
      const t0 = performance.now();
      try {
        parseOnnx(out, `${name}-damaged.onnx`);
      } catch (e) {
        assert.ok(e instanceof FileFormatError, `${name} case ${c}: ${(e as Error).name}: ${(e as Error).message}`);
        assert.ok(e.message.startsWith(`${name}-damaged.onnx: `), e.message);
        refusedCount++;
      }
      assert.ok(performance.now() - t0 < 2000, `${name} case ${c} took ${(performance.now() - t0).toFixed(0)} ms`);
      cases++;
    }
  }
  // Most damage is caught: truncations cut messages short, flipped bytes break lengths or links.
  assert.ok(refusedCount > cases / 2, `${refusedCount} of ${cases} damaged files refused`);
});
