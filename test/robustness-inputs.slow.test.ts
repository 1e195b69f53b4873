// Issue 24, what commands read: architectures checked at every entry point, labels checked
// against the networks' classes, no network counted twice, work bounded by what the files can
// hold, image sets named for imported zoos, nonsense refused with messages that name the file.
import { test } from "node:test";
import assert from "node:assert/strict";
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { lazyInrRun } from "./helpers.js";
import { gzipSync } from "node:zlib";
import { buildCnnZoo } from "../src/zoo/build/cnn-builder.js";
import { stateDictValue, writeTorchCheckpoint } from "../src/io/torch-save.js";
import { Zoo } from "../src/zoo/format.js";
import { importTorchvision } from "../src/zoo/interop/torchvision.js";
import { importDwsnets } from "../src/zoo/interop/dwsnets.js";
import { importSmallCnnZoo } from "../src/zoo/interop/small-cnn-zoo.js";
import { importWildPark, exportWildPark } from "../src/zoo/interop/wild-park.js";
import { downsampleRecords } from "../src/report/run-report.js";
import { InputCollector } from "../src/predict/inputs.js";
import { runPlan } from "../src/train/run-plan.js";
import { DEFAULT_TRAIN_CONFIG } from "../src/train/config.js";
import { TrainedRun } from "../src/predict/run-model.js";

const cli = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const FIX = fileURLToPath(new URL("../../test/fixtures/interop/", import.meta.url));
const RESNETS = fileURLToPath(new URL("../../test/fixtures/resnet/", import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 120_000, env: { ...process.env, CI: "true" } });
const tmp = (tag: string) => mkdtempSync(join(tmpdir(), `probegen-${tag}-`));

const inr = lazyInrRun("inputs-inr", 5);

/** A Wild Park run: the fixture park imported and trained briefly. */
const park = (() => {
  let m: { zoo: string; run: string } | null = null;
  return () => {
    if (m === null) {
      const root = tmp("inputs-park");
      const zoo = join(root, "wp");
      assert.equal(run("zoo", "import", "wild-park", join(FIX, "cnn-wild-park", "cnn_park_splits.json"), "--out", zoo).status, 0);
      assert.equal(run("train", "--zoo", zoo, "--out", join(root, "run"), "--epochs", "1", "--probes", "4", "--batch", "8").status, 0);
      m = { zoo, run: join(root, "run") };
    }
    return m;
  };
})();

/** An INR of the zoo as a DWSNets-style state dict with a label entry. */
function inrCheckpoint(file: string, label: unknown): void {
  const z = Zoo.open(inr().zoo);
  const net = z.network(0);
  const params = z.manifest.architectures[0].parameters.map((p): [string, { data: Float32Array; shape: number[] }] => [p.name, { data: net.params.get(p.name)!, shape: p.shape }]);
  writeTorchCheckpoint(file, stateDictValue(params, [["label", label]]));
}

test("24.3 a Wild Park checkpoint declaring 10^9 layers is refused by predict at once, as the importer refuses it", () => {
  const { run: runDir } = park();
  const dir = tmp("huge-config");
  const file = join(dir, "checkpoint.pt");
  writeTorchCheckpoint(file, {
    model: stateDictValue([["fc.weight", { data: new Float32Array(40), shape: [10, 4] }]]),
    config: { n_layers: 1e9, n_classes: 10, channels: [3, 4], kernel_size: [3], stride: [1], padding: [1], residual: [-1], activation: ["relu"] },
  });
  const t0 = Date.now();
  const r = run("predict", runDir, file);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /checkpoint\.pt: config\.channels is \[3,4\], expected 1000000001 entries/);
  assert.ok(Date.now() - t0 < 20_000, "refused before any allocation");
  writeFileSync(join(dir, "splits.json"), JSON.stringify({ train: { path: ["checkpoint.pt"], score: [0.5] } }));
  const imp = run("zoo", "import", "wild-park", join(dir, "splits.json"), "--out", join(dir, "zoo"));
  assert.equal(imp.status, 1);
  assert.match(imp.stderr, /checkpoint\.pt: config\.channels is \[3,4\], expected 1000000001 entries/);
});

