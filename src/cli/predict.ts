// probegen predict | probes export: a trained run put to use on networks nobody labelled.
import { installInterruptHandlers } from "../io/interrupts.js";
import { checkOutputFile, writeOutputFile } from "../io/output-file.js";
import { csvText } from "../io/csv-columns.js";
import { dirname, isAbsolute, join, relative } from "node:path";
import { SPLIT_NAMES } from "../zoo/format.js";
import { CNN_ACTIVATION_NAMES } from "../nets/cnn.js";
import { InputCollector } from "../predict/inputs.js";
import { PREDICTION_FILE, predictBlackBox, predictNetworks, predictResponses, predictionFileText, type PredictionReport } from "../predict/predict.js";
import { exportProbes } from "../predict/probes-export.js";
import { TrainedRun } from "../predict/run-model.js";
import { exampleFiles, openPredictor } from "../predict/shipped-predictors.js";
import { UsageError, choiceArg, intArg, parseCommandArgs, printable, requiredArg, shardArg, THREADS_HELP } from "./args.js";
import { readRegularFile } from "../io/read-file.js";
import { parseQueueAddress } from "../queue/queue-address.js";
import { createProgress } from "../report/progress.js";
import { FileFormatError } from "../file-error.js";

export const PREDICT_USAGE = `Usage: probegen predict RUN NETWORK... [options]
       probegen predict --predictor NAME NETWORK... [options]
       probegen predict --predictor NAME --example
       probegen predict RUN --responses FILE.npy [options]

Predicts with a trained run: which class each network is (with the top-3 probabilities), or its
score (e.g. the test accuracy a CNN will reach). Each NETWORK is one of:
  FILE.pth, FILE.pt      a PyTorch state dict (read safely: nothing in it is executed), or a
                         CNN Wild Park checkpoint with its config
  FILE.safetensors       a state dict
  FILE.onnx              an ONNX model, for a run trained on an ONNX zoo (its graph structure
                         must be one the run was trained on)
  ZOO                    a probegen zoo folder: its test split, or --split / --index
  SPLITS.json, DIR       a zoo in a public layout: a DWSNets or CNN Wild Park splits file, or a
                         Small CNN Zoo folder (weights.npy, layout.csv, metrics.csv.gz)
Every network must be of the run's family and architecture; a mismatch is an error naming the
file, the parameter and both shapes. Where the input knows what a network is (a zoo's labels,
an FMNIST INR's label entry), the truth and the run's score over them are shown too.

--black-box runs each FILE.onnx through onnxruntime on the run's probes and feeds its answers to
the run's head: any graph taking the probes' shape and giving the run's outputs per probe, its
ops in the engine's set or not (no gradients are needed to predict).

--responses FILE.npy predicts from answers computed anywhere: float32 [N, K, outputs], network
n's outputs on probe k of the run's exported probes (probegen probes export).

--predictor NAME predicts with a predictor that ships with probegen (\`probegen predictors\`
lists them with their cards) or a predictor file, in place of RUN: no zoo, no training.
--example adds the networks that ship with it as examples.

Options:
  --predictor NAME    a shipped predictor (mnist-inr, fmnist-inr, mnist-cnn, fmnist-cnn,
                      shape-inr, fmnist-wild-park) or a predictor FILE.safetensors
  --example           predict the predictor's shipped example networks too
  --split NAME        the zoo split to predict (test)
  --index LIST        zoo networks by index, e.g. 0,5,9
  --activation NAME   the activation of bare weights, for a run whose networks each have their
                      own (the Small CNN Zoo's): ${CNN_ACTIVATION_NAMES.join(", ")}
  --list FILE         more networks, one path per line (blank lines and # comments skipped);
                      relative paths start from FILE's folder
  --shard I/N         predict only part I of N (0 <= I < N) of the networks given: the I-th
                      of N equal consecutive runs of them, so the parts' outputs, taken in
                      order, are the whole list's (for SLURM arrays or Kubernetes Indexed Jobs)
  --queue URL         predict on a job queue (redis://HOST:PORT/NAME): jobs of 64 consecutive
                      inputs for \`probegen worker\` processes on machines that see the same
                      paths; the predictions come back in order as one report
  --black-box         run the .onnx files given through onnxruntime (above)
  --checkpoint NAME   best (default when the run has one) or last
  --json              the predictions as JSON on stdout
  --csv               the predictions as CSV on stdout
  --out FILE          also write the JSON report to FILE: a new file, or an earlier
                      prediction file; any other file there is refused, untouched
  -h, --help          show this help
${THREADS_HELP}`;

