// probegen zoo import | export: the public zoos' own files in and out.
import { exportSafetensors } from "../zoo/interop/safetensors-export.js";
import { exportOnnx } from "../zoo/interop/onnx-export.js";
import { IMAGE_SET_NAMES } from "../data/image-sets.js";
import { createProgress } from "../report/progress.js";
import { Zoo } from "../zoo/format.js";
import { summarizeZoo } from "../zoo/summary.js";
import { exportDwsnets, importDwsnets } from "../zoo/interop/dwsnets.js";
import type { ExportReport } from "../zoo/interop/export-folder.js";
import type { ImportReport } from "../zoo/interop/import-build.js";
import { exportSmallCnnZoo, importSmallCnnZoo } from "../zoo/interop/small-cnn-zoo.js";
import { exportWildPark, importWildPark } from "../zoo/interop/wild-park.js";
import { importTorchvision } from "../zoo/interop/torchvision.js";
import { importOnnx } from "../zoo/interop/onnx.js";
import { onnxGraphs } from "../zoo/summary.js";
import { onnxGraphLines } from "./onnx-graphs.js";
import { UsageError, choiceArg, intArg, numArg, requiredArg, parseCommandArgs, THREADS_HELP } from "./args.js";

const IMPORT_COMMON = `  --out DIR          the zoo to write (required); rerun the same command to resume
  --shard-size N     networks per shard file (1000)
  --workers N        worker threads reading shards side by side (1); the zoo is the same
  --json             print the import report as JSON on stdout
  -h, --help         show this help`;

export const IMPORT_USAGE = `Usage: probegen zoo import <dwsnets|small-cnn-zoo|wild-park|torchvision|onnx> SOURCE --out DIR [options]

Reads a model zoo in its public layout into a probegen zoo. Checkpoints are read by probegen's
own pickle reader, which never executes code: a file that asks to call anything but a tensor or
data constructor is refused, naming the call.

  zoo import dwsnets SPLITS_JSON         DWSNets' MNIST or FMNIST INRs (.pth per INR + splits file)
  zoo import small-cnn-zoo DIR           the Small CNN Zoo (weights.npy, layout.csv, metrics.csv.gz)
  zoo import wild-park SPLITS_JSON       CNN Wild Park (checkpoint.pt per network and step)
  zoo import torchvision DIR --labels CSV  torchvision ResNet state dicts (BatchNorm folded in)
  zoo import onnx DIR --labels CSV         ONNX models (white-box where the engine runs them)

Run \`probegen zoo import <kind> --help\` for its options.`;

const DWSNETS_USAGE = `Usage: probegen zoo import dwsnets SPLITS_JSON --out DIR [options]

SPLITS_JSON is DWSNets' {train|val|test: {path: [...], label: [...]}}. Both layouts are read:
MNIST (mnist-inrs/mnist_png_{training|testing}_<label>_<idx>/checkpoints/model_final.pth, the
label in the folder name) and FMNIST (an int label entry in each state dict); every label is
checked against the splits file. Splits are kept, and each network's path is recorded.

Options:
  --root DIR         folder the paths start from (default: the first of SPLITS_JSON's folder,
                     its parent and the working folder that holds the first path)
  --dataset NAME     ${IMAGE_SET_NAMES.join(" or ")}: names the classes (default: from the paths)
  --w0 X             the SIRENs' sine frequency (30, as DWSNets)
  --allow-outside-root  take files the list names outside the root (refused by default:
                     a list is not trusted to point anywhere on the machine)
  --skip-nonfinite   leave out INRs with NaN or infinite weights (every file is read once more
                     first); without it such an INR stops the import, naming its file
${IMPORT_COMMON}
${THREADS_HELP}`;

const SMALL_CNN_USAGE = `Usage: probegen zoo import small-cnn-zoo DIR --out DIR [options]

DIR holds weights.npy (rows of flattened TF variables), layout.csv and metrics.csv.gz. Rows are
streamed; the file is never loaded whole. One training step is kept, the split file's order is
applied, networks with non-finite weights are left out (and counted), and NFN's split is made:
second half test, first half shuffled by Python's random.Random(0) into 80% train, 20% val.
Every metrics column becomes a field (numbers, or text as codes with their names); each
network's activation comes from config.activation. TF layouts become PyTorch's.

Options:
  --split FILE               NFN's split file (a permutation of the rows; default: file order)
  --split-reading header|official
                             header (default): the file's first line is its header. official:
                             read it as a row, as the ProbeGen and NFN code does (pandas
                             header=None), which adds row 0 once more
  --step N                   training step to keep (86, the last)
  --padding valid|1          convolution padding: valid (default, as the networks were trained)
                             or 1 (as the ProbeGen code evaluates them)
  --stride N                 convolution stride (2)
  --input-size N             side of the square input images (32)
  --target COLUMN            the metrics column to predict (test_accuracy)
  --dataset NAME             the image set the networks were trained on (${IMAGE_SET_NAMES.join(" or ")}),
                             for data probes; default: metrics' config.dataset, else the
                             folder's name (mnist, fashion_mnist)
${IMPORT_COMMON}
${THREADS_HELP}`;

