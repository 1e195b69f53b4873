// CNN Wild Park: mixed architectures evaluated together (ragged ops), checked against one
// network at a time and against finite differences; the architecture sampler.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng, Tensor, tidy } from "../src/engine/index.js";
import { cnnForward, cnnParameterShapes, type CnnArchitecture } from "../src/nets/cnn.js";
import { cnnForwardRagged, packRaggedCnn, raggedCnnLayout, raggedCnnTensors, unpackRaggedCnn } from "../src/nets/ragged-cnn.js";
import { WILD_PARK_SPACE, drawWildParkArchitecture } from "../src/build/wild-park-architecture.js";
import { assertClose, gradCheck, randn } from "./helpers.js";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildWildParkZoo, describeWildParkBuild } from "../src/build/wild-park-builder.js";
import { scoreRagged } from "../src/build/wild-park-train.js";
import { parseSizedCnnArchitecture } from "../src/nets/family.js";
import { cnnForwardMixed } from "../src/nets/groups.js";
import { Zoo, rangesIndices } from "../src/zoo/format.js";
import { exportWildPark, importWildPark } from "../src/zoo/interop/wild-park.js";
import { ZooData } from "../src/train/zoo-data.js";
import { statisticSlots } from "../src/train/weight-statistics.js";
import { train } from "../src/train/trainer.js";
import { DEFAULT_TRAIN_CONFIG } from "../src/train/config.js";

/** Depths 1-4, widths 1-3, kernels 1/3/5, every activation, residuals from wider and narrower layers. */
const MIXED: CnnArchitecture[] = [
  { inChannels: 2, classes: 3, residual: [-1, -1, 0, 1], layers: [
    { channels: 3, kernel: 3, stride: 1, padding: 1, activation: "sigmoid" },
    { channels: 1, kernel: 5, stride: 1, padding: 2, activation: "gelu" },
    { channels: 2, kernel: 1, stride: 1, padding: 0, activation: "tanh" },
    { channels: 3, kernel: 3, stride: 1, padding: 1, activation: "leaky_relu" },
  ] },
  { inChannels: 2, classes: 3, layers: [{ channels: 2, kernel: 5, stride: 1, padding: 2, activation: "relu" }] },
  { inChannels: 2, classes: 3, residual: [-1, -1, 0], layers: [
    { channels: 1, kernel: 3, stride: 1, padding: 1, activation: "none" },
    { channels: 3, kernel: 3, stride: 1, padding: 1, activation: "relu" },
    { channels: 2, kernel: 5, stride: 1, padding: 2, activation: "sigmoid" },
  ] },
  { inChannels: 2, classes: 3, residual: [-1, -1], layers: [
    { channels: 2, kernel: 3, stride: 2, padding: 1, activation: "tanh" },
    { channels: 2, kernel: 3, stride: 1, padding: 0, activation: "gelu" },
  ] },
];

function randomParams(rng: Rng, archs: readonly CnnArchitecture[]): Map<string, Float32Array>[] {
  return archs.map((a) => new Map(cnnParameterShapes(a).map(([n, s]) => [n, Float32Array.from({ length: s.reduce((x, y) => x * y, 1) }, () => rng.normal() * 0.5)])));
}

/** Each network alone through cnnForward: the reference the ragged forward must equal. */
function oneByOne(archs: readonly CnnArchitecture[], params: Map<string, Float32Array>[], x: Tensor): number[] {
  return archs.flatMap((a, n) => tidy(() => {
    const stacked = new Map(cnnParameterShapes(a).map(([name, s]) => [name, Tensor.from(params[n].get(name)!, [1, ...s])]));
    const xn = x.rank === 4 ? x : Tensor.from(x.data.subarray(n * x.size / archs.length, (n + 1) * x.size / archs.length), [1, ...x.shape.slice(1)]);
    return cnnForward(a, stacked, xn).toArray() as number[];
  }));
}

