// Bring your own zoo: the safe checkpoint reader on real PyTorch files, the three public layouts
// imported and checked against what PyTorch, NumPy and OmegaConf wrote (expected.json), faithful
// forwards, hostile files, and export -> import round trips.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, copyFileSync, mkdirSync, cpSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Tensor, tidy } from "../src/engine/index.js";
import { readTorchCheckpoint, decodeTorchCheckpoint, TorchTensor } from "../src/io/torch-checkpoint.js";
import { PyObject } from "../src/io/pickle.js";
import { networkArchitecture, parseSizedCnnArchitecture } from "../src/nets/family.js";
import { cnnForwardMixed } from "../src/nets/groups.js";
import { Zoo, rangesIndices } from "../src/zoo/format.js";
import { importDwsnets, exportDwsnets, planDwsnetsImport } from "../src/zoo/interop/dwsnets.js";
import { importSmallCnnZoo, exportSmallCnnZoo } from "../src/zoo/interop/small-cnn-zoo.js";
import { importWildPark, exportWildPark } from "../src/zoo/interop/wild-park.js";
import { assertClose, assertBestIsBestValidation } from "./helpers.js";
import { gunzipSync } from "node:zlib";
import { buildInrZoo } from "../src/zoo/build/inr-builder.js";
import { buildCnnZoo } from "../src/zoo/build/cnn-builder.js";
import { train } from "../src/train/trainer.js";
import { DEFAULT_TRAIN_CONFIG } from "../src/train/config.js";
import { readSafetensors } from "../src/io/safetensors.js";
import { CIFAR10_GS_ROWS, writeSparseSmallCnnZoo } from "../bench/sparse-small-cnn-zoo.js";

const FIX = fileURLToPath(new URL("../../test/fixtures/interop/", import.meta.url));
const expected = JSON.parse(readFileSync(join(FIX, "expected.json"), "utf8"));
/** Every DWSNets fixture INR's outputs at expected.json's coordinates, by PyTorch (make_dwsnets_outputs.py). */
const pytorchOutputs = JSON.parse(readFileSync(join(FIX, "dwsnets-outputs.json"), "utf8")) as Record<"mnist" | "fmnist", Record<string, number[]>>;
const tmp = (tag: string) => mkdtempSync(join(tmpdir(), `probegen-${tag}-`));

interface Fingerprint { shape: number[]; sum: number; abs_sum: number; first: number[]; last: number }

function assertFingerprint(values: ArrayLike<number>, shape: readonly number[], fp: Fingerprint, what: string): void {
  assert.deepEqual([...shape], fp.shape, `${what}: shape`);
  let s = 0, a = 0;
  for (let i = 0; i < values.length; i++) { s += values[i]; a += Math.abs(values[i]); }
  assert.ok(Math.abs(s - fp.sum) <= 1e-6 * fp.abs_sum + 1e-9, `${what}: sum ${s} vs ${fp.sum}`);
  assert.ok(Math.abs(a - fp.abs_sum) <= 1e-6 * fp.abs_sum, `${what}: abs sum ${a} vs ${fp.abs_sum}`);
  assert.deepEqual(Array.from(values).slice(0, fp.first.length), fp.first, `${what}: first values`);
  assert.equal(values[values.length - 1], fp.last, `${what}: last value`);
}

/** One network of a zoo evaluated on shared inputs: [K, outputs]. */
function forwardOne(zoo: Zoo, index: number, inputs: Float32Array, inputShape: number[]): Float32Array {
  const net = zoo.network(index);
  const entry = zoo.manifest.architectures[net.architecture];
  return tidy(() => {
    const params = new Map(entry.parameters.map((p) => [p.name, Tensor.from(net.params.get(p.name)!, [1, ...p.shape])]));
    const x = Tensor.from(inputs, inputShape);
    const bound = networkArchitecture(zoo.manifest.family, entry.architecture);
    const arch = bound.variantField === null ? bound : bound.variant(net.fields.get(bound.variantField)!);
    return Float32Array.from(arch.forward(params, x).data);
  });
}

