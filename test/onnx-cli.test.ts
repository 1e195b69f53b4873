// The README's ONNX commands, as a user runs them: PyTorch's Small CNN export (its weights varied
// per network) imported with a labels CSV, a run trained on it, a model predicted white-box and
// black-box, and the usage errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Rng } from "../src/engine/index.js";
import { readOnnx } from "../src/io/onnx.js";
import { withInitializers } from "../src/io/onnx-write.js";

const cli = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
const FIX = fileURLToPath(new URL("../../test/fixtures/onnx/", import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 300_000 });

test("zoo import onnx, train, predict and predict --black-box from the command line", () => {
  const dir = mkdtempSync(join(tmpdir(), "probegen-onnx-cli-"));
  const models = join(dir, "models");
  mkdirSync(models);
  const src = join(FIX, "small-cnn.onnx");
  const template = new Uint8Array(readFileSync(src));
  const graph = readOnnx(src).graph;
  const rng = new Rng(8, "cli-variants");
  const lines = ["file,label"];
  for (let i = 0; i < 10; i++) {
    const values = new Map([...graph.initializers].map(([k, t]) => [k, Float32Array.from(t.data, (v) => v * (1 + 0.3 * (rng.uniform() - 0.5)))]));
    writeFileSync(join(models, `net${i}.onnx`), withInitializers(template, values, `net${i}.onnx`));
    lines.push(`net${i}.onnx,${i % 2}`);
  }
  writeFileSync(join(models, "labels.csv"), lines.join("\n") + "\n");
  const zoo = join(dir, "zoo"), runDir = join(dir, "run");

  const imported = run("zoo", "import", "onnx", models, "--labels", join(models, "labels.csv"), "--out", zoo, "--json");
  assert.equal(imported.status, 0, imported.stderr);
  assert.equal(JSON.parse(imported.stdout).imported, 10);
  const info = run("zoo", "info", zoo);
  assert.equal(info.status, 0, info.stderr);
  assert.match(info.stdout, /graph 0: 10 networks, input \[1,32,32\]: white-box, run by probegen's engine; 5 steps \(conv 3, globalAvgPool 1, linear 1\)/);
  const trained = run("train", "--zoo", zoo, "--method", "dead-leaves", "--epochs", "2", "--probes", "4", "--batch", "4", "--out", runDir, "--json");
  assert.equal(trained.status, 0, trained.stderr);

  const white = run("predict", runDir, join(models, "net3.onnx"), "--json");
  assert.equal(white.status, 0, white.stderr);
  const black = run("predict", runDir, "--black-box", join(models, "net3.onnx"), "--json");
  assert.equal(black.status, 0, black.stderr);
  const [a] = JSON.parse(white.stdout).predictions, [b] = JSON.parse(black.stdout).predictions;
  assert.equal(b.label, a.label);
  assert.ok(Math.abs(b.top[0].probability - a.top[0].probability) < 1e-4, `${JSON.stringify(b.top)} against ${JSON.stringify(a.top)}`);

  const mixed = run("predict", runDir, "--black-box", join(models, "net3.onnx"), zoo);
  assert.equal(mixed.status, 2, "a zoo with --black-box is a usage error");
  assert.match(mixed.stderr, /--black-box runs ONNX models \(.onnx\) through onnxruntime; .*zoo is not one/);
  const blackBoxOnly = run("zoo", "import", "onnx", FIX, "--labels", join(dir, "none.csv"), "--out", join(dir, "z2"));
  assert.equal(blackBoxOnly.status, 1);
  assert.match(blackBoxOnly.stderr, /none.csv: no such file/);
  const help = run("zoo", "import", "onnx", "--help");
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--target COL/);
});