const WILD_PARK_USAGE = `Usage: probegen zoo import wild-park SPLITS_JSON --out DIR [options]

SPLITS_JSON is cnn_park_splits.json, {train|val|test: {path: [...], score: [...], step: [...]}}.
Each checkpoint.pt's model and config are read; networks of every architecture go into one
zoo (format version 2), evaluated with Neural Graphs' residual rule. The target is the score
(test accuracy at that checkpoint).

Options:
  --root DIR         folder the paths start from (default: the first of SPLITS_JSON's folder,
                     its cnn_wild subfolder, as the ProbeGen code reads it, its parent and the
                     working folder that holds the first path)
  --step all|last    every checkpoint listed is a sample (all, the default, as the public code),
                     or only each network's last
  --input-size N     side of the square input images (32, CIFAR-10)
  --dataset NAME     the image set the networks were trained on (${IMAGE_SET_NAMES.join(" or ")}), for
                     data probes; default: the checkpoints' config, else their paths
  --allow-outside-root  take files the list names outside the root (refused by default:
                     a list is not trusted to point anywhere on the machine)
  --skip-nonfinite   leave out checkpoints with NaN or infinite weights (every file is read
                     once more first); without it such a checkpoint stops the import
${IMPORT_COMMON}
${THREADS_HELP}`;

const TORCHVISION_USAGE = `Usage: probegen zoo import torchvision DIR --labels FILE.csv --out DIR [options]

DIR holds torchvision ResNet state dicts (torch.save(model.state_dict(), ...); a checkpoint
holding one under "state_dict" or "model" also works). FILE.csv has a header line and the
columns file (relative to DIR), label (a class index) or target (a number), and optionally
split (train, val or test). Each file's architecture comes from its shapes (width, stem,
blocks per stage, classes); eval-mode BatchNorm is folded into the convolutions.

Options:
  --labels FILE.csv  the networks and their labels (required)
  --input-size N     side of the square inputs the networks take (32)
  --split-seed N     seed of the 70/10/20 split when the CSV has no split column (0)
  --allow-outside-root  take files FILE.csv names outside DIR (refused by default:
                     a list is not trusted to point anywhere on the machine)
${IMPORT_COMMON}
${THREADS_HELP}`;

const ONNX_USAGE = `Usage: probegen zoo import onnx DIR --labels FILE.csv --out DIR [options]

DIR holds ONNX models (torch.onnx.export, tf2onnx, ...), each taking one float input whose
first dimension is the batch (where probes go). FILE.csv has a header line and the columns
file (relative to DIR), label (a class index) or a numeric target column (--target), and
optionally split (train, val or test). Each graph is planned for probegen's engine; models of
one graph structure share an architecture and are probed as one batch. A graph with an op
the engine does not have is black-box: kept whole in the zoo (models/), answered by
onnxruntime, and trained on with fixed probes (\`zoo info\` names the op).

Options:
  --labels FILE.csv  the networks and their labels (required)
  --target COL       the CSV's numeric target column ("target")
  --split-seed N     seed of the 70/10/20 split when the CSV has no split column (0)
  --allow-outside-root  take files FILE.csv names outside DIR (refused by default:
                     a list is not trusted to point anywhere on the machine)
${IMPORT_COMMON}
${THREADS_HELP}`;

