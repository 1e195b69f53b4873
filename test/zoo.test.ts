// INR zoos: the builder's output, determinism, resuming, damaged zoos, rendering and the CLI.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { buildInrZoo, buildInrZooParallel, type InrZooOptions } from "../src/zoo/build/inr-builder.js";
import { Zoo, rangesIndices } from "../src/zoo/format.js";
import { imagePixels, loadImageSet } from "../src/data/image-sets.js";
import { DWSNETS_SIREN, renderSiren } from "../src/nets/siren.js";
import { psnrOf } from "../src/zoo/build/inr-fit.js";
import { describeCnnBuild } from "../src/zoo/build/cnn-builder.js";
import { pickSorted } from "../src/zoo/build/image-pools.js";
import { Rng } from "../src/engine/index.js";

const tmp = (tag: string) => mkdtempSync(join(tmpdir(), `probegen-${tag}-`));
const small = (out: string, extra: Partial<InrZooOptions> = {}): InrZooOptions =>
  ({ dataset: "mnist", count: 14, out, seed: 3, recipe: { steps: 40 }, batch: 4, shardSize: 5, ...extra });

function files(dir: string): Map<string, Buffer> {
  return new Map(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f))]));
}

const built = (() => {
  let dir: string | null = null;
  return () => {
    if (dir === null) { dir = tmp("zoo"); buildInrZoo(small(dir)); }
    return dir;
  };
})();