test("the checkpoint reader recovers every DWSNets INR, zip and legacy format, as PyTorch wrote it", () => {
  for (const [layout, dir] of [["mnist", "dwsnets-mnist"], ["fmnist", "dwsnets-fmnist"]] as const) {
    for (const [rel, e] of Object.entries(expected.dwsnets[layout] as Record<string, { label: number; legacy_format?: boolean; params: Record<string, Fingerprint> }>)) {
      const file = join(FIX, dir, rel);
      const ckpt = readTorchCheckpoint(file);
      if (e.legacy_format !== undefined) assert.equal(ckpt.format, e.legacy_format ? "legacy" : "zip", file);
      const sd = ckpt.value as Map<string, unknown>;
      assert.ok(sd instanceof Map);
      for (const [name, fp] of Object.entries(e.params)) {
        const t = sd.get(name);
        assert.ok(t instanceof TorchTensor, `${file}: ${name}`);
        assertFingerprint(t.values() as Float32Array, t.shape, fp, `${rel} ${name}`);
      }
      if (layout === "fmnist") assert.equal(sd.get("label"), e.label, `${file}: the label entry`);
    }
  }
  const legacy = Object.values(expected.dwsnets.mnist as Record<string, { legacy_format: boolean }>).filter((e) => e.legacy_format).length;
  assert.ok(legacy >= 3, `the fixtures hold legacy-format files (${legacy})`);
});

test("DWSNets zoos import with their labels, splits and sources, and their INRs give PyTorch's outputs", async () => {
  const coords = Float32Array.from((expected.dwsnets.coords as number[][]).flat());
  assert.deepEqual((pytorchOutputs as unknown as { coords: number[][] }).coords, expected.dwsnets.coords, "the outputs were computed at expected.json's coordinates");
  for (const [layout, dir, splits] of [["mnist", "dwsnets-mnist", "mnist_splits.json"], ["fmnist", "dwsnets-fmnist", "fmnist_splits.json"]] as const) {
    const out = join(tmp(`dws-${layout}`), "zoo");
    const r = await importDwsnets({ splitsFile: join(FIX, dir, splits), out, shardSize: 5, workers: layout === "mnist" ? 2 : 1 });
    assert.equal(r.imported, 16);
    assert.equal(r.plan.layout, layout);
    const zoo = Zoo.open(out);
    assert.deepEqual(zoo.manifest.splits, { train: [[0, 8]], val: [[8, 12]], test: [[12, 16]] });
    assert.deepEqual(zoo.manifest.task.labelNames![1], layout === "mnist" ? "1" : "Trouser");
    const doc = JSON.parse(readFileSync(join(FIX, dir, splits), "utf8"));
    const paths: string[] = [...doc.train.path, ...doc.val.path, ...doc.test.path];
    for (let i = 0; i < 16; i++) {
      const net = zoo.network(i);
      const e = expected.dwsnets[layout][paths[i]];
      assert.equal(net.strings.get("source"), paths[i]);
      assert.equal(net.fields.get("label"), e.label, `${paths[i]}: label`);
      for (const [name, fp] of Object.entries(e.params as Record<string, Fingerprint>)) assertFingerprint(net.params.get(name)!, fp.shape, fp, `${paths[i]} ${name}`);
      // Every fixture INR has PyTorch's outputs (make_dwsnets_outputs.py); a missing one is a failure, not a skip.
      const want = pytorchOutputs[layout][paths[i]] as number[] | undefined;
      assert.ok(want !== undefined && want.length === 5, `${paths[i]}: dwsnets-outputs.json holds no outputs for it; rerun make_dwsnets_outputs.py`);
      assertClose(forwardOne(zoo, i, coords, [5, 2]), want, 1e-5, 1e-7, `${paths[i]} outputs`);
    }
  }
});

