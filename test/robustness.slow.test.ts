// Run and zoo folders that nothing can corrupt: each defect found by trying the CLI with bad input
// and faults, reproduced, and its fix checked.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn, spawnSync, execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { buildInrZoo } from "../src/zoo/build/inr-builder.js";
import { decodeSafetensors, encodeSafetensors, readSafetensors, type SafeArray } from "../src/io/safetensors.js";
import { writeFileAtomic } from "../src/io/atomic.js";
import { makeDirectory } from "../src/io/dirs.js";
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from "../src/train/config.js";
import { train } from "../src/train/trainer.js";
import { Zoo } from "../src/zoo/format.js";
import { Tensor } from "../src/engine/index.js";

const cli = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 60_000, env: { ...process.env, CI: "true" } });
const tmp = (tag: string) => mkdtempSync(join(tmpdir(), `probegen-${tag}-`));
const zoo = (() => {
  let dir: string | null = null;
  return () => {
    if (dir === null) {
      dir = join(tmp("robust-zoo"), "zoo");
      buildInrZoo({ dataset: "mnist", count: 40, out: dir, seed: 2, recipe: { steps: 20 }, shardSize: 20 });
    }
    return dir;
  };
})();
const copyZoo = () => {
  const dir = join(tmp("robust-copy"), "zoo");
  cpSync(zoo(), dir, { recursive: true });
  return dir;
};
const cfg = (z: string, extra: Partial<TrainConfig> = {}): TrainConfig =>
  ({ ...DEFAULT_TRAIN_CONFIG, zoo: z, probes: 8, epochs: 3, batch: 8, evalEvery: 2, head: { width: 16, depth: 2 }, ...extra });

/** Rewrites one tensor of a safetensors file through `edit`. */
function editTensor(file: string, name: string, edit: (data: SafeArray) => SafeArray | { dtype: "I32"; data: Int32Array }): void {
  const st = readSafetensors(file);
  const tensors = [...st.tensors].map(([n, t]): [string, { shape: number[]; data: SafeArray }] => {
    if (n !== name) return [n, { shape: t.shape, data: t.data }];
    const out = edit(t.data);
    return [n, { shape: t.shape, data: "dtype" in out ? out.data : out }];
  });
  writeFileSync(file, encodeSafetensors(tensors, st.metadata));
}

test("1. no hang: a folder that cannot be made (under /proc) is an error naming it", () => {
  const t0 = Date.now();
  const r = run("train", "--zoo", zoo(), "--out", "/proc/probegen-x/run", "--epochs", "1");
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /\/proc\/probegen-x: cannot make this folder: no such file or folder \(ENOENT\)/);
  const b = run("zoo", "build", "inr", "--dataset", "mnist", "--count", "2", "--out", "/proc/pg/zoo", "--steps", "2");
  assert.equal(b.status, 1, b.stderr);
  assert.match(b.stderr, /\/proc\/pg: cannot make this folder/);
  assert.ok(Date.now() - t0 < 30_000);
  assert.throws(() => makeDirectory("/proc/a/b/c"), /\/proc\/a: cannot make this folder/);
});

test("2a. a NaN weight in one network: training refuses the zoo naming network and shard, or leaves it out; info and render say so", () => {
  const dir = copyZoo();
  const shard = join(dir, "shard-00001.safetensors");
  editTensor(shard, "seq.1.weight", (d) => { const c = Float32Array.from(d as Float32Array); c[1024 * 3 + 5] = NaN; return c; });
  const out = join(tmp("nan-run"), "r");
  const r = run("train", "--zoo", dir, "--out", out, "--epochs", "1", "--probes", "8");
  assert.equal(r.status, 1);
  assert.match(r.stderr, /shard-00001\.safetensors: network 23 holds a non-finite weight in seq\.1\.weight; pass --skip-nonfinite/);
  assert.ok(!existsSync(out), "nothing written for a refused zoo");
  const ok = run("train", "--zoo", dir, "--out", out, "--epochs", "1", "--probes", "8", "--skip-nonfinite", "--json");
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).skippedNonFinite, 1);
  const info = run("zoo", "info", dir);
  assert.match(info.stdout, /WARNING: 1 network\(s\) hold non-finite weights: 23 \(seq\.1\.weight, shard-00001\.safetensors\)/);
  assert.equal(JSON.parse(run("zoo", "info", dir, "--json").stdout).nonFinite[0].index, 23);
  const png = join(out, "..", "x.png");
  const render = run("zoo", "render", dir, "--index", "23", "--out", png);
  assert.equal(render.status, 1);
  assert.match(render.stderr, /INR 23 outputs NaN .*not all finite/);
  assert.ok(!existsSync(png));
});