test("24.4 labels are checked against the networks' classes: torchvision CSVs, checkpoint labels, decimal only", async () => {
  const dir = tmp("labels");
  const csv = join(dir, "labels.csv");
  writeFileSync(csv, "file,label\nresnet18-w4-cifar.pth,99999\n");
  await assert.rejects(importTorchvision({ dir: RESNETS, labels: csv, out: join(dir, "z") }), /labels\.csv: row 2 \(resnet18-w4-cifar\.pth\): label 99999 is not one of the network's 10 classes \(0 to 9\)/);
  for (const bad of ["0x10", "1e1", "+3", "3.0", " "]) {
    writeFileSync(csv, `file,label\nresnet18-w4-cifar.pth,"${bad}"\n`);
    await assert.rejects(importTorchvision({ dir: RESNETS, labels: csv, out: join(dir, "z") }), /row 2 \(resnet18-w4-cifar\.pth\): label .* is not a class index/, bad);
  }
  writeFileSync(csv, "file,target\nresnet18-w4-cifar.pth,0x10\n");
  await assert.rejects(importTorchvision({ dir: RESNETS, labels: csv, out: join(dir, "z") }), /target "0x10" is not a finite number/);
  // A good CSV: ten classes, as the networks give.
  writeFileSync(csv, "file,label\nresnet18-w4-cifar.pth,9\nresnet18-w4-imagenet.pth,0\n");
  await importTorchvision({ dir: RESNETS, labels: csv, out: join(dir, "ok") });
  assert.equal(Zoo.open(join(dir, "ok")).manifest.task.labelNames!.length, 10);
  // Checkpoint labels a run cannot have predicted are refused, not counted in accuracy.
  const { run: runDir } = inr();
  for (const label of [99, -1, 0.5, 10]) {
    const f = join(dir, `label-${label}.pth`);
    inrCheckpoint(f, label);
    const r = run("predict", runDir, f);
    assert.equal(r.status, 1, `label ${label}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`label-${label}\\.pth: its label entry is ${label}, not one of the run's 10 classes`));
  }
  inrCheckpoint(join(dir, "label-9.pth"), 9);
  const ok = run("predict", runDir, join(dir, "label-9.pth"), "--json");
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(String(JSON.parse(ok.stdout).predictions[0].truth), "9");
});

test("24.5 no network is listed twice: torchvision CSVs, DWSNets splits, Small CNN Zoo split files", async () => {
  const dir = tmp("duplicates");
  const csv = join(dir, "labels.csv");
  writeFileSync(csv, "file,label\nresnet18-w4-cifar.pth,1\nresnet18-w4-imagenet.pth,2\n./resnet18-w4-cifar.pth,3\n");
  await assert.rejects(importTorchvision({ dir: RESNETS, labels: csv, out: join(dir, "tv") }), /row 2 and row 4 name the same file \(resnet18-w4-cifar\.pth, \.\/resnet18-w4-cifar\.pth\): one network would count twice/);
  // A DWSNets train network listed again in test, by another spelling of its path.
  const dws = JSON.parse(readFileSync(join(FIX, "dwsnets-fmnist", "fmnist_splits.json"), "utf8"));
  dws.test.path[0] = `fmnist_inrs/../fmnist_inrs/${dws.train.path[0].slice("fmnist_inrs/".length)}`;
  const copy = join(dir, "dws");
  cpSync(join(FIX, "dwsnets-fmnist"), copy, { recursive: true });
  writeFileSync(join(copy, "fmnist_splits.json"), JSON.stringify(dws));
  await assert.rejects(importDwsnets({ splitsFile: join(copy, "fmnist_splits.json"), out: join(dir, "d") }), /fmnist_splits\.json: train entry 0 and test entry 0 name the same file/);
  // A Small CNN Zoo split file with one row twice (and so one row left out).
  const scz = join(dir, "scz");
  cpSync(join(FIX, "small-cnn-zoo"), scz, { recursive: true });
  const lines = readFileSync(join(scz, "nfn_split.csv"), "utf8").trim().split("\n");
  lines[3] = lines[2];
  writeFileSync(join(scz, "nfn_split.csv"), `${lines.join("\n")}\n`);
  await assert.rejects(importSmallCnnZoo({ dir: scz, out: join(dir, "s"), splitFile: join(scz, "nfn_split.csv") }), new RegExp(`nfn_split\\.csv: lines 3 and 4 both list row ${lines[2]}: a split file is a permutation`));
  // The official reading's one repeat (the header 0 read as a row) is still allowed.
  const official = await importSmallCnnZoo({ dir: join(FIX, "small-cnn-zoo"), out: join(dir, "o"), splitFile: join(FIX, "small-cnn-zoo", "nfn_split.csv"), splitReading: "official" });
  assert.ok(official.imported > 0);
});

test("24.7 bounded work: a gzip bomb of metrics, a 1 GB sparse .pth, a report of 300,000 evaluations", async () => {
  const dir = tmp("bounded");
  const scz = join(dir, "scz");
  cpSync(join(FIX, "small-cnn-zoo"), scz, { recursive: true });
  // 64 MB of one endless cell, a few KB compressed.
  writeFileSync(join(scz, "metrics.csv.gz"), gzipSync(Buffer.concat([Buffer.from("config.activation,step,test_accuracy\nrelu,86,"), Buffer.alloc(64 << 20, "7")])));
  let t0 = Date.now();
  await assert.rejects(importSmallCnnZoo({ dir: scz, out: join(dir, "s") }), /metrics\.csv\.gz: (has a record longer than 65536 bytes|holds more than \d+ bytes of text)/);
  assert.ok(Date.now() - t0 < 10_000, `the bomb took ${Date.now() - t0} ms to refuse`);
  // Many short rows: more bytes than weights.npy's rows could need.
  writeFileSync(join(scz, "metrics.csv.gz"), gzipSync(Buffer.from(`config.activation,step,test_accuracy\n${"relu,86,0.5\n".repeat(4 << 20)}`)));
  t0 = Date.now();
  await assert.rejects(importSmallCnnZoo({ dir: scz, out: join(dir, "s") }), /metrics\.csv\.gz: has more than the \d+ rows expected|holds more than/);
  assert.ok(Date.now() - t0 < 10_000);
  // A sparse file named .pth is refused by its first bytes, not read whole.
  const sparse = join(dir, "big.pth");
  closeSync(openSync(sparse, "w"));
  truncateSync(sparse, 2 ** 30);
  t0 = Date.now();
  const r = run("predict", inr().run, sparse);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /big\.pth: not a PyTorch checkpoint \(neither a zip archive nor a legacy pickle stream\)/);
  assert.ok(Date.now() - t0 < 10_000);
  // A run that logged 300,000 evaluations: the report draws 1,000 of them.
  const runCopy = join(dir, "long-run");
  cpSync(inr().run, runCopy, { recursive: true });
  const line = (step: number) => JSON.stringify({ step, epoch: step / 4, lr: 1e-4, trainLoss: 2 - step / 3e5, val: { loss: 2, score: 0.1 }, test: { loss: 2, score: 0.1 }, modelsPerSec: 100, seconds: step });
  writeFileSync(join(runCopy, "metrics.jsonl"), Array.from({ length: 300_000 }, (_, i) => line(i + 1)).join("\n") + "\n");
  const out = join(dir, "long.html");
  const rep = run("report", runCopy, "--out", out);
  assert.equal(rep.status, 0, rep.stderr);
  const html = readFileSync(out, "utf8");
  assert.ok(html.length < 3 << 20, `the page is ${html.length} bytes`);
  assert.match(html, /The curves show 100\d of the 300000 evaluations logged/);
  const kept = downsampleRecords(Array.from({ length: 10 }, (_, i) => ({ step: i + 1 })), 4, 5);
  assert.deepEqual(kept.map((r) => r.step), [1, 4, 5, 7, 10]);
});

test("24.9 imported zoos name their image set: --dataset on import and train, checked against what the files say", async () => {
  const dir = tmp("datasets");
  // An FMNIST CNN zoo exported in Wild Park's layout says nothing of its image set.
  const zoo = join(dir, "cnn");
  await buildCnnZoo({ dataset: "fmnist", count: 8, out: zoo, seed: 2, shardSize: 8, recipe: { trainImages: 320, testImages: 100, trainEvalImages: 50, epochsRange: [1, 1] } });
  exportWildPark({ zoo, out: join(dir, "park") });
  const splits = join(dir, "park", "cnn_park_splits.json");
  await importWildPark({ splitsFile: splits, out: join(dir, "plain") });
  assert.equal(Zoo.open(join(dir, "plain")).manifest.provenance.dataset, undefined);
  const refused = run("train", "--zoo", join(dir, "plain"), "--out", join(dir, "r0"), "--method", "data", "--epochs", "1", "--probes", "4");
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /provenance\.dataset is undefined/);
  // Named on import: recorded, and the default predictor uses the images.
  const named = run("zoo", "import", "wild-park", splits, "--out", join(dir, "named"), "--dataset", "fmnist");
  assert.equal(named.status, 0, named.stderr);
  assert.equal(Zoo.open(join(dir, "named")).manifest.provenance.dataset, "fmnist");
  const auto = run("train", "--zoo", join(dir, "named"), "--out", join(dir, "r1"), "--epochs", "1", "--probes", "4", "--json");
  assert.equal(auto.status, 0, auto.stderr);
  assert.equal(JSON.parse(auto.stdout).method, "data");
  // Or named on train: recorded in config.json.
  const override = run("train", "--zoo", join(dir, "plain"), "--out", join(dir, "r2"), "--epochs", "1", "--probes", "4", "--dataset", "fmnist", "--json");
  assert.equal(override.status, 0, override.stderr);
  assert.equal(JSON.parse(readFileSync(join(dir, "r2", "config.json"), "utf8")).config.dataset, "fmnist");
  assert.equal(JSON.parse(override.stdout).method, "data");
  // A zoo that records its image set is not overridden by another.
  const contra = run("train", "--zoo", zoo, "--out", join(dir, "r3"), "--epochs", "1", "--dataset", "mnist");
  assert.equal(contra.status, 1);
  assert.match(contra.stderr, /zoo\.json: records that its networks were trained on fmnist; --dataset mnist contradicts it/);
  // What the files say wins over a contradicting --dataset: the Small CNN Zoo's metrics, the DWSNets MNIST layout.
  await assert.rejects(importSmallCnnZoo({ dir: join(FIX, "small-cnn-zoo"), out: join(dir, "s"), dataset: "fmnist" }), /metrics\.csv\.gz: says its networks were trained on cifar10, but --dataset fmnist was given/);
  await assert.rejects(importDwsnets({ splitsFile: join(FIX, "dwsnets-mnist", "mnist_splits.json"), out: join(dir, "d"), dataset: "fmnist" }), /mnist_splits\.json: says its networks were trained on mnist, but --dataset fmnist was given/);
  const sczOk = join(dir, "scz-ok");
  await importSmallCnnZoo({ dir: join(FIX, "small-cnn-zoo"), out: sczOk });
  assert.equal(Zoo.open(sczOk).manifest.provenance.dataset, "cifar10");
  rmSync(join(dir, "park"), { recursive: true, force: true });
});

