// CNN Wild Park zoos built here: deterministic on any number of workers and after a resume,
// split by network, scores reproducible from the stored weights, the public layout round trip,
// every probing method on a mixed zoo, and the command line (tiny versions).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildWildParkZoo, describeWildParkBuild } from "../src/zoo/build/wild-park-builder.js";
import { scoreRagged, trainWildParkCohort } from "../src/zoo/build/wild-park-train.js";
import { networkArchitecture, parseSizedCnnArchitecture } from "../src/nets/family.js";
import { tidy } from "../src/engine/index.js";
import { ProbingModel } from "../src/train/probing-model.js";
import type { ProbeRepresentation } from "../src/train/probe-representation.js";
import { readRunFile } from "../src/train/run-folder.js";
import { assertClose } from "./helpers.js";
import { packRaggedCnn, raggedCnnLayout } from "../src/nets/ragged-cnn.js";
import { Zoo, parameterSize, rangesIndices } from "../src/zoo/format.js";
import { exportWildPark, importWildPark } from "../src/zoo/interop/wild-park.js";
import { ZooData } from "../src/train/zoo-data.js";
import { statisticSlots } from "../src/train/weight-statistics.js";
import { train } from "../src/train/trainer.js";
import { DEFAULT_TRAIN_CONFIG } from "../src/train/config.js";

const CLI = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));

const TINY = { dataset: "fmnist" as const, count: 6, seed: 3, shardSize: 3, batch: 2, recipe: { trainImages: 64, testImages: 40, checkpoints: [1, 2] } };