test("the Small CNN Zoo imports in NFN's order and split, with logits matching PyTorch at both paddings", async () => {
  const root = tmp("scz");
  const inputs = Float32Array.from(expected.small_cnn_zoo.inputs_seed3_uniform_2x1x32x32 as number[]);
  const nets = expected.small_cnn_zoo.networks as { modeldir: string; activation: string; test_accuracy: number; params: Record<string, Fingerprint>; logits: { padding0: number[][]; padding1: number[][] } }[];
  for (const padding of [0, 1] as const) {
    const out = join(root, `p${padding}`);
    const r = await importSmallCnnZoo({ dir: join(FIX, "small-cnn-zoo"), out, splitFile: join(FIX, "small-cnn-zoo", "nfn_split.csv"), padding, shardSize: 7, workers: padding === 0 ? 1 : 2 });
    assert.equal(r.imported, 20);
    const zoo = Zoo.open(out);
    const m = zoo.manifest;
    assert.deepEqual(rangesIndices(m.splits.test), expected.small_cnn_zoo.splits.test);
    assert.deepEqual(rangesIndices(m.splits.train), [...expected.small_cnn_zoo.splits.train].sort((a: number, b: number) => a - b));
    assert.deepEqual(rangesIndices(m.splits.val), [...expected.small_cnn_zoo.splits.val].sort((a: number, b: number) => a - b));
    assert.equal(m.provenance.skippedNonFinite, 0);
    assert.match(String(m.provenance.padding), padding === 0 ? /^valid/ : /^1/);
    nets.forEach((e, i) => {
      const net = zoo.network(i);
      assert.equal(net.strings.get("modeldir"), e.modeldir, `network ${i}`);
      assert.equal(net.fields.get("test_accuracy"), Math.fround(e.test_accuracy));
      assert.equal(m.fields.find((f) => f.name === "config.activation")!.codes![net.fields.get("config.activation")!], e.activation);
      for (const [name, fp] of Object.entries(e.params)) assertFingerprint(net.params.get(name)!, fp.shape, fp, `${e.modeldir} ${name}`);
      const logits = forwardOne(zoo, i, inputs, [2, 1, 32, 32]);
      assertClose(logits, (padding === 0 ? e.logits.padding0 : e.logits.padding1).flat(), 1e-5, 1e-6, `${e.modeldir} logits, padding ${padding}`);
    });
  }
  // The official reading takes the header "0" as a row: row 0 is at step 0, so the zoo is the same here.
  const official = await importSmallCnnZoo({ dir: join(FIX, "small-cnn-zoo"), out: join(root, "official"), splitFile: join(FIX, "small-cnn-zoo", "nfn_split.csv"), splitReading: "official", step: 0 });
  const header = await importSmallCnnZoo({ dir: join(FIX, "small-cnn-zoo"), out: join(root, "header0"), splitFile: join(FIX, "small-cnn-zoo", "nfn_split.csv"), step: 0 });
  assert.equal(official.imported, header.imported + 1, "at step 0 the official reading holds network 0 twice");
  assert.match(String(Zoo.open(join(root, "official")).manifest.provenance.splitReading), /^official/);
});

test("CNN Wild Park imports every checkpoint with its architecture, and the residual rule gives PyTorch's logits", async () => {
  const out = join(tmp("wp"), "zoo");
  const r = await importWildPark({ splitsFile: join(FIX, "cnn-wild-park", "cnn_park_splits.json"), out, shardSize: 5, workers: 2 });
  assert.equal(r.imported, 24);
  const zoo = Zoo.open(out);
  assert.equal(zoo.manifest.architectures.length, 12);
  assert.equal(JSON.parse(readFileSync(join(out, "zoo.json"), "utf8")).version, 2, "a zoo of several architectures is format version 2");
  const inputs = Float32Array.from(expected.cnn_wild_park.inputs_seed4_uniform_2x3x32x32 as number[]);
  const doc = JSON.parse(readFileSync(join(FIX, "cnn-wild-park", "cnn_park_splits.json"), "utf8"));
  const scores: number[] = [...doc.train.score, ...doc.val.score, ...doc.test.score];
  let checked = 0;
  for (let i = 0; i < zoo.count; i++) {
    const net = zoo.network(i);
    assert.equal(net.fields.get("test_accuracy"), Math.fround(scores[i]));
    const e = (expected.cnn_wild_park.networks as { dir: string; config: Record<string, unknown>; params: Record<string, Fingerprint>; logits: number[][] }[])
      .find((x) => net.strings.get("source")!.startsWith(`${x.dir}/`))!;
    const arch = parseSizedCnnArchitecture(zoo.manifest.architectures[net.architecture].architecture);
    assert.deepEqual(arch.residual, e.config.residual);
    assert.deepEqual(arch.layers.map((l) => l.kernel), e.config.kernel_size);
    for (const [name, fp] of Object.entries(e.params)) assertFingerprint(net.params.get(name)!, fp.shape, fp, `${e.dir} ${name}`);
    assertClose(forwardOne(zoo, i, inputs, [2, 3, 32, 32]), e.logits.flat(), 1e-5, 1e-6, `${e.dir} logits`);
    checked++;
  }
  assert.equal(checked, 24);
  // All 24 checkpoints, 12 architectures, at once in one ragged batch: the same logits.
  const nets = Array.from({ length: zoo.count }, (_, i) => {
    const net = zoo.network(i);
    return { arch: parseSizedCnnArchitecture(zoo.manifest.architectures[net.architecture].architecture), params: net.params };
  });
  const together = tidy(() => Float32Array.from(cnnForwardMixed(nets, Tensor.from(inputs, [2, 3, 32, 32])).data));
  for (let i = 0; i < zoo.count; i++) assertClose(together.subarray(i * 20, (i + 1) * 20), forwardOne(zoo, i, inputs, [2, 3, 32, 32]), 1e-5, 1e-6, `checkpoint ${i} in the ragged batch`);
  const n0 = parseSizedCnnArchitecture(zoo.manifest.architectures[zoo.network(0).architecture].architecture);
  assert.deepEqual(n0.layers.map((l) => l.activation), ["relu", "gelu", "tanh", "leaky_relu"], "network 0 is the fixed one of the fixtures");
  // --step last keeps each network's last checkpoint only.
  const last = await importWildPark({ splitsFile: join(FIX, "cnn-wild-park", "cnn_park_splits.json"), out: join(out, "..", "last"), steps: "last" });
  assert.equal(last.imported, 12);
  assert.ok((Zoo.open(join(out, "..", "last")).readAll().fields.get("step") as Int32Array).every((s) => s === 20));
});

