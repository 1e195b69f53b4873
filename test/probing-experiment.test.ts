// The probing experiment (probegen experiment), which makes the results tables: it trains every
// method x K x seed to the end before it compares them, its rows are the runs' own results, and
// its parts (--shard I/N) together train the grid once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { experimentRuns } from "../src/train/experiment.js";
import { planPart, runPlan } from "../src/train/run-plan.js";
import { compareRuns } from "../src/report/compare.js";
import { lazyInrRun } from "./helpers.js";

const fixture = lazyInrRun("experiment", 4, { count: 30 });

test("runExperiment trains every run before comparing, and each row is its runs' results", async () => {
  const { zoo } = fixture();
  const out = join(zoo, "..", "experiment");
  const lines: string[] = [];
  const plan = { zoo, methods: ["uniform", "uniform-hidden"] as const, probes: [4], seeds: 2, out, settings: { epochs: 1, evalEvery: 2 } };
  const runs = experimentRuns(plan);
  await runPlan(runs, { log: (l) => lines.push(l) });
  const rows = compareRuns(runs.map((r) => r.dir));
  assert.equal(rows.length, 2);
  for (const [row, readout] of [[rows[0], "logits"], [rows[1], "hidden"]] as const) {
    assert.equal(row.readout, readout);
    assert.deepEqual(row.seeds, [0, 1]);
    row.runs.forEach((dir, i) => {
      const result = JSON.parse(readFileSync(join(dir, "result.json"), "utf8")) as { best: { test: number }; readout: string };
      assert.equal(result.readout, readout, dir);
      assert.equal(row.tests[i], result.best.test, `${dir}: the row's score is the run's best test score`);
    });
  }
  assert.equal(lines.filter((l) => / seed [01]: test /.test(l)).length, 4, "four runs trained now");
  // Rerun: every run is kept, none trains again.
  const again: string[] = [];
  await runPlan(experimentRuns(plan), { log: (l) => again.push(l) });
  assert.equal(again.filter((l) => l.endsWith("finished earlier, kept")).length, 4);
});

test("probegen experiment --shard: the parts train each run once, and together give the grid's table as one run of it does", () => {
  const { zoo } = fixture();
  const cli = (args: string[]) => spawnSync(process.execPath, [resolve("dist/src/cli/main.js"), "experiment", "--zoo", zoo, "--methods", "uniform,grid", "--probes", "4",
    "--seeds", "2", "--epochs", "1", "--eval-every", "2", "--batch", "8", ...args], { encoding: "utf8" });
  assert.deepEqual(planPart([0, 1, 2, 3, 4], { index: 1, count: 2 }), [1, 3]);
  const parts = join(zoo, "..", "parts"), whole = join(zoo, "..", "whole");
  const p0 = cli(["--out", parts, "--shard", "0/2", "--json"]);
  assert.equal(p0.status, 0, p0.stderr);
  assert.match(p0.stderr, /part 0\/2: 2 of the grid's 4 runs/);
  assert.deepEqual(readdirSync(parts).sort(), ["grid-k4-seed0", "uniform-k4-seed0"]);
  assert.equal(cli(["--out", parts, "--shard", "1/2", "--json"]).status, 0);
  const all = cli(["--out", parts, "--json"]);
  assert.equal(all.status, 0, all.stderr);
  assert.equal(all.stderr.match(/finished earlier, kept/g)?.length ?? 0, 0, "a --json experiment logs no progress");
  const one = cli(["--out", whole, "--json"]);
  const [a, b] = [JSON.parse(all.stdout), JSON.parse(one.stdout)] as { seeds: number[]; tests: number[] }[][];
  assert.equal(a.length, 2);
  a.forEach((g, i) => {
    assert.deepEqual(g.seeds, [0, 1]);
    assert.deepEqual(g.tests, b[i].tests, "the parts' runs score as the whole grid's, bit for bit");
  });
  const bad = cli(["--out", whole, "--methods", "uniform,nonsense"]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown method "nonsense"/);
});
