// Experiments on a real job queue (Redis on loopback, `probegen worker` processes): a 6-run grid
// on 2 workers, one SIGKILLed mid-run, gives the same metrics and checkpoints as the grid run
// here; a run that fails on every try is reported with its error. Every wait is bounded.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { buildInrZoo } from "../src/zoo/build/inr-builder.js";
import { cli, skip, start, until, withRedis, within, worker } from "./redis.js";

const GRID = ["--methods", "uniform,grid,probegen", "--probes", "8", "--seeds", "2", "--epochs", "60", "--eval-every", "20", "--batch", "8"];

test("a 6-run experiment on 2 workers, one killed mid-run: its run resumes on the other, and every run's metrics and checkpoints equal the local grid's", { skip, timeout: 300_000 }, async () => {
  await withRedis("grid", async ({ root, url, owned }) => {
    const zoo = join(root, "zoo");
    buildInrZoo({ dataset: "mnist", count: 60, out: zoo, seed: 2, recipe: { steps: 40 }, shardSize: 60 });
    const workers = [worker(url), worker(url)];
    owned.push(...workers.map((w) => w.p));
    const coordinator = start(["experiment", "--zoo", zoo, ...GRID, "--out", join(root, "q"), "--queue", url]);
    // Worker 0 is killed once a run of its own has written a checkpoint.
    const started = () => [...workers[0].err().matchAll(/: (\S+ K=8 seed \d): started/g)].map((m) => m[1]);
    const folder = (label: string) => join(root, "q", `${label.split(" ")[0]}-k8-seed${label.split(" seed ")[1]}`);
    await until("worker 0 to write a run's first checkpoint", () => started().some((l) => existsSync(join(folder(l), "last.json")) && !existsSync(join(folder(l), "result.json"))), 120_000);
    const killed = started().find((l) => !existsSync(join(folder(l), "result.json")))!;
    workers[0].p.kill("SIGKILL");
    const code = await within("the grid", coordinator.done, 240_000);
    assert.equal(code, 0, coordinator.err());
    assert.match(workers[1].err(), new RegExp(`${killed.replace(/[=]/g, "\\=")}: resumed`), `the killed run (${killed}) resumed on worker 1`);
    assert.match(coordinator.err(), /6 runs/);
    const local = spawnSync(process.execPath, [cli, "experiment", "--zoo", zoo, ...GRID, "--out", join(root, "local"), "--json"], { encoding: "utf8", timeout: 240_000 });
    assert.equal(local.status, 0, local.stderr);
    const runs = readdirSync(join(root, "local")).sort();
    assert.equal(runs.length, 6);
    assert.deepEqual(readdirSync(join(root, "q")).sort(), runs);
    // Every record but its clock readings (seconds, networks per second).
    const metrics = (dir: string) => readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => {
      const { seconds: _s, modelsPerSec: _m, ...rest } = JSON.parse(l) as Record<string, unknown>;
      return rest;
    });
    for (const r of runs) {
      assert.deepEqual(metrics(join(root, "q", r)), metrics(join(root, "local", r)), `${r}: metrics as the local grid's`);
      for (const f of ["best.safetensors", "last.safetensors"]) {
        assert.ok(readFileSync(join(root, "q", r, f)).equals(readFileSync(join(root, "local", r, f))), `${r}/${f} as the local grid's`);
      }
    }
  });
});

test("a run that fails on every try is reported with its error; the grid's other runs finish", { skip, timeout: 180_000 }, async () => {
  await withRedis("grid-fail", async ({ root, url, owned }) => {
    const zoo = join(root, "zoo");
    buildInrZoo({ dataset: "mnist", count: 40, out: zoo, seed: 3, recipe: { steps: 20 }, shardSize: 40 });
    const w = worker(url);
    owned.push(w.p);
    // Data probes are images: an INR zoo's run of them fails, whoever trains it.
    const coordinator = start(["experiment", "--zoo", zoo, "--methods", "uniform,data", "--probes", "4", "--seeds", "1", "--epochs", "1", "--out", join(root, "q"), "--queue", url]);
    const code = await within("the grid", coordinator.done, 150_000);
    assert.equal(code, 1);
    assert.match(coordinator.err(), /data K=4 seed 0 \(.*data-k4-seed0\) failed on all 3 tries; the last error: .*image/);
    assert.ok(existsSync(join(root, "q", "uniform-k4-seed0", "result.json")), "the other run finished");
    await until("the worker's report of each try", () => (w.err().match(/data K=4 seed 0 failed \(try/g)?.length ?? 0) === 3, 10_000);
  });
});