export const EXPORT_USAGE = `Usage: probegen zoo export DIR --format dwsnets|small-cnn-zoo|wild-park|safetensors|onnx --out OUT [options]

Writes a probegen zoo in a public layout (or as plain .safetensors files), so that the official
Python code and its peers can read it: PyTorch checkpoints in torch's zip format
(torch.load(weights_only=True) accepts them), NumPy's .npy, CSV. \`probegen zoo import\` of a
public layout gives back the same parameters, bit for bit. OUT must be empty, new, or an
earlier export of the same zoo.

  --format dwsnets        an INR zoo: one .pth per INR and <layout>_splits.json
  --format small-cnn-zoo  a CNN zoo of one architecture: weights.npy, layout.csv,
                          metrics.csv.gz, nfn_split.csv (the zoo's own order)
  --format wild-park      any CNN zoo: checkpoint.pt per network and cnn_park_splits.json
  --format safetensors    any zoo: networks/NNNNNN.safetensors per network (its split, label or
                          target, architecture and activation in the file's metadata, so
                          \`probegen predict\` needs nothing else) and networks.csv
  --format onnx           SIREN, CNN (no GELU), ResNet and ONNX zoos: networks/NNNNNN.onnx per
                          network and networks/labels.csv, which \`zoo import onnx\` reads back

Options:
  --out OUT              the folder to write (required)
  --layout mnist|fmnist  dwsnets only: labels in folder names (mnist) or in each file (fmnist);
                         default by the zoo's image set
  --json                 print the report as JSON on stdout
  -h, --help             show this help
${THREADS_HELP}`;

const COMMON_OPTIONS = {
  out: { type: "string" }, "shard-size": { type: "string" }, workers: { type: "string" },
  json: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false },
} as const;

/** Reports an import; `started` is when the command began, so the time includes reading the source's index. */
function printImport(report: ImportReport, out: string, json: boolean, started: number, notes: string[], extra: Record<string, unknown>): void {
  const seconds = (performance.now() - started) / 1000;
  const summary = summarizeZoo(Zoo.open(out));
  const result = {
    out, count: summary.count, imported: report.imported, skippedShards: report.skippedShards, seconds,
    networksPerSec: report.imported / Math.max(seconds, 1e-9), splits: summary.splits, architectures: summary.architectures,
    peakRssMiB: process.resourceUsage().maxRSS / 1024, ...extra,
  };
  if (json) { console.log(JSON.stringify(result, null, 2)); return; }
  console.log(`zoo: ${out} (${summary.count} ${summary.family} networks: ${summary.splits.train} train, ${summary.splits.val} val, ${summary.splits.test} test${summary.architectures > 1 ? `; ${summary.architectures} architectures` : ""})`);
  console.log(`imported ${report.imported} in ${seconds.toFixed(1)} s (${result.networksPerSec.toFixed(0)} networks/s)${report.skippedShards > 0 ? `, ${report.skippedShards} shard(s) already there` : ""}`);
  for (const n of notes) console.log(n);
}

