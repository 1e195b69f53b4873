// probegen zoo build | finish | merge | import | export | info | render
import { parseSirenArchitecture, renderSiren, renderSiren3d } from "../nets/siren.js";
import { PNG_FILE, encodePng, toBytes } from "../report/png.js";
import { checkOutputFile, writeOutputFile } from "../io/output-file.js";
import { installInterruptHandlers } from "../io/interrupts.js";
import { Zoo } from "../zoo/format.js";
import { finishShardBuild } from "../zoo/shard-build.js";
import { mergeZoos } from "../zoo/merge.js";
import { summarizeZoo } from "../zoo/summary.js";
import { onnxGraphLines } from "./onnx-graphs.js";
import { UsageError, intArg, numArg, requiredArg, parseCommandArgs } from "./args.js";
import { ZOO_BUILD_COMMANDS, zooBuildCommand } from "./zoo-build.js";
import { exportCommand, importCommand } from "./zoo-interop.js";

const buildLines = Object.entries(ZOO_BUILD_COMMANDS).map(([name, c]) => {
  const head = `  zoo build ${name}`;
  return head.length < 18 ? `${head.padEnd(18)}${c.summary}` : `${head}  ${c.summary}`;
}).join("\n");

export const ZOO_USAGE = `Usage: probegen zoo <build|finish|merge|import|export|info|render> [options]

${buildLines}
  zoo finish DIR    complete a zoo built in parts (--shard I/N): check every shard, write zoo.json
  zoo merge DIR...  make zoos of one architecture one zoo, each network keeping its split
  zoo import KIND   read a public zoo: dwsnets (MNIST/FMNIST INRs), small-cnn-zoo, wild-park,
                    torchvision (ResNet state dicts and a labels CSV), onnx (ONNX models and
                    a labels CSV)
  zoo export DIR    write a zoo in a public layout (dwsnets, small-cnn-zoo, wild-park) or as
                    safetensors files
  zoo info DIR      counts, labels, fit quality and size of a zoo
  zoo render DIR    draw one INR of a zoo as a PNG

Run \`probegen zoo <subcommand> --help\` for its options.`;

const INFO_USAGE = `Usage: probegen zoo info DIR [--json]

Prints a zoo's counts per split, label histogram, quantiles of its per-network fields (PSNR,
steps) and its size on disk.`;

const RENDER_USAGE = `Usage: probegen zoo render DIR --index I --out FILE.png [--size 28|112] [--slice Z]

Evaluates INR I of the zoo on a size x size grid over [-1,1]^2 and writes a grayscale PNG.
Size 28 is the grid an image INR was fitted on (default 112). A shape INR (3 inputs) is drawn
seen down the z axis: the largest occupancy along z (a silhouette), or with --slice Z its
occupancy on the plane z = Z.`;

function info(argv: string[]): number {
  const { values, positionals } = parseCommandArgs({
    args: argv, allowPositionals: true,
    options: { json: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } },
    strict: true,
  });
  if (values.help) { console.log(INFO_USAGE); return 0; }
  if (positionals.length !== 1) throw new UsageError("zoo info takes one zoo folder");
  const zoo = Zoo.open(positionals[0]);
  const s = summarizeZoo(zoo);
  if (values.json) { console.log(JSON.stringify(s, null, 2)); return 0; }
  const p = s.provenance as Record<string, unknown>;
  const params = s.architectures > 1 ? `${s.architectures} architectures, ${s.parametersPerNetwork.toFixed(0)} parameters on average` : `${s.parametersPerNetwork} parameters each`;
  console.log(`${s.dir}: ${s.count} ${s.family} networks (${params}), ${(s.bytes / 2 ** 20).toFixed(1)} MiB`);
  console.log(`splits: ${s.splits.train} train, ${s.splits.val} val, ${s.splits.test} test`);
  if (p.importer !== undefined) {
    console.log(`imported by ${String(p.importer)} (probegen ${String(p.probegenVersion)}) from ${String(p.source ?? p.splitsFile)}`);
    if (p.padding !== undefined) console.log(`padding: ${String(p.padding)}; step ${String(p.step)}; split file reading: ${String(p.splitReading)}`);
  } else if (p.dataset !== undefined) console.log(`built from ${String(p.dataset)} with seed ${String(p.seed)} by probegen ${String(p.probegenVersion)}`);
  for (const line of onnxGraphLines(s.graphs ?? [])) console.log(line);
  if (s.nonFinite.length > 0) console.log(`WARNING: ${s.nonFinite.length} network(s) hold non-finite weights: ${s.nonFinite.slice(0, 10).map((n) => `${n.index} (${n.parameter}, ${n.shard})`).join(", ")}${s.nonFinite.length > 10 ? ", ..." : ""}`);
  if (s.labels) console.log(`labels: ${Object.entries(s.labels).map(([k, v]) => `${k}: ${v}`).join(", ")}`);
  for (const [name, counts] of Object.entries(s.categories)) console.log(`${name}: ${Object.entries(counts).map(([k, v]) => `${k}: ${v}`).join(", ")}`);
  for (const [name, q] of Object.entries(s.quantiles)) {
    const fmt = (v: number) => (v === 0 || Math.abs(v) >= 0.01 ? v.toFixed(2) : v.toExponential(2));
    console.log(`${name}: mean ${fmt(s.means[name])}; min/25%/50%/75%/max ${q.map(fmt).join(" / ")}`);
  }
  return 0;
}

