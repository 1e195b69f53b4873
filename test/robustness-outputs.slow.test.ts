// Issue 24, what commands write and hold: no output flag replaces a file that is not probegen's
// own (a read-only file, a device node, a user's file, the run's own files); signals release
// locks and leave folders resumable; locks of other machines lapse or are broken on request.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { spawn, spawnSync, execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { lazyInrRun } from "./helpers.js";
import { FolderLock, LEASE_MS, LOCK_FILE, breakLocks } from "../src/io/folder-lock.js";
import { checkOutputFile, writeOutputFile } from "../src/io/output-file.js";
import { PREDICTION_FILE } from "../src/predict/predict.js";
import { PNG_FILE, encodePng } from "../src/report/png.js";
import { REPORT_FILE } from "../src/report/html.js";
import { fingerprint } from "../src/queue/fingerprint.js";

const cli = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const FIX = fileURLToPath(new URL("../../test/fixtures/interop/", import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 120_000, env: { ...process.env, CI: "true" } });
const tmp = (tag: string) => mkdtempSync(join(tmpdir(), `probegen-${tag}-`));

const made = lazyInrRun("outputs", 3);

/** A device node in a temporary folder (never a real one under /dev): /dev/null's numbers, or a FIFO where mknod is not allowed. */
function deviceNode(dir: string): { path: string; kind: "character device" | "FIFO" } {
  const path = join(dir, "device");
  try {
    execFileSync("mknod", [path, "c", "1", "3"], { stdio: "ignore" });
    return { path, kind: "character device" };
  } catch {
    execFileSync("mkfifo", [path]);
    return { path, kind: "FIFO" };
  }
}

/** What a target is now, to show it was not touched: its type, mode and content. */
function snapshot(p: string): string {
  const st = lstatSync(p);
  return JSON.stringify({ dev: st.isCharacterDevice(), fifo: st.isFIFO(), file: st.isFile(), mode: st.mode, size: st.size, ino: st.ino, content: st.isFile() ? readFileSync(p, "latin1") : null });
}

test("24.1 every command's output flags refuse a read-only file, a device node and a user's file, leaving each as it was", () => {
  const { zoo, run: runDir } = made();
  const dir = tmp("targets");
  const readOnly = join(dir, "read-only.json");
  writeFileSync(readOnly, `{"mine": true}\n`);
  chmodSync(readOnly, 0o444);
  const users = join(dir, "notes.json");
  writeFileSync(users, `{"run": "my own notes", "predictions": "not probegen's"}\n`);
  const device = deviceNode(dir);
  const commands: [string, (out: string) => string[]][] = [
    ["predict --out", (out) => ["predict", runDir, zoo, "--index", "0", "--out", out]],
    ["zoo render --out", (out) => ["zoo", "render", zoo, "--index", "0", "--out", out]],
    ["report --out", (out) => ["report", runDir, "--out", out]],
    ["probes export --out", (out) => ["probes", "export", runDir, "--out", out]],
    ["train --out", (out) => ["train", "--zoo", zoo, "--out", out, "--epochs", "1", "--probes", "4"]],
    ["zoo build --out", (out) => ["zoo", "build", "inr", "--dataset", "mnist", "--count", "2", "--steps", "2", "--out", out]],
    ["zoo import --out", (out) => ["zoo", "import", "dwsnets", join(FIX, "dwsnets-mnist", "mnist_splits.json"), "--out", out]],
    ["zoo export --out", (out) => ["zoo", "export", zoo, "--format", "safetensors", "--out", out]],
    ["ablate --out", (out) => ["ablate", "--zoo", zoo, "--grid", "activation", "--out", out, "--epochs", "1", "--seeds", "1"]],
  ];
  for (const target of [readOnly, device.path, users]) {
    const before = snapshot(target);
    for (const [name, args] of commands) {
      const r = run(...args(target));
      assert.equal(r.status, 1, `${name} ${target}: exit ${r.status}\n${r.stderr}`);
      assert.ok(r.stderr.includes(target), `${name} ${target}: the error names the file: ${r.stderr}`);
      assert.equal(snapshot(target), before, `${name} changed ${target}`);
    }
  }
  assert.deepEqual(readdirSync(dir).sort(), ["device", "notes.json", "read-only.json"], "no temporary left beside the targets");
});

