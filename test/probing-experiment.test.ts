// The probing experiment (bench/probing-experiment.ts), which made the results tables: it
// trains every method x K x seed to the end before it compares them, and its rows are the runs'
// own results.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runExperiment } from "../bench/probing-experiment.js";
import { lazyInrRun } from "./helpers.js";

const fixture = lazyInrRun("experiment", 4, { count: 30 });

test("runExperiment trains every run before comparing, and each row is its runs' results", async () => {
  const { zoo } = fixture();
  const out = join(zoo, "..", "experiment");
  const lines: string[] = [];
  const rows = await runExperiment(zoo, ["uniform", "uniform-hidden"], [4], 2, 1, out, (l) => lines.push(l), 0, 2);
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
  await runExperiment(zoo, ["uniform", "uniform-hidden"], [4], 2, 1, out, (l) => again.push(l), 0, 2);
  assert.equal(again.filter((l) => l.endsWith("finished earlier, kept")).length, 4);
});