test("24.10-12 nonsense is refused, naming the file: Wild Park scores and steps, null paths, paths outside the root, symlink loops", async () => {
  const dir = tmp("nonsense");
  const parkDir = join(FIX, "cnn-wild-park");
  const doc = JSON.parse(readFileSync(join(parkDir, "cnn_park_splits.json"), "utf8"));
  const write = (name: string, edit: (d: typeof doc) => void) => {
    const d = JSON.parse(JSON.stringify(doc));
    edit(d);
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(d));
    return file;
  };
  const cases: [string, (d: typeof doc) => void, RegExp][] = [
    ["score.json", (d) => { d.train.score[0] = 5; }, /score\.json: train entry 0 \(.*\) has score 5, not a test accuracy in \[0, 1\]/],
    ["step.json", (d) => { d.train.step[0] = -1; }, /step\.json: train entry 0 \(.*\) has step -1, not a count of epochs/],
    ["null.json", (d) => { d.val.path[1] = null; }, /null\.json: val entry 1: the path is null, not a file name/],
    ["short.json", (d) => { d.test.score.pop(); }, /short\.json: split "test" lists \d+ paths and \d+ scores/],
  ];
  for (const [name, edit, re] of cases) {
    await assert.rejects(importWildPark({ splitsFile: write(name, edit), out: join(dir, "z"), root: parkDir }), re, name);
  }
  // Paths that leave the root are refused unless allowed.
  const escape = write("escape.json", (d) => { d.train.path[0] = "../../../../../../../../etc/passwd"; });
  await assert.rejects(importWildPark({ splitsFile: escape, out: join(dir, "z"), root: parkDir }), /escape\.json: train entry 0: .*etc\/passwd is outside .*cnn-wild-park; pass --allow-outside-root/);
  const cli1 = run("zoo", "import", "wild-park", escape, "--root", parkDir, "--out", join(dir, "z"));
  assert.equal(cli1.status, 1);
  assert.match(cli1.stderr, /--allow-outside-root/);
  // A symbolic link loop is named as one, not as a missing file.
  const loop = join(dir, "loop.pth");
  symlinkSync(loop, loop);
  const r = run("predict", inr().run, loop);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /loop\.pth: .*symbolic link loop/);
  // Wrong-family public inputs are refused before anything is imported, naming the user's file.
  const wrong = run("predict", park().run, join(FIX, "dwsnets-mnist", "mnist_splits.json"));
  assert.equal(wrong.status, 1);
  assert.match(wrong.stderr, /mnist_splits\.json: is a DWSNets splits file, of siren networks; the run was trained on cnn networks/);
  // No networks at all names the inputs they were looked for in.
  const c = new InputCollector(TrainedRun.open(inr().run), { indices: [] });
  await c.add(inr().zoo);
  assert.throws(() => c.gather(), new RegExp(`${inr().zoo.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: holds no networks to predict`));
});