test("mixed CNNs in one ragged batch give each network's own logits, shared or per-network images", () => {
  const rng = new Rng(3, "ragged");
  const params = randomParams(rng, MIXED);
  const layout = raggedCnnLayout(MIXED);
  const packed = packRaggedCnn(layout, (n, name) => params[n].get(name)!);
  for (const x of [randn(rng, [3, 2, 7, 7]), randn(rng, [MIXED.length, 3, 2, 7, 7])]) {
    const out = cnnForwardRagged(layout, packed, x);
    assert.deepEqual(out.shape, [MIXED.length, 3, 3]);
    assertClose(out.data, oneByOne(MIXED, params, x), 1e-5, 1e-6, "ragged vs one by one");
  }
  // Packing round-trips, and the residual wiring is used: without it network 0 answers differently.
  assert.deepEqual(unpackRaggedCnn(layout, packed, 2), cnnParameterShapes(MIXED[2]).map(([n]) => params[2].get(n)));
  const x = randn(rng, [3, 2, 7, 7]);
  const plain = [{ ...MIXED[0], residual: undefined }, ...MIXED.slice(1)];
  const a = cnnForwardRagged(layout, packed, x).data.slice(0, 9);
  const b = cnnForwardRagged(raggedCnnLayout(plain), packed, x).data.slice(0, 9);
  assert.ok(a.some((v, i) => Math.abs(v - b[i]) > 1e-4), "the residuals change network 0's logits");
  assert.throws(() => raggedCnnLayout([MIXED[0], { ...MIXED[1], classes: 4 }]), /network 1 takes 2 channels to 4 classes, network 0 2 to 3/);
});

test("finite differences through a mixed batch: depths, kernels, activations and residuals in one step", () => {
  const rng = new Rng(5, "ragged-fd");
  const params = randomParams(rng, MIXED);
  const layout = raggedCnnLayout(MIXED);
  const packed = packRaggedCnn(layout, (n, name) => params[n].get(name)!, { persistent: true });
  const tensors = raggedCnnTensors(packed).map((t) => t.requireGrad());
  const rebuild = (ts: Tensor[]) => ({
    weights: layout.layers.map((_, i) => ts[2 * i]), biases: layout.layers.map((_, i) => ts[2 * i + 1]),
    fcWeight: ts[ts.length - 2], fcBias: ts[ts.length - 1],
  });
  // Probes shared by every network (their gradient sums over networks), and per-network images.
  gradCheck("ragged shared", (x, ...ts) => cnnForwardRagged(layout, rebuild(ts), x), [randn(rng, [2, 2, 6, 6]).requireGrad(), ...tensors], { eps: 1e-3, rtol: 2e-2, samples: 16 });
  gradCheck("ragged per network", (x, ...ts) => cnnForwardRagged(layout, rebuild(ts), x), [randn(rng, [MIXED.length, 2, 2, 6, 6]).requireGrad(), ...tensors], { eps: 1e-3, rtol: 2e-2, samples: 16 });
});

test("the Wild Park sampler draws the park's space: depths, widths, kernels, activations, residual sources", () => {
  const rng = new Rng(0, "sampler");
  const archs = Array.from({ length: 400 }, () => drawWildParkArchitecture(WILD_PARK_SPACE, rng, 1, 10));
  const depths = new Set(archs.map((a) => a.layers.length));
  assert.deepEqual([...depths].sort(), [2, 3, 4, 5]);
  const all = archs.flatMap((a) => a.layers);
  assert.deepEqual([...new Set(all.map((l) => l.channels))].sort((a, b) => a - b), [4, 8, 16, 32]);
  assert.deepEqual([...new Set(all.map((l) => l.kernel))].sort(), [3, 5, 7]);
  assert.equal(new Set(all.map((l) => l.activation)).size, 6);
  assert.ok(all.every((l) => l.stride === 1 && l.padding === l.kernel >> 1));
  for (const a of archs) {
    const r = a.residual as number[];
    assert.equal(r[0], -1);
    assert.equal(r[1], -1);
    r.forEach((j, i) => assert.ok(j === -1 || (j >= 0 && j <= i - 2), `residual[${i}] = ${j}`));
  }
  const withResidual = archs.filter((a) => (a.residual as number[]).some((j) => j >= 0)).length;
  assert.ok(withResidual > 150 && withResidual < 350, `${withResidual} of 400 have a residual`);
  // Seeded: the same draws again.
  assert.deepEqual(drawWildParkArchitecture(WILD_PARK_SPACE, new Rng(0, "sampler"), 1, 10), archs[0]);
});

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
    assert.ok(acc.some((v, i) => v !== acc[0] || i === 0) && acc.every((v) => v >= 0 && v <= 1));
    assert.ok(all.fields.get("step")![1] === 2 * Math.floor(64 / 32));

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
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("probing a mixed zoo evaluates each batch in one ragged forward, equal to one network at a time", () => {
  const rng = new Rng(9, "ragged-probe");
  const archs = Array.from({ length: 5 }, () => drawWildParkArchitecture(WILD_PARK_SPACE, rng, 1, 10));
  const params = randomParams(rng, archs);
  const x = randn(rng, [3, 1, 12, 12]);
  const nets = archs.map((arch, n) => ({ arch, params: params[n] }));
  assertClose(cnnForwardMixed(nets, x).data, oneByOne(archs, params, x), 1e-5, 1e-6, "drawn architectures");
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
