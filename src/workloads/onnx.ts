// ONNX models probed: a zoo of PyTorch's Small CNN export (test/fixtures/onnx/small-cnn.onnx, its
// weights varied per network) evaluated white-box by the engine against the same networks as
// the native Small-CNN family, and predicted black-box through onnxruntime, one file each.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Rng, Tensor, noGrad, threadCount, tidy } from "../engine/index.js";
import { readOnnx } from "../io/onnx.js";
import { withInitializers } from "../io/onnx-write.js";
import { cnnForward, cnnParameterShapes } from "../nets/cnn.js";
import { isOnnxPlan, onnxForward, onnxParameterValues, planOnnxGraph } from "../nets/onnx-graph.js";
import { smallCnnZooArchitecture } from "../nets/small-cnn.js";
import { onnxAnswers, onnxAnswersMany } from "../nets/onnx-runtime.js";

export interface OnnxFigures {
  /** Networks a second evaluated on K probes, by the ONNX plan and by the Small-CNN family, and the ratio. */
  whiteBoxNetworksPerSec: number;
  nativeFamilyNetworksPerSec: number;
  whiteBoxOverNative: number;
  /** Files a second answered by onnxruntime (read, checked, session made, K probes run). */
  blackBoxNetworksPerSec: number;
  networks: number;
  probes: number;
}

const FIXTURE = fileURLToPath(new URL("../../../test/fixtures/onnx/small-cnn.onnx", import.meta.url));

export async function onnxBench(quick = false): Promise<OnnxFigures> {
  const B = quick ? 32 : 256, K = 64, files = quick ? 16 : 200, reps = quick ? 2 : 5;
  const model = readOnnx(FIXTURE);
  const plan = planOnnxGraph(model);
  if (!isOnnxPlan(plan)) throw new Error(`${FIXTURE}: the Small CNN export should be white-box: ${plan.reason}`);
  const base = onnxParameterValues(plan, model.graph);
  const rng = new Rng(0, "onnx-bench");
  const vary = (v: Float32Array) => Float32Array.from(v, (x) => x * (1 + 0.2 * (rng.uniform() - 0.5)));
  // The zoo's parameters, stacked; the Small-CNN family reads the same tensors in the same order.
  const stacked = plan.parameters.map((p) => {
    const one = base.get(p.name)!, all = new Float32Array(B * one.length);
    for (let b = 0; b < B; b++) all.set(vary(one), b * one.length);
    return Tensor.from(all, [B, ...p.shape], { persistent: true });
  });
  const arch = smallCnnZooArchitecture();
  const familyNames = cnnParameterShapes(arch).map(([name]) => name);
  const onnxParams = new Map(plan.parameters.map((p, i) => [p.name, stacked[i]]));
  const familyParams = new Map(familyNames.map((name, i) => [name, stacked[i]]));
  const probes = Tensor.from(Float32Array.from({ length: K * 1024 }, () => rng.uniform() * 2 - 1), [K, 1, 32, 32], { persistent: true });
  const time = (f: () => void) => {
    noGrad(() => tidy(f));
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) noGrad(() => tidy(f));
    return (performance.now() - t0) / 1000 / reps;
  };
  const onnxSeconds = time(() => { onnxForward(plan, onnxParams, probes); });
  const familySeconds = time(() => { cnnForward(arch, familyParams, probes); });
  // Black-box: each network its own file, read, checked and run by onnxruntime.
  const dir = mkdtempSync(join(tmpdir(), "probegen-onnx-bench-"));
  let blackBox: number;
  try {
    const template = new Uint8Array(readFileSync(FIXTURE));
    const paths = Array.from({ length: files }, (_, i) => {
      const path = join(dir, `net-${i}.onnx`);
      writeFileSync(path, withInitializers(template, new Map([...model.graph.initializers].filter(([, t]) => t.dtype === "float32").map(([k, t]) => [k, vary(Float32Array.from(t.data))])), path));
      return path;
    });
    await onnxAnswers(paths[0], probes.data, [1, 32, 32], 10);
    const t0 = performance.now();
    await onnxAnswersMany(paths, probes.data, [1, 32, 32], 10, threadCount());
    blackBox = files / ((performance.now() - t0) / 1000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    for (const t of [...stacked, probes]) t.dispose();
  }
  return {
    whiteBoxNetworksPerSec: B / onnxSeconds, nativeFamilyNetworksPerSec: B / familySeconds, whiteBoxOverNative: familySeconds / onnxSeconds,
    blackBoxNetworksPerSec: blackBox, networks: B, probes: K,
  };
}