/** A .npy file of the given header dict text and data bytes. */
function rawNpy(file: string, dict: string, data: Uint8Array): void {
  let header = `${dict}`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header = `${header}${" ".repeat(pad % 64)}\n`;
  const head = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(head);
  head.writeUInt16LE(header.length, 8);
  writeFileSync(file, Buffer.concat([head, Buffer.from(header, "latin1"), data]));
}

test("24.10-11 more nonsense: integer weights, bool or empty responses, a .npy header giving its shape twice, shards missing, malformed jobs, usage ranges", async () => {
  const dir = tmp("nonsense2");
  const { run: runDir, zoo } = inr();
  // Integer and bool tensors are not weights.
  const z = Zoo.open(zoo);
  const params = z.manifest.architectures[0].parameters;
  const net = z.network(0);
  const ints = params.map((p, i): [string, { data: Float32Array; shape: number[] }] => [p.name, { data: net.params.get(p.name)!, shape: p.shape }]);
  const file = join(dir, "int.pth");
  // A torch tensor written from an Int32Array is an int32 (IntStorage) tensor.
  const asInt = ints.map(([n, t], i) => [n, i === 0 ? { data: Int32Array.from(t.data, (v) => Math.round(v)), shape: t.shape } : t] as [string, { data: Float32Array; shape: number[] }]);
  writeTorchCheckpoint(file, stateDictValue(asInt));
  const r = run("predict", runDir, file);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`int\\.pth: tensor ${params[0].name.replace(".", "\\.")} is int32; weights are floating point`));
  // Responses: bool values, no networks, a header that gives its shape twice.
  const k = 8, out = 1;
  rawNpy(join(dir, "bool.npy"), `{'descr': '|b1', 'fortran_order': False, 'shape': (1, ${k}, ${out}), }`, new Uint8Array(k * out));
  const b = run("predict", runDir, "--responses", join(dir, "bool.npy"));
  assert.equal(b.status, 1);
  assert.match(b.stderr, /bool\.npy: holds \|b1 values; responses are a network's outputs, floating point/);
  rawNpy(join(dir, "empty.npy"), `{'descr': '<f4', 'fortran_order': False, 'shape': (0, ${k}, ${out}), }`, new Uint8Array(0));
  const e = run("predict", runDir, "--responses", join(dir, "empty.npy"));
  assert.equal(e.status, 1);
  assert.match(e.stderr, /empty\.npy: holds the responses of no networks \(N = 0\)/);
  rawNpy(join(dir, "twice.npy"), `{'descr': '<f4', 'fortran_order': False, 'shape': (5, ${k}, ${out}), 'shape': (1, ${k}, ${out}), }`, new Uint8Array(4 * k * out * 5));
  const t = run("predict", runDir, "--responses", join(dir, "twice.npy"));
  assert.equal(t.status, 1);
  assert.match(t.stderr, /twice\.npy: header gives 'shape' more than once/);
  // A missing shard is named as missing.
  const copy = join(dir, "zoo");
  cpSync(zoo, copy, { recursive: true });
  rmSync(join(copy, "shard-00001.safetensors"));
  const m = run("train", "--zoo", copy, "--out", join(dir, "r"), "--epochs", "1", "--probes", "4");
  assert.equal(m.status, 1);
  assert.match(m.stderr, /shard-00001\.safetensors: is missing: zoo\.json places 20 networks in it/);
  // A queue job whose data is not what its kind needs fails naming what is wrong.
  const { jobDataProblem } = await import("../src/queue/worker.js");
  assert.equal(jobDataProblem("predict", { run: "r", inputs: [], options: {}, checkpoint: null }), "inputs is not a list of paths");
  assert.equal(jobDataProblem("shard", { kind: "inr", opts: {}, shard: 0 }), "opts.out is not a folder path");
  assert.equal(jobDataProblem("predict", { run: "r", inputs: ["a"], options: {}, checkpoint: null }), null);
  // Out-of-range sizes are usage errors (exit 2), as other bad options are.
  for (const args of [["zoo", "build", "inr", "--dataset", "mnist", "--count", "99999999", "--out", join(dir, "c")], ["zoo", "build", "cnn", "--dataset", "mnist", "--count", "4", "--train-images", "10", "--out", join(dir, "c")], ["train", "--zoo", zoo, "--out", join(dir, "c"), "--probes", "100000000"]]) {
    const x = run(...args);
    assert.equal(x.status, 2, `${args.join(" ")}: ${x.stderr}`);
  }
  // Settings too large for tensor memory, and a forged seed, are named with their run.
  const big = run("train", "--zoo", zoo, "--out", join(dir, "big"), "--probes", "16384", "--head-width", "16384");
  assert.equal(big.status, 1);
  assert.match(big.stderr, /big: a model of 16384 probes and a 16384-wide head for .*zoo's 10 outputs does not fit: out of tensor memory/);
  const forged = join(dir, "forged");
  cpSync(runDir, forged, { recursive: true });
  const rf = JSON.parse(readFileSync(join(forged, "config.json"), "utf8"));
  rf.config.seed = "x";
  writeFileSync(join(forged, "config.json"), JSON.stringify(rf));
  const fs = run("predict", forged, zoo);
  assert.equal(fs.status, 1);
  assert.match(fs.stderr, /forged\/config\.json: not a probegen run file: seed must be an integer, got "x"/);
  // A zoo without a val split trains, saying what that means.
  const noVal = join(dir, "noval");
  cpSync(zoo, noVal, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(noVal, "zoo.json"), "utf8"));
  manifest.splits.train = [...manifest.splits.train, ...manifest.splits.val];
  manifest.splits.val = [];
  writeFileSync(join(noVal, "zoo.json"), JSON.stringify(manifest));
  const nv = run("train", "--zoo", noVal, "--out", join(dir, "nv"), "--epochs", "1", "--probes", "4");
  assert.equal(nv.status, 0, nv.stderr);
  assert.match(nv.stderr, /warning: .*noval has no val split: no checkpoint is chosen by validation/);
});