test("hostile checkpoints: code is never executed, unknown classes are reported, damage gets named errors", () => {
  const dir = tmp("hostile");
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    const evil = join(FIX, "hostile", "executes-code.pth");
    assert.throws(() => readTorchCheckpoint(evil), (e: Error) => e.message.startsWith(evil) && /refused to call posix\.system/.test(e.message));
    assert.ok(!existsSync(join(dir, "probegen-pickle-was-executed")), "the pickle's command never ran");
  } finally {
    process.chdir(cwd);
  }
  const unknown = readTorchCheckpoint(join(FIX, "hostile", "unknown-class-beside-weights.pth"));
  assert.deepEqual(unknown.unconstructed, ["somelab.private.Unknown"]);
  const v = unknown.value as Map<string, unknown>;
  const extra = v.get("extra");
  assert.ok(extra instanceof PyObject && extra.className === "somelab.private.Unknown");
  assert.deepEqual([...(extra.state as Map<string, unknown>)], [["x", 1]]);
  const model = v.get("model") as Map<string, TorchTensor>;
  assert.deepEqual([...model.keys()], ["fc.weight", "fc.bias"]);
  assert.deepEqual(model.get("fc.weight")!.shape, [10, 4]);
  for (const [name, re] of [["truncated.pth", /truncated or not a whole zip archive/], ["not-a-checkpoint.pth", /truncated or not a whole zip archive/]] as const) {
    const file = join(FIX, "hostile", name);
    assert.throws(() => readTorchCheckpoint(file), (e: Error) => e.message.startsWith(file) && re.test(e.message), name);
  }
  const nan = readTorchCheckpoint(join(FIX, "hostile", "nan-weight.pth")).value as Map<string, TorchTensor>;
  assert.equal((nan.get("seq.1.weight")!.values() as Float32Array).filter((x) => Number.isNaN(x)).length, 1);
});

test("a NaN weight is never kept silently: the import stops naming the file, or leaves the INR out and says so", async () => {
  const dir = tmp("nan");
  cpSync(join(FIX, "dwsnets-fmnist"), join(dir, "src"), { recursive: true });
  copyFileSync(join(FIX, "hostile", "nan-weight.pth"), join(dir, "src", "fmnist_inrs", "train", "model_3.pth"));
  const splits = join(dir, "src", "fmnist_splits.json");
  const bad = join(dir, "src", "fmnist_inrs", "train", "model_3.pth");
  await assert.rejects(importDwsnets({ splitsFile: splits, out: join(dir, "a") }),
    (e: Error) => e.message.startsWith(bad) && /seq\.1\.weight holds non-finite values .*--skip-nonfinite/.test(e.message));
  assert.ok(!existsSync(join(dir, "a", "zoo.json")), "no zoo that looks finished");
  const r = await importDwsnets({ splitsFile: splits, out: join(dir, "b"), skipNonFinite: true });
  assert.equal(r.imported, 15);
  assert.deepEqual(r.plan.manifest.provenance.skippedNonFinite, ["fmnist_inrs/train/model_3.pth"]);
  const zoo = Zoo.open(join(dir, "b"));
  assert.deepEqual(zoo.manifest.splits, { train: [[0, 7]], val: [[7, 11]], test: [[11, 15]] });
});