test("2b. settings that cannot fit (w0 0, lr 0) are refused before anything is written", () => {
  const out = join(tmp("w0"), "z");
  const r = run("zoo", "build", "inr", "--dataset", "mnist", "--count", "2", "--out", out, "--w0", "0");
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--w0 must be a number > 0, got "0"/);
  assert.ok(!existsSync(out));
  assert.throws(() => buildInrZoo({ dataset: "mnist", count: 2, out, arch: { inDim: 2, hidden: [8], outDim: 1, w0: 0, outputOffset: 0.5 } }), /w0 is 0, expected a positive number/);
  assert.ok(!existsSync(out));
});

test("2c. a non-finite loss stops the run naming the step; the last good checkpoint is kept", () => {
  const base = ["--zoo", zoo(), "--epochs", "6", "--batch", "8", "--eval-every", "1", "--probes", "8", "--head-width", "16", "--head-depth", "6"];
  const huge = join(tmp("lr"), "r");
  const h = run("train", ...base, "--out", huge, "--lr", "1e10");
  assert.equal(h.status, 1, h.stdout);
  assert.match(h.stderr, /step 1: the validation loss is NaN; the run stopped, before its first checkpoint/);
  // A rate that diverges after some checkpoints: the run stops at the first non-finite loss and keeps them.
  const out = join(tmp("lr"), "r");
  const r = run("train", ...base, "--out", out, "--lr", "30");
  assert.equal(r.status, 1, r.stdout);
  const m = /step (\d+): the (training|validation|test) loss is (NaN|-?Infinity); the run stopped, and its last checkpoint \(step (\d+)/.exec(r.stderr);
  assert.ok(m !== null, r.stderr);
  const last = JSON.parse(readFileSync(join(out, "last.json"), "utf8"));
  assert.equal(last.step, Number(m[4]));
  assert.ok(last.step > 0 && last.step < Number(m[1]), `the checkpoint (step ${last.step}) precedes the failure (step ${m[1]})`);
  for (const t of readSafetensors(join(out, "last.safetensors")).tensors.values()) assert.ok((t.data as Float32Array).every(Number.isFinite));
  assert.ok(!existsSync(join(out, "result.json")), "no result for a run that failed");
  const ev = run("eval", out, "--checkpoint", "last", "--json");
  assert.equal(ev.status, 0, ev.stderr);
});

test("2d. a checkpoint holding NaN, or a tensor retyped I32, is refused by eval naming the file and tensor", () => {
  const out = join(tmp("ckpt"), "r");
  train(cfg(zoo()), out);
  const best = join(out, "best.safetensors");
  const good = readFileSync(best);
  editTensor(best, "head.0.weight", (d) => new Float32Array((d as Float32Array).length).fill(NaN));
  const r = run("eval", out);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /best\.safetensors: tensor head\.0\.weight holds a non-finite value/);
  writeFileSync(best, good);
  editTensor(best, "head.0.bias", (d) => ({ dtype: "I32", data: Int32Array.from(d as Float32Array, Math.round) }));
  const i32 = run("eval", out);
  assert.equal(i32.status, 1);
  assert.match(i32.stderr, /best\.safetensors: tensor head\.0\.bias is I32, expected F32/);
});

test("3. a folder that is not a run is never written into", () => {
  const out = tmp("users");
  writeFileSync(join(out, "result.json"), "my own results");
  writeFileSync(join(out, "metrics.jsonl"), "my own metrics\n");
  const r = run("train", "--zoo", zoo(), "--out", out, "--epochs", "1");
  assert.equal(r.status, 1);
  assert.match(r.stderr, /is not empty and holds no probegen run \(it has metrics\.jsonl, result\.json\)/);
  assert.equal(readFileSync(join(out, "result.json"), "utf8"), "my own results");
  assert.equal(readFileSync(join(out, "metrics.jsonl"), "utf8"), "my own metrics\n");
  assert.deepEqual(readdirSync(out).sort(), ["metrics.jsonl", "result.json"]);
});

test("4. a build does not mix settings: leftovers without build.json are refused, shards must be where zoo.json says", () => {
  const out = join(tmp("leftover"), "z");
  buildInrZoo({ dataset: "mnist", count: 6, out, seed: 1, recipe: { steps: 3 }, shardSize: 3 });
  rmSync(join(out, "zoo.json"));
  assert.throws(() => buildInrZoo({ dataset: "mnist", count: 6, out, seed: 2, recipe: { steps: 3 }, shardSize: 3 }),
    /z: is not empty and holds no zoo\.json or build\.json \(it has shard-00000\.safetensors, shard-00001\.safetensors\)/);
  // Two shards swapped: each one's own metadata says where it belongs.
  const dir = copyZoo();
  const a = join(dir, "shard-00000.safetensors"), b = join(dir, "shard-00001.safetensors");
  const tmpName = join(dir, "swap");
  cpSync(a, tmpName); cpSync(b, a); cpSync(tmpName, b); rmSync(tmpName);
  assert.throws(() => Zoo.open(dir).readShard(0), /shard-00000\.safetensors: holds networks 20\.\.39 by its own metadata, but zoo\.json places networks 0\.\.19 here/);
});

