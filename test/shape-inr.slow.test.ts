// Point-cloud INR zoos: SIRENs fitted to procedural 3-D shapes, built deterministically and
// resumably on any number of workers, and probed with 3-D coordinate probes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildShapeInrZoo, grid3d, shapeTarget } from "../src/zoo/build/shape-inr-builder.js";
import { Zoo, rangesSize } from "../src/zoo/format.js";
import { assertBestIsBestValidation } from "./helpers.js";
import { parseSirenArchitecture, renderSiren3d } from "../src/nets/siren.js";
import { DEFAULT_TRAIN_CONFIG } from "../src/train/config.js";
import { train } from "../src/train/trainer.js";

test("grid and targets: a 3-D grid over [-1, 1]^3, occupancy of shape i of class i mod 10", () => {
  const g = grid3d(4);
  assert.equal(g.length, 3 * 64);
  assert.deepEqual([...g.slice(0, 6)], [-1, -1, -1, -1, -1, -1 + 2 / 3].map(Math.fround));
  const a = shapeTarget(0, 13, grid3d(12), 0.01);
  assert.equal(a.cls, 3);
  const inside = a.target.reduce((s, v) => s + v, 0);
  assert.ok(inside > 20 && inside < 1728 / 2, `a cone fills part of the grid (${inside} of 1728 points)`);
  assert.deepEqual(shapeTarget(0, 13, grid3d(12), 0.01).target, a.target, "seeded");
  assert.notDeepEqual(shapeTarget(1, 13, grid3d(12), 0.01).target, a.target, "another seed, another pose");
});

test("zoo build shape-inr: labelled, split, the same bytes on 1 and 2 workers, resumable, and probed in 3-D", async () => {
  const dir = mkdtempSync(join(tmpdir(), "probegen-shape-"));
  try {
    const opts = { count: 30, grid: 8, shardSize: 10, batch: 16, recipe: { steps: 60 } };
    const one = await buildShapeInrZoo({ ...opts, out: join(dir, "a") });
    assert.equal(one.fitted, 30);
    const two = await buildShapeInrZoo({ ...opts, out: join(dir, "b") }, 2);
    assert.equal(two.fitted, 30);
    for (const f of readdirSync(join(dir, "a")).filter((f) => f.startsWith("shard-") || f === "zoo.json")) {
      assert.deepEqual(readFileSync(join(dir, "b", f)), readFileSync(join(dir, "a", f)), `${f} on 2 workers`);
    }
    // resumable: a build stopped midway keeps its finished shards and makes only the rest
    await assert.rejects(buildShapeInrZoo({ ...opts, out: join(dir, "c"), onProgress: (done) => { if (done >= 15) throw new Error("stopped"); } }), /stopped/);
    const resumed = await buildShapeInrZoo({ ...opts, out: join(dir, "c") });
    assert.ok(resumed.fitted >= 10 && resumed.fitted < 30, `resumed build fitted ${resumed.fitted}`);
    for (const f of readdirSync(join(dir, "a")).filter((f) => f.startsWith("shard-") || f === "zoo.json")) {
      assert.deepEqual(readFileSync(join(dir, "c", f)), readFileSync(join(dir, "a", f)), `${f} after resuming`);
    }
    assert.equal((await buildShapeInrZoo({ ...opts, out: join(dir, "a") })).fitted, 0, "a finished build is left as it is");
    const zoo = Zoo.open(join(dir, "a"));
    assert.deepEqual(zoo.manifest.splits, { train: [[0, 21]], val: [[21, 24]], test: [[24, 30]] });
    const all = zoo.readAll();
    assert.deepEqual([...(all.fields.get("label") as Int32Array)].slice(0, 12), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    const psnr = all.fields.get("psnr") as Float32Array;
    assert.ok(psnr.every((p) => p > 5 && p < 60), `PSNRs ${[...psnr.slice(0, 5)]}`);
    assert.equal(zoo.manifest.architectures[0].architecture.inDim, 3);
    // drawn down the z axis: the silhouette is at least the middle slice everywhere
    const net = zoo.network(0);
    const arch = parseSirenArchitecture(zoo.manifest.architectures[0].architecture);
    const sil = renderSiren3d(arch, net.params, 12, null), mid = renderSiren3d(arch, net.params, 12, 0);
    assert.equal(sil.length, 144);
    assert.ok(sil.every((v, i) => Number.isFinite(v) && v >= mid[i]), "max over z >= the z = 0 slice");
    assert.ok(sil.some((v, i) => v > mid[i] + 1e-3), "and larger somewhere");
    assert.throws(() => renderSiren3d({ ...arch, inDim: 2 }, net.params, 4, 0), /draws SIRENs with 3 inputs, this one has 2/);
    const r = train({ ...DEFAULT_TRAIN_CONFIG, zoo: join(dir, "a"), probes: 8, epochs: 2, batch: 8, head: { width: 16, depth: 2 } }, join(dir, "run"));
    assert.equal(r.score, "accuracy");
    assertBestIsBestValidation(join(dir, "run"), r);
    // The last scores are the last evaluation's, a whole number of the test split's shapes.
    const records = readFileSync(join(dir, "run", "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { test: { score: number } });
    assert.equal(r.last.test, records[records.length - 1].test.score);
    const tests = rangesSize(Zoo.open(join(dir, "a")).manifest.splits.test);
    assert.ok(Math.abs(r.last.test! * tests - Math.round(r.last.test! * tests)) < 1e-9);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
