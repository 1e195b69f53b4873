// Making a shipped predictor from its recipe, and checking one against its card. The zoos and runs
// are made by the probegen command itself (child processes: each build or run resumes where it
// stopped, and prints its own progress), so a rebuild is exactly what a user would type. The card's
// scores come from the predictor file's own path (stored probes and head), as users will run it.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { kernels, type Tensor } from "../engine/index.js";
import { FileFormatError } from "../file-error.js";
import { headText, writeOutputFile, type OutputKind } from "../io/output-file.js";
import { readRegularFile } from "../io/read-file.js";
import { PROBEGEN_VERSION } from "../version.js";
import { readRunResult } from "../train/run-folder.js";
import { meanStd } from "../report/compare.js";
import { readJsonFile } from "../zoo/interop/export-folder.js";
import { BUILD_FILE } from "../zoo/shard-build.js";
import { MANIFEST_FILE, MANIFEST_LIMIT, Zoo, indicesToRanges, rangesIndices, rangesSize, readShardFile, validateManifest, type ZooManifest } from "../zoo/format.js";
import { InputCollector, type PredictionInputs } from "./inputs.js";
import { predictNetworks, predictionMetrics, type Prediction } from "./predict.js";
import { runProbes } from "./probes-export.js";
import { TrainedRun } from "./run-model.js";
import type { CardZoo, PredictorCard, SeedScores } from "./predictor-card.js";
import { PREDICTOR_FORMAT, decodePredictor, encodePredictor, type PredictorFile } from "./predictor-file.js";
import type { PredictorRecipe } from "./predictor-recipes.js";

const CLI = fileURLToPath(new URL("../cli/main.js", import.meta.url));

/** What `predictors rebuild --out` writes: a new file, or an earlier predictor file. */
export const PREDICTOR_OUTPUT: OutputKind = {
  what: "a probegen predictor file",
  recognise: (head) => headText(head.subarray(8)).startsWith(`{"__metadata__":{"format":"${PREDICTOR_FORMAT}"`),
};

/** Runs `probegen ARGS...`, its output passed on; throws naming the command when it fails. */
function probegen(args: string[], log: (line: string) => void): void {
  log(`probegen ${args.join(" ")}`);
  const r = spawnSync(process.execPath, [CLI, ...args], { stdio: ["ignore", "ignore", "inherit"] });
  if (r.status !== 0) throw new Error(`probegen ${args.join(" ")} failed (${r.signal ?? `exit code ${r.status}`})`);
}

function scores(values: number[]): SeedScores {
  const [mean, std] = meanStd(values);
  return { perSeed: values, mean, std };
}

/** A zoo's manifest, whole or still building (build.json). */
function anyManifest(dir: string): ZooManifest {
  for (const name of [MANIFEST_FILE, BUILD_FILE]) {
    const file = join(dir, name);
    if (!existsSync(file)) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(readRegularFile(file, MANIFEST_LIMIT)).toString("utf8"));
    } catch (e) {
      throw new FileFormatError(file, `not valid JSON (${(e as Error).message})`);
    }
    return validateManifest(parsed, file);
  }
  throw new FileFormatError(dir, "holds no zoo.json or build.json");
}

/** The test-split networks of one shard of a zoo (whole, or with only that shard built), as a zoo of their own. */
export function shardTestZoo(dir: string, shard: number): Zoo {
  const m = anyManifest(dir);
  const s = m.shards[shard];
  if (s === undefined) throw new RangeError(`${dir}: the zoo has ${m.shards.length} shards, not ${shard + 1}`);
  const data = readShardFile(join(dir, s.file), m, s.count, s.start);
  const test = rangesIndices(m.splits.test).filter((i) => i >= s.start && i < s.start + s.count).map((i) => i - s.start);
  if (test.length === 0) throw new RangeError(`${join(dir, s.file)} holds no test-split networks`);
  const manifest: ZooManifest = { ...m, count: s.count, shards: [{ ...s, start: 0 }], splits: { train: [], val: [], test: indicesToRanges(test) } };
  return Zoo.inMemory(`${dir}/${s.file}`, manifest, data);
}

/** A zoo's test-split networks (or those of a zoo given), checked against the run and gathered once for every run of its architecture. */
function testInputs(run: TrainedRun, dir: string, zoo?: Zoo): PredictionInputs {
  const collector = new InputCollector(run, { split: "test" });
  try {
    collector.addZoo(dir, dir, zoo);
    return collector.gather();
  } finally {
    collector.cleanup();
  }
}

async function testPredictions(run: TrainedRun, inputs: PredictionInputs): Promise<Prediction[]> {
  return (await predictNetworks(run, inputs)).predictions;
}

function scoreOf(run: TrainedRun, predictions: Prediction[]): number {
  const m = predictionMetrics(run.task, predictions)!;
  return run.task === "classification" ? m.accuracy! : m.kendallTau!;
}