test("an import stopped midway leaves no finished-looking zoo, and the rerun resumes to the same bytes", async () => {
  const dir = tmp("resume");
  const opts = { splitsFile: join(FIX, "dwsnets-mnist", "mnist_splits.json"), shardSize: 4 };
  await importDwsnets({ ...opts, out: join(dir, "whole") });
  let seen = 0;
  await assert.rejects(importDwsnets({ ...opts, out: join(dir, "z"), onProgress: (done) => { if (done > 0 && ++seen === 9) throw new Error("killed"); } }), /killed/);
  assert.ok(existsSync(join(dir, "z", "build.json")) && !existsSync(join(dir, "z", "zoo.json")));
  assert.throws(() => Zoo.open(join(dir, "z")), /has not finished/);
  const again = await importDwsnets({ ...opts, out: join(dir, "z") });
  assert.equal(again.skippedShards, 2);
  assert.equal(again.imported, 8);
  const files = (d: string) => readdirSync(d).sort().map((f) => [f, readFileSync(join(d, f)).toString("base64")]);
  assert.deepEqual(files(join(dir, "z")), files(join(dir, "whole")));
});

const cli = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 120_000, env: { ...process.env, CI: "true" } });

test("zoo import and export on the command line: --help, --json, named errors and exit codes", () => {
  const dir = tmp("interop-cli");
  const wp = run("zoo", "import", "wild-park", join(FIX, "cnn-wild-park", "cnn_park_splits.json"), "--out", join(dir, "wp"), "--json");
  assert.equal(wp.status, 0, wp.stderr);
  const report = JSON.parse(wp.stdout);
  assert.equal(report.count, 24);
  assert.equal(report.architectures, 12);
  // --json means no progress bars (as in every command); without it the bar is on stderr.
  assert.doesNotMatch(wp.stderr, /importing wild-park/);
  const shown = run("zoo", "import", "wild-park", join(FIX, "cnn-wild-park", "cnn_park_splits.json"), "--out", join(dir, "wp-bar"));
  assert.equal(shown.status, 0, shown.stderr);
  assert.match(shown.stderr, /importing wild-park 24\/24 networks/);
  const info = run("zoo", "info", join(dir, "wp"));
  assert.equal(info.status, 0, info.stderr);
  assert.match(info.stdout, /24 cnn networks \(12 architectures/);
  const scz = run("zoo", "import", "small-cnn-zoo", join(FIX, "small-cnn-zoo"), "--split", join(FIX, "small-cnn-zoo", "nfn_split.csv"), "--padding", "1", "--out", join(dir, "scz"));
  assert.equal(scz.status, 0, scz.stderr);
  assert.match(run("zoo", "info", join(dir, "scz")).stdout, /padding: 1, as the ProbeGen code evaluates them; step 86; split file reading: header/);
  const evil = join(FIX, "hostile", "executes-code.pth");
  writeFileSync(join(dir, "splits.json"), JSON.stringify({ train: { path: [evil], label: [3] } }));
  // A path outside the splits file's folder is refused unless allowed; then the pickle itself is.
  const outside = run("zoo", "import", "dwsnets", join(dir, "splits.json"), "--out", join(dir, "evil"), "--dataset", "mnist");
  assert.equal(outside.status, 1);
  assert.match(outside.stderr, /splits\.json: train entry 0: .*executes-code\.pth is outside .*; pass --allow-outside-root/);
  const refused = run("zoo", "import", "dwsnets", join(dir, "splits.json"), "--out", join(dir, "evil"), "--dataset", "mnist", "--allow-outside-root");
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /executes-code\.pth: pickle at byte \d+: refused to call posix\.system/);
  for (const [args, re] of [
    [["zoo", "import", "keras"], /unknown zoo layout "keras" \(expected dwsnets, small-cnn-zoo, wild-park, torchvision or onnx\)/],
    [["zoo", "import", "dwsnets", "a.json"], /--out is required/],
    [["zoo", "import", "small-cnn-zoo", FIX, "--out", join(dir, "x"), "--padding", "same"], /--padding must be valid or 1/],
    [["zoo", "export", join(dir, "wp"), "--out", join(dir, "e")], /--format is required/],
    [["zoo", "export", join(dir, "wp"), "--format", "wild-park", "--out", join(dir, "e"), "--layout", "mnist"], /--layout is for --format dwsnets/],
  ] as [string[], RegExp][]) {
    const x = run(...args);
    assert.equal(x.status, 2, `${args.join(" ")}: ${x.stderr}`);
    assert.match(x.stderr, re);
  }
  const missing = run("zoo", "import", "small-cnn-zoo", join(dir, "nothing"), "--out", join(dir, "y"));
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /nothing\/weights\.npy: not found/);
  const wrong = run("zoo", "export", join(dir, "wp"), "--format", "dwsnets", "--out", join(dir, "e"));
  assert.equal(wrong.status, 1);
  assert.match(wrong.stderr, /holds cnn networks; the DWSNets layout holds SIREN INRs/);
  mkdirSync(join(dir, "mine"));
  writeFileSync(join(dir, "mine", "notes.txt"), "mine");
  const notOurs = run("zoo", "export", join(dir, "wp"), "--format", "wild-park", "--out", join(dir, "mine"));
  assert.equal(notOurs.status, 1);
  assert.match(notOurs.stderr, /mine: is not empty and holds no probegen-export\.json/);
  assert.equal(readFileSync(join(dir, "mine", "notes.txt"), "utf8"), "mine");
  for (const sub of ["import", "export"]) assert.equal(run("zoo", sub, "--help").status, 0);
  for (const kind of ["dwsnets", "small-cnn-zoo", "wild-park"]) assert.equal(run("zoo", "import", kind, "--help").status, 0);
});

