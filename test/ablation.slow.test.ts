// probegen ablate: the grids' variants, every grid run end to end at a tiny size (one with its table, report,
// resume and refusals), and the probe source's own learning rate the lr grid rests on.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { buildInrZoo } from "../src/zoo/build/inr-builder.js";
import { ablationVariants } from "../src/train/ablation.js";
import { DEFAULT_TRAIN_CONFIG } from "../src/train/config.js";
import { train, type MetricsRecord } from "../src/train/trainer.js";
import { readSafetensors } from "../src/io/safetensors.js";
import { ProbingModel } from "../src/train/probing-model.js";
import { ZooData } from "../src/train/zoo-data.js";
import { Zoo } from "../src/zoo/format.js";

const cli = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 120_000, env: { ...process.env, CI: "true" } });

test("the grids: what each variant changes", () => {
  const names = (g: Parameters<typeof ablationVariants>[0], images: boolean) => ablationVariants(g, images).map((v) => v.name);
  assert.deepEqual(names("activation", true), ["probegen", "probegen-relu", "vanilla"]);
  assert.equal(ablationVariants("activation", true)[1].config.generator?.activation, "relu");
  const probes = ablationVariants("probes", true);
  assert.deepEqual(probes.map((v) => [v.config.method, v.config.probes]), [8, 16, 32, 64, 128].flatMap((k) => [["probegen", k], ["vanilla", k]]));
  const image = ablationVariants("generator", true), coords = ablationVariants("generator", false);
  assert.deepEqual(image.map((v) => v.config.generator && [v.config.generator.layers, v.config.generator.widthMultiplier, v.config.generator.latentDim]),
    [[5, 1, 32], [6, 1, 32], [5, 0.5, 32], [5, 2, 32], [5, 1, 8], [5, 1, 128]]);
  assert.deepEqual(coords.map((v) => v.config.generator && [v.config.generator.hidden.join("x"), v.config.generator.latentDim]),
    [["32", 32], ["32x32", 32], ["16", 32], ["64", 32], ["32", 8], ["32", 128]]);
  const lr = ablationVariants("lr", true, 3e-4);
  assert.deepEqual(lr.map((v) => v.name), ["probegen-lr1e-4", "probegen-lr3e-4", "probegen-lr9e-4", "probegen-probelr1e-4", "probegen-probelr9e-4", "probegen-probelr3e-3"]);
  const close = (x: number | undefined, y: number) => x !== undefined && Math.abs(x - y) < 1e-12;
  assert.ok(lr.slice(0, 3).every((v, i) => close(v.config.lr, [1e-4, 3e-4, 9e-4][i]) && v.config.probeLr === undefined));
  assert.ok(lr.slice(3).every((v, i) => v.config.lr === 3e-4 && close(v.config.probeLr, [1e-4, 9e-4, 3e-3][i])));
});