/** A trained run as a predictor file's contents (the card to be filled in). */
export function predictorFromRun(runDir: string, card: PredictorCard, trainZoo: string): Omit<PredictorFile, "file"> {
  const run = TrainedRun.open(runDir, "best");
  const cfg = run.runFile.config;
  const probes = runProbes(run);
  const labels = cfg.readout === "labelled" ? run.probeSource().labels ?? null : null;
  const tensors = new Map(run.headOnly().model.namedParameters().map(([n, t]: [string, Tensor]) => [n, { shape: [...t.shape], data: Float32Array.from(t.data) }]));
  const { dataDir: _where, ...settings } = cfg;
  return { run: { ...run.runFile, config: { ...settings, zoo: trainZoo } }, card, probes, probeShape: [...run.probeShape], labels, tensors };
}

export interface RebuildReport {
  card: PredictorCard;
  file: string;
  bytes: number;
}

/**
 * Makes predictor `r` from seed: its zoos in work/zoos, its runs in work/runs (both resumed when
 * there), then out/NAME.safetensors and its examples in out/examples/NAME.
 */
export async function rebuildPredictor(r: PredictorRecipe, work: string, out: string, o: { workers: number; log: (line: string) => void }): Promise<RebuildReport> {
  const zooDir = (name: string) => join(work, "zoos", name);
  for (const z of r.zoos) probegen(["zoo", "build", ...z.build, "--out", zooDir(z.name), "--workers", String(o.workers), "--json"], o.log);
  let trainZoo = zooDir(r.trainZoos[0]);
  if (r.trainZoos.length > 1) {
    trainZoo = zooDir(r.trainZoos.join("+"));
    probegen(["zoo", "merge", ...r.trainZoos.map(zooDir), "--out", trainZoo, "--json"], o.log);
  }
  const zoos: CardZoo[] = r.zoos.map((z) => {
    const m = Zoo.open(zooDir(z.name)).manifest;
    return { ...z, networks: m.count, shards: m.shards.length, splits: { train: rangesSize(m.splits.train), val: rangesSize(m.splits.val), test: rangesSize(m.splits.test) } };
  });
  const runDir = (seed: number) => join(work, "runs", `${r.name}-seed-${seed}`);
  for (const seed of r.seeds) {
    if (readRunResult(runDir(seed)) !== null) continue;
    const resume = existsSync(join(runDir(seed), "config.json")) ? ["--resume"] : [];
    probegen(["train", "--zoo", trainZoo, "--out", runDir(seed), "--seed", String(seed), ...r.train, ...resume, "--json"], o.log);
  }
  const draft: PredictorCard = {
    name: r.name, title: r.title, predicts: r.predicts, accepts: r.accepts, task: "classification", metric: "accuracy",
    zoos, trainZoos: r.trainZoos, train: r.train, seeds: r.seeds, shippedSeed: r.shippedSeed,
    test: { perSeed: [], mean: NaN, std: NaN, networks: 0, byZoo: [] }, shippedTest: NaN,
    check: { zoo: r.check.zoo, shard: r.check.shard, networks: 0, score: NaN },
    method: "", readout: "", probes: 0, head: { width: 0, depth: 0 }, flopsPerNetwork: 0,
    traded: r.traded, backend: kernels().name, probegenVersion: PROBEGEN_VERSION,
  };
  const trainName = r.trainZoos.join("+");
  // Every seed's score through its predictor file, as users run it.
  const pooled: number[] = [];
  const byZoo = new Map<string, number[]>(r.testZoos.map((z) => [z, []]));
  let testNetworks = 0;
  const byZooNetworks = new Map<string, number>();
  const inputs = new Map<string, PredictionInputs>();
  let shipped: Omit<PredictorFile, "file"> | null = null;
  let run: TrainedRun | null = null;
  for (const seed of r.seeds) {
    const made = predictorFromRun(runDir(seed), draft, trainName);
    const seedRun = TrainedRun.fromPredictor(decodePredictor(encodePredictor(made), runDir(seed)));
    if (seed === r.shippedSeed) { shipped = made; run = seedRun; }
    const all: Prediction[] = [];
    for (const z of r.testZoos) {
      if (!inputs.has(z)) inputs.set(z, testInputs(seedRun, zooDir(z)));
      const preds = await testPredictions(seedRun, inputs.get(z)!);
      byZoo.get(z)!.push(scoreOf(seedRun, preds));
      byZooNetworks.set(z, preds.length);
      all.push(...preds);
    }
    pooled.push(scoreOf(seedRun, all));
    testNetworks = all.length;
  }
  if (shipped === null || run === null) throw new RangeError(`${r.name}: the shipped seed ${r.shippedSeed} is not one of the seeds ${r.seeds.join(", ")}`);
  const checkPreds = await testPredictions(run, testInputs(run, zooDir(r.check.zoo), shardTestZoo(zooDir(r.check.zoo), r.check.shard)));
  const result = readRunResult(runDir(r.shippedSeed))!;
  const cfg = run.runFile.config;
  const card: PredictorCard = {
    ...draft,
    task: run.task, metric: run.task === "classification" ? "accuracy" : "kendallTau",
    test: { ...scores(pooled), networks: testNetworks, byZoo: r.testZoos.map((z) => ({ zoo: z, networks: byZooNetworks.get(z)!, ...scores(byZoo.get(z)!) })) },
    shippedTest: pooled[r.seeds.indexOf(r.shippedSeed)],
    check: { zoo: r.check.zoo, shard: r.check.shard, networks: checkPreds.length, score: scoreOf(run, checkPreds) },
    method: cfg.method, readout: cfg.readout, probes: cfg.probes, head: { ...cfg.head }, flopsPerNetwork: result.flopsPerNetwork,
  };
  const bytes = encodePredictor({ ...shipped, card });
  const file = join(out, `${r.name}.safetensors`);
  mkdirSync(out, { recursive: true });
  writeOutputFile(file, bytes, PREDICTOR_OUTPUT);
  writeExamples(r, zooDir(r.examples.zoo), join(work, "examples", r.name), join(out, "examples", r.name), o.log);
  return { card, file, bytes: bytes.length };
}

