// The README's library example runs as written, importing the package by its own name.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));

test("the README example runs and prints the loss and the probe gradient's shape", () => {
  const readme = readFileSync(`${root}README.md`, "utf8");
  const block = /```js\n([\s\S]*?)```/.exec(readme);
  assert.ok(block !== null, "README has a ```js example");
  const file = `${root}dist/readme-example.mjs`;
  writeFileSync(file, block[1]);
  try {
    const r = spawnSync(process.execPath, [file], { encoding: "utf8", cwd: root, timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const m = /^(\d+\.\d{6}) \[ 8, 2 \]$/m.exec(r.stdout);
    assert.ok(m !== null, `unexpected output: ${r.stdout}`);
    assert.ok(Number(m[1]) > 0, "a positive loss");
  } finally {
    rmSync(file, { force: true });
  }
});