test("probegen ablate: a grid over seeds, its table and report, resumed, and the folders it refuses", () => {
  const root = mkdtempSync(join(tmpdir(), "probegen-ablate-"));
  try {
    const zoo = join(root, "zoo");
    buildInrZoo({ dataset: "mnist", count: 60, out: zoo, seed: 1, recipe: { steps: 40 }, batch: 30, shardSize: 32 });
    const out = join(root, "ab");
    const args = ["ablate", "--zoo", zoo, "--grid", "activation", "--out", out, "--seeds", "2", "--epochs", "2", "--probes", "8", "--batch", "8"];
    const first = run(...args);
    assert.equal(first.status, 0, first.stderr);
    const runs = readdirSync(out).filter((n) => statSync(join(out, n)).isDirectory()).sort();
    assert.deepEqual(runs, ["probegen-relu-seed0", "probegen-relu-seed1", "probegen-seed0", "probegen-seed1", "vanilla-seed0", "vanilla-seed1"]);
    const config = (r: string) => JSON.parse(readFileSync(join(out, r, "config.json"), "utf8")).config;
    assert.equal(config("probegen-relu-seed1").generator.activation, "relu");
    assert.equal(config("probegen-relu-seed1").seed, 1);
    assert.equal(config("vanilla-seed0").method, "vanilla");
    // 42 train INRs in batches of 8, 2 epochs: 12 steps; about 20 evaluations per run, so every step.
    assert.equal(config("probegen-seed0").evalEvery, 1);
    const table = readFileSync(join(out, "ablation.md"), "utf8");
    const rows = table.split("\n").filter((l) => /^\| (probegen|vanilla)/.test(l));
    assert.deepEqual(rows.map((l) => l.split("|")[1].trim()), ["probegen", "probegen-relu", "vanilla"]);
    // The gap column is the last evaluation's test loss less its training loss, mean over the seeds.
    const last = (r: string) => readFileSync(join(out, r, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as MetricsRecord).at(-1)!;
    const [a, b] = [last("vanilla-seed0"), last("vanilla-seed1")];
    const gap = (a.test!.loss + b.test!.loss) / 2 - (a.trainLoss + b.trainLoss) / 2;
    assert.equal(rows[2].split("|")[7].trim(), gap.toFixed(4));
    const html = readFileSync(join(out, "report.html"), "utf8");
    assert.equal(html.match(/<svg/g)?.length, 5, "the gap, the test score, and one loss chart per variant");
    assert.match(html, /Generalisation gap/);

    // Rerun: every run is kept, nothing retrains.
    const stamp = statSync(join(out, "vanilla-seed1", "result.json")).mtimeMs;
    const again = run(...args);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stderr.match(/finished earlier, kept/g)?.length, 6);
    assert.equal(statSync(join(out, "vanilla-seed1", "result.json")).mtimeMs, stamp);

    // In two parts (--shard): the first trains its half and writes no table; the second, finding
    // every run finished, writes the same scores as the whole grid run at once.
    const parts = join(root, "parts");
    const partArgs = args.map((a) => (a === out ? parts : a));
    const p0 = run(...partArgs, "--shard", "0/2");
    assert.equal(p0.status, 0, p0.stderr);
    assert.match(p0.stderr, /part 0\/2: 3 of the grid's 6 runs/);
    assert.equal(existsSync(join(parts, "ablation.md")), false);
    assert.equal(run(...partArgs, "--shard", "1/2").status, 0);
    const scores = (t: string) => t.split("\n").filter((l) => /^\| (probegen|vanilla)/.test(l)).map((l) => l.split("|").slice(1, 4).join("|"));
    assert.deepEqual(scores(readFileSync(join(parts, "ablation.md"), "utf8")), scores(table));

    // Another grid, or other settings, into this folder; a folder that is not an ablation's.
    const other = run("ablate", "--zoo", zoo, "--grid", "lr", "--out", out, "--epochs", "2");
    assert.equal(other.status, 1);
    assert.match(other.stderr, /holds the "activation" ablation of .* with other settings; choose another --out/);
    const foreign = join(root, "mine");
    mkdirSync(foreign);
    writeFileSync(join(foreign, "notes.txt"), "keep me");
    const refused = run("ablate", "--zoo", zoo, "--grid", "activation", "--out", foreign);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /exists and is not an ablation's folder/);
    assert.equal(readFileSync(join(foreign, "notes.txt"), "utf8"), "keep me");
    assert.equal(run("ablate", "--zoo", zoo, "--grid", "depth", "--out", join(root, "x")).status, 2);
    assert.equal(run("ablate", "--help").status, 0);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("probegen ablate runs the probes, generator and lr grids end to end (one seed, one epoch)", () => {
  const root = mkdtempSync(join(tmpdir(), "probegen-ablate-grids-"));
  try {
    const zoo = join(root, "zoo");
    buildInrZoo({ dataset: "mnist", count: 40, out: zoo, seed: 2, recipe: { steps: 20 }, batch: 20, shardSize: 40 });
    const expected: Record<string, string[]> = {
      probes: [8, 16, 32, 64, 128].flatMap((k) => [`probegen-k${k}`, `vanilla-k${k}`]),
      generator: ["probegen", "probegen-hidden2", "probegen-width0.5", "probegen-width2", "probegen-latent8", "probegen-latent128"],
      lr: ["probegen-lr1e-4", "probegen-lr3e-4", "probegen-lr9e-4", "probegen-probelr1e-4", "probegen-probelr9e-4", "probegen-probelr3e-3"],
    };
    for (const [grid, variants] of Object.entries(expected)) {
      const out = join(root, grid);
      const r = run("ablate", "--zoo", zoo, "--grid", grid, "--out", out, "--seeds", "1", "--epochs", "1", "--probes", "4", "--batch", "8");
      assert.equal(r.status, 0, r.stderr);
      const rows = readFileSync(join(out, "ablation.md"), "utf8").split("\n").filter((l) => /^\| (probegen|vanilla)/.test(l));
      assert.deepEqual(rows.map((l) => l.split("|")[1].trim()), variants, grid);
      // Each run trained with its variant's settings, and every row has a finite score.
      for (const v of variants) {
        const result = JSON.parse(readFileSync(join(out, `${v}-seed0`, "result.json"), "utf8"));
        assert.ok(Number.isFinite(result.best.test), `${grid}/${v}: ${JSON.stringify(result.best)}`);
      }
      const config = (v: string) => JSON.parse(readFileSync(join(out, `${v}-seed0`, "config.json"), "utf8")).config;
      if (grid === "probes") assert.deepEqual([config("vanilla-k128").method, config("vanilla-k128").probes], ["vanilla", 128]);
      if (grid === "generator") assert.deepEqual(config("probegen-hidden2").generator.hidden, [32, 32]);
      if (grid === "lr") assert.ok(Math.abs(config("probegen-probelr3e-3").probeLr - 3e-3) < 1e-15, "the generator at 10 x lr");
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("--probe-lr: the probe source learns at its own rate while the head keeps lr", () => {
  const root = mkdtempSync(join(tmpdir(), "probegen-probelr-"));
  try {
    const zoo = join(root, "zoo");
    buildInrZoo({ dataset: "mnist", count: 40, out: zoo, seed: 2, recipe: { steps: 30 }, batch: 40, shardSize: 40 });
    const cfg = { ...DEFAULT_TRAIN_CONFIG, zoo, method: "vanilla" as const, probes: 4, epochs: 2, batch: 8, head: { width: 8, depth: 2 } };
    const data = new ZooData(Zoo.open(zoo));
    const initial = Float32Array.from(new ProbingModel(cfg, data.outputs, data).trainableParameters().find(([n]) => n === "probe.probes")![1].data);
    data.dispose();
    const moved = (probeLr: number | undefined) => {
      const dir = join(root, `run-${probeLr}`);
      train({ ...cfg, ...(probeLr !== undefined ? { probeLr } : {}) }, dir);
      const t = readSafetensors(join(dir, "last.safetensors")).tensors;
      const probes = t.get("probe.probes")!.data as Float32Array;
      return probes.reduce((m, v, i) => Math.max(m, Math.abs(v - initial[i])), 0);
    };
    const same = moved(undefined), slow = moved(3e-7), fast = moved(3e-3);
    // Adam moves a parameter by about its lr per step: 6 steps.
    assert.ok(slow < 1e-5 && slow > 0, `probes at 1/1000 of lr moved ${slow}`);
    assert.ok(same > 100 * slow && fast > 5 * same, `moved ${slow}, ${same}, ${fast}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