test("24.10-12 logs, names and lists: bad metrics records, escape codes, formula cells, --list relative to its file, no empty export folder", () => {
  const dir = tmp("nonsense3");
  const { run: runDir, zoo } = inr();
  const copy = join(dir, "run");
  cpSync(runDir, copy, { recursive: true });
  const lines = readFileSync(join(copy, "metrics.jsonl"), "utf8").trim().split("\n");
  for (const [bad, re] of [
    [[lines[0], lines[0]], /metrics\.jsonl: line 2: step \d+ does not follow step \d+/],
    [[lines[0].replace(/"trainLoss":[^,]+/, '"trainLoss":"low"')], /metrics\.jsonl: line 1: trainLoss is "low", not a number/],
  ] as [string[], RegExp][]) {
    writeFileSync(join(copy, "metrics.jsonl"), `${bad.join("\n")}\n`);
    const r = run("report", copy, "--out", join(dir, "r.html"));
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, re);
  }
  // A file name with an escape sequence is shown, not obeyed.
  const evil = join(dir, "a\x1b[2Jb.pth");
  writeFileSync(evil, "not a checkpoint");
  const e = run("predict", runDir, evil);
  assert.equal(e.status, 1);
  assert.ok(!e.stderr.includes("\x1b"), "no raw escape reaches the terminal");
  assert.match(e.stderr, /a\\x1b\[2Jb\.pth/);
  // --list: paths relative to the list's folder; CSV names that a spreadsheet would run are quoted.
  const sub = join(dir, "lists");
  cpSync(zoo, join(sub, "=zoo"), { recursive: true });
  writeFileSync(join(sub, "list.txt"), "=zoo\n");
  const csv = spawnSync(process.execPath, [cli, "predict", runDir, "--list", join(sub, "list.txt"), "--index", "0", "--csv"], { encoding: "utf8", cwd: tmpdir(), env: { ...process.env, CI: "true" } });
  assert.equal(csv.status, 0, csv.stderr);
  assert.ok(csv.stdout.split("\n")[1].startsWith(`${join(sub, "=zoo")}#0,`), csv.stdout);
  const formula = spawnSync(process.execPath, [cli, "predict", runDir, "=zoo", "--index", "0", "--csv"], { encoding: "utf8", cwd: sub, env: { ...process.env, CI: "true" } });
  assert.equal(formula.status, 0, formula.stderr);
  assert.ok(formula.stdout.split("\n")[1].startsWith("'=zoo#0,"), formula.stdout);
  // A probes export that fails leaves no folder behind.
  const statnn = join(dir, "statnn");
  assert.equal(run("train", "--zoo", zoo, "--out", statnn, "--method", "statnn", "--epochs", "1").status, 0);
  const p = run("probes", "export", statnn, "--out", join(dir, "probes"));
  assert.equal(p.status, 1);
  assert.equal(existsSync(join(dir, "probes")), false);
});