/**
 * The example networks: test-split networks of the examples zoo, chosen by rule, not by how they
 * are predicted: the first of distinct classes (classification), or the lowest, median and
 * highest target (regression).
 */
export function exampleIndices(m: ZooManifest, zoo: Zoo, count: number): number[] {
  const test = rangesIndices(m.splits.test);
  const all = zoo.readAll();
  if (m.task.kind === "classification") {
    const labels = all.fields.get("label")!, seen = new Set<number>(), out: number[] = [];
    for (const i of test) if (out.length < count && !seen.has(labels[i])) { seen.add(labels[i]); out.push(i); }
    return out;
  }
  const target = all.fields.get(m.task.target!)!;
  const sorted = [...test].sort((a, b) => target[a] - target[b] || a - b);
  return [sorted[0], sorted[Math.floor(sorted.length / 2)], sorted[sorted.length - 1]].slice(0, count);
}

/** Exports the example networks' zoo in its public layout and keeps the chosen test networks' files. */
function writeExamples(r: PredictorRecipe, zooDir: string, exported: string, out: string, log: (line: string) => void): void {
  const zoo = Zoo.open(zooDir);
  const indices = exampleIndices(zoo.manifest, zoo, r.examples.count);
  probegen(["zoo", "export", zooDir, "--format", r.examples.format, "--out", exported, ...(r.examples.format === "dwsnets" ? ["--layout", "fmnist"] : []), "--json"], log);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const test = rangesIndices(zoo.manifest.splits.test);
  for (const i of indices) {
    let from: string;
    if (r.examples.format === "safetensors") from = join("networks", `${String(i).padStart(6, "0")}.safetensors`);
    else if (r.examples.format === "dwsnets") from = join("fmnist_inrs", "test", `model_${i}.pth`);
    else from = (readJsonFile(join(exported, "cnn_park_splits.json")) as { test: { path: string[] } }).test.path[test.indexOf(i)];
    if (!existsSync(join(exported, from))) throw new Error(`${exported}: no exported file ${from} for network ${i}`);
    // Named as the public layout names them; a park's checkpoint by its network and step folders.
    const to = r.examples.format === "wild-park" ? `${from.split("/").slice(-3, -1).join("-")}.pt` : from.split("/").pop()!;
    cpSync(join(exported, from), join(out, to));
  }
}

/** `predictors check`: one test shard of the card's check zoo built again, and the predictor's score on it against the card's. */
export async function checkPredictor(p: PredictorFile, work: string, o: { workers: number; log: (line: string) => void }): Promise<{ expected: PredictorCard["check"]; got: { networks: number; score: number }; equal: boolean }> {
  const c = p.card;
  const z = c.zoos.find((x) => x.name === c.check.zoo);
  if (z === undefined) throw new FileFormatError(p.file, `its card checks zoo ${c.check.zoo}, which it does not list`);
  const shards = z.shards;
  const dir = join(work, "check", z.name);
  probegen(["zoo", "build", ...z.build, "--out", dir, "--shard", `${c.check.shard}/${shards}`, "--workers", String(o.workers), "--json"], o.log);
  const run = TrainedRun.fromPredictor(p);
  const preds = await testPredictions(run, testInputs(run, dir, shardTestZoo(dir, c.check.shard)));
  const got = { networks: preds.length, score: scoreOf(run, preds) };
  return { expected: c.check, got, equal: got.networks === c.check.networks && Object.is(got.score, c.check.score) };
}
