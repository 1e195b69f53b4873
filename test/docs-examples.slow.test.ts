// The library documentation's examples (docs/library.md) run as written, importing the package by its own name.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));

function runExample(n: number): string {
  const doc = readFileSync(`${root}docs/library.md`, "utf8");
  const blocks = [...doc.matchAll(/```js\n([\s\S]*?)```/g)];
  assert.ok(blocks.length > n, `docs/library.md has a ${n + 1}th js example`);
  const file = `${root}dist/readme-example-${n}.mjs`;
  writeFileSync(file, blocks[n][1]);
  try {
    const r = spawnSync(process.execPath, [file], { encoding: "utf8", cwd: root, timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  } finally {
    rmSync(file, { force: true });
  }
}

test("docs/library.md's engine example runs and prints the loss and the probe gradient's shape", () => {
  const out = runExample(0);
  const m = /^(\d+\.\d{6}) \[ 8, 2 \]$/m.exec(out);
  assert.ok(m !== null, `unexpected output: ${out}`);
  assert.ok(Number(m[1]) > 0, "a positive loss");
});

test("docs/library.md's experiment example builds a zoo, trains and prints what its comments say", () => {
  const out = runExample(1);
  assert.match(out, /^\{"train":\[\[0,157\]\],"val":\[\[157,171\]\],"test":\[\[171,200\]\]\}$/m);
  // Seeded, so exact: a ProbeGen run well above chance (0.1) on 29 test INRs.
  assert.match(out, /^0\.483 150 575504$/m);
});

test("docs/library.md's Small-CNN example builds a zoo and predicts test accuracy", () => {
  const out = runExample(2);
  assert.match(out, /^5 test_accuracy$/m);
  assert.match(out, /^kendallTau -?\d\.\d{3}$/m);
});

test("docs/library.md's interop example exports a zoo in DWSNets' layout, reads a checkpoint and imports it back", () => {
  const out = runExample(3);
  assert.match(out, /^zip seq\.0\.weight seq\.0\.bias seq\.1\.weight seq\.1\.bias seq\.2\.weight seq\.2\.bias \[ 32, 2 \]$/m);
  assert.match(out, /^12 \{ train: \[ \[ 0, \d+ \] \], val: \[ \[ \d+, \d+ \] \], test: \[ \[ \d+, 12 \] \] \}$/m);
});

test("docs/library.md's predictor example predicts a test split with the run's own test accuracy and writes its report", () => {
  const out = runExample(4);
  // Same zoo and settings as the experiment example: the best checkpoint's test accuracy, 0.483.
  assert.match(out, /^true \d (0\.\d\d ){3}0\.483$/m);
  assert.match(out, /^7 0$/m);
});