export const PROBES_USAGE = `Usage: probegen probes export RUN --out DIR [--checkpoint best|last] [--json]

Writes a run's K probes to DIR for use outside probegen: probes.npy and probes.safetensors
(float32 [K, ...one probe's shape]) and probes.json (their shape, value range and input space,
and the layout in which a model's answers must come back: float32 [N, K, outputs], for
\`probegen predict RUN --responses FILE.npy\`). DIR must be new, empty, or an earlier export of
the same run.
${THREADS_HELP}`;

function printTable(r: PredictionReport): void {
  const rows = r.predictions.map((p) => r.task === "classification"
    ? [printable(p.name), p.labelName!, p.top!.map((t) => `${t.label} ${(100 * t.probability).toFixed(1)}%`).join(", "), p.truth === undefined ? "" : `${p.truth}${p.correct ? "" : " (wrong)"}`]
    : [printable(p.name), p.score!.toFixed(4), p.truth === undefined ? "" : Number(p.truth).toFixed(4)]);
  const header = r.task === "classification" ? ["network", "predicted", "top 3", "truth"] : ["network", "predicted", "truth"];
  const hasTruth = r.predictions.some((p) => p.truth !== undefined);
  const cols = hasTruth ? header.length : header.length - 1;
  const widths = Array.from({ length: cols }, (_, c) => Math.max(header[c].length, ...rows.map((row) => row[c].length)));
  const line = (row: string[]) => row.slice(0, cols).map((v, c) => (c === cols - 1 ? v : v.padEnd(widths[c]))).join("  ");
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of rows) console.log(line(row));
  if (r.metrics !== null) {
    const m = r.metrics;
    console.log(r.task === "classification"
      ? `accuracy ${(100 * m.accuracy!).toFixed(2)}% over the ${m.known} networks whose class is known`
      : `Kendall's tau ${m.kendallTau!.toFixed(4)}, R^2 ${m.r2!.toFixed(4)}, MAE ${m.mae!.toFixed(4)} over the ${m.known} networks whose value is known`);
  }
}

/** A text cell as a spreadsheet cannot take for a formula (=, +, -, @ first, as OWASP advises), quoted by a leading '. */
export function neutraliseCell(v: string): string {
  return /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
}

function printCsv(r: PredictionReport): void {
  if (r.task === "classification") {
    console.log(csvText(["network", "predicted", "probability", "second", "second_probability", "third", "third_probability", "truth"], r.predictions.map((p) => [
      neutraliseCell(p.name), neutraliseCell(p.labelName!), p.top![0].probability, p.top![1]?.label ?? "", p.top![1]?.probability ?? "", p.top![2]?.label ?? "", p.top![2]?.probability ?? "", p.truth ?? "",
    ])).trimEnd());
  } else {
    console.log(csvText(["network", "predicted", "truth"], r.predictions.map((p) => [neutraliseCell(p.name), p.score!, p.truth ?? ""])).trimEnd());
  }
}

/** The paths of a --list file: one per line, blank lines and # comments skipped. */
export function readNetworkList(file: string): string[] {
  const text = Buffer.from(readRegularFile(file, 2 ** 30)).toString("utf8");
  const paths = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
  if (paths.length === 0) throw new FileFormatError(file, "lists no networks (one path per line)");
  // Relative paths start from the list's own folder, as a splits file's do, wherever predict runs.
  return paths.map((p) => (isAbsolute(p) ? p : join(dirname(file), p)));
}