test("export then import gives back every parameter bit for bit, in every layout", async () => {
  const dir = tmp("roundtrip");
  const same = (a: Zoo, b: Zoo) => {
    assert.equal(a.count, b.count);
    const ra = a.readAll(), rb = b.readAll();
    assert.deepEqual(Array.from(ra.architecture), Array.from(rb.architecture));
    ra.groups.forEach((g, k) => {
      for (const [name, v] of g) assert.deepEqual(Buffer.from(rb.groups[k].get(name)!.buffer), Buffer.from(v.buffer), `${name}`);
    });
    assert.deepEqual(a.manifest.splits, b.manifest.splits);
    return [ra, rb] as const;
  };
  const wp = join(dir, "wp");
  await importWildPark({ splitsFile: join(FIX, "cnn-wild-park", "cnn_park_splits.json"), out: wp });
  exportWildPark({ zoo: wp, out: join(dir, "wp-export") });
  assert.ok(existsSync(join(dir, "wp-export", "cnn_park_splits.json")));
  await importWildPark({ splitsFile: join(dir, "wp-export", "cnn_park_splits.json"), out: join(dir, "wp2") });
  const [a, b] = same(Zoo.open(wp), Zoo.open(join(dir, "wp2")));
  assert.deepEqual(Array.from(b.fields.get("test_accuracy")!), Array.from(a.fields.get("test_accuracy")!));
  // Exporting again into the same folder is allowed; into it from another zoo is not.
  exportWildPark({ zoo: wp, out: join(dir, "wp-export") });
  const scz = join(dir, "scz");
  await importSmallCnnZoo({ dir: join(FIX, "small-cnn-zoo"), out: scz, splitFile: join(FIX, "small-cnn-zoo", "nfn_split.csv") });
  assert.throws(() => exportWildPark({ zoo: scz, out: join(dir, "wp-export") }), /holds an export of other settings/);
  exportSmallCnnZoo({ zoo: scz, out: join(dir, "scz-export") });
  await importSmallCnnZoo({ dir: join(dir, "scz-export"), out: join(dir, "scz2") });
  const [c, d] = same(Zoo.open(scz), Zoo.open(join(dir, "scz2")));
  for (const f of ["config.activation", "test_accuracy", "config.learning_rate"]) assert.deepEqual(Array.from(d.fields.get(f)!), Array.from(c.fields.get(f)!), f);
  assert.deepEqual(d.strings.get("modeldir"), c.strings.get("modeldir"));
  const dws = join(dir, "dws");
  await importDwsnets({ splitsFile: join(FIX, "dwsnets-mnist", "mnist_splits.json"), out: dws });
  for (const layout of ["mnist", "fmnist"] as const) {
    exportDwsnets({ zoo: dws, out: join(dir, `dws-${layout}`), layout });
    await importDwsnets({ splitsFile: join(dir, `dws-${layout}`, `${layout}_splits.json`), out: join(dir, `dws2-${layout}`), dataset: "mnist" });
    const [e, f] = same(Zoo.open(dws), Zoo.open(join(dir, `dws2-${layout}`)));
    assert.deepEqual(Array.from(f.fields.get("label")!), Array.from(e.fields.get("label")!));
  }
  // The written checkpoints hold what torch.save writes: an OrderedDict of tensors, and the label for FMNIST.
  const one = readTorchCheckpoint(join(dir, "dws-fmnist", "fmnist_inrs", "train", "model_0.pth"));
  assert.deepEqual([...(one.value as Map<string, unknown>).keys()], ["seq.0.weight", "seq.0.bias", "seq.1.weight", "seq.1.bias", "seq.2.weight", "seq.2.bias", "label"]);
  assert.equal(one.format, "zip");
  const bytes = readFileSync(join(dir, "dws-fmnist", "fmnist_inrs", "train", "model_0.pth"));
  assert.deepEqual(decodeTorchCheckpoint(bytes, "x").unconstructed, []);
  void relative;
  rmSync(dir, { recursive: true, force: true });
});