test("a tiny Wild Park builds the same bytes on 1 and 2 workers and after a resume, split by network, scores reproducible from its weights", async () => {
  const root = mkdtempSync(join(tmpdir(), "probegen-wildpark-"));
  try {
    const a = join(root, "a"), b = join(root, "b");
    const ra = await buildWildParkZoo({ ...TINY, out: a });
    assert.equal(ra.built, 6);
    await buildWildParkZoo({ ...TINY, out: b }, 2);
    const files = readdirSync(a).filter((f) => f.endsWith(".safetensors")).sort();
    assert.deepEqual(files, ["shard-00000.safetensors", "shard-00001.safetensors"]);
    for (const f of [...files, "zoo.json"]) assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), `${f} is the same on 2 workers`);
    // Interrupted: one shard and zoo.json gone. The resumed build rewrites exactly them.
    rmSync(join(b, "shard-00001.safetensors"));
    rmSync(join(b, "zoo.json"));
    writeFileSync(join(b, "build.json"), readFileSync(join(a, "zoo.json")));
    const resumed = await buildWildParkZoo({ ...TINY, out: b });
    assert.equal(resumed.built, 3);
    assert.equal(resumed.skippedShards, 1);
    for (const f of [...files, "zoo.json"]) assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), `${f} after resuming`);

    const zoo = Zoo.open(a);
    const m = zoo.manifest;
    assert.equal(m.count, 12);
    assert.equal(m.version, 2);
    assert.equal(m.architectures.length, 6, "every drawn network has its own architecture");
    const all = zoo.readAll();
    // Read straight into arrays the caller gives (tensor memory, for a trainer): asked for once
    // per architecture and parameter with its network count, filled as readAll fills its own.
    const asked: string[] = [];
    const into = zoo.readAll((k, p, networks) => {
      asked.push(`${k}/${p.name}/${networks}`);
      return new Float32Array(networks * parameterSize(p));
    });
    assert.deepEqual(asked, m.architectures.flatMap((a, k) => a.parameters.map((p) => `${k}/${p.name}/2`)));
    const held = new ZooData(zoo);
    all.groups.forEach((g, k) => g.forEach((values, name) => {
      assert.deepEqual(into.groups[k].get(name), values, `${k}/${name} read into given arrays`);
      assert.deepEqual(held.groups[k].get(name)!.data, values, `${k}/${name} in ZooData's tensors`);
      assert.deepEqual(held.groups[k].get(name)!.shape, [2, ...m.architectures[k].parameters.find((p) => p.name === name)!.shape]);
    }));
    assert.throws(() => zoo.readAll(() => new Float32Array(1)), /readAll: layers\.0\.weight of architecture 0 needs \d+ values, given an array of 1/);
    const network = all.fields.get("network")!, epoch = all.fields.get("epoch")!, acc = all.fields.get("test_accuracy")!;
    assert.deepEqual(Array.from(network), [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    assert.deepEqual(Array.from(epoch), [1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2]);
    const splitOf = new Map<number, string>();
    for (const s of ["train", "val", "test"] as const) {
      for (const i of rangesIndices(m.splits[s])) {
        const prev = splitOf.get(network[i]);
        assert.ok(prev === undefined || prev === s, `network ${network[i]}'s checkpoints are in ${prev} and ${s}`);
        splitOf.set(network[i], s);
      }
    }
    assert.deepEqual([...splitOf.values()], ["train", "train", "train", "train", "val", "test"]);
    // Each checkpoint's recorded test accuracy is what its stored weights score on the zoo's test images.
    const b0 = describeWildParkBuild({ ...TINY, out: a });
    const archs = Array.from({ length: m.count }, (_, i) => parseSizedCnnArchitecture(m.architectures[all.architecture[i]].architecture));
    const layout = raggedCnnLayout(archs);
    const params = packRaggedCnn(layout, (n, name) => zoo.network(n).params.get(name)!);
    const scores = scoreRagged(layout, params, b0.test);
    scores.forEach((s, i) => assert.equal(Math.fround(s.accuracy), acc[i], `checkpoint ${i}`));
    assert.ok(new Set(acc).size > 1, "checkpoints score differently (a constant would mean scores not written per sample)");
    assert.ok(acc.every((v) => v >= 0 && v <= 1));
    assert.equal(b0.recipe.batchSize, 8);
    assert.equal(all.fields.get("step")![1], 2 * (64 / 8), "two epochs of 64 images in steps of 8");

    // Exported in the public layout and imported back: the same weights and scores.
    exportWildPark({ zoo: a, out: join(root, "public") });
    await importWildPark({ splitsFile: join(root, "public", "cnn_park_splits.json"), out: join(root, "back") });
    const back = Zoo.open(join(root, "back"));
    assert.equal(back.count, 12);
    const n5 = back.network(11), o5 = zoo.network(11);
    assert.deepEqual(Array.from(n5.params.get("fc.weight")!), Array.from(o5.params.get("fc.weight")!));
    assert.equal(n5.fields.get("test_accuracy"), o5.fields.get("test_accuracy"));

    // Probing the mixed zoo works with every method; statnn pads layers to the deepest network.
    const data = new ZooData(zoo);
    const deepest = Math.max(...archs.map((x) => x.layers.length));
    assert.equal(statisticSlots(data.architectures).length, 2 * deepest + 2);
    for (const method of ["probegen", "vanilla", "dead-leaves", "data", "statnn"] as const) {
      const r = train({ ...DEFAULT_TRAIN_CONFIG, zoo: a, method, probes: 4, epochs: 2, batch: 4 }, join(root, `run-${method}`));
      // A non-finite loss would have stopped the run with an error.
      assert.equal(r.steps, 4, `${method}: 8 training checkpoints in batches of 4, 2 epochs`);
      assert.ok(r.flopsPerNetwork > 0);
    }
    // The hidden readout of the park is one ragged pass, equal to each network's own readout
    // with the deepest network's slots; the labelled readout takes the data probes' classes.
    const hidden = new ProbingModel({ ...DEFAULT_TRAIN_CONFIG, zoo: a, method: "dead-leaves", readout: "hidden", probes: 3 }, 1, data);
    const rep = hidden.representation as ProbeRepresentation;
    const width = 10 + 6 * deepest;
    assert.equal(rep.features, 3 * width);
    tidy(() => {
      const all12 = Array.from({ length: 12 }, (_, i) => i);
      const together = rep.represent(data, all12);
      all12.forEach((n) => {
        const arch = networkArchitecture("cnn", m.architectures[data.architectureOf[n]].architecture);
        const alone = arch.forwardHidden(data.gather([n]), rep.source.forward(), deepest);
        assertClose(together.data.subarray(n * 3 * width, (n + 1) * 3 * width), alone.data, 1e-5, 1e-6, `network ${n}`);
      });
    });
    const labelled = train({ ...DEFAULT_TRAIN_CONFIG, zoo: a, probes: 4, epochs: 2, batch: 4 }, join(root, "run-default"));
    assert.equal(readRunFile(join(root, "run-default")).config.readout, "labelled", "the default for a Fashion-MNIST park: data probes, labelled");
    assert.equal(labelled.method, "data");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a network trains to the same bits alone as in a cohort of mixed architectures", () => {
  const b = describeWildParkBuild({ dataset: "fmnist", count: 5, out: "", seed: 4, recipe: { trainImages: 32, testImages: 20, checkpoints: [1, 2] } });
  const cohort = trainWildParkCohort(b.jobs, b.recipe, b.pool, b.test).done;
  assert.equal(cohort.length, 5);
  b.jobs.forEach((job, n) => {
    const alone = trainWildParkCohort([job], b.recipe, b.pool, b.test).done[0];
    alone.checkpoints.forEach((c, ci) => {
      const other = cohort[n].checkpoints[ci];
      assert.equal(c.testAccuracy, other.testAccuracy);
      c.params.forEach((p, pi) => assert.ok(Buffer.from(p.buffer, p.byteOffset, p.byteLength).equals(Buffer.from(other.params[pi].buffer, other.params[pi].byteOffset, other.params[pi].byteLength)), `network ${n}, checkpoint ${ci}, parameter ${pi}`));
    });
  });
  // And the networks did change from their initialisation: training happened.
  assert.notDeepEqual(cohort[0].checkpoints[0].params[0], cohort[0].checkpoints[1].params[0]);
});

