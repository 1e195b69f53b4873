// Fuzzing the readers of the public zoos' files: random truncations and byte flips of every
// fixture file. Each case must end either in a value or in the project's file error naming the
// file, never in another exception, a hang, or an allocation far beyond the file's size.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Rng } from "../src/engine/index.js";
import { FileFormatError } from "../src/file-error.js";
import { decodeTorchCheckpoint, TorchTensor } from "../src/io/torch-checkpoint.js";
import { isZip, readZip, writeZip } from "../src/io/zip.js";
import { planSmallCnnZooImport } from "../src/zoo/interop/small-cnn-zoo.js";
import { planDwsnetsImport } from "../src/zoo/interop/dwsnets.js";
import { planWildParkImport } from "../src/zoo/interop/wild-park.js";
import { planTorchvisionImport } from "../src/zoo/interop/torchvision.js";
import { buildInrZoo } from "../src/zoo/build/inr-builder.js";
import { DEFAULT_TRAIN_CONFIG } from "../src/train/config.js";
import { train } from "../src/train/trainer.js";
import { TrainedRun } from "../src/predict/run-model.js";
import { InputCollector } from "../src/predict/inputs.js";
import { predictResponses } from "../src/predict/predict.js";
import { readNetworkList } from "../src/cli/predict.js";
import { NpyRowReader, NpyWriter } from "../src/io/npy.js";

const FIX = fileURLToPath(new URL("../../test/fixtures/interop/", import.meta.url));
const RESNETS = fileURLToPath(new URL("../../test/fixtures/resnet/", import.meta.url));

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** A copy of `bytes` cut short, with a few bytes changed, or both. */
function mutate(bytes: Uint8Array, rng: Rng): Uint8Array {
  const kind = rng.int(3);
  let out = bytes.slice();
  if (kind !== 1) out = out.slice(0, rng.int(out.length));
  if (kind !== 0 && out.length > 0) {
    const flips = 1 + rng.int(8);
    for (let i = 0; i < flips; i++) out[rng.int(out.length)] = rng.int(256);
  }
  return out;
}

/** Runs a case; returns whether it failed with a file error naming `file` (false: it succeeded). */
function expectNamedErrorOrValue(what: string, file: string, f: () => void): boolean {
  const t0 = performance.now();
  try {
    f();
    return false;
  } catch (e) {
    assert.ok(e instanceof FileFormatError, `${what}: ${(e as Error).name}: ${(e as Error).message}`);
    assert.ok(e.message.startsWith(file), `${what}: the error names ${file}: ${e.message}`);
    return true;
  } finally {
    assert.ok(performance.now() - t0 < 5000, `${what}: took ${(performance.now() - t0).toFixed(0)} ms`);
  }
}

/**
 * Half the cases damage the file itself (the zip's CRC-32 then catches most changes); the other
 * half damage the pickle inside an otherwise valid archive, which reaches the pickle machine.
 */
function mutateCheckpoint(file: string, rng: Rng, insidePickle: boolean): Uint8Array {
  const bytes = readFileSync(file);
  let entries: [string, Uint8Array][];
  try {
    entries = insidePickle && isZip(bytes) ? [...readZip(bytes, file, Infinity)] : [];
  } catch {
    entries = []; // a hostile fixture that is no whole zip
  }
  if (entries.length === 0) return mutate(bytes, rng);
  return writeZip(entries.map(([name, data]) => [name, name.endsWith("data.pkl") ? mutate(data, rng) : data]));
}

test("fuzzed checkpoints: every case reads or fails with an error naming the file, within its byte budget", () => {
  const rng = new Rng(11, "fuzz-checkpoints");
  const files = filesUnder(FIX).filter((f) => /\.pth?$/.test(f));
  assert.ok(files.length >= 40);
  const baseline = process.memoryUsage().arrayBuffers;
  let failed = 0, read = 0;
  for (let c = 0; c < 400; c++) {
    const file = files[rng.int(files.length)];
    const bytes = mutateCheckpoint(file, rng, c % 2 === 1);
    const named = expectNamedErrorOrValue(`case ${c} (${file})`, file, () => {
      const ckpt = decodeTorchCheckpoint(bytes, file);
      // Touch every tensor's values, which is when views are materialised.
      const visit = (v: unknown, depth: number): void => {
        if (depth > 50) return;
        if (v instanceof TorchTensor) v.values();
        else if (v instanceof Map) for (const x of v.values()) visit(x, depth + 1);
        else if (Array.isArray(v)) for (const x of v) visit(x, depth + 1);
      };
      visit(ckpt.value, 0);
    });
    if (named) failed++; else read++;
    const grown = process.memoryUsage().arrayBuffers - baseline;
    assert.ok(grown < 256 * 2 ** 20, `case ${c} (${file}): array buffers grew by ${(grown / 2 ** 20).toFixed(0)} MiB`);
  }
  // Both outcomes occur: some damaged pickles still parse (a changed digit, a changed name).
  assert.ok(failed > 200 && read >= 3, `${failed} named errors, ${read} reads`);
});

