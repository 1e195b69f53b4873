// probegen bench
import { runBench, BENCH_WORKLOADS } from "../workloads/run.js";
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
  const r = await runBench({ only, quick: values.quick, log: values.json ? null : undefined, paperEpochs });
  if (values.json) {
    console.log(JSON.stringify(r, null, 2));
    return 0;
  }
  const rows: [string, string][] = [];
  if (r.w1) rows.push(["W1 steps/s", r.w1.stepsPerSec.toFixed(1)], ["W1 models/s", r.w1.modelsPerSec.toFixed(0)]);
  if (r.w2) rows.push(["W2 steps/s", r.w2.stepsPerSec.toFixed(2)], ["W2 models/s", r.w2.modelsPerSec.toFixed(1)]);
  const w2h = r["w2-hidden"], w4h = r["w4-hidden"];
  if (w2h) rows.push(["W2 hidden readout steps/s", w2h.stepsPerSec.toFixed(2)], ...(w2h.costRatio !== undefined ? [["W2 hidden / logits step time", w2h.costRatio.toFixed(2)] as [string, string]] : []));
  if (r.w4) rows.push(["W4 steps/s", r.w4.stepsPerSec.toFixed(3)], ["W4 models/s", r.w4.modelsPerSec.toFixed(2)], ["W4 peak tensor MiB", r.w4.peakTensorMiB.toFixed(0)]);
  if (w4h) rows.push(["W4 hidden readout steps/s", w4h.stepsPerSec.toFixed(3)], ...(w4h.costRatio !== undefined ? [["W4 hidden / logits step time", w4h.costRatio.toFixed(2)] as [string, string]] : []));
  if (r.w5) {
    rows.push(["W5 step seconds", r.w5.stepSeconds.toFixed(1)], ["W5 GFLOP/s", r.w5.gflopsPerSec.toFixed(1)], ["W5 peak tensor MiB", r.w5.peakTensorMiB.toFixed(0)],
      ["W5 6,000-model epoch hours", (r.w5.epochSeconds6000 / 3600).toFixed(2)]);
    for (const c of r.w5.perNetwork) rows.push([`ResNet-18 width ${c.width}: probing / graph GFLOP`, `${c.probingGFlops.toFixed(1)} / ${c.graphGFlops.toFixed(1)}`]);
  }
  if (r.w3) rows.push(["GEMM 256^3 GFLOP/s", r.w3.gemm256GFlops.toFixed(1)], ["batched GEMM GFLOP/s", r.w3.batchedGemmGFlops.toFixed(1)]);
  if (r["wild-park"]) {
    const p = r["wild-park"];
    rows.push(["Wild Park cohort networks/s", p.cohortNetworksPerSec.toFixed(3)], ["Wild Park one-by-one networks/s", p.oneByOneNetworksPerSec.toFixed(3)]);
  }
  for (const [name, f] of [["paper", r.paper], ["paper-cnn", r["paper-cnn"]]] as const) {
    if (f === undefined) continue;
    rows.push([`${name} run seconds (${f.epochs} epochs)`, f.seconds.toFixed(1)], [`${name} steps/s`, f.stepsPerSec.toFixed(1)]);
    if (f.epochs < f.paperEpochs) rows.push([`${name} projected seconds (${f.paperEpochs} epochs)`, f.projectedSeconds.toFixed(0)]);
  }
  if (r.fit) rows.push(["INR fit INRs/s", r.fit.inrsPerSec.toFixed(2)], ["INR fit mean PSNR dB", r.fit.meanPsnr.toFixed(2)], ["INR fit mean steps", r.fit.meanSteps.toFixed(0)]);
  if (r.predict) rows.push(["predict INRs/s", r.predict.inrsPerSec.toFixed(0)], ["predict small CNNs/s", r.predict.cnnsPerSec.toFixed(0)]);
  if (r.cnn) rows.push(["CNN zoo networks/s", r.cnn.networksPerSec.toFixed(2)], ["CNN zoo network-steps/s", r.cnn.networkStepsPerSec.toFixed(0)]);
  rows.push(["peak RSS MiB", r.memory.peakRssMiB.toFixed(0)], ["peak tensor MiB", r.memory.peakTensorMiB.toFixed(1)]);
  const w = Math.max(...rows.map(([k]) => k.length));
  console.log(`\nprobegen bench (${r.kernels} kernels, ${r.simd} SIMD, ${r.threads} thread${r.threads === 1 ? "" : "s"}, node ${r.node})`);
  for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`);
  return 0;
}
