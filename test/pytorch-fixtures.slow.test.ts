// The engine against PyTorch: one forward and backward of each benchmark workload, computed by
// PyTorch (fp32) from the same tensors. Copied from the project's reference notes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { backward, tidy, withBackend, type BackendName } from "../src/engine/index.js";
import { makeW1, makeW2, type Workload } from "../src/workloads/workloads.js";
import { assertClose, fastBackends } from "./helpers.js";

interface Fixture {
  loss: number;
  labels: number[];
  tensors: Record<string, { shape: number[]; offset: number; role: string }>;
}

// dist/test/x.js -> test/fixtures
const dir = fileURLToPath(new URL("../../test/fixtures/", import.meta.url));

function load(name: string): { fx: Fixture; get: (key: string) => Float32Array } {
  const fx = JSON.parse(readFileSync(`${dir}${name}.json`, "utf8")) as Fixture;
  const buf = readFileSync(`${dir}${name}.bin`);
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const get = (key: string) => {
    const t = fx.tensors[key];
    assert.ok(t !== undefined, `fixture ${name} has no tensor ${key}`);
    return all.subarray(t.offset, t.offset + t.shape.reduce((a, b) => a * b, 1));
  };
  return { fx, get };
}

/** The fixture names the small CNNs' layers conv{i}; the CNN family names them layers.{i}. */
const familyName = (key: string) => key.replace(/^conv(\d+)\./, "layers.$1.");

function loadInto(w: Workload, name: string): Fixture {
  const { fx, get } = load(name);
  for (const [key, t] of Object.entries(fx.tensors)) {
    const target = t.role === "param" ? w.params.get(key) : t.role === "zoo" ? w.zoo.get(familyName(key)) : undefined;
    if (t.role === "param" || t.role === "zoo") {
      assert.ok(target !== undefined, `workload has no ${t.role} tensor ${key}`);
      assert.deepEqual(target.shape, t.shape, `shape of ${key}`);
      target.data.set(get(key));
    }
  }
  w.labels.splice(0, w.labels.length, ...fx.labels);
  return fx;
}

function checkAgainstPyTorch(w: Workload, name: string, backend: BackendName): void {
  const fx = loadInto(w, name);
  const { get } = load(name);
  withBackend(backend, () => tidy(() => {
    for (const p of w.params.values()) p.gradValid = false;
    assertClose(w.probes().data, get("probes"), 1e-5, 1e-6, `${name} probes`);
    assertClose(w.forward().data, get("out"), 1e-4, 1e-5, `${name} head output`);
    const loss = w.loss();
    assert.ok(Math.abs(loss.item() - fx.loss) <= 1e-5 * Math.abs(fx.loss), `${name} loss ${loss.item()} vs PyTorch ${fx.loss}`);
    backward(loss);
  }));
  for (const [key, p] of w.params) {
    assert.ok(p.grad !== null && p.gradValid, `${name}: ${key} got no gradient`);
    // Gradients agree to ~1e-4 of each tensor's largest entry in fp32.
    assertClose(p.grad.data, get(`grad.${key}`), 3e-4, 0, `${name} grad.${key}`);
  }
}

for (const backend of [...fastBackends(), "reference"] as BackendName[]) {
  test(`W1 (32 SIRENs x 64 generated probes, cross-entropy) matches PyTorch: ${backend}`, () => {
    checkAgainstPyTorch(makeW1(), "w1", backend);
  });
  test(`W2 (32 small CNNs x 64 transposed-conv probes, MSE) matches PyTorch: ${backend}`, { timeout: 120_000 }, () => {
    checkAgainstPyTorch(makeW2(), "w2", backend);
  });
}