test("fuzzed .npy, CSV, split and JSON files: every case plans an import or fails naming a file of the zoo", async () => {
  const rng = new Rng(12, "fuzz-tables");
  const root = mkdtempSync(join(tmpdir(), "probegen-fuzz-"));
  let named = 0, total = 0;
  // weights.npy on its own, through the row reader.
  const npyBytes = readFileSync(join(FIX, "small-cnn-zoo", "weights.npy"));
  for (let c = 0; c < 60; c++) {
    const file = join(root, `w${c}.npy`);
    writeFileSync(file, mutate(npyBytes, rng));
    total++;
    if (expectNamedErrorOrValue(`npy case ${c}`, file, () => {
      const r = new NpyRowReader(file);
      const row = new Float32Array(r.rowLength);
      try { for (let i = 0; i < r.rows; i++) r.readRow(i, row); } finally { r.close(); }
    })) named++;
  }
  // The Small CNN Zoo's tables, one damaged at a time.
  for (const [c, name] of ["layout.csv", "metrics.csv.gz", "nfn_split.csv", "weights.npy"].flatMap((n) => [0, 1, 2, 3, 4, 5, 6, 7].map((k) => [k, n] as const))) {
    const dir = join(root, `scz-${name}-${c}`);
    cpSync(join(FIX, "small-cnn-zoo"), dir, { recursive: true });
    const file = join(dir, name);
    writeFileSync(file, mutate(readFileSync(file), rng));
    total++;
    try {
      await planSmallCnnZooImport({ dir, out: join(dir, "out"), splitFile: join(dir, "nfn_split.csv") });
    } catch (e) {
      assert.ok(e instanceof FileFormatError, `${file}: ${(e as Error).name}: ${(e as Error).message}`);
      assert.ok(e.message.startsWith(dir), `${file}: the error names a file of the zoo: ${e.message}`);
      named++;
    }
  }
  // The splits files of DWSNets and CNN Wild Park.
  for (const [kind, src, json] of [["dws", "dwsnets-mnist", "mnist_splits.json"], ["wp", "cnn-wild-park", "cnn_park_splits.json"]] as const) {
    for (let c = 0; c < 12; c++) {
      const dir = join(root, `${kind}-${c}`);
      cpSync(join(FIX, src), dir, { recursive: true });
      const file = join(dir, json);
      writeFileSync(file, mutate(readFileSync(file), rng));
      total++;
      try {
        if (kind === "dws") planDwsnetsImport({ splitsFile: file, out: join(dir, "out") });
        else planWildParkImport({ splitsFile: file, out: join(dir, "out") });
      } catch (e) {
        assert.ok(e instanceof FileFormatError, `${file}: ${(e as Error).name}: ${(e as Error).message}`);
        assert.ok(e.message.startsWith(dir), `${file}: the error names a file of the zoo: ${e.message}`);
        named++;
      }
    }
  }
  assert.ok(named > total / 3, `${named} of ${total} cases failed with named errors`);
});

test("fuzzed inputs of predict: responses .npy files, --list files and label CSVs read or fail naming a file", async () => {
  const rng = new Rng(13, "fuzz-predict");
  const root = mkdtempSync(join(tmpdir(), "probegen-fuzz-predict-"));
  const zoo = join(root, "zoo");
  buildInrZoo({ dataset: "mnist", count: 30, out: zoo, seed: 6, recipe: { steps: 10 }, shardSize: 30 });
  train({ ...DEFAULT_TRAIN_CONFIG, zoo, probes: 4, epochs: 1, batch: 8, head: { width: 8, depth: 2 } }, join(root, "run"));
  const run = TrainedRun.open(join(root, "run"));
  let named = 0, total = 0;
  // Responses: a valid [N, K, 1] float32 array, then damaged.
  const good = join(root, "responses.npy");
  const w = new NpyWriter(good, [3, 4, 1]);
  w.append(Float32Array.from({ length: 12 }, (_, i) => i / 12));
  w.finish();
  predictResponses(run, good);
  const bytes = readFileSync(good);
  for (let c = 0; c < 80; c++) {
    const file = join(root, `r${c}.npy`);
    writeFileSync(file, mutate(bytes, rng));
    total++;
    if (expectNamedErrorOrValue(`responses case ${c}`, file, () => predictResponses(run, file))) named++;
  }
  // --list files: text damaged; a list names files that may not exist, each named in its error.
  const listText = Buffer.from(`# networks\n${zoo}\n\n${zoo}\n`);
  writeFileSync(join(root, "list.txt"), listText);
  assert.deepEqual(readNetworkList(join(root, "list.txt")), [zoo, zoo]);
  for (let c = 0; c < 40; c++) {
    const file = join(root, `l${c}.txt`);
    writeFileSync(file, mutate(listText, rng));
    total++;
    const collector = new InputCollector(run, { indices: [0] });
    try {
      for (const p of readNetworkList(file)) await collector.add(p);
    } catch (e) {
      assert.ok(e instanceof FileFormatError, `list case ${c}: ${(e as Error).name}: ${(e as Error).message}`);
      named++;
    } finally {
      collector.cleanup();
    }
  }
  // Label CSVs of torchvision imports.
  const csvText = Buffer.from("file,label,split\nresnet18-w4-cifar.pth,3,train\nresnet18-w4-imagenet.pth,7,test\n");
  for (let c = 0; c < 40; c++) {
    const file = join(root, `labels${c}.csv`);
    writeFileSync(file, mutate(csvText, rng));
    total++;
    try {
      planTorchvisionImport({ dir: RESNETS, labels: file, out: join(root, `tv${c}`) });
    } catch (e) {
      assert.ok(e instanceof FileFormatError, `labels case ${c}: ${(e as Error).name}: ${(e as Error).message}`);
      assert.ok(e.message.startsWith(file) || e.message.startsWith(RESNETS), `labels case ${c}: the error names the CSV or a file it lists: ${e.message}`);
      named++;
    }
  }
  // (Most damage to such small files is caught; the undamaged files above read.)
  assert.ok(named > total / 3, `${named} of ${total} cases failed with named errors`);
});
