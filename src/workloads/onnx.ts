// ONNX models probed: a zoo of PyTorch's Small CNN export (test/fixtures/onnx/small-cnn.onnx, its
// weights varied per network) evaluated white-box by the engine against the same networks as
// the native Small-CNN family, width-8 ResNet-18s (the export's plan against the ResNet family),
// and the Small CNNs predicted black-box through onnxruntime, one file each.
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
import { resnet18, resnetForward, resnetParameterShapes } from "../nets/resnet.js";
import { onnxAnswers, onnxAnswersMany } from "../nets/onnx-runtime.js";

export interface OnnxFigures {
  /** Networks a second evaluated on K probes, by the ONNX plan and by the Small-CNN family, and the ratio. */
  whiteBoxNetworksPerSec: number;
  nativeFamilyNetworksPerSec: number;
  whiteBoxOverNative: number;
  /** The same for width-8 ResNet-18s (PyTorch's export, BatchNorm folded, against the ResNet family), random weights of the same shapes. */
  resnetWhiteBoxNetworksPerSec: number;
  resnetFamilyNetworksPerSec: number;
  resnetWhiteBoxOverNative: number;
  /** Files a second answered by onnxruntime (read, checked, session made, K probes run). */
  blackBoxNetworksPerSec: number;
  networks: number;
  probes: number;
}

const FIXTURE = fileURLToPath(new URL("../../../test/fixtures/onnx/small-cnn.onnx", import.meta.url));
const RESNET_FIXTURE = fileURLToPath(new URL("../../../test/fixtures/onnx/resnet18-w8.onnx", import.meta.url));

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
  // ResNet-18 (width 8): the export's plan against the family, each on random weights of its own shapes.
  const resnetModel = readOnnx(RESNET_FIXTURE);
  const resnetPlan = planOnnxGraph(resnetModel);
  if (!isOnnxPlan(resnetPlan)) throw new Error(`${RESNET_FIXTURE}: the ResNet export should be white-box: ${resnetPlan.reason}`);
  const RB = quick ? 4 : 16;
  const randomStack = (shape: readonly number[]) => Tensor.from(Float32Array.from({ length: RB * shape.reduce((a, b) => a * b, 1) }, () => (rng.uniform() - 0.5) * 0.2), [RB, ...shape], { persistent: true });
  const resnetArch = resnet18(8, "cifar", 10, 3);
  const resnetOnnxParams = new Map(resnetPlan.parameters.map((p) => [p.name, randomStack(p.shape)]));
  const resnetFamilyParams = new Map(resnetParameterShapes(resnetArch).map(([name, shape]) => [name, randomStack(shape)]));
  const rgb = Tensor.from(Float32Array.from({ length: K * 3 * 1024 }, () => rng.uniform() * 2 - 1), [K, 3, 32, 32], { persistent: true });
  const resnetOnnxSeconds = time(() => { onnxForward(resnetPlan, resnetOnnxParams, rgb); });
  const resnetFamilySeconds = time(() => { resnetForward(resnetArch, resnetFamilyParams, rgb); });
  for (const t of [...resnetOnnxParams.values(), ...resnetFamilyParams.values(), rgb]) t.dispose();
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
    resnetWhiteBoxNetworksPerSec: RB / resnetOnnxSeconds, resnetFamilyNetworksPerSec: RB / resnetFamilySeconds, resnetWhiteBoxOverNative: resnetFamilySeconds / resnetOnnxSeconds,
    blackBoxNetworksPerSec: blackBox, networks: B, probes: K,
  };
}