test("5. reads are bounded: a device, a FIFO, or a manifest declaring more than its shards hold fail fast, naming the file", () => {
  const dir = copyZoo();
  const shard = join(dir, "shard-00000.safetensors");
  rmSync(shard);
  symlinkSync("/dev/zero", shard);
  const t0 = Date.now();
  assert.throws(() => Zoo.open(dir).readShard(0), /shard-00000\.safetensors: is not a regular file/);
  const fifoDir = tmp("fifo");
  execFileSync("mkfifo", [join(fifoDir, "zoo.json")]);
  assert.throws(() => Zoo.open(fifoDir), /zoo\.json: is not a regular file/);
  const big = copyZoo();
  const m = JSON.parse(readFileSync(join(big, "zoo.json"), "utf8"));
  m.count = 4e9;
  m.shards = [{ file: "shard-00000.safetensors", start: 0, count: 4e9 }];
  m.splits = { train: [[0, 4e9]], val: [], test: [] };
  writeFileSync(join(big, "zoo.json"), JSON.stringify(m));
  assert.throws(() => Zoo.open(big).readAll(), /shard-00000\.safetensors: holds \d+ bytes, too few for the 4000000000 networks zoo\.json places in it/);
  assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
});

test("6. metrics are written once: a resume after a stop before the first checkpoint, and two runs at once", async () => {
  const whole = join(tmp("whole"), "r");
  train(cfg(zoo()), whole);
  const steps = (dir: string) => readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l).step as number);
  // Stopped after logging its first record but before the checkpoint that follows it.
  const out = join(tmp("stopped"), "r");
  train(cfg(zoo()), out, { stopAfter: 2 });
  for (const f of ["best.safetensors", "best.json", "last.safetensors", "last.json"]) rmSync(join(out, f));
  train(cfg(zoo()), out, { resume: true });
  assert.deepEqual(steps(out), steps(whole));
  // Two processes on one folder: one runs, the other is refused by the lock.
  const both = join(tmp("both"), "r");
  const start = () => new Promise<{ code: number | null; err: string }>((resolve) => {
    const p = spawn(process.execPath, [cli, "train", "--zoo", zoo(), "--out", both, "--epochs", "6", "--batch", "4", "--probes", "8"], { env: { ...process.env, CI: "true" } });
    let err = "";
    p.stderr.on("data", (d) => { err += d; });
    p.on("close", (code) => resolve({ code, err }));
  });
  const [x, y] = await Promise.all([start(), start()]);
  const codes = [x.code, y.code].sort();
  assert.deepEqual(codes, [0, 1], `${x.err}\n${y.err}`);
  assert.match([x, y].find((p) => p.code === 1)!.err, /already holds a run|is in use by probegen process \d+/);
  const s = steps(both);
  assert.equal(new Set(s).size, s.length, "no record twice");
  assert.ok(!existsSync(join(both, ".probegen.lock")), "the lock is gone when the run ends");
  // A lock left by a process that is gone is taken over.
  writeFileSync(join(both, ".probegen.lock"), JSON.stringify({ pid: 999999999, host: (await import("node:os")).hostname(), task: "x", since: "" }));
  const resumed = run("train", "--zoo", zoo(), "--out", both, "--epochs", "6", "--batch", "4", "--probes", "8", "--resume");
  assert.equal(resumed.status, 0, resumed.stderr);
});