test("a built INR zoo declares its architecture, splits, provenance and shards", () => {
  const zoo = Zoo.open(built());
  const m = zoo.manifest;
  assert.equal(m.family, "siren");
  assert.equal(m.count, 14);
  assert.deepEqual(m.architectures[0].parameters.map((p) => [p.name, p.shape]),
    [["seq.0.weight", [32, 2]], ["seq.0.bias", [32]], ["seq.1.weight", [32, 32]], ["seq.1.bias", [32]], ["seq.2.weight", [1, 32]], ["seq.2.bias", [1]]]);
  // 14 of 70k: 2 test (10/70), 12 train+val of which 1 val (1/12).
  assert.deepEqual(m.splits, { train: [[0, 11]], val: [[11, 12]], test: [[12, 14]] });
  assert.deepEqual(m.shards.map((s) => [s.file, s.start, s.count]),
    [["shard-00000.safetensors", 0, 5], ["shard-00001.safetensors", 5, 5], ["shard-00002.safetensors", 10, 4]]);
  assert.equal((m.provenance as { dataset: string }).dataset, "mnist");
  assert.equal((m.provenance as { seed: number }).seed, 3);
  assert.deepEqual(m.task.labelNames, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
  assert.ok(!existsSync(join(built(), "build.json")), "build.json removed when complete");
  const all = zoo.readAll();
  assert.equal(all.params.get("seq.1.weight")!.length, 14 * 32 * 32);
  const set = loadImageSet("mnist");
  const split = all.fields.get("source_split")!, src = all.fields.get("source_index")!, label = all.fields.get("label")!;
  for (const i of rangesIndices(m.splits.test)) assert.equal(split[i], 1, "test INRs come from test images");
  for (const i of [...rangesIndices(m.splits.train), ...rangesIndices(m.splits.val)]) assert.equal(split[i], 0);
  for (let i = 0; i < 14; i++) assert.equal(label[i], set[split[i] === 0 ? "train" : "test"].labels[src[i]], `label of INR ${i}`);
  const steps = all.fields.get("steps")!;
  assert.ok(Array.from(steps).every((s) => s === 40), "the step limit stops every INR here");
});

test("an INR rendered on its training grid reproduces its recorded PSNR against the source image", () => {
  const zoo = Zoo.open(built());
  const set = loadImageSet("mnist");
  for (const i of [0, 7, 13]) {
    const { params, fields } = zoo.network(i);
    const img = renderSiren(DWSNETS_SIREN, params, 28);
    const src = imagePixels(set, fields.get("source_split") === 0 ? "train" : "test", fields.get("source_index")!);
    let se = 0;
    for (let p = 0; p < 784; p++) se += (img[p] - src[p]) ** 2;
    const psnr = psnrOf(se / 784);
    assert.ok(Math.abs(psnr - fields.get("psnr")!) < 0.01, `INR ${i}: render ${psnr.toFixed(3)} dB vs recorded ${fields.get("psnr")!.toFixed(3)} dB`);
    assert.ok(psnr > 12, `INR ${i} fits its image (${psnr.toFixed(2)} dB after 40 steps)`);
  }
});

test("the same seed gives a byte-identical zoo, whatever the batch size; another seed does not", () => {
  const a = files(built());
  const other = tmp("zoo-b");
  buildInrZoo(small(other, { batch: 3 }));
  assert.deepEqual(files(other), a);
  const seed4 = tmp("zoo-c");
  buildInrZoo(small(seed4, { seed: 4 }));
  assert.notDeepEqual(files(seed4).get("shard-00000.safetensors"), a.get("shard-00000.safetensors"));
});

test("a build on two worker threads writes the same zoo, and resumes like one on a single thread", async () => {
  const dir = tmp("zoo-par");
  const progress: number[] = [];
  const report = await buildInrZooParallel(small(dir, { onProgress: (d) => progress.push(d) }), 2);
  assert.equal(report.fitted, 14);
  assert.deepEqual(files(dir), files(built()));
  assert.equal(progress[progress.length - 1], 14);
  rmSync(join(dir, "zoo.json"));
  rmSync(join(dir, "shard-00001.safetensors"));
  writeFileSync(join(dir, "build.json"), readFileSync(join(built(), "zoo.json")));
  const again = await buildInrZooParallel(small(dir), 2);
  assert.equal(again.fitted, 5);
  assert.equal(again.skippedShards, 2);
  assert.deepEqual(files(dir), files(built()));
});

test("an interrupted build resumes without refitting finished shards and ends identical", () => {
  const dir = tmp("zoo-resume");
  let seen = 0;
  assert.throws(() => buildInrZoo(small(dir, {
    onProgress: (done, _t, last) => { if (last !== null && ++seen === 8) throw new Error("killed"); void done; },
  })), /killed/);
  assert.ok(existsSync(join(dir, "build.json")) && !existsSync(join(dir, "zoo.json")), "an unfinished build has no zoo.json");
  assert.throws(() => Zoo.open(dir), /has not finished \(rerun the same `probegen zoo build` or `zoo import` to resume it\)/);
  const written = readdirSync(dir).filter((f) => f.startsWith("shard-"));
  assert.ok(written.length >= 1 && written.length < 3, `some shards written before the interruption (${written})`);
  // A half-written shard left behind by a kill is detected and refitted.
  writeFileSync(join(dir, "shard-00002.safetensors"), Buffer.from("partial"));
  const report = buildInrZoo(small(dir));
  assert.equal(report.skippedShards, written.length);
  assert.equal(report.fitted, 14 - 5 * written.length);
  assert.deepEqual(files(dir), files(built()));
  const again = buildInrZoo(small(dir));
  assert.equal(again.fitted, 0, "a finished zoo is not rebuilt");
  assert.throws(() => buildInrZoo(small(dir, { seed: 9 })), /zoo.json: holds a zoo with other settings \(seed 3 vs 9\)/);
});

test("damaged zoos give errors that name the file", () => {
  const dir = tmp("zoo-bad");
  for (const f of readdirSync(built())) copyFileSync(join(built(), f), join(dir, f));
  const shard = join(dir, "shard-00001.safetensors");
  const bytes = readFileSync(shard);
  writeFileSync(shard, bytes.subarray(0, bytes.length - 100));
  assert.throws(() => Zoo.open(dir).readAll(), (e: Error) => e.message.startsWith(shard) && /truncated/.test(e.message));
  writeFileSync(shard, Buffer.from("garbage!garbage!"));
  assert.throws(() => Zoo.open(dir).readShard(1), (e: Error) => e.message.startsWith(shard));
  copyFileSync(join(built(), "shard-00001.safetensors"), shard);
  const manifest = JSON.parse(readFileSync(join(dir, "zoo.json"), "utf8"));
  manifest.parameters[0].shape = [32, 3];
  writeFileSync(join(dir, "zoo.json"), JSON.stringify(manifest));
  assert.throws(() => Zoo.open(dir).readShard(0),
    /shard-00000.safetensors: parameter seq.0.weight has shape \[5,32,2\] but the architecture in zoo.json declares \[5,32,3\]/);
  writeFileSync(join(dir, "zoo.json"), "{not json");
  assert.throws(() => Zoo.open(dir), /zoo.json: not valid JSON/);
  rmSync(join(dir, "zoo.json"));
  assert.throws(() => Zoo.open(dir), /zoo.json: not found \(is this a probegen zoo folder\?\)/);
  assert.throws(() => Zoo.open(join(dir, "nope")), /nope: no such zoo folder/);
});

const cli = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 120_000, env: { ...process.env, CI: "true" } });

