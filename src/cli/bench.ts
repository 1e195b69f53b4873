// probegen bench
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { runBench, BENCH_WORKLOADS, type BenchResult } from "../workloads/run.js";
import { threadCount, type BackendName } from "../engine/index.js";
import { BACKEND_NAMES } from "../engine/backend.js";
import { nativeUnavailable } from "../engine/kernels/native.js";
import { UsageError, intArg, parseCommandArgs, THREADS_HELP } from "./args.js";

export const BENCH_USAGE = `Usage: probegen bench [--json] [--only w1,w2,w2-hidden,w3,w4,w4-hidden,w5,fit,predict,...] [--quick]

Measures, on the kernel threads of --threads (every core by default):
  W1     one training step of 32 SIREN INRs x 64 ProbeGen probes with the 6-layer head (steps/s)
  W2     one training step of 32 small CNNs x 64 image probes from the 5-layer generator (steps/s)
  W4     one training step of 32 CNN Wild Park networks of drawn architectures (one ragged
         batch) x 64 image probes from the 5-layer generator, MSE (steps/s, peak tensor memory)
  W2-hidden, W4-hidden   W2 and W4 with the hidden readout (every layer's channel summaries
         beside the logits), and each one's step time over the logits step's
  W5     one training step of 32 ResNet-18s (width 64, 32x32 RGB) x 64 image probes from the
         5-layer generator, MSE, checkpointed over networks (seconds, GFLOP/s, peak memory, the
         paper's 6,000-model epoch) and the FLOPs per network of probing against Neural Graphs'
         message passing, across widths (minutes; only with --only)
  W3     GEMM 256x256x256 and batched 32 x (64x32 . 32x32) (GFLOP/s)
  fit    fitting MNIST INRs with the default zoo recipe (INRs/s, mean PSNR and steps)
  predict  a K=64 ProbeGen run predicting 20,000 SIRENs and 1,024 small CNNs (networks/s)
  cnn    building a 64-network Small-CNN zoo on MNIST with the default recipe (networks/s,
         network-steps/s; about a minute; only with --only)
  wild-park  training 8 Wild Park CNNs of drawn architectures as one ragged cohort and one at
         a time, 512 images, one epoch (networks/s and images/s each; only with --only)
  paper  a paper-scale probing run: 55k training INRs (synthetic weights), K=64, 30 epochs,
         timed with zoo loading and evaluations (minutes; only with --only)
  paper-cnn  the Small CNN Zoo at the paper's scale: 12k training networks (synthetic
         weights), K=64, 150 epochs, val and test every 10 epochs (over an hour; only with
         --only; --epochs N runs fewer and projects the time of 150)
and the peak resident memory. Without --only: w1, w2, w2-hidden, w3, w4, w4-hidden, fit and
predict.

Options:
  --json         print the figures as one JSON object on stdout
  --only LIST    comma-separated subset of ${BENCH_WORKLOADS.join(",")}
  --quick        short runs (a smoke test, not a measurement)
  --epochs N     paper, paper-cnn: train N epochs (at most the paper's) and project the
                 time of the paper's epoch count from them
  --w5-networks N  W5: networks in the step, 1 to 128 (default 32); each network's weights
                 take 45 MB, and its feature maps are checkpointed into passes within the
                 backend's budget
  --backends A,B run every workload on two backends (wasm, native, reference), one after
                 the other, each in a fresh process on the same threads, and print each
                 figure for both and B over A (--json: {runs: [A, B], ratios}); without it,
                 the one --backend chooses
  -h, --help     show this help
${THREADS_HELP}`;