export async function importCommand(argv: string[]): Promise<number> {
  const [kind, ...rest] = argv;
  if (kind === undefined || kind === "-h" || kind === "--help") { console.log(IMPORT_USAGE); return kind === undefined ? 2 : 0; }
  const started = performance.now();
  // Progress goes to stderr, and not at all with --json (as in every command).
  const progressFor = (json = false) => {
    let bar: ReturnType<typeof createProgress> | null = null;
    return {
      onProgress: (done: number, total: number) => {
        bar ??= createProgress(`importing ${kind}`, total, "networks", json ? null : process.stderr);
        bar.update(done);
      },
      finish: () => bar?.finish(),
    };
  };
  if (kind === "dwsnets") {
    const { values, positionals } = parseCommandArgs({
      args: rest, allowPositionals: true, strict: true,
      options: { ...COMMON_OPTIONS, root: { type: "string" }, dataset: { type: "string" }, w0: { type: "string" }, "skip-nonfinite": { type: "boolean", default: false }, "allow-outside-root": { type: "boolean", default: false } },
    });
    if (values.help) { console.log(DWSNETS_USAGE); return 0; }
    if (positionals.length !== 1) throw new UsageError("zoo import dwsnets takes one splits file");
    const out = requiredArg("out", values.out);
    const p = progressFor(values.json);
    const r = await importDwsnets({
      splitsFile: positionals[0], out, root: values.root,
      dataset: values.dataset === undefined ? undefined : choiceArg("dataset", values.dataset, IMAGE_SET_NAMES),
      w0: numArg("w0", values.w0, 30, 0, true), skipNonFinite: values["skip-nonfinite"], allowOutsideRoot: values["allow-outside-root"],
      shardSize: intArg("shard-size", values["shard-size"], 1000, 1), workers: intArg("workers", values.workers, 1, 1, 64), onProgress: p.onProgress,
    });
    p.finish();
    const skipped = r.plan.manifest.provenance.skippedNonFinite as string[];
    printImport(r, out, values.json, started, [`layout: ${r.plan.layout} (labels ${r.plan.layout === "mnist" ? "from folder names" : "from each file's label entry"}), checked against the splits file`,
      ...(skipped.length > 0 ? [`left out ${skipped.length} INR(s) with non-finite weights: ${skipped.slice(0, 5).join(", ")}${skipped.length > 5 ? ", ..." : ""}`] : [])],
    { layout: r.plan.layout, skippedNonFinite: skipped });
    return 0;
  }
  if (kind === "small-cnn-zoo") {
    const { values, positionals } = parseCommandArgs({
      args: rest, allowPositionals: true, strict: true,
      options: {
        ...COMMON_OPTIONS, split: { type: "string" }, "split-reading": { type: "string" }, step: { type: "string" }, padding: { type: "string" },
        stride: { type: "string" }, "input-size": { type: "string" }, target: { type: "string" }, dataset: { type: "string" },
      },
    });
    if (values.help) { console.log(SMALL_CNN_USAGE); return 0; }
    if (positionals.length !== 1) throw new UsageError("zoo import small-cnn-zoo takes one folder");
    const out = requiredArg("out", values.out);
    const padding = choiceArg("padding", values.padding, ["valid", "1"] as const, "valid");
    const p = progressFor(values.json);
    const r = await importSmallCnnZoo({
      dir: positionals[0], out, splitFile: values.split,
      splitReading: choiceArg("split-reading", values["split-reading"], ["header", "official"] as const, "header"),
      step: intArg("step", values.step, 86, 0), padding: padding === "valid" ? 0 : 1,
      stride: intArg("stride", values.stride, 2, 1, 16), inputSize: intArg("input-size", values["input-size"], 32, 1, 4096),
      target: values.target, dataset: values.dataset === undefined ? undefined : choiceArg("dataset", values.dataset, IMAGE_SET_NAMES),
      shardSize: intArg("shard-size", values["shard-size"], 1000, 1),
      workers: intArg("workers", values.workers, 1, 1, 64), onProgress: p.onProgress,
    });
    p.finish();
    const prov = r.plan.manifest.provenance;
    printImport(r, out, values.json, started, [
      `kept step ${String(prov.step)}: ${String(prov.atStep)} of ${String(prov.rows)} rows; left out ${String(prov.skippedNonFinite)} with non-finite weights`,
      `padding ${String(prov.padding)}; split file reading: ${String(prov.splitReading)}`,
    ], { skippedNonFinite: prov.skippedNonFinite, atStep: prov.atStep, rows: prov.rows });
    return 0;
  }
  if (kind === "wild-park") {
    const { values, positionals } = parseCommandArgs({
      args: rest, allowPositionals: true, strict: true,
      options: {
        ...COMMON_OPTIONS, root: { type: "string" }, step: { type: "string" }, "input-size": { type: "string" }, "skip-nonfinite": { type: "boolean", default: false },
        dataset: { type: "string" }, "allow-outside-root": { type: "boolean", default: false },
      },
    });
    if (values.help) { console.log(WILD_PARK_USAGE); return 0; }
    if (positionals.length !== 1) throw new UsageError("zoo import wild-park takes one splits file");
    const out = requiredArg("out", values.out);
    const p = progressFor(values.json);
    const r = await importWildPark({
      splitsFile: positionals[0], out, root: values.root, steps: choiceArg("step", values.step, ["all", "last"] as const, "all"),
      inputSize: intArg("input-size", values["input-size"], 32, 1, 4096), skipNonFinite: values["skip-nonfinite"],
      dataset: values.dataset === undefined ? undefined : choiceArg("dataset", values.dataset, IMAGE_SET_NAMES), allowOutsideRoot: values["allow-outside-root"],
      shardSize: intArg("shard-size", values["shard-size"], 1000, 1), workers: intArg("workers", values.workers, 1, 1, 64), onProgress: p.onProgress,
    });
    p.finish();
    const skipped = r.plan.manifest.provenance.skippedNonFinite as string[];
    printImport(r, out, values.json, started, [
      `${String(r.plan.manifest.provenance.networks)} trained networks; residuals evaluated by Neural Graphs' rule`,
      ...(skipped.length > 0 ? [`left out ${skipped.length} checkpoint(s) with non-finite weights: ${skipped.slice(0, 5).join(", ")}${skipped.length > 5 ? ", ..." : ""}`] : []),
    ], { skippedNonFinite: skipped });
    return 0;
  }
  if (kind === "torchvision") {
    const { values, positionals } = parseCommandArgs({
      args: rest, allowPositionals: true, strict: true,
      options: { ...COMMON_OPTIONS, labels: { type: "string" }, "input-size": { type: "string" }, "split-seed": { type: "string" }, "allow-outside-root": { type: "boolean", default: false } },
    });
    if (values.help) { console.log(TORCHVISION_USAGE); return 0; }
    if (positionals.length !== 1) throw new UsageError("zoo import torchvision takes one folder");
    const out = requiredArg("out", values.out);
    const labels = requiredArg("labels", values.labels);
    const p = progressFor(values.json);
    const r = await importTorchvision({
      dir: positionals[0], labels, out, inputSize: intArg("input-size", values["input-size"], 32, 1, 4096),
      splitSeed: intArg("split-seed", values["split-seed"], 0, 0), allowOutsideRoot: values["allow-outside-root"], shardSize: intArg("shard-size", values["shard-size"], 500, 1),
      workers: intArg("workers", values.workers, 1, 1, 64), onProgress: p.onProgress,
    });
    p.finish();
    const archs = r.plan.manifest.architectures.map((a) => {
      const x = a.architecture as { width: number; stem: string; blocks: number[] };
      return `width ${x.width}, ${x.stem} stem, blocks [${x.blocks.join(",")}]`;
    });
    printImport(r, out, values.json, started, [`ResNets: ${archs.join("; ")}; BatchNorm folded`, `split: ${String(r.plan.manifest.provenance.split)}`], { architectures: archs });
    return 0;
  }
  if (kind === "onnx") {
    const { values, positionals } = parseCommandArgs({
      args: rest, allowPositionals: true, strict: true,
      options: { ...COMMON_OPTIONS, labels: { type: "string" }, target: { type: "string" }, "split-seed": { type: "string" }, "allow-outside-root": { type: "boolean", default: false } },
    });
    if (values.help) { console.log(ONNX_USAGE); return 0; }
    if (positionals.length !== 1) throw new UsageError("zoo import onnx takes one folder");
    const out = requiredArg("out", values.out);
    const labels = requiredArg("labels", values.labels);
    if (values.target === "") throw new UsageError("--target must name a column");
    const p = progressFor(values.json);
    const r = await importOnnx({
      dir: positionals[0], labels, target: values.target, out,
      splitSeed: intArg("split-seed", values["split-seed"], 0, 0), allowOutsideRoot: values["allow-outside-root"], shardSize: intArg("shard-size", values["shard-size"], 500, 1),
      workers: intArg("workers", values.workers, 1, 1, 64), onProgress: p.onProgress,
    });
    p.finish();
    const graphs = onnxGraphs(r.plan.manifest, r.plan.architecture);
    printImport(r, out, values.json, started, [...onnxGraphLines(graphs), `split: ${String(r.plan.manifest.provenance.split)}`], { graphs });
    return 0;
  }
  throw new UsageError(`unknown zoo layout "${kind}" (expected dwsnets, small-cnn-zoo, wild-park, torchvision or onnx)`);
}

