// The predictor in use: predictions for networks from every kind of input, architecture checks,
// and the black-box path (exported probes, answers computed elsewhere) giving exactly the same
// predictions as a direct predict.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Tensor, noGrad, tidy } from "../src/engine/index.js";
import { buildInrZoo } from "../src/zoo/build/inr-builder.js";
import { buildCnnZoo } from "../src/zoo/build/cnn-builder.js";
import { NpyRowReader, NpyWriter } from "../src/io/npy.js";
import { encodeSafetensors } from "../src/io/safetensors.js";
import { stateDictValue, writeTorchCheckpoint } from "../src/io/torch-save.js";
import { networkArchitecture } from "../src/nets/family.js";
import { InputCollector } from "../src/predict/inputs.js";
import { predictNetworks, predictResponses, type PredictionReport } from "../src/predict/predict.js";
import { exportProbes } from "../src/predict/probes-export.js";
import { TrainedRun } from "../src/predict/run-model.js";
import { DEFAULT_TRAIN_CONFIG } from "../src/train/config.js";
import { train } from "../src/train/trainer.js";
import { Zoo, rangesIndices } from "../src/zoo/format.js";
import { exportDwsnets } from "../src/zoo/interop/dwsnets.js";
import { importWildPark } from "../src/zoo/interop/wild-park.js";
import { exportSafetensors } from "../src/zoo/interop/safetensors-export.js";

const cli = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const FIX = fileURLToPath(new URL("../../test/fixtures/interop/", import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 120_000, env: { ...process.env, CI: "true" } });
const tmp = (tag: string) => mkdtempSync(join(tmpdir(), `probegen-${tag}-`));

const inr = (() => {
  let made: { zoo: string; run: string } | null = null;
  return () => {
    if (made === null) {
      const root = tmp("predict-inr");
      const zoo = join(root, "zoo");
      buildInrZoo({ dataset: "mnist", count: 60, out: zoo, seed: 4, recipe: { steps: 40 }, shardSize: 30 });
      train({ ...DEFAULT_TRAIN_CONFIG, zoo, probes: 16, epochs: 4, batch: 8, evalEvery: 5, head: { width: 32, depth: 3 } }, join(root, "run"));
      made = { zoo, run: join(root, "run") };
    }
    return made;
  };
})();

async function predictArgs(runDir: string, args: string[], opts: ConstructorParameters<typeof InputCollector>[1] = {}): Promise<PredictionReport> {
  const r = TrainedRun.open(runDir);
  const c = new InputCollector(r, opts);
  try {
    for (const a of args) await c.add(a);
    return await predictNetworks(r, c.gather());
  } finally {
    c.cleanup();
  }
}

const probabilities = (r: PredictionReport) => r.predictions.map((p) => p.top ?? p.score);

test("predict: the same INRs from a zoo, .pth files, .safetensors files and a DWSNets splits file get the same predictions", async () => {
  const { zoo, run: runDir } = inr();
  const z = Zoo.open(zoo);
  const test = rangesIndices(z.manifest.splits.test);
  const fromZoo = await predictArgs(runDir, [zoo]);
  assert.equal(fromZoo.count, test.length);
  assert.ok(fromZoo.metrics !== null && fromZoo.metrics.known === test.length, "a zoo's labels are known");
  assert.equal(fromZoo.metrics!.accuracy, fromZoo.predictions.filter((p) => p.correct).length / test.length);
  const root = tmp("predict-files");
  exportDwsnets({ zoo, out: join(root, "dws"), layout: "fmnist" });
  const splits = JSON.parse(readFileSync(join(root, "dws", "fmnist_splits.json"), "utf8"));
  const pths = (splits.test.path as string[]).map((p) => join(root, "dws", p));
  const fromPth = await predictArgs(runDir, pths);
  assert.deepEqual(probabilities(fromPth), probabilities(fromZoo));
  assert.deepEqual(fromPth.predictions.map((p) => p.truth), fromZoo.predictions.map((p) => p.truth), "an FMNIST-layout file's label entry is its truth");
  const sts = test.map((i) => {
    const net = z.network(i);
    const file = join(root, `net${i}.safetensors`);
    writeFileSync(file, encodeSafetensors([...net.params].map(([n, v]) => [n, { shape: z.manifest.architectures[0].parameters.find((p) => p.name === n)!.shape, data: v }])));
    return file;
  });
  const fromSt = await predictArgs(runDir, sts);
  assert.deepEqual(probabilities(fromSt), probabilities(fromZoo));
  assert.equal(fromSt.metrics, null, "bare weights carry no truth");
  const fromPublic = await predictArgs(runDir, [join(root, "dws", "fmnist_splits.json")]);
  assert.deepEqual(probabilities(fromPublic).slice(-test.length), probabilities(fromZoo), "the splits file's test networks come last");
  // One chosen by index: the same prediction (to rounding: a lone network takes the GEMV path of the head).
  const one = await predictArgs(runDir, [zoo], { indices: [test[0]] });
  assert.deepEqual(one.predictions[0].top!.map((t) => t.label), fromZoo.predictions[0].top!.map((t) => t.label));
  one.predictions[0].top!.forEach((t, i) => assert.ok(Math.abs(t.probability - fromZoo.predictions[0].top![i].probability) < 1e-6));
  const p = one.predictions[0].top!.reduce((s, t) => s + t.probability, 0);
  assert.ok(p > 0 && p <= 1);
});