export async function predictCommand(argv: string[]): Promise<number> {
  installInterruptHandlers();
  const { values, positionals } = parseCommandArgs({
    args: argv, allowPositionals: true, strict: true,
    options: {
      split: { type: "string" }, index: { type: "string" }, activation: { type: "string" }, checkpoint: { type: "string" },
      responses: { type: "string" }, out: { type: "string" }, list: { type: "string" }, shard: { type: "string" }, queue: { type: "string" },
      json: { type: "boolean", default: false }, csv: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false },
      "black-box": { type: "boolean", default: false },
      predictor: { type: "string" }, example: { type: "boolean", default: false },
    },
  });
  if (values.help) { console.log(PREDICT_USAGE); return 0; }
  const shipped = values.predictor === undefined ? null : openPredictor(values.predictor);
  if (shipped === null && values.example) throw new UsageError("--example predicts a shipped predictor's examples: give --predictor NAME");
  if (shipped !== null && values.checkpoint !== undefined) throw new UsageError("--checkpoint chooses a run folder's checkpoint; a predictor has one model");
  if (shipped !== null && values.queue !== undefined) throw new UsageError("--queue hands a run folder's work to workers; a shipped predictor answers here (give a run folder to use a queue)");
  if (shipped === null && positionals.length === 0) throw new UsageError("predict needs a run folder, or --predictor NAME");
  if (values.json && values.csv) throw new UsageError("--json and --csv: choose one");
  const [runDir, ...given] = shipped === null ? positionals : [shipped.file, ...positionals];
  // Named from here when they are below it (a clone's root), as a user would type them.
  const examples = (shipped !== null && values.example ? exampleFiles(shipped.card.name) : []).map((f) => (relative(process.cwd(), f).startsWith("..") ? f : relative(process.cwd(), f)));
  if (values.example && examples.length === 0) throw new UsageError(`the predictor ${shipped!.card.name} ships no example networks`);
  const listed = values.list === undefined ? [] : readNetworkList(values.list);
  const part = shardArg(values.shard);
  const all = [...given, ...examples, ...listed];
  // Part I of N: inputs [floor(I n / N), floor((I + 1) n / N)), so the parts' outputs concatenate in order.
  const networks = part === undefined ? all : all.slice(Math.floor((part.index * all.length) / part.count), Math.floor(((part.index + 1) * all.length) / part.count));
  if (values.responses === undefined && all.length === 0) throw new UsageError(`predict needs networks to predict (files, zoos, --list${shipped === null ? "" : ", --example"}) or --responses FILE.npy`);
  if (values.responses !== undefined && all.length > 0) throw new UsageError("--responses replaces the networks: give one or the other");
  if (values.responses !== undefined && values.queue !== undefined) throw new UsageError("--responses is predicted here; --queue is for network files");
  if (values.responses !== undefined && part !== undefined) throw new UsageError("--shard divides the networks given; with --responses, split the .npy instead");
  if (part !== undefined) process.stderr.write(`part ${part.index}/${part.count}: ${networks.length} of ${all.length} inputs\n`);
  const checkpoint = values.checkpoint === undefined ? undefined : choiceArg("checkpoint", values.checkpoint, ["best", "last"] as const);
  // Refused before any work: a file that is not an earlier prediction is never replaced.
  if (values.out !== undefined) checkOutputFile(requiredArg("out", values.out), PREDICTION_FILE);
  const run = shipped === null ? TrainedRun.open(runDir, checkpoint) : TrainedRun.fromPredictor(shipped);
  const inputOptions = {
    split: values.split === undefined ? undefined : choiceArg("split", values.split, SPLIT_NAMES),
    indices: values.index === undefined ? undefined : values.index.split(",").map((x) => intArg("index", x.trim(), 0, 0)),
    activation: values.activation === undefined ? undefined : choiceArg("activation", values.activation, CNN_ACTIVATION_NAMES),
  };
  let report: PredictionReport;
  if (values["black-box"]) {
    const other = networks.find((n) => !/\.onnx$/i.test(n));
    if (other !== undefined) throw new UsageError(`--black-box runs ONNX models (.onnx) through onnxruntime; ${other} is not one`);
    if (values.queue !== undefined || values.responses !== undefined) throw new UsageError("--black-box predicts the .onnx files given here; not with --queue or --responses");
  }
  if (values["black-box"]) report = await predictBlackBox(run, networks);
  else if (values.responses !== undefined) report = predictResponses(run, values.responses);
  else if (values.queue !== undefined) {
    if (part !== undefined) throw new UsageError("--queue and --shard: choose one (the queue hands the inputs out itself)");
    let address;
    try {
      address = parseQueueAddress(values.queue);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const progress = createProgress("predicting on the queue", networks.length, "inputs", values.json ? null : process.stderr);
    const { predictOnQueue } = await import("../queue/predict-jobs.js");
    report = await predictOnQueue(runDir, checkpoint, networks, inputOptions, address, {
      onProgress: (done) => progress.update(done),
      log: (line) => process.stderr.write(`${line}\n`),
    });
    progress.finish(`${report.count} networks`);
  } else {
    const collector = new InputCollector(run, inputOptions);
    try {
      // An empty part is not an error: a SLURM array of more tasks than inputs must not fail.
      if (networks.length === 0) {
        process.stderr.write(`part ${part!.index}/${part!.count} of ${all.length} inputs is empty: nothing to predict\n`);
        return 0;
      }
      for (const n of networks) {
        await collector.add(n);
        // A turn of the event loop between inputs: a signal is handled here, not after them all.
        await new Promise((resolve) => setImmediate(resolve));
      }
      report = await predictNetworks(run, collector.gather());
    } finally {
      collector.cleanup();
    }
  }
  if (values.out !== undefined) writeOutputFile(values.out, predictionFileText(report), PREDICTION_FILE);
  if (values.json) console.log(JSON.stringify(report, null, 2));
  else if (values.csv) printCsv(report);
  else printTable(report);
  process.stderr.write(`${report.count} network${report.count === 1 ? "" : "s"} predicted in ${report.seconds.toFixed(2)} s (${report.networksPerSec.toFixed(0)} networks/s) with ${shipped === null ? `${run.dir} (${run.checkpoint} checkpoint)` : `the ${shipped.card.name} predictor`}\n`);
  return 0;
}

