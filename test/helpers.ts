// Shared test utilities: seeded tensors and a central finite-difference gradient check.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tensor, Rng, backward, noGrad, tidy } from "../src/engine/index.js";
import { buildInrZoo } from "../src/zoo/build/inr-builder.js";
import { DEFAULT_TRAIN_CONFIG } from "../src/train/config.js";
import { nativeUnavailable } from "../src/engine/kernels/native.js";
import { train } from "../src/train/trainer.js";

export function randn(rng: Rng, shape: readonly number[], std = 1): Tensor {
  const t = Tensor.empty(shape);
  rng.fillNormal(t.data, 0, std);
  return t;
}

/** Values bounded away from 0, for functions with a kink there (ReLU and friends). */
export function randAwayFromZero(rng: Rng, shape: readonly number[], margin = 0.1): Tensor {
  const t = randn(rng, shape);
  for (let i = 0; i < t.size; i++) {
    const v = t.data[i];
    if (Math.abs(v) < margin) t.data[i] = v < 0 ? v - margin : v + margin;
  }
  return t;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, "lengths differ");
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Asserts max|a-b| <= atol + rtol * max|b|. */
export function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, rtol: number, atol: number, what: string): void {
  const d = maxAbsDiff(a, b);
  const tol = atol + rtol * maxAbs(b);
  assert.ok(d <= tol, `${what}: max |diff| ${d.toExponential(3)} > tolerance ${tol.toExponential(3)}`);
}

export interface GradCheckOptions {
  eps?: number;
  /** Error allowed, relative to the largest analytic gradient entry of that input. */
  rtol?: number;
  /** Coordinates checked per input (all when the input is smaller). */
  samples?: number;
  seed?: number;
}

/**
 * Checks d(sum(r * f(inputs)))/d(input) from backward() against central differences for
 * every input that requires a gradient. r is a fixed random projection; the loss is summed in
 * double precision so only f's own float32 rounding limits the finite differences.
 */
export function gradCheck(name: string, f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts: GradCheckOptions = {}): void {
  const eps = opts.eps ?? 1e-2;
  const rtol = opts.rtol ?? 1e-2;
  const samples = opts.samples ?? 24;
  const rng = new Rng(opts.seed ?? 7, "gradcheck");
  const lossOf = (): number => noGrad(() => tidy(() => {
    const y = f(...inputs);
    let s = 0;
    for (let i = 0; i < y.size; i++) s += r[i] * y.data[i];
    return s;
  }));
  let r: Float64Array = new Float64Array(0);
  const analytic = tidy(() => {
    for (const x of inputs) { x.gradValid = false; }
    const y = f(...inputs);
    r = Float64Array.from({ length: y.size }, () => rng.normal());
    backward(y, Float32Array.from(r));
    return inputs.map((x) => (x.requiresGrad && x.grad !== null && x.gradValid ? Array.from(x.grad.data) : null));
  });
  inputs.forEach((x, idx) => {
    if (!x.requiresGrad) return;
    const an = analytic[idx];
    assert.ok(an !== null, `${name}: input ${idx} ${x} received no gradient`);
    const scale = Math.max(maxAbs(an), 1e-6);
    const coords = x.size <= samples ? [...Array(x.size).keys()] : Array.from({ length: samples }, () => rng.int(x.size));
    for (const i of coords) {
      const orig = x.data[i];
      x.data[i] = orig + eps;
      const lp = lossOf();
      x.data[i] = orig - eps;
      const lm = lossOf();
      x.data[i] = orig;
      const fd = (lp - lm) / (2 * eps);
      const err = Math.abs(fd - an[i]);
      assert.ok(err <= rtol * scale + 1e-6,
        `${name}: d/d input${idx}[${i}] analytic ${an[i].toExponential(4)} vs finite difference ${fd.toExponential(4)} (error ${(err / scale).toExponential(2)} of max ${scale.toExponential(2)})`);
    }
  });
}

/**
 * A small MNIST INR zoo and a run trained on it, made on first use and shared by the tests of a
 * file: (zoo, run) folders under a temporary folder named by `tag`.
 */
export function lazyInrRun(tag: string, seed: number, o: { count?: number; probes?: number } = {}): () => { zoo: string; run: string } {
  let made: { zoo: string; run: string } | null = null;
  return () => {
    if (made === null) {
      const root = mkdtempSync(join(tmpdir(), `probegen-${tag}-`));
      const zoo = join(root, "zoo");
      buildInrZoo({ dataset: "mnist", count: o.count ?? 40, out: zoo, seed, recipe: { steps: 20 }, shardSize: 20 });
      train({ ...DEFAULT_TRAIN_CONFIG, zoo, probes: o.probes ?? 8, epochs: 2, batch: 8, evalEvery: 3, head: { width: 16, depth: 2 } }, join(root, "run"));
      made = { zoo, run: join(root, "run") };
    }
    return made;
  };
}

/**
 * Asserts what a finished run's `best` must be: the first evaluation of the highest validation
 * score in its metrics.jsonl, with that evaluation's test score, and a best checkpoint of that
 * step. (A check that best is not null holds for any run on a zoo with a val split.)
 */
export function assertBestIsBestValidation(runDir: string, result: { best: { step: number; val: number; test: number } | null }): void {
  const records = readFileSync(join(runDir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { step: number; val: { score: number | null } | null; test: { score: number | null } | null });
  // As the trainer keeps it: any evaluation beats none, a number beats NaN (JSON's null), and only a higher score beats a number.
  let top: (typeof records)[number] | null = null;
  const score = (r: (typeof records)[number]) => r.val?.score ?? NaN;
  for (const r of records) {
    if (r.val === null) continue;
    if (top === null || (!Number.isNaN(score(r)) && (Number.isNaN(score(top)) || score(r) > score(top)))) top = r;
  }
  assert.ok(top !== null, `${runDir}: no evaluation with a validation score`);
  assert.ok(result.best !== null, `${runDir}: no best`);
  assert.equal(result.best.step, top.step, `${runDir}: best step`);
  assert.equal(result.best.val, score(top));
  assert.equal(result.best.test, top.test?.score ?? NaN);
  assert.equal(JSON.parse(readFileSync(join(runDir, "best.json"), "utf8")).step, top.step, `${runDir}: the best checkpoint's step`);
}

/**
 * The fast kernel backends under test: WASM, and the native kernels where they built. With
 * PROBEGEN_EXPECT_NATIVE=1 (CI's main run) their absence fails, so a broken native build cannot
 * pass as "not built".
 */
export function fastBackends(): ("wasm" | "native")[] {
  const why = nativeUnavailable();
  if (why !== null && process.env.PROBEGEN_EXPECT_NATIVE === "1") throw new Error(`PROBEGEN_EXPECT_NATIVE=1, but ${why}`);
  return why === null ? ["wasm", "native"] : ["wasm"];
}
