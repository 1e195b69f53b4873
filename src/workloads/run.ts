// probegen's benchmarks: training-step rates of W1 and W2, GEMM throughput (W3), and memory.
// Figures are medians of individually timed repetitions after warm-up; compare them within one
// run, as ratios, since the machine is shared and noisy.
import { getRuntime, kernels, threadCount, Rng, Tensor } from "../engine/index.js";
import { makeW1, makeW2, makeW4, trainer, type Workload } from "./workloads.js";
import { wildParkBuildBench, type WildParkBuildFigures } from "./wild-park-build.js";
import { fitBench, type FitFigures } from "./inr-fit.js";
import { paperCnnBench, paperScaleBench, type PaperScaleFigures } from "./paper-scale.js";
import { cnnBuildBench, type CnnBuildFigures } from "./cnn-build.js";
import { predictBench, type PredictFigures } from "./predict.js";
import { onnxBench, type OnnxFigures } from "./onnx.js";
import { nativeSimd } from "../engine/kernels/native.js";
import { resnetProbingBench, type ResNetProbingFigures } from "./resnet-probing.js";

export const BENCH_WORKLOADS = ["w1", "w2", "w2-hidden", "w3", "w4", "w4-hidden", "w5", "fit", "predict", "onnx", "cnn", "wild-park", "paper", "paper-cnn"] as const;
/** Run when --only is not given; "cnn" and "paper" take minutes and are run on request. */
export const DEFAULT_BENCH_WORKLOADS = ["w1", "w2", "w2-hidden", "w3", "w4", "w4-hidden", "fit", "predict"] as const;

export interface BenchOptions {
  /** Which workloads: any of BENCH_WORKLOADS. */
  only?: string[];
  /** Shorter runs (CI smoke test). */
  quick?: boolean;
  /** Progress lines go here (stderr by default); null silences them. */
  log?: ((line: string) => void) | null;
  /** Epochs of the paper-scale runs (paper, paper-cnn) when fewer than the paper's; the time for
   * the paper's epochs is then projected from it. */
  paperEpochs?: number;
  /** Networks in W5's step (32 by default). */
  w5Networks?: number;
}

export interface StepFigures { stepsPerSec: number; msPerStep: number; steps: number; loss: number }
export interface BenchResult {
  w1?: StepFigures & { modelsPerSec: number };
  w2?: StepFigures & { modelsPerSec: number };
  /** W2 with the hidden readout; costRatio is its step time over W2's when both ran. */
  "w2-hidden"?: StepFigures & { modelsPerSec: number; costRatio?: number };
  "w4-hidden"?: StepFigures & { modelsPerSec: number; peakTensorMiB: number; costRatio?: number };
  /** With the peak tensor memory of its steps alone. */
  w4?: StepFigures & { modelsPerSec: number; peakTensorMiB: number };
  w3?: { gemm256GFlops: number; batchedGemmGFlops: number };
  w5?: ResNetProbingFigures;
  fit?: FitFigures;
  predict?: PredictFigures;
  onnx?: OnnxFigures;
  cnn?: CnnBuildFigures;
  "wild-park"?: WildParkBuildFigures;
  paper?: PaperScaleFigures;
  "paper-cnn"?: PaperScaleFigures;
  memory: { peakRssMiB: number; peakTensorMiB: number };
  kernels: string;
  node: string;
  /** Kernel threads, and which SIMD build of the kernels ran (WASM: baseline or relaxed; native: avx512, avx2 or portable). */
  threads: number;
  simd: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Times fn: warm-up calls, then individually timed calls until both minimums are met. */
function timeIt(fn: () => number, warmup: number, minReps: number, minMs: number): { ms: number; reps: number; last: number } {
  let last = 0;
  for (let i = 0; i < warmup; i++) last = fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < minReps || performance.now() - start < minMs) {
    const t0 = performance.now();
    last = fn();
    times.push(performance.now() - t0);
  }
  return { ms: median(times), reps: times.length, last };
}