test("a probegen-built zoo, exported and imported back, trains to byte-identical results", async () => {
  const dir = tmp("export-train");
  // CNN runs pin the generator's start: "auto" follows the zoo's recorded image set, which the Wild Park layout does not carry.
  const runOn = (zoo: string, out: string, probeInit: "auto" | "dead-leaves" = "auto") => {
    train({ ...DEFAULT_TRAIN_CONFIG, zoo, method: "probegen", probeInit, probes: 8, epochs: 6, evalEvery: 2, seed: 5 }, out);
    const metrics = readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n")
      .map((l) => { const { modelsPerSec: _m, seconds: _s, ...rest } = JSON.parse(l) as Record<string, unknown>; return rest; });
    return { metrics, best: readFileSync(join(out, "best.safetensors")), last: readFileSync(join(out, "last.safetensors")) };
  };
  // INRs through the DWSNets layout.
  const inr = join(dir, "inr");
  buildInrZoo({ dataset: "mnist", count: 24, out: inr, seed: 2, recipe: { steps: 15 }, shardSize: 10 });
  exportDwsnets({ zoo: inr, out: join(dir, "inr-dws") });
  await importDwsnets({ splitsFile: join(dir, "inr-dws", "mnist_splits.json"), out: join(dir, "inr2") });
  const a = runOn(inr, join(dir, "run-a")), b = runOn(join(dir, "inr2"), join(dir, "run-b"));
  assert.ok(a.metrics.length >= 2);
  assert.deepEqual(b.metrics, a.metrics);
  assert.ok(b.best.equals(a.best) && b.last.equals(a.last), "the same checkpoints, byte for byte");
  // Small CNNs through the Small CNN Zoo layout (their padding is 1) and through CNN Wild Park's.
  const cnn = join(dir, "cnn");
  await buildCnnZoo({ dataset: "mnist", count: 16, out: cnn, seed: 4, shardSize: 8, recipe: { trainImages: 640, testImages: 100, trainEvalImages: 50, epochsRange: [1, 1] } });
  exportSmallCnnZoo({ zoo: cnn, out: join(dir, "cnn-scz") });
  await importSmallCnnZoo({ dir: join(dir, "cnn-scz"), out: join(dir, "cnn2"), padding: 1, splitFile: join(dir, "cnn-scz", "nfn_split.csv") });
  exportWildPark({ zoo: cnn, out: join(dir, "cnn-wp") });
  await importWildPark({ splitsFile: join(dir, "cnn-wp", "cnn_park_splits.json"), out: join(dir, "cnn3") });
  const c = runOn(cnn, join(dir, "run-c"), "dead-leaves");
  for (const other of ["cnn2", "cnn3"]) {
    const d = runOn(join(dir, other), join(dir, `run-${other}`), "dead-leaves");
    assert.deepEqual(d.metrics, c.metrics, other);
    assert.ok(d.best.equals(c.best) && d.last.equals(c.last), `${other}: the same checkpoints, byte for byte`);
  }
  // The exported metrics carry the Small CNN Zoo's column names.
  const cols = gunzipSync(readFileSync(join(dir, "cnn-scz", "metrics.csv.gz"))).toString("utf8").split("\n")[0].split(",");
  for (const col of ["config.activation", "config.learning_rate", "test_accuracy", "step", "modeldir"]) assert.ok(cols.includes(col), col);
  rmSync(dir, { recursive: true, force: true });
});