export function probesCommand(argv: string[]): number {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "-h" || sub === "--help") { console.log(PROBES_USAGE); return sub === undefined ? 2 : 0; }
  if (sub !== "export") throw new UsageError(`unknown probes subcommand "${sub}" (expected export)`);
  const { values, positionals } = parseCommandArgs({
    args: rest, allowPositionals: true, strict: true,
    options: { out: { type: "string" }, checkpoint: { type: "string" }, json: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } },
  });
  if (values.help) { console.log(PROBES_USAGE); return 0; }
  if (positionals.length !== 1) throw new UsageError("probes export takes one run folder");
  const run = TrainedRun.open(positionals[0], values.checkpoint === undefined ? undefined : choiceArg("checkpoint", values.checkpoint, ["best", "last"] as const));
  const r = exportProbes(run, requiredArg("out", values.out));
  if (values.json) console.log(JSON.stringify(r.description, null, 2));
  else {
    const d = r.description;
    console.log(`wrote ${d.count} probes [${d.shape.join(", ")}] (values ${d.valueRange.min.toFixed(3)} to ${d.valueRange.max.toFixed(3)}) to ${r.out}: probes.npy, probes.safetensors, probes.json`);
    console.log(`answers come back as float32 [N, ${d.responses.shape.slice(1).join(", ")}]: ${d.responses.meaning}; then \`probegen predict ${run.dir} --responses FILE.npy\``);
  }
  return 0;
}