test("24.1 predict --out replaces only an earlier prediction file, never the run's own files or the checkpoint it reads", () => {
  const { zoo, run: runDir } = made();
  const runFiles = ["config.json", "best.safetensors", "best.json", "metrics.jsonl"].map((f) => join(runDir, f));
  const before = runFiles.map(snapshot);
  for (const f of runFiles) {
    const r = run("predict", runDir, zoo, "--index", "0", "--out", f);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /exists; it is not a probegen prediction file, so probegen will not replace it/);
  }
  assert.deepEqual(runFiles.map(snapshot), before);
  // A new file is written; the same path again is an earlier prediction: replaced, atomically.
  const out = join(tmp("pred"), "p.json");
  assert.equal(run("predict", runDir, zoo, "--index", "0", "--out", out).status, 0);
  const first = JSON.parse(readFileSync(out, "utf8"));
  assert.equal(first.generator, "probegen predict");
  assert.equal(first.count, 1);
  const again = run("predict", runDir, zoo, "--index", "0,1", "--out", out);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(JSON.parse(readFileSync(out, "utf8")).count, 2);
  // A file written before prediction files named their generator is still recognised.
  writeFileSync(out, `{\n  "run": "r",\n  "checkpoint": "best",\n  "task": "classification",\n  "count": 0,\n  "predictions": [],\n  "metrics": null\n}\n`);
  assert.equal(run("predict", runDir, zoo, "--index", "0", "--out", out).status, 0);
  // A symbolic link is not followed or replaced.
  const link = join(tmp("link"), "l.json");
  execFileSync("ln", ["-s", out, link]);
  const viaLink = run("predict", runDir, zoo, "--index", "0", "--out", link);
  assert.equal(viaLink.status, 1);
  assert.match(viaLink.stderr, /l\.json: is a symbolic link/);
});

test("24.1 output kinds: each recognises its own files only; a render replaces a render", () => {
  const dir = tmp("kinds");
  const png = join(dir, "a.png");
  writeOutputFile(png, encodePng(2, 2, 1, new Uint8Array(4)), PNG_FILE);
  writeOutputFile(png, encodePng(3, 3, 1, new Uint8Array(9)), PNG_FILE);
  assert.throws(() => checkOutputFile(png, PREDICTION_FILE), /a\.png: exists; it is not a probegen prediction file/);
  assert.throws(() => checkOutputFile(png, REPORT_FILE), /not a probegen report/);
  const foreignPng = join(dir, "photo.png");
  // A PNG without probegen's Software text is someone else's.
  writeFileSync(foreignPng, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(40)]));
  assert.throws(() => checkOutputFile(foreignPng, PNG_FILE), /photo\.png: exists; it is not a PNG written by probegen/);
  mkdirSync(join(dir, "folder"));
  assert.throws(() => checkOutputFile(join(dir, "folder"), PNG_FILE), /folder: is a folder/);
  checkOutputFile(join(dir, "new.png"), PNG_FILE);
  // A path in a folder that does not exist is left to the write, which names it.
  checkOutputFile(join(dir, "missing", "x.png"), PNG_FILE);
  assert.throws(() => writeOutputFile(join(dir, "missing", "x.png"), "x", PNG_FILE), /x\.png: cannot be written: no such file or folder/);
});

test("24.8 SIGINT and SIGTERM during train release the lock, and the run resumes to the bytes of an uninterrupted one", async () => {
  const { zoo } = made();
  const root = tmp("signal");
  const whole = join(root, "whole");
  const args = (out: string) => [cli, "train", "--zoo", zoo, "--out", out, "--epochs", "300", "--probes", "8", "--batch", "8", "--eval-every", "25", "--head-width", "16", "--head-depth", "2", "--threads", "1"];
  assert.equal(spawnSync(process.execPath, args(whole), { encoding: "utf8", env: { ...process.env, CI: "true" } }).status, 0);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    const out = join(root, signal);
    const child = spawn(process.execPath, args(out), { env: { ...process.env, CI: "true" }, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d: Buffer) => { err += d.toString(); });
    // Wait for the first checkpoint, then stop it mid-run.
    const t0 = Date.now();
    while (!existsSync(join(out, "last.json")) && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 20));
    child.kill(signal);
    const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    assert.equal(code, signal === "SIGINT" ? 130 : 143, err);
    assert.match(err, new RegExp(`stopped by ${signal}`));
    assert.equal(existsSync(join(out, LOCK_FILE)), false, `${signal} left the lock`);
    assert.equal(existsSync(join(out, "result.json")), false, "it was stopped before the end");
    assert.deepEqual(readdirSync(out).filter((n) => n.endsWith(".tmp")), []);
    const resumed = spawnSync(process.execPath, [...args(out), "--resume"], { encoding: "utf8", env: { ...process.env, CI: "true" } });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.deepEqual(readFileSync(join(out, "last.safetensors")), readFileSync(join(whole, "last.safetensors")), `${signal}: the resumed run's weights differ`);
  }
});