test("probegen train runs on each imported zoo, mixed architectures included, and statnn pads the shallower networks", async () => {
  const dir = tmp("train-imports");
  await importDwsnets({ splitsFile: join(FIX, "dwsnets-mnist", "mnist_splits.json"), out: join(dir, "dws") });
  await importSmallCnnZoo({ dir: join(FIX, "small-cnn-zoo"), out: join(dir, "scz"), splitFile: join(FIX, "small-cnn-zoo", "nfn_split.csv") });
  await importWildPark({ splitsFile: join(FIX, "cnn-wild-park", "cnn_park_splits.json"), out: join(dir, "wp") });
  for (const [zoo, score] of [["dws", "accuracy"], ["scz", "kendallTau"], ["wp", "kendallTau"]] as const) {
    const r = train({ ...DEFAULT_TRAIN_CONFIG, zoo: join(dir, zoo), method: "probegen", probes: 4, epochs: 2, batch: 8 }, join(dir, `run-${zoo}`));
    assert.equal(r.score, score);
    assert.ok(r.best !== null && Number.isFinite(r.best.test), `${zoo}: a finite test score`);
    assert.ok(r.flopsPerNetwork > 0);
  }
  const s = train({ ...DEFAULT_TRAIN_CONFIG, zoo: join(dir, "wp"), method: "statnn", epochs: 2, batch: 8 }, join(dir, "run-wp-statnn"));
  // Features for the deepest network's tensors (its layers and fc, weight and bias), 7 statistics each.
  const cfg = JSON.parse(readFileSync(join(dir, "run-wp-statnn", "config.json"), "utf8"));
  assert.equal(cfg.architectures.length, 12);
  const deepest = Math.max(...(cfg.architectures as { layers: unknown[] }[]).map((a) => a.layers.length));
  const shallowest = Math.min(...(cfg.architectures as { layers: unknown[] }[]).map((a) => a.layers.length));
  assert.ok(shallowest < deepest, "the fixture park mixes depths");
  const saved = readSafetensors(join(dir, "run-wp-statnn", "best.safetensors")).tensors.get("statnn.mean")!;
  assert.deepEqual(saved.shape, [(2 * deepest + 2) * 7]);
  assertBestIsBestValidation(join(dir, "run-wp-statnn"), s);
  const cliRun = run("train", "--zoo", join(dir, "wp"), "--out", join(dir, "run-cli"), "--method", "dead-leaves", "--probes", "4", "--epochs", "1", "--json");
  assert.equal(cliRun.status, 0, cliRun.stderr);
  assert.equal(JSON.parse(cliRun.stdout).score, "kendallTau");
  const ev = run("eval", join(dir, "run-cli"), "--json");
  assert.equal(ev.status, 0, ev.stderr);
});

test("a Small CNN Zoo's weights.npy is streamed: a sparse file of 27,000 rows imports in bounded memory (CIFAR10-GS size with PROBEGEN_SLOW=1)", () => {
  const dir = tmp("sparse");
  const rows = process.env.PROBEGEN_SLOW === "1" ? CIFAR10_GS_ROWS : 27_000;
  const keep = writeSparseSmallCnnZoo(join(dir, "src"), rows, 3);
  const r = run("zoo", "import", "small-cnn-zoo", join(dir, "src"), "--split", join(dir, "src", "nfn_split.csv"), "--out", join(dir, "zoo"), "--workers", "2", "--json");
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.count, keep);
  assert.equal(report.skippedNonFinite, 3, "the NaN rows are left out and counted");
  assert.ok(report.peakRssMiB < (rows === CIFAR10_GS_ROWS ? 1024 : 512), `peak RSS ${report.peakRssMiB.toFixed(0)} MiB for a ${(rows * 4970 * 4 / 2 ** 30).toFixed(1)} GiB weights.npy`);
  const zoo = Zoo.open(join(dir, "zoo"));
  assert.equal(zoo.count, keep);
  rmSync(dir, { recursive: true, force: true });
});

test("splits files whose paths start one folder up (as DWSNets writes them) or elsewhere (--root) are found", async () => {
  const dir = tmp("roots");
  cpSync(join(FIX, "dwsnets-mnist"), join(dir, "repo", "dataset"), { recursive: true });
  const doc = JSON.parse(readFileSync(join(FIX, "dwsnets-mnist", "mnist_splits.json"), "utf8"));
  for (const s of ["train", "val", "test"]) doc[s].path = doc[s].path.map((p: string) => `dataset/${p}`);
  const splits = join(dir, "repo", "dataset", "mnist_splits.json");
  writeFileSync(splits, JSON.stringify(doc));
  const r = await importDwsnets({ splitsFile: splits, out: join(dir, "a") });
  assert.equal(r.imported, 16);
  assert.equal(r.plan.manifest.provenance.root, join(dir, "repo"));
  const moved = join(dir, "elsewhere.json");
  writeFileSync(moved, JSON.stringify(doc));
  assert.throws(() => planDwsnetsImport({ splitsFile: moved, out: join(dir, "b") }),
    (e: Error) => e.message.startsWith(moved) && /lists dataset\/mnist-inrs\/.* which is under none of .*; pass --root DIR/.test(e.message));
  assert.equal(planDwsnetsImport({ splitsFile: moved, out: join(dir, "b"), root: join(dir, "repo") }).files.length, 16);
});