export async function benchCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs({
    args: argv,
    options: {
      json: { type: "boolean", default: false },
      only: { type: "string" },
      quick: { type: "boolean", default: false },
      epochs: { type: "string" },
      backends: { type: "string" },
      "w5-networks": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) { console.log(BENCH_USAGE); return 0; }
  const only = values.only?.split(",").map((s) => s.trim().toLowerCase()).filter((s) => s !== "");
  for (const o of only ?? []) {
    if (!(BENCH_WORKLOADS as readonly string[]).includes(o)) throw new UsageError(`--only: unknown workload "${o}" (expected ${BENCH_WORKLOADS.join(", ")})`);
  }
  const paperEpochs = values.epochs === undefined ? undefined : intArg("epochs", values.epochs, 1, 1);
  const w5Networks = values["w5-networks"] === undefined ? undefined : intArg("w5-networks", values["w5-networks"], 32, 1, 128);
  const runs: BenchResult[] = values.backends === undefined
    // A --backends parent that prints a table asks its children (--json) for their progress on stderr.
    ? [await runBench({ only, quick: values.quick, log: values.json && process.env[CHILD_PROGRESS] !== "1" ? null : undefined, paperEpochs, w5Networks })]
    : backendList(values.backends).map((b) => benchInChild(b, argv, values.json));
  if (values.json) {
    console.log(JSON.stringify(runs.length === 1 ? runs[0] : { runs, ratios: benchRatios(runs[0], runs[1]) }, null, 2));
    return 0;
  }
  const tables = runs.map(figureRows);
  const w = Math.max(...tables[0].map(([k]) => k.length));
  const heads = runs.map((r) => `${r.kernels} (${r.simd})`);
  const cw = Math.max(12, ...heads.map((h) => h.length));
  const r0 = runs[0];
  console.log(`\nprobegen bench (${runs.map((r) => `${r.kernels} kernels, ${r.simd} SIMD`).join("; ")}; ${r0.threads} thread${r0.threads === 1 ? "" : "s"}, node ${r0.node})`);
  if (runs.length > 1) console.log(`  ${"".padEnd(w)}  ${heads.map((h) => h.padStart(cw)).join("  ")}  ${"ratio".padStart(6)}`);
  tables[0].forEach(([k, v, digits], i) => {
    const cells = tables.map((t) => t[i][1].toFixed(digits).padStart(runs.length > 1 ? cw : 0));
    // A figure of 0 on both sides (no tensor memory on a CPU-only path) has no ratio.
    const ratio = runs.length > 1 ? `  ${(v === 0 ? "–" : (tables[1][i][1] / v).toFixed(2)).padStart(6)}` : "";
    console.log(`  ${k.padEnd(w)}  ${cells.join("  ")}${ratio}`);
  });
  return 0;
}

function backendList(value: string): BackendName[] {
  const list = value.split(",").map((s) => s.trim());
  if (list.length !== 2 || list[0] === list[1] || !list.every((b) => (BACKEND_NAMES as readonly string[]).includes(b))) {
    throw new UsageError(`--backends takes two different backends of ${BACKEND_NAMES.join(", ")}, e.g. wasm,native; got "${value}"`);
  }
  const why = list.includes("native") ? nativeUnavailable() : null;
  if (why !== null) throw new Error(`--backends ${value}: ${why}`);
  return list as BackendName[];
}

/** Every figure a run printed, as [label, value, decimals], in a fixed order. */
function figureRows(r: BenchResult): [string, number, number][] {
  const rows: [string, number, number][] = [];
  if (r.w1) rows.push(["W1 steps/s", r.w1.stepsPerSec, 1], ["W1 models/s", r.w1.modelsPerSec, 0]);
  if (r.w2) rows.push(["W2 steps/s", r.w2.stepsPerSec, 2], ["W2 models/s", r.w2.modelsPerSec, 1]);
  const w2h = r["w2-hidden"], w4h = r["w4-hidden"];
  if (w2h) rows.push(["W2 hidden readout steps/s", w2h.stepsPerSec, 2], ...(w2h.costRatio !== undefined ? [["W2 hidden / logits step time", w2h.costRatio, 2] as [string, number, number]] : []));
  if (r.w4) rows.push(["W4 steps/s", r.w4.stepsPerSec, 3], ["W4 models/s", r.w4.modelsPerSec, 2], ["W4 peak tensor MiB", r.w4.peakTensorMiB, 0]);
  if (w4h) rows.push(["W4 hidden readout steps/s", w4h.stepsPerSec, 3], ...(w4h.costRatio !== undefined ? [["W4 hidden / logits step time", w4h.costRatio, 2] as [string, number, number]] : []));
  if (r.w5) {
    rows.push([`W5 step seconds (${r.w5.networks} networks)`, r.w5.stepSeconds, 1], ["W5 warm-up seconds (the first pass, untimed in the step)", r.w5.warmupSeconds, 1], ["W5 passes", r.w5.passes, 0], ["W5 GFLOP/s", r.w5.gflopsPerSec, 1], ["W5 peak tensor MiB", r.w5.peakTensorMiB, 0],
      ["W5 6,000-model epoch hours", r.w5.epochSeconds6000 / 3600, 2]);
    for (const c of r.w5.perNetwork) rows.push([`ResNet-18 width ${c.width}: probing GFLOP`, c.probingGFlops, 1], [`ResNet-18 width ${c.width}: graph GFLOP`, c.graphGFlops, 1]);
  }
  if (r.w3) rows.push(["GEMM 256^3 GFLOP/s", r.w3.gemm256GFlops, 1], ["batched GEMM GFLOP/s", r.w3.batchedGemmGFlops, 1]);
  if (r["wild-park"]) {
    const p = r["wild-park"];
    rows.push(["Wild Park cohort networks/s", p.cohortNetworksPerSec, 3], ["Wild Park one-by-one networks/s", p.oneByOneNetworksPerSec, 3]);
  }
  for (const [name, f] of [["paper", r.paper], ["paper-cnn", r["paper-cnn"]]] as const) {
    if (f === undefined) continue;
    rows.push([`${name} run seconds (${f.epochs} epochs)`, f.seconds, 1], [`${name} setup seconds (once per run)`, f.setupSeconds, 1],
      [`${name} step seconds`, f.stepSeconds, 1], [`${name} evaluation seconds (${f.evaluations})`, f.evalSeconds, 1], [`${name} steps/s`, f.stepsPerSec, 1]);
    if (f.epochs < f.paperEpochs) rows.push([`${name} projected seconds (${f.paperEpochs} epochs)`, f.projectedSeconds, 0]);
  }
  if (r.fit) rows.push(["INR fit INRs/s", r.fit.inrsPerSec, 2], ["INR fit mean PSNR dB", r.fit.meanPsnr, 2], ["INR fit mean steps", r.fit.meanSteps, 0]);
  if (r.predict) rows.push(["predict INRs/s", r.predict.inrsPerSec, 0], ["predict small CNNs/s", r.predict.cnnsPerSec, 0]);
  if (r.onnx) rows.push(["ONNX white-box networks/s", r.onnx.whiteBoxNetworksPerSec, 0], ["Small-CNN family networks/s (same networks)", r.onnx.nativeFamilyNetworksPerSec, 0],
    ["ONNX white-box / family", r.onnx.whiteBoxOverNative, 2], ["ONNX ResNet-18 w8 networks/s", r.onnx.resnetWhiteBoxNetworksPerSec, 1],
    ["ResNet family networks/s (same architecture)", r.onnx.resnetFamilyNetworksPerSec, 1], ["ONNX ResNet / family", r.onnx.resnetWhiteBoxOverNative, 2],
    ["ONNX black-box files/s (onnxruntime)", r.onnx.blackBoxNetworksPerSec, 0]);
  if (r.cnn) rows.push(["CNN zoo networks/s", r.cnn.networksPerSec, 2], ["CNN zoo network-steps/s", r.cnn.networkStepsPerSec, 0]);
  rows.push(["peak RSS MiB", r.memory.peakRssMiB, 0], ["peak tensor MiB", r.memory.peakTensorMiB, 1]);
  return rows;
}

/** Set in a --backends child whose parent prints a table: the child's progress goes to stderr. */
const CHILD_PROGRESS = "PROBEGEN_BENCH_CHILD_PROGRESS";

/**
 * One backend's figures from `probegen bench` in a fresh process: run in this one after another
 * backend, a workload ran slower (the paper-scale INR run 68 s alone, 89 s after WASM), as it
 * inherits the first run's heap, JIT state and kernel threads.
 */
function benchInChild(backend: BackendName, argv: readonly string[], json: boolean): BenchResult {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--backends") i++;
    else if (!argv[i].startsWith("--backends=") && argv[i] !== "--json") args.push(argv[i]);
  }
  const cli = fileURLToPath(new URL("./main.js", import.meta.url));
  const r = spawnSync(process.execPath, [...process.execArgv, cli, "bench", ...args, "--json", "--backend", backend, "--threads", String(threadCount())], {
    encoding: "utf8", maxBuffer: 2 ** 26, stdio: ["ignore", "pipe", json ? "pipe" : "inherit"],
    env: { ...process.env, [CHILD_PROGRESS]: json ? "0" : "1" },
  });
  if (r.status !== 0) throw new Error(`probegen bench on the ${backend} backend exited ${r.status ?? r.signal}${json && r.stderr ? `: ${r.stderr.trim().split("\n").pop()}` : ""}`);
  try {
    return JSON.parse(r.stdout) as BenchResult;
  } catch {
    throw new Error(`probegen bench on the ${backend} backend printed no JSON figures (${r.stdout.length} bytes on stdout)`);
  }
}

/** Each figure of b over a's, by its label (rates: above 1 is b faster; seconds: below 1 is). */
function benchRatios(a: BenchResult, b: BenchResult): Record<string, number> {
  const rb = new Map(figureRows(b).map(([k, v]) => [k, v]));
  // A figure of 0 has no ratio (JSON would print NaN as null): left out.
  return Object.fromEntries(figureRows(a).filter(([k, v]) => rb.has(k) && v !== 0).map(([k, v]) => [k, rb.get(k)! / v]));
}