test("zoo CLI: build with --json, info, render, and usage errors", () => {
  const dir = join(tmp("zoo-cli"), "z");
  const b = run("zoo", "build", "inr", "--dataset", "mnist", "--count", "6", "--out", dir, "--steps", "20", "--batch", "3", "--json");
  assert.equal(b.status, 0, b.stderr);
  const report = JSON.parse(b.stdout);
  assert.equal(report.fitted, 6);
  assert.doesNotMatch(b.stderr, /fitting mnist INRs/, "--json: no progress bar");
  const plain = run("zoo", "build", "inr", "--dataset", "mnist", "--count", "6", "--out", `${dir}-plain`, "--steps", "20", "--batch", "3");
  assert.equal(plain.status, 0, plain.stderr);
  assert.match(plain.stderr, /fitting mnist INRs 6\/6 INRs/, "plain progress lines when not a terminal");
  const info = run("zoo", "info", dir, "--json");
  assert.equal(info.status, 0, info.stderr);
  const s = JSON.parse(info.stdout);
  assert.equal(s.count, 6);
  assert.equal(Object.values(s.labels as Record<string, number>).reduce((a, c) => a + c, 0), 6);
  assert.equal(s.quantiles.steps[4], 20);
  const png = join(dir, "i.png");
  const r = run("zoo", "render", dir, "--index", "2", "--out", png, "--size", "28");
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(Array.from(readFileSync(png).subarray(0, 8)), [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  for (const [args, re] of [
    [["zoo", "build", "inr", "--count", "5", "--out", dir], /--dataset is required/],
    [["zoo", "build", "inr", "--dataset", "cifar", "--count", "5", "--out", dir], /--dataset must be mnist or fmnist/],
    [["zoo", "build", "inr", "--dataset", "mnist", "--count", "0", "--out", dir], /--count must be an integer >= 1/],
    [["zoo", "build", "mlp"], /unknown zoo kind "mlp" \(expected inr, cnn, resnet, wild-park or shape-inr\)/],
    [["zoo", "build", "cnn", "--count", "5", "--out", dir], /--dataset is required/],
    [["zoo", "render", dir, "--index", "99", "--out", png], /--index must be an integer >= 0 and <= 5/],
  ] as [string[], RegExp][]) {
    const x = run(...args);
    assert.equal(x.status, 2, `${args.join(" ")}: ${x.stderr}`);
    assert.match(x.stderr, re);
  }
  const wide = join(dir, "..", "wide");
  const w = run("zoo", "build", "inr", "--dataset", "mnist", "--count", "2", "--out", wide, "--steps", "3", "--hidden", "16,16,16", "--w0", "20");
  assert.equal(w.status, 0, w.stderr);
  const wm = Zoo.open(wide).manifest;
  assert.deepEqual(wm.architectures[0].parameters.map((p) => p.shape), [[16, 2], [16], [16, 16], [16], [16, 16], [16], [1, 16], [1]]);
  assert.equal((wm.architectures[0].architecture as { w0: number }).w0, 20);
  const missing = run("zoo", "info", join(dir, "nothing"));
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /nothing: no such zoo folder/);
  assert.equal(run("zoo", "build", "--help").status, 0);
  assert.equal(run("zoo", "info", "--help").status, 0);
  assert.equal(run("zoo", "render", "--help").status, 0);
});

test("a zoo built in parts (--shard I/N) on a shared folder: each part its own shards, zoo finish, the same bytes as one build", () => {
  const root = mkdtempSync(join(tmpdir(), "probegen-parts-"));
  try {
    const base: InrZooOptions = { dataset: "mnist", count: 50, out: "", seed: 4, recipe: { steps: 20 }, batch: 25, shardSize: 10 };
    const whole = join(root, "whole"), parts = join(root, "parts");
    buildInrZoo({ ...base, out: whole });
    // Part 1's stale temporary survives part 0's build; part 0's own is cleared.
    const r0 = buildInrZoo({ ...base, out: parts, part: { index: 0, count: 3 } });
    writeFileSync(join(parts, ".shard-00001.safetensors.otherhost.4242.tmp"), "half of part 1's shard");
    writeFileSync(join(parts, ".shard-00003.safetensors.otherhost.4243.tmp"), "half of part 0's shard");
    assert.deepEqual([r0.fitted, r0.complete], [20, false], "shards 0 and 3 of 5");
    assert.deepEqual(readdirSync(parts).filter((f) => f.startsWith("shard-")).sort(), ["shard-00000.safetensors", "shard-00003.safetensors"]);
    assert.equal(buildInrZoo({ ...base, out: parts, part: { index: 0, count: 3 } }).fitted, 0, "a part rerun keeps its shards");
    assert.ok(existsSync(join(parts, ".shard-00001.safetensors.otherhost.4242.tmp")) && !existsSync(join(parts, ".shard-00003.safetensors.otherhost.4243.tmp")));
    assert.equal(buildInrZoo({ ...base, out: parts, part: { index: 2, count: 3 } }).complete, false);
    // Finishing early names what is missing and writes nothing.
    const early = run("zoo", "finish", parts);
    assert.equal(early.status, 1);
    assert.match(early.stderr, /2 of 5 shards are missing or incomplete \(shard-00001\.safetensors, shard-00004\.safetensors\)/);
    assert.ok(!existsSync(join(parts, "zoo.json")));
    // The last part completes the zoo: the same bytes as one build.
    const last = buildInrZoo({ ...base, out: parts, part: { index: 1, count: 3 } });
    assert.deepEqual([last.fitted, last.complete], [20, true]);
    for (const f of readdirSync(whole)) assert.ok(readFileSync(join(whole, f)).equals(readFileSync(join(parts, f))), `${f} as one build wrote it`);
    assert.ok(!existsSync(join(parts, "build.json")));
    assert.match(run("zoo", "finish", parts).stdout, /already complete \(50 networks\)/);
    // zoo finish completes parts that all ran without the last one seeing the others.
    const p2 = join(root, "p2");
    for (const index of [0, 1, 2]) buildInrZoo({ ...base, out: p2, part: { index, count: 3 } });
    rmSync(join(p2, "zoo.json"));
    writeFileSync(join(p2, "build.json"), readFileSync(join(whole, "zoo.json")));
    const fin = run("zoo", "finish", p2, "--json");
    assert.equal(fin.status, 0, fin.stderr);
    assert.deepEqual(JSON.parse(fin.stdout), { out: p2, networks: 50, shards: 5, alreadyComplete: false });
    assert.ok(readFileSync(join(p2, "zoo.json")).equals(readFileSync(join(whole, "zoo.json"))));
    assert.equal(run("zoo", "build", "inr", "--dataset", "mnist", "--count", "5", "--out", join(root, "x"), "--shard", "3/3").status, 2);
    assert.match(run("zoo", "finish", root).stderr, /holds no build\.json/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a CNN build plans its networks without their training images; a picked subset owns only its indices", () => {
  // A 10,000-network build held every network's image indices on every thread (240 MB each):
  // the plan must not carry them, and a kept choice must not keep the whole shuffled range.
  const b = describeCnnBuild({ dataset: "mnist", count: 40, out: join(tmpdir(), "probegen-never-written"), recipe: { trainImages: 3200 } });
  assert.equal(b.jobs.length, 40);
  assert.ok(b.jobs.every((j) => !("subset" in j)), "a planned job carries no subset");
  assert.ok(b.jobs.every((j, i) => j.index === i && j.steps > 0));
  const pick = pickSorted(new Rng(1, "pick"), 6, 100);
  assert.deepEqual(Array.from(pick), [5, 50, 54, 61, 83, 97]);
  assert.equal(pick.buffer.byteLength, 6 * 4, "the choice owns its 6 indices, not the 100 shuffled");
});