test("24.8 predict's temporary imports of public layouts never accumulate: removed after use, and those of killed processes swept", () => {
  const { run: runDir } = park();
  const copies = () => readdirSync(tmpdir()).filter((n) => n.startsWith("probegen-predict-"));
  const abandoned = join(tmpdir(), "probegen-predict-999999999-abcdef");
  mkdirSync(join(abandoned, "zoo"), { recursive: true });
  const before = copies().filter((n) => !n.startsWith("probegen-predict-999999999-"));
  const r = run("predict", runDir, join(FIX, "cnn-wild-park", "cnn_park_splits.json"), "--json");
  assert.equal(r.status, 0, r.stderr);
  assert.equal(existsSync(abandoned), false, "a dead process's copy is swept");
  assert.deepEqual(copies().filter((n) => !before.includes(n)), [], "this predict's own copy is gone");
});

test("24.11 a run of a plan (an ablation variant) that stops on a NaN loss is named with its label and folder", async () => {
  const { zoo } = inr();
  const dir = join(tmp("plan-nan"), "variant");
  const config = { ...DEFAULT_TRAIN_CONFIG, zoo, probes: 4, epochs: 3, batch: 8, evalEvery: 2, lr: 1e30, head: { width: 8, depth: 2 } };
  await assert.rejects(runPlan([{ dir, label: "lr x 1e30, seed 0", config }]), (e: Error) => {
    assert.ok(e.message.startsWith(`lr x 1e30, seed 0 (${dir}): step `), e.message);
    assert.match(e.message, /loss is NaN/);
    return true;
  });
});