test("predict refuses networks that are not the run's, naming the file, the parameter and both shapes", async () => {
  const { run: runDir } = inr();
  const root = tmp("predict-bad");
  const wide = join(root, "wide.pth");
  writeTorchCheckpoint(wide, stateDictValue([
    ["seq.0.weight", { data: new Float32Array(64 * 2), shape: [64, 2] }], ["seq.0.bias", { data: new Float32Array(64), shape: [64] }],
  ]));
  await assert.rejects(predictArgs(runDir, [wide]), (e: Error) => e.message.startsWith(wide) && /parameter seq\.0\.weight has shape \[64,2\], the run's networks have \[32,2\]/.test(e.message));
  const otherZoo = join(root, "zoo16");
  buildInrZoo({ dataset: "mnist", count: 6, out: otherZoo, recipe: { steps: 2 }, arch: { inDim: 2, hidden: [16, 16], outDim: 1, w0: 30, outputOffset: 0.5 } });
  await assert.rejects(predictArgs(runDir, [otherZoo]), /zoo16\/zoo\.json: is not of the run's architecture: architecture\.hidden\[0\] is 16 here, 32 in the run/);
  await assert.rejects(predictArgs(runDir, [join(FIX, "hostile", "executes-code.pth")]), /refused to call posix\.system/);
  const wp = join(root, "wp");
  await importWildPark({ splitsFile: join(FIX, "cnn-wild-park", "cnn_park_splits.json"), out: wp });
  await assert.rejects(predictArgs(runDir, [wp]), /wp\/zoo\.json: holds cnn networks; the run was trained on siren networks/);
  const wpCheckpoint = join(FIX, "cnn-wild-park", "cifar10_zooV2", "NN_tune_trainable_00004", "checkpoint_000010", "checkpoint.pt");
  await assert.rejects(predictArgs(runDir, [wpCheckpoint]), /checkpoint\.pt: is a checkpoint with a CNN config \(CNN Wild Park's\); the run was trained on siren networks/);
});

/** Answers of a zoo's networks to exported probes, computed by probegen's own forward, saved as [N, K, outputs]. */
function responsesOf(zooDir: string, indices: number[], probesFile: string, out: string): void {
  const zoo = Zoo.open(zooDir);
  const reader = new NpyRowReader(probesFile);
  const probes = new Float32Array(reader.rows * reader.rowLength);
  for (let i = 0; i < reader.rows; i++) reader.readRow(i, probes, i * reader.rowLength);
  reader.close();
  const base = networkArchitecture(zoo.manifest.family, zoo.manifest.architectures[0].architecture);
  const all = zoo.readAll();
  const w = new NpyWriter(out, [indices.length, reader.rows, base.outputsPerProbe]);
  noGrad(() => {
    for (const i of indices) {
      tidy(() => {
        const arch = base.variantField === null ? base : base.variant(all.fields.get(base.variantField)![i]);
        const params = new Map(arch.parameters.map(([name, shape]) => {
          const per = shape.reduce((a, b) => a * b, 1);
          return [name, Tensor.from(all.params.get(name)!.subarray(i * per, (i + 1) * per), [1, ...shape])];
        }));
        w.append(Float32Array.from(arch.forward(params, Tensor.from(probes, [reader.rows, ...arch.probeShape])).data));
      });
    }
  });
  w.finish();
}

test("black-box use: answers to the exported probes, computed outside predict, give exactly its predictions (INRs and CNNs)", async () => {
  const root = tmp("blackbox");
  const cnnZoo = join(root, "cnn");
  await buildCnnZoo({ dataset: "mnist", count: 16, out: cnnZoo, seed: 2, recipe: { trainImages: 640, testImages: 100, trainEvalImages: 50, epochsRange: [1, 1] } });
  train({ ...DEFAULT_TRAIN_CONFIG, zoo: cnnZoo, readout: "logits", probes: 6, epochs: 3, batch: 4, evalEvery: 2, head: { width: 16, depth: 2 } }, join(root, "cnn-run"));
  for (const [zooDir, runDir] of [[inr().zoo, inr().run], [cnnZoo, join(root, "cnn-run")]]) {
    const out = join(root, `probes-${zooDir === cnnZoo ? "cnn" : "inr"}`);
    const exported = exportProbes(TrainedRun.open(runDir), out);
    const d = JSON.parse(readFileSync(join(out, "probes.json"), "utf8"));
    assert.deepEqual(d.shape, exported.description.shape);
    assert.deepEqual(d.responses.shape.slice(1), [d.count, zooDir === cnnZoo ? 10 : 1]);
    const z = Zoo.open(zooDir);
    const indices = Array.from({ length: z.count }, (_, i) => i);
    responsesOf(zooDir, indices, join(out, "probes.npy"), join(root, "responses.npy"));
    const direct = await predictArgs(runDir, [zooDir], { indices });
    const blackBox = predictResponses(TrainedRun.open(runDir), join(root, "responses.npy"));
    assert.equal(blackBox.count, z.count);
    assert.deepEqual(probabilities(blackBox), probabilities(direct), `${zooDir}: the same predictions, bit for bit`);
    const bad = join(root, "bad.npy");
    const w = new NpyWriter(bad, [2, d.count + 1, 1]);
    w.append(new Float32Array(2 * (d.count + 1)));
    w.finish();
    assert.throws(() => predictResponses(TrainedRun.open(runDir), bad), /bad\.npy: holds responses of shape \[2,\d+,1\]; this run needs \[N, \d+, \d+\]/);
  }
  // A Small-CNN run's networks each have an activation; bare weights need --activation.
  const z = Zoo.open(cnnZoo);
  const net = z.network(0);
  const file = join(root, "cnn0.safetensors");
  writeFileSync(file, encodeSafetensors([...net.params].map(([n, v]) => [n, { shape: z.manifest.architectures[0].parameters.find((p) => p.name === n)!.shape, data: v }])));
  await assert.rejects(predictArgs(join(root, "cnn-run"), [file]), /cnn0\.safetensors: the run's networks each have their own activation \(relu or tanh\), which weights alone do not show; pass --activation/);
  const act = (["relu", "tanh"] as const)[net.fields.get("activation")!];
  const withAct = await predictArgs(join(root, "cnn-run"), [file], { activation: act });
  const fromZoo = await predictArgs(join(root, "cnn-run"), [cnnZoo], { indices: [0] });
  assert.equal(withAct.predictions[0].score, fromZoo.predictions[0].score);
  // Exported as .safetensors, each file carries its activation and target: no --activation, truths known.
  const st = join(root, "cnn-st");
  exportSafetensors({ zoo: cnnZoo, out: st });
  const files = Array.from({ length: z.count }, (_, i) => join(st, "networks", `${String(i).padStart(6, "0")}.safetensors`));
  const fromFiles = await predictArgs(join(root, "cnn-run"), files);
  const allFromZoo = await predictArgs(join(root, "cnn-run"), [cnnZoo], { indices: Array.from({ length: z.count }, (_, i) => i) });
  assert.deepEqual(probabilities(fromFiles), probabilities(allFromZoo));
  assert.deepEqual(fromFiles.predictions.map((p) => p.truth), allFromZoo.predictions.map((p) => p.truth));
  assert.deepEqual(fromFiles.metrics, allFromZoo.metrics);
  assert.equal(readFileSync(join(st, "networks.csv"), "utf8").split("\n")[0], "file,index,split,test_accuracy,activation");
  // An exported CNN is not an INR run's network: its recorded architecture says so.
  await assert.rejects(predictArgs(inr().run, [files[0]]), /000000\.safetensors: is not of the run's architecture: architecture\.\w+ is/);
  // A run that reads hidden layers predicts network files as it predicts its zoo, and refuses
  // the black-box path, which carries outputs alone.
  const hiddenRun = join(root, "cnn-hidden");
  train({ ...DEFAULT_TRAIN_CONFIG, zoo: cnnZoo, readout: "hidden", probes: 6, epochs: 3, batch: 4, evalEvery: 2, head: { width: 16, depth: 2 } }, hiddenRun);
  const hiddenFiles = await predictArgs(hiddenRun, files);
  const hiddenZoo = await predictArgs(hiddenRun, [cnnZoo], { indices: Array.from({ length: z.count }, (_, i) => i) });
  assert.deepEqual(probabilities(hiddenFiles), probabilities(hiddenZoo));
  assert.notDeepEqual(probabilities(hiddenZoo), probabilities(allFromZoo));
  assert.throws(() => exportProbes(TrainedRun.open(hiddenRun), join(root, "hidden-probes")), /config\.json: the run reads its networks' hidden layers \(--readout hidden\), so exported probes cannot serve it/);
  assert.throws(() => predictResponses(TrainedRun.open(hiddenRun), join(root, "responses.npy")), /so responses \(.*responses\.npy\) cannot serve it: answers computed elsewhere carry the outputs alone/);
  // A labelled run (the default for this MNIST zoo: data probes read with their classes) takes
  // black-box answers too: it reads them with its probes' classes, as in training.
  const labelledRun = join(root, "cnn-labelled");
  train({ ...DEFAULT_TRAIN_CONFIG, zoo: cnnZoo, probes: 6, epochs: 3, batch: 4, evalEvery: 2, head: { width: 16, depth: 2 } }, labelledRun);
  const recorded = JSON.parse(readFileSync(join(labelledRun, "config.json"), "utf8")).config;
  assert.deepEqual([recorded.method, recorded.readout], ["data", "labelled"]);
  exportProbes(TrainedRun.open(labelledRun), join(root, "labelled-probes"));
  responsesOf(cnnZoo, Array.from({ length: z.count }, (_, i) => i), join(root, "labelled-probes", "probes.npy"), join(root, "labelled-responses.npy"));
  const labelledDirect = await predictArgs(labelledRun, [cnnZoo], { indices: Array.from({ length: z.count }, (_, i) => i) });
  assert.deepEqual(probabilities(predictResponses(TrainedRun.open(labelledRun), join(root, "labelled-responses.npy"))), probabilities(labelledDirect));
  // A damaged run folder that claims the labelled readout for probes without classes is refused, naming its config.
  const forged = join(root, "cnn-forged");
  cpSync(labelledRun, forged, { recursive: true });
  const cfgFile = join(forged, "config.json");
  const rf = JSON.parse(readFileSync(cfgFile, "utf8"));
  rf.config.method = "dead-leaves";
  writeFileSync(cfgFile, JSON.stringify(rf));
  assert.throws(() => predictResponses(TrainedRun.open(forged), join(root, "labelled-responses.npy")), /cnn-forged.config\.json: records the labelled readout, but its dead-leaves probes carry no classes/);
});

test("predict on the command line: a table, --json, --csv, a Wild Park run on checkpoints, and usage errors", () => {
  const { zoo, run: runDir } = inr();
  const table = run("predict", runDir, zoo);
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /^network +predicted +top 3 +truth$/m);
  assert.match(table.stdout, /accuracy \d+\.\d\d% over the \d+ networks whose class is known/);
  assert.match(table.stderr, /\d+ networks predicted in [\d.]+ s \(\d+ networks\/s\)/);
  const json = JSON.parse(run("predict", runDir, zoo, "--index", "0,1", "--json").stdout);
  assert.equal(json.count, 2);
  assert.equal(json.predictions[0].top.length, 3);
  const csv = run("predict", runDir, zoo, "--index", "3", "--csv").stdout.trim().split("\n");
  assert.equal(csv[0], "network,predicted,probability,second,second_probability,third,third_probability,truth");
  assert.equal(csv.length, 2);
  // A Wild Park run predicts checkpoints of any architecture from their configs.
  const root = tmp("predict-wp");
  const wp = join(root, "wp");
  assert.equal(run("zoo", "import", "wild-park", join(FIX, "cnn-wild-park", "cnn_park_splits.json"), "--out", wp).status, 0);
  assert.equal(run("train", "--zoo", wp, "--out", join(root, "run"), "--epochs", "2", "--probes", "4", "--batch", "8").status, 0);
  const ckpts = [0, 5, 11].map((i) => join(FIX, "cnn-wild-park", "cifar10_zooV2", `NN_tune_trainable_${String(i).padStart(5, "0")}`, "checkpoint_000020", "checkpoint.pt"));
  const wpOut = run("predict", join(root, "run"), ...ckpts, "--json");
  assert.equal(wpOut.status, 0, wpOut.stderr);
  assert.equal(JSON.parse(wpOut.stdout).predictions.length, 3);
  // Its networks exported as .safetensors carry their architectures: the same predictions as from the zoo.
  assert.equal(run("zoo", "export", wp, "--format", "safetensors", "--out", join(root, "wp-st")).status, 0);
  const wpFiles = [0, 5, 11].map((i) => join(root, "wp-st", "networks", `${String(i).padStart(6, "0")}.safetensors`));
  const wpSt = JSON.parse(run("predict", join(root, "run"), ...wpFiles, "--json").stdout) as PredictionReport;
  const wpZoo = JSON.parse(run("predict", join(root, "run"), wp, "--index", "0,5,11", "--json").stdout) as PredictionReport;
  assert.deepEqual(wpSt.predictions.map((p) => p.score), wpZoo.predictions.map((p) => p.score));
  assert.deepEqual(wpSt.predictions.map((p) => p.truth), wpZoo.predictions.map((p) => p.truth));
  // --list and --shard I/N: parts of consecutive inputs whose outputs, in order, are the whole list's.
  const list = join(root, "networks.txt");
  writeFileSync(list, `# exported networks\n${wpFiles[0]}\n\n${wpFiles[1]}\n`);
  const whole = run("predict", join(root, "run"), ...wpFiles.slice(0, 1), "--list", list, "--csv", "--index", "0");
  assert.equal(whole.status, 0, whole.stderr);
  const rowsOf = (out: string) => out.trim().split("\n").slice(1);
  const parts = [0, 1, 2].map((i) => run("predict", join(root, "run"), wpFiles[0], "--list", list, "--csv", "--shard", `${i}/3`));
  assert.deepEqual(parts.flatMap((p) => rowsOf(p.stdout)), rowsOf(whole.stdout));
  assert.equal(rowsOf(whole.stdout).length, 3);
  assert.match(parts[1].stderr, /part 1\/3: 1 of 3 inputs/);
  // An empty part is nothing to do, not a failure: SLURM arrays of more tasks than inputs succeed.
  const empty = run("predict", join(root, "run"), wpFiles[0], "--shard", "1/3");
  assert.equal(empty.status, 0, empty.stderr);
  assert.match(empty.stderr, /part 1\/3 of 1 inputs is empty: nothing to predict/);
  assert.equal(empty.stdout, "");
  writeFileSync(join(root, "empty.txt"), "# nothing\n");
  assert.match(run("predict", join(root, "run"), "--list", join(root, "empty.txt")).stderr, /empty\.txt: lists no networks/);
  const bare = join(root, "bare.safetensors");
  writeFileSync(bare, encodeSafetensors([["fc.weight", { shape: [10, 8], data: new Float32Array(80) }]]));
  const refused = run("predict", join(root, "run"), bare);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /bare\.safetensors: the run was trained on networks of many architectures, and bare weights do not say their own/);
  for (const [args, re] of [
    [["predict", runDir], /predict needs networks to predict/],
    [["predict", runDir, zoo, "--responses", "x.npy"], /--responses replaces the networks/],
    [["predict", runDir, zoo, "--json", "--csv"], /--json and --csv: choose one/],
    [["probes"], /Usage: probegen probes export/],
  ] as [string[], RegExp][]) {
    const x = run(...args);
    assert.equal(x.status, 2, `${args.join(" ")}: ${x.stderr}`);
    assert.match(x.stdout + x.stderr, re);
  }
  const missing = run("predict", runDir, join(root, "nothing.pth"));
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /nothing\.pth: no such file or folder/);
  assert.equal(run("predict", "--help").status, 0);
  assert.equal(run("probes", "export", "--help").status, 0);
  const statnnRun = join(root, "statnn");
  assert.equal(run("train", "--zoo", zoo, "--out", statnnRun, "--method", "statnn", "--epochs", "1").status, 0);
  const noProbes = run("probes", "export", statnnRun, "--out", join(root, "p"));
  assert.equal(noProbes.status, 1);
  assert.match(noProbes.stderr, /statnn\/config\.json: the run represents networks by weight statistics \(statnn\); it has no probes/);
});