export function exportCommand(argv: string[]): number {
  const { values, positionals } = parseCommandArgs({
    args: argv, allowPositionals: true, strict: true,
    options: { format: { type: "string" }, out: { type: "string" }, layout: { type: "string" }, json: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } },
  });
  if (values.help) { console.log(EXPORT_USAGE); return 0; }
  if (positionals.length !== 1) throw new UsageError("zoo export takes one zoo folder");
  const format = choiceArg("format", values.format, ["dwsnets", "small-cnn-zoo", "wild-park", "safetensors", "onnx"] as const);
  const out = requiredArg("out", values.out);
  if (values.layout !== undefined && format !== "dwsnets") throw new UsageError("--layout is for --format dwsnets");
  const zoo = positionals[0];
  const total = Zoo.open(zoo).count;
  const bar = createProgress(`exporting ${format}`, total, "networks", values.json ? null : process.stderr);
  const onProgress = (done: number) => bar.update(done);
  let report: ExportReport;
  if (format === "dwsnets") report = exportDwsnets({ zoo, out, layout: values.layout === undefined ? undefined : choiceArg("layout", values.layout, ["mnist", "fmnist"] as const), onProgress });
  else if (format === "small-cnn-zoo") report = exportSmallCnnZoo({ zoo, out, onProgress });
  else if (format === "wild-park") report = exportWildPark({ zoo, out, onProgress });
  else if (format === "onnx") report = exportOnnx({ zoo, out, onProgress });
  else report = exportSafetensors({ zoo, out, onProgress });
  bar.finish();
  if (values.json) console.log(JSON.stringify({ ...report, format }, null, 2));
  else {
    console.log(`wrote ${report.networks} networks to ${out} ${format === "safetensors" ? "as .safetensors files" : format === "onnx" ? "as ONNX models (networks/labels.csv lists them)" : `in the ${format} layout`} (${report.seconds.toFixed(1)} s)`);
    if (format === "small-cnn-zoo") console.log("the layout does not record padding: import it back with the padding its networks use (--padding valid or 1)");
  }
  return 0;
}
