// The README's "Your own models, as ONNX" blocks, run as written: the PyTorch script makes and
// exports the models (skipped where no python3 has torch: Python is never required), then each
// `npx probegen` line runs against this build, and what the README's comments say is checked.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const cli = join(root, "dist", "src", "cli", "main.js");

/** The first python3 on this machine that imports torch, or null. */
function torchPython(): string | null {
  for (const python of ["python3", "/usr/bin/python3"]) {
    if (spawnSync(python, ["-c", "import torch"], { encoding: "utf8", timeout: 60_000 }).status === 0) return python;
  }
  return null;
}

const python = torchPython();

test("the README's ONNX example runs as written: PyTorch's exports imported, trained on and predicted", { skip: python === null ? "no python3 with torch here" : false }, () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("### Your own models, as ONNX"));
  const script = /```python\n([\s\S]*?)```/.exec(section)![1];
  const commands = /```sh\n([\s\S]*?)```/.exec(section)![1].split("\n").filter((l) => l.startsWith("npx probegen "));
  assert.equal(commands.length, 4);
  const dir = mkdtempSync(join(tmpdir(), "probegen-readme-onnx-"));
  writeFileSync(join(dir, "make_models.py"), script);
  const made = spawnSync(python!, ["make_models.py"], { cwd: dir, encoding: "utf8", timeout: 300_000 });
  assert.equal(made.status, 0, made.stderr);
  const outputs = commands.map((line) => {
    const args = line.replace(/#.*$/, "").trim().split(/\s+/).slice(2);
    const r = spawnSync(process.execPath, [cli, ...args], { cwd: dir, encoding: "utf8", timeout: 300_000 });
    assert.equal(r.status, 0, `${line}\n${r.stderr}`);
    return r.stdout;
  });
  const test = /test (\d+\.\d+)%/.exec(outputs[1].split("\n").find((l) => l.startsWith("best val"))!);
  assert.ok(test !== null && Number(test[1]) >= 75, `the README says test 87.5%; got: ${outputs[1]}`);
  // Both predictions name class 0 (net3 leans towards 3 % 3), white-box and through onnxruntime alike.
  for (const out of outputs.slice(2)) assert.match(out, /^models\/net3\.onnx\s+0\s+0 \d/m);
});