test("24.8 SIGINT during zoo build (one worker) stops it at once, releases the lock, and the rerun gives an uninterrupted build's bytes", async () => {
  const root = tmp("signal-build");
  // --batch 4: a shard's INRs are fitted together and written as they finish (a larger batch
  // would fit all 48 at once and write every shard at the end, before the signal).
  const args = (out: string) => [cli, "zoo", "build", "inr", "--dataset", "mnist", "--count", "48", "--shard-size", "4", "--batch", "4", "--steps", "150", "--out", out, "--threads", "1"];
  const whole = join(root, "whole");
  assert.equal(spawnSync(process.execPath, args(whole), { encoding: "utf8", env: { ...process.env, CI: "true" } }).status, 0);
  const out = join(root, "stopped");
  const child = spawn(process.execPath, args(out), { env: { ...process.env, CI: "true" }, stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr.on("data", (d: Buffer) => { err += d.toString(); });
  const t0 = Date.now();
  while (!existsSync(join(out, "shard-00000.safetensors")) && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 20));
  child.kill("SIGINT");
  const sent = Date.now();
  const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
  assert.ok(Date.now() - sent < 5000, `the build took ${Date.now() - sent} ms to stop`);
  assert.equal(code, 130, err);
  assert.equal(existsSync(join(out, LOCK_FILE)), false, "SIGINT left the lock");
  assert.equal(existsSync(join(out, "zoo.json")), false, "stopped before the end");
  assert.equal(spawnSync(process.execPath, args(out), { encoding: "utf8", env: { ...process.env, CI: "true" } }).status, 0);
  for (const f of readdirSync(whole)) assert.deepEqual(readFileSync(join(out, f)), readFileSync(join(whole, f)), f);
});

test("24.8 a lock from another machine lapses after its lease or gives way to --break-lock; a live local one never does", () => {
  const dir = tmp("lease");
  const lock = join(dir, LOCK_FILE);
  const foreign = JSON.stringify({ pid: 4242, host: "another-node", task: "a training run", since: "2026-01-01T00:00:00Z" });
  writeFileSync(lock, foreign);
  assert.throws(() => FolderLock.acquire(dir, "a test"), /in use by probegen process 4242 on another-node .*the lock lapses \d+ min after its last heartbeat, or rerun with --break-lock/);
  // An old heartbeat: the lease has lapsed, and the lock is taken.
  const old = new Date(Date.now() - LEASE_MS - 60_000);
  utimesSync(lock, old, old);
  const taken = FolderLock.acquire(dir, "a test");
  assert.equal(JSON.parse(readFileSync(lock, "utf8")).pid, process.pid);
  taken.release();
  assert.equal(existsSync(lock), false);
  // A fresh foreign lock gives way to --break-lock only.
  writeFileSync(lock, foreign);
  breakLocks(true);
  try {
    const broken = FolderLock.acquire(dir, "a test");
    broken.release();
    // A live process on this machine keeps its lock, --break-lock or not.
    const live = spawn(process.execPath, ["-e", "setTimeout(() => {}, 20000)"]);
    writeFileSync(lock, JSON.stringify({ pid: live.pid, host: hostname(), task: "a training run", since: "now" }));
    assert.throws(() => FolderLock.acquire(dir, "a test"), new RegExp(`in use by probegen process ${live.pid}.*wait for it to finish`));
    live.kill();
  } finally {
    breakLocks(false);
  }
  // The CLI takes --break-lock after any command.
  writeFileSync(lock, foreign);
  const { zoo } = made();
  const refused = run("train", "--zoo", zoo, "--out", dir, "--epochs", "1", "--probes", "4");
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /in use by probegen process 4242 on another-node.*--break-lock/);
  const forced = run("train", "--zoo", zoo, "--out", dir, "--epochs", "1", "--probes", "4", "--break-lock");
  assert.equal(forced.status, 0, forced.stderr);
  assert.equal(existsSync(lock), false);
});

test("24.2 a fingerprint changes when a file or a folder's file changes, and not otherwise", () => {
  const dir = tmp("fingerprint");
  const f = join(dir, "a.pth");
  writeFileSync(f, "one");
  mkdirSync(join(dir, "zoo"));
  writeFileSync(join(dir, "zoo", "zoo.json"), "{}");
  const a = fingerprint([f, join(dir, "zoo")]);
  assert.equal(fingerprint([f, join(dir, "zoo")]), a);
  writeFileSync(join(dir, "zoo", `${LOCK_FILE}`), "lock");
  assert.equal(fingerprint([f, join(dir, "zoo")]), a, "a lock is not content");
  const t = statSync(f).mtime;
  writeFileSync(f, "two");
  utimesSync(f, t, t);
  assert.notEqual(fingerprint([f, join(dir, "zoo")]), a, "same size and time, other bytes");
  const b = fingerprint([f, join(dir, "zoo")]);
  writeFileSync(join(dir, "zoo", "shard-0.safetensors"), "x");
  assert.notEqual(fingerprint([f, join(dir, "zoo")]), b);
  assert.notEqual(fingerprint([join(dir, "missing")]), fingerprint([join(dir, "other-missing")]));
});