test("zoo build wild-park and demo --task wild-park from the command line (tiny), with usage errors", () => {
  const root = mkdtempSync(join(tmpdir(), "probegen-wildpark-cli-"));
  const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 300_000, env: { ...process.env, CI: "true" } });
  try {
    const out = join(root, "park");
    const b = run("zoo", "build", "wild-park", "--dataset", "fmnist", "--count", "3", "--train-images", "32", "--test-images", "20", "--checkpoints", "1,2", "--out", out, "--json");
    assert.equal(b.status, 0, b.stderr);
    const r = JSON.parse(b.stdout);
    assert.equal(r.samples, 6);
    assert.equal(r.architectures, 3);
    assert.deepEqual(r.splits, { train: 2, val: 2, test: 2 });
    assert.equal(r.testAccuracyQuantiles.length, 5);
    for (const [args, re] of [
      [["--count", "2"], /--count must be at least 3/],
      [["--count", "3", "--checkpoints", "2,1"], /--checkpoints must be increasing epochs/],
      [["--count", "3", "--checkpoints", "0"], /--checkpoints must be an integer >= 1/],
      [["--count", "3", "--lr", "0"], /--lr must be a number > 0/],
    ] as [string[], RegExp][]) {
      const x = run("zoo", "build", "wild-park", "--dataset", "fmnist", "--out", join(root, "bad"), ...args);
      assert.equal(x.status, 2, `${args.join(" ")}: ${x.stderr}`);
      assert.match(x.stderr, re);
    }
    assert.equal(run("zoo", "build", "wild-park", "--help").status, 0);
    const demo = run("demo", "--task", "wild-park", "--count", "4", "--probes", "2", "--epochs", "1", "--train-images", "32", "--workers", "1", "--cache", join(root, "cache"), "--json");
    assert.equal(demo.status, 0, demo.stderr);
    const d = JSON.parse(demo.stdout);
    assert.deepEqual(d.rows.map((x: { method: string }) => x.method), ["probegen", "vanilla", "dead-leaves", "statnn"]);
    assert.ok(d.rows.every((x: { flopsPerNetwork: number }) => x.flopsPerNetwork > 0));
    assert.ok(existsSync(d.report), "the ProbeGen run's report is written");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