function gemmRate(M: number, N: number, K: number, batch: number, quick: boolean): number {
  const rng = new Rng(3, "bench-gemm");
  const A = Tensor.empty([batch, M, K]), B = Tensor.empty([batch, K, N]), C = Tensor.empty([batch, M, N]);
  rng.fillNormal(A.data); rng.fillNormal(B.data);
  const k = kernels();
  const { ms } = timeIt(() => {
    if (batch === 1) k.gemm(false, false, M, N, K, 1, A.data, K, B.data, N, 0, C.data, N);
    else k.gemmBatched(batch, false, false, M, N, K, 1, A.data, K, M * K, B.data, N, K * N, 0, C.data, N, M * N);
    return 0;
  }, 5, 20, quick ? 100 : 500);
  for (const t of [A, B, C]) t.dispose();
  return (2 * M * N * K * batch) / (ms * 1e6);
}

export async function runBench(opts: BenchOptions = {}): Promise<BenchResult> {
  const only = new Set<string>((opts.only ?? DEFAULT_BENCH_WORKLOADS).map((s) => s.toLowerCase()));
  const quick = opts.quick ?? false;
  const log = opts.log === undefined ? (l: string) => process.stderr.write(`${l}\n`) : opts.log;
  // Each run's own peak, when one process runs the benchmarks on two backends.
  getRuntime().heap.resetPeak();
  const result: BenchResult = {
    memory: { peakRssMiB: 0, peakTensorMiB: 0 },
    kernels: kernels().name,
    node: process.version,
    threads: threadCount(),
    simd: kernels().name === "native" ? nativeSimd() ?? "none" : getRuntime().simd,
  };
  if (only.has("w3")) {
    log?.("W3: GEMM 256x256x256 and 32 x (64x32 . 32x32) ...");
    result.w3 = { gemm256GFlops: gemmRate(256, 256, 256, 1, quick), batchedGemmGFlops: gemmRate(64, 32, 32, 32, quick) };
    log?.(`W3: GEMM 256^3 ${result.w3.gemm256GFlops.toFixed(1)} GFLOP/s, batched ${result.w3.batchedGemmGFlops.toFixed(1)} GFLOP/s`);
  }
  // [warm-up steps, minimum timed steps, minimum ms] for full and quick runs
  const stepRuns: [keyof BenchResult & ("w1" | "w2" | "w2-hidden"), Workload, string, number[]][] = [];
  if (only.has("w1")) stepRuns.push(["w1", makeW1(0), "32 SIRENs x 64 probes, ProbeGen coordinate generator, 6-layer head", quick ? [5, 10, 300] : [30, 50, 3000]]);
  if (only.has("w2")) stepRuns.push(["w2", makeW2(0), "32 small CNNs x 64 probes, deep_linear_5 generator, 6-layer head", quick ? [1, 3, 500] : [3, 10, 5000]]);
  if (only.has("w2-hidden")) stepRuns.push(["w2-hidden", makeW2(0, 32, 64, "hidden"), "W2 with every layer's channel summaries beside the logits", quick ? [1, 3, 500] : [3, 10, 5000]]);
  for (const [key, workload, what, [warmup, reps, ms]] of stepRuns) {
    log?.(`${workload.name}: ${what} ...`);
    const t = timeIt(trainer(workload), warmup, reps, ms);
    const nets = workload.labels.length;
    result[key] = { stepsPerSec: 1000 / t.ms, msPerStep: t.ms, steps: t.reps, loss: t.last, modelsPerSec: (nets * 1000) / t.ms };
    log?.(`${workload.name}: ${(1000 / t.ms).toFixed(2)} steps/s (${t.ms.toFixed(2)} ms/step, ${t.reps} timed steps)`);
  }
  const w2h = result["w2-hidden"];
  if (w2h !== undefined && result.w2 !== undefined) {
    w2h.costRatio = w2h.msPerStep / result.w2.msPerStep;
    log?.(`W2: a hidden-readout step costs ${w2h.costRatio.toFixed(2)}x a logits step`);
  }
  for (const key of ["w4", "w4-hidden"] as const) {
    if (!only.has(key)) continue;
    const hidden = key === "w4-hidden";
    log?.(hidden ? "W4 (hidden readout): W4 with every layer's channel summaries beside the logits ..." : "W4: 32 mixed CNN Wild Park networks x 64 probes, deep_linear_5 generator, 6-layer head, MSE ...");
    const w = makeW4(0, 32, 64, hidden ? "hidden" : "logits");
    const heap = getRuntime().heap;
    const before = heap.stats().liveBytes;
    heap.resetPeak();
    // One step takes seconds: a warm-up step and two timed ones (one in the quick run).
    const t = timeIt(trainer(w), 1, quick ? 1 : 2, 0);
    const peak = (heap.stats().peakBytes - before) / 2 ** 20;
    result[key] = { stepsPerSec: 1000 / t.ms, msPerStep: t.ms, steps: t.reps, loss: t.last, modelsPerSec: (32 * 1000) / t.ms, peakTensorMiB: peak };
    log?.(`${w.name}: ${(1000 / t.ms).toFixed(3)} steps/s (${t.ms.toFixed(0)} ms/step), ${peak.toFixed(0)} MiB of tensors at the peak of a step`);
  }
  const w4h = result["w4-hidden"];
  if (w4h !== undefined && result.w4 !== undefined) {
    w4h.costRatio = w4h.msPerStep / result.w4.msPerStep;
    log?.(`W4: a hidden-readout step costs ${w4h.costRatio.toFixed(2)}x a logits step`);
  }
  if (only.has("w5")) {
    const o = quick ? { width: 8, networks: opts.w5Networks ?? 4, probes: 8 } : { networks: opts.w5Networks ?? 32 };
    log?.(quick ? `W5: ${o.networks} ResNet-18s of width 8 x 8 probes ...` : `W5: ${o.networks} ResNet-18s of width 64 x 64 probes, deep_linear_5 generator, 6-layer head, MSE, checkpointed (minutes) ...`);
    const r = resnetProbingBench(o);
    result.w5 = r;
    log?.(`W5: one step in ${r.stepSeconds.toFixed(1)} s after a ${r.warmupSeconds.toFixed(1)} s warm-up (${r.passes} passes, ${r.gflopsPerSec.toFixed(1)} GFLOP/s), ${r.peakTensorMiB.toFixed(0)} MiB of tensors at the peak; a 6,000-model epoch ${(r.epochSeconds6000 / 3600).toFixed(1)} h`);
    for (const c of r.perNetwork) {
      log?.(`W5: width ${c.width} (${(c.parameters / 1e6).toFixed(2)}M parameters): probing ${c.probingGFlops.toFixed(1)} GFLOP per network, Neural Graphs' PNA ${c.graphGFlops.toFixed(1)} GFLOP and ${c.graphStateMiB.toFixed(0)} MiB of states per layer`);
    }
  }
  if (only.has("fit")) {
    const n = quick ? 8 : 128;
    log?.(`fit: ${n} MNIST INRs with the default zoo recipe ...`);
    result.fit = fitBench(n, quick ? { steps: 50 } : {});
    log?.(`fit: ${result.fit.inrsPerSec.toFixed(2)} INRs/s, mean PSNR ${result.fit.meanPsnr.toFixed(2)} dB, mean steps ${result.fit.meanSteps.toFixed(0)}`);
  }
  if (only.has("predict")) {
    log?.("predict: a K=64 ProbeGen run's predictions for zoos of SIRENs and of small CNNs ...");
    result.predict = predictBench(quick);
    log?.(`predict: ${result.predict.inrsPerSec.toFixed(0)} INRs/s (${result.predict.inrs}), ${result.predict.cnnsPerSec.toFixed(0)} small CNNs/s (${result.predict.cnns})`);
  }
  if (only.has("onnx")) {
    log?.("onnx: a zoo of PyTorch's Small CNN export, white-box against the Small-CNN family, and black-box through onnxruntime ...");
    result.onnx = await onnxBench(quick);
    const o = result.onnx;
    log?.(`onnx: white-box ${o.whiteBoxNetworksPerSec.toFixed(0)} networks/s against the family's ${o.nativeFamilyNetworksPerSec.toFixed(0)} (${o.whiteBoxOverNative.toFixed(2)}x; ${o.networks} networks, K=${o.probes}); ResNet-18 w8 ${o.resnetWhiteBoxNetworksPerSec.toFixed(1)} against ${o.resnetFamilyNetworksPerSec.toFixed(1)} (${o.resnetWhiteBoxOverNative.toFixed(2)}x); black-box ${o.blackBoxNetworksPerSec.toFixed(0)} files/s through onnxruntime`);
  }
  if (only.has("cnn")) {
    const n = quick ? 4 : 64;
    log?.(`cnn: building a ${n}-network Small-CNN zoo on MNIST, one thread ...`);
    result.cnn = await cnnBuildBench(n, quick ? { trainImages: 640, testImages: 100, trainEvalImages: 50, epochsRange: [1, 1] } : {});
    log?.(`cnn: ${result.cnn.networksPerSec.toFixed(2)} networks/s (${result.cnn.networkStepsPerSec.toFixed(0)} network-steps/s, ${result.cnn.trainImagesPerSec.toFixed(0)} training images/s), mean steps ${result.cnn.meanSteps.toFixed(0)}, mean test accuracy ${(100 * result.cnn.meanTestAccuracy).toFixed(1)}%`);
  }
  if (only.has("wild-park")) {
    const n = quick ? 3 : 8;
    log?.(`wild-park: training ${n} Wild Park CNNs as one cohort and one at a time ...`);
    const r = wildParkBuildBench(n, quick ? { trainImages: 64, testImages: 50, checkpoints: [1] } : { trainImages: 512, testImages: 200, checkpoints: [1] });
    result["wild-park"] = r;
    log?.(`wild-park: ${r.cohortNetworksPerSec.toFixed(3)} networks/s as one cohort (${r.cohortImagesPerSec.toFixed(0)} images/s), ${r.oneByOneNetworksPerSec.toFixed(3)} one at a time (${r.oneByOneImagesPerSec.toFixed(0)} images/s)`);
  }
  const paperLine = (name: string, f: PaperScaleFigures) =>
    `${name}: ${f.steps} steps in ${f.seconds.toFixed(1)} s (${f.stepsPerSec.toFixed(1)} steps/s, ${f.modelsPerSec.toFixed(0)} models/s): ${f.setupSeconds.toFixed(1)} s setting up once, ${f.stepSeconds.toFixed(1)} s of steps, ${f.evalSeconds.toFixed(1)} s in ${f.evaluations} evaluations` +
    (f.epochs < f.paperEpochs ? `; ${f.paperEpochs} epochs projected: ${f.projectedSeconds.toFixed(0)} s` : "");
  if (only.has("paper")) {
    const epochs = quick ? 1 : opts.paperEpochs ?? 30;
    log?.(quick ? "paper: a 2,000-network synthetic INR zoo, K=64, 1 epoch ..." : `paper: 55k/5k/10k synthetic INR zoo, K=64, ${epochs} epochs (minutes) ...`);
    result.paper = quick ? paperScaleBench({ train: 2000, val: 200, test: 200 }, 1) : paperScaleBench(undefined, Math.min(epochs, 30));
    log?.(paperLine("paper", result.paper));
  }
  if (only.has("paper-cnn")) {
    const epochs = quick ? 1 : opts.paperEpochs ?? 150;
    log?.(quick ? "paper-cnn: a 400-network synthetic Small-CNN zoo, K=64, 1 epoch ..." : `paper-cnn: 12k/3k/15k synthetic Small-CNN zoo, K=64, ${epochs} epochs (up to hours) ...`);
    result["paper-cnn"] = quick ? paperCnnBench({ train: 400, val: 100, test: 100 }, 1) : paperCnnBench(undefined, Math.min(epochs, 150));
    log?.(paperLine("paper-cnn", result["paper-cnn"]));
  }
  result.memory = {
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    peakTensorMiB: getRuntime().heap.stats().peakBytes / 2 ** 20,
  };
  return result;
}