test("7. bad manifests, run files and architectures give errors that name the file", () => {
  const cases: [string, (m: Record<string, unknown>) => void, RegExp][] = [
    ["no architecture", (m) => { delete m.architecture; }, /zoo\.json: missing architecture/],
    ["null parameter", (m) => { (m.parameters as unknown[])[0] = null; }, /zoo\.json: invalid parameter entry null/],
    ["null field", (m) => { (m.fields as unknown[]).push(null); }, /zoo\.json: invalid field entry null/],
    ["null shard", (m) => { m.shards = [null]; }, /zoo\.json: invalid shard entry null/],
    ["hidden widths of nulls", (m) => { (m.architecture as Record<string, unknown>).hidden = [null, null, null]; }, /zoo\.json: architecture\.hidden is \[null,null,null\], expected a list of integers >= 1/],
    ["an F16 field", (m) => { (m.fields as { dtype: string }[])[1].dtype = "F16"; }, /zoo\.json: field psnr has dtype F16; zoo fields are F32, I32, U8/],
  ];
  for (const [what, edit, re] of cases) {
    const dir = copyZoo();
    const m = JSON.parse(readFileSync(join(dir, "zoo.json"), "utf8"));
    edit(m);
    writeFileSync(join(dir, "zoo.json"), JSON.stringify(m));
    const r = run("train", "--zoo", dir, "--out", join(dir, "..", "run"), "--epochs", "1");
    assert.equal(r.status, 1, `${what}: ${r.stderr}`);
    assert.match(r.stderr, re, what);
    assert.doesNotMatch(r.stderr, /TypeError|Cannot read properties/, what);
  }
  const noProvenance = copyZoo();
  const m = JSON.parse(readFileSync(join(noProvenance, "zoo.json"), "utf8"));
  delete m.provenance;
  writeFileSync(join(noProvenance, "zoo.json"), JSON.stringify(m));
  assert.equal(run("zoo", "info", noProvenance).status, 0);
  const runDir = join(tmp("cfg"), "r");
  train(cfg(zoo()), runDir);
  writeFileSync(join(runDir, "config.json"), "{}");
  const e = run("eval", runDir);
  assert.equal(e.status, 1);
  assert.match(e.stderr, /config\.json: not a probegen run file: no config/);
});

test("8. the small ones: stale temporaries, unwritable files, overlapping tensors, empty zoos and splits, odd numbers", () => {
  // A stale temporary of an interrupted build is removed when the build resumes.
  const out = join(tmp("stale"), "z");
  let seen = 0;
  assert.throws(() => buildInrZoo({ dataset: "mnist", count: 6, out, recipe: { steps: 3 }, shardSize: 3, onProgress: (_d, _t, last) => { if (last !== null && ++seen === 4) throw new Error("killed"); } }), /killed/);
  writeFileSync(join(out, ".shard-00001.safetensors.4242.tmp"), "half");
  buildInrZoo({ dataset: "mnist", count: 6, out, recipe: { steps: 3 }, shardSize: 3 });
  assert.deepEqual(readdirSync(out).filter((f) => f.endsWith(".tmp")), []);
  // A write that fails names the file.
  assert.throws(() => writeFileAtomic("/proc/nope/x.json", "{}"), /\/proc\/nope\/x\.json: cannot be written: no such file or folder \(ENOENT\)/);
  // Overlapping tensors in a safetensors file.
  const header = JSON.stringify({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [2], data_offsets: [4, 12] } });
  const bytes = new Uint8Array(8 + header.length + 12);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
  bytes.set(Buffer.from(header), 8);
  assert.throws(() => decodeSafetensors(bytes, "o.safetensors"), /o\.safetensors: corrupt: tensors a and b overlap/);
  // Empty zoo, empty split.
  const empty = copyZoo();
  const m = JSON.parse(readFileSync(join(empty, "zoo.json"), "utf8"));
  writeFileSync(join(empty, "zoo.json"), JSON.stringify({ ...m, count: 0, shards: [], splits: { train: [], val: [], test: [] } }));
  const render = run("zoo", "render", empty, "--index", "0", "--out", join(empty, "x.png"));
  assert.equal(render.status, 1);
  assert.match(render.stderr, /the zoo holds no networks to render/);
  const noVal = copyZoo();
  const n = JSON.parse(readFileSync(join(noVal, "zoo.json"), "utf8"));
  writeFileSync(join(noVal, "zoo.json"), JSON.stringify({ ...n, splits: { ...n.splits, train: [[0, n.splits.val[0][1]]], val: [] } }));
  const runDir = join(tmp("noval"), "r");
  train(cfg(noVal), runDir);
  const ev = run("eval", runDir, "--split", "val");
  assert.equal(ev.status, 1);
  assert.match(ev.stderr, /zoo\.json: the val split holds no networks/);
  assert.doesNotMatch(ev.stdout + ev.stderr, /NaN%/);
  // Numbers on the command line.
  for (const [args, re] of [
    [["--lr", "0"], /--lr must be a number > 0, got "0"/],
    [["--probes", "0x10"], /--probes must be an integer >= 1 and <= 16384, got "0x10"/],
    [["--probes", "-5"], /--probes must be an integer >= 1 and <= 16384, got "-5"/],
    [["--lr", "1e-3x"], /--lr must be a number > 0, got "1e-3x"/],
  ] as [string[], RegExp][]) {
    const r = run("train", "--zoo", zoo(), "--out", join(tmp("num"), "r"), ...args);
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
  void Tensor;
});