function render(argv: string[]): number {
  const { values, positionals } = parseCommandArgs({
    args: argv, allowPositionals: true,
    options: {
      index: { type: "string" }, out: { type: "string" }, size: { type: "string" }, slice: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) { console.log(RENDER_USAGE); return 0; }
  if (positionals.length !== 1) throw new UsageError("zoo render takes one zoo folder");
  const zoo = Zoo.open(positionals[0]);
  if (zoo.manifest.family !== "siren") throw new UsageError(`zoo render draws INRs; ${positionals[0]} holds ${zoo.manifest.family} networks`);
  if (zoo.count === 0) throw new Error(`${positionals[0]}: the zoo holds no networks to render`);
  const index = intArg("index", requiredArg("index", values.index), 0, 0, zoo.count - 1);
  const size = intArg("size", values.size, 112, 1, 4096);
  const out = requiredArg("out", values.out);
  checkOutputFile(out, PNG_FILE);
  const network = zoo.network(index);
  const { params, fields } = network;
  const arch = parseSirenArchitecture(zoo.manifest.architectures[network.architecture].architecture);
  if (arch.inDim !== 2 && arch.inDim !== 3) throw new UsageError(`zoo render draws INRs of images (2 inputs) or shapes (3 inputs); these take ${arch.inDim}`);
  if (values.slice !== undefined && arch.inDim !== 3) throw new UsageError("--slice is for shape INRs (3 inputs)");
  const slice = values.slice === undefined ? null : numArg("slice", values.slice, 0, -1);
  if (slice !== null && slice > 1) throw new UsageError(`--slice must be in [-1, 1], got ${slice}`);
  const img = arch.inDim === 3 ? renderSiren3d(arch, params, size, slice) : renderSiren(arch, params, size);
  const bad = img.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new Error(`${positionals[0]}: INR ${index} outputs ${img[bad]} at pixel ${bad}: its weights are not all finite, so there is nothing to draw`);
  writeOutputFile(out, encodePng(size, size, 1, toBytes(img)), PNG_FILE);
  const label = fields.get("label");
  const names = zoo.manifest.task.labelNames;
  const view = arch.inDim === 3 ? (slice === null ? ", largest occupancy along z" : `, slice z = ${slice}`) : "";
  console.log(`wrote ${out}: INR ${index}${label !== undefined ? ` (label ${names?.[label] ?? label})` : ""}, ${size}x${size}${view}`);
  return 0;
}

const FINISH_USAGE = `Usage: probegen zoo finish DIR [--json]

Completes a zoo whose shards were built by parts (\`zoo build ... --shard I/N\` on several
machines or array tasks, into one shared folder): checks that every shard build.json lists is
there and reads back whole, then writes zoo.json. Missing shards are named, with the part that
builds each (shard s belongs to part s % N); nothing is written then. A complete zoo is left as is.`;

function finish(argv: string[]): number {
  const { values, positionals } = parseCommandArgs({
    args: argv, allowPositionals: true, strict: true,
    options: { json: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } },
  });
  if (values.help) { console.log(FINISH_USAGE); return 0; }
  if (positionals.length !== 1) throw new UsageError("zoo finish needs one zoo folder");
  const { manifest, alreadyComplete } = finishShardBuild(positionals[0]);
  const result = { out: positionals[0], networks: manifest.count, shards: manifest.shards.length, alreadyComplete };
  if (values.json) console.log(JSON.stringify(result, null, 2));
  else console.log(alreadyComplete ? `${positionals[0]}: already complete (${manifest.count} networks)` : `${positionals[0]}: all ${manifest.shards.length} shards verified; zoo.json written (${manifest.count} networks)`);
  return 0;
}

const MERGE_USAGE = `Usage: probegen zoo merge ZOO ZOO... --out DIR [--json]

Writes one zoo holding the networks of every ZOO, in the order given, each network in the split
it had (INRs fitted two ways, trained on together). The zoos must share family, architecture,
per-network fields and task. DIR must be new, empty, or an earlier merge of the same zoos, which
resumes; the merged zoo's provenance keeps each zoo's.`;

function merge(argv: string[]): number {
  const { values, positionals } = parseCommandArgs({
    args: argv, allowPositionals: true, strict: true,
    options: { out: { type: "string" }, json: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } },
  });
  if (values.help) { console.log(MERGE_USAGE); return 0; }
  if (positionals.length < 2) throw new UsageError("zoo merge needs two zoo folders or more");
  const out = requiredArg("out", values.out);
  const r = mergeZoos(positionals, out);
  const result = { out, networks: r.manifest.count, splits: Object.fromEntries(Object.entries(r.manifest.splits).map(([k, v]) => [k, v.reduce((n, [a, b]) => n + b - a, 0)])), built: r.built, seconds: r.seconds };
  if (values.json) console.log(JSON.stringify(result, null, 2));
  else console.log(`${out}: ${result.networks} networks (${result.splits.train} train, ${result.splits.val} val, ${result.splits.test} test) from ${positionals.length} zoos`);
  return 0;
}

export function zooCommand(argv: string[]): number | Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    // The commands that hold a lock release it on a signal (their long work runs off this thread).
    case "build": installInterruptHandlers(); return zooBuildCommand(rest);
    case "import": installInterruptHandlers(); return importCommand(rest);
    case "export": return exportCommand(rest);
    case "info": return info(rest);
    case "render": return render(rest);
    case "finish": installInterruptHandlers(); return finish(rest);
    case "merge": installInterruptHandlers(); return merge(rest);
    case undefined: case "-h": case "--help": console.log(ZOO_USAGE); return sub === undefined ? 2 : 0;
    default: throw new UsageError(`unknown zoo subcommand "${sub}" (expected build, finish, merge, import, export, info or render)`);
  }
}

