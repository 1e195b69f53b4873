// torchvision ResNets: a folder of state dicts (`torch.save(model.state_dict(), ...)`, or a
// checkpoint holding one under "state_dict" or "model") and a CSV naming each file with its label.
// Each file's architecture is read from its tensors' shapes (width and input channels from
// conv1, the stem from conv1's kernel, the blocks per stage from the layer names, the classes
// from fc); BatchNorm is folded into the convolutions (nets/resnet.ts), so the zoo holds the
// ResNet family's folded parameters.
import { resolve, join, isAbsolute } from "node:path";
import { floatWeights, readTorchCheckpoint, type TorchCheckpoint, type TorchTensor } from "../../io/torch-checkpoint.js";
import { allFinite } from "../../engine/finite.js";
import { foldTorchvisionResNet, parseResNetArchitecture, resnetParameterShapes, type SizedResNetArchitecture } from "../../nets/resnet.js";
import { PROBEGEN_VERSION } from "../../version.js";
import { encodeShard, type ZooArchitecture } from "../format.js";
import { checkListedFiles, runImport, type ImportPlan, type ImportReport } from "./import-build.js";
import { labelledZooManifest, readLabelRows, rowSplits } from "./labels-csv.js";
import { ImportError, stateDictOf, tensorsOf } from "./state-dict.js";

export interface TorchvisionImportOptions {
  /** Folder the CSV's file names are relative to. */
  dir: string;
  /** CSV with a `file` column and a `label` (class index) or `target` (number) column; an optional `split` column (train, val, test). */
  labels: string;
  out: string;
  /** Side of the square inputs the networks take (32). */
  inputSize?: number;
  /** Seed of the 70/10/20 split used when the CSV has no split column (0). */
  splitSeed?: number;
  shardSize?: number;
  workers?: number;
  onProgress?: (done: number, total: number) => void;
  /** Take files the CSV names outside `dir` (refused by default: a CSV is not trusted to point anywhere). */
  allowOutsideRoot?: boolean;
}

export interface TorchvisionPlan extends ImportPlan {
  kind: "torchvision";
  files: string[];
  sources: string[];
  architecture: number[];
  values: number[];
}

/** The state dict of a checkpoint: its state_dict or model entry where it has one, else itself. */
function stateDict(ckpt: TorchCheckpoint): Map<string, TorchTensor> {
  const v = ckpt.value;
  const key = v instanceof Map ? ["state_dict", "model"].find((k) => v.get(k) instanceof Map) : undefined;
  return tensorsOf(stateDictOf(ckpt, key));
}

/** A torchvision ResNet's architecture from its state dict's names and shapes. */
export function torchvisionArchitecture(sd: Map<string, TorchTensor>, inputSize: number, file: string): SizedResNetArchitecture {
  const conv1 = sd.get("conv1.weight"), fc = sd.get("fc.weight");
  if (conv1 === undefined || fc === undefined || conv1.shape.length !== 4 || fc.shape.length !== 2) {
    throw new ImportError(file, `is not a torchvision ResNet state dict: it needs conv1.weight [width, channels, k, k] and fc.weight [classes, features] (it holds ${[...sd.keys()].slice(0, 6).join(", ")}${sd.size > 6 ? ", ..." : ""})`);
  }
  const k = conv1.shape[2];
  if (k !== 3 && k !== 7) throw new ImportError(file, `conv1 has a ${k}x${conv1.shape[3]} kernel; the ResNet family has the 3x3 CIFAR stem or torchvision's 7x7 one`);
  const blocks: number[] = [];
  for (let s = 1; sd.has(`layer${s}.0.conv1.weight`); s++) {
    let n = 0;
    while (sd.has(`layer${s}.${n}.conv1.weight`)) n++;
    blocks.push(n);
  }
  if (blocks.length === 0) throw new ImportError(file, "has no layer1.0.conv1.weight: not a ResNet of BasicBlocks");
  if (sd.has("layer1.0.conv3.weight")) throw new ImportError(file, "has Bottleneck blocks (conv3): the ResNet family covers BasicBlock ResNets (ResNet-18, -34)");
  // checked as a zoo.json's would be (empty dimensions, inputs too small for the stages)
  try {
    return parseResNetArchitecture({ inChannels: conv1.shape[1], width: conv1.shape[0], stem: k === 3 ? "cifar" : "imagenet", blocks, classes: fc.shape[0], inputSize });
  } catch (e) {
    throw new ImportError(file, (e as Error).message);
  }
}

export function planTorchvisionImport(opts: TorchvisionImportOptions): TorchvisionPlan {
  const dir = resolve(opts.dir), csvFile = resolve(opts.labels);
  const inputSize = opts.inputSize ?? 32;
  const { rows, task } = readLabelRows(csvFile);
  const architectures: ZooArchitecture[] = [];
  const index = new Map<string, number>();
  const files = rows.map((r) => (isAbsolute(r.file) ? r.file : join(dir, r.file)));
  checkListedFiles(csvFile, files, rows.map((r) => r.file), (i) => `row ${i + 2}`, dir, opts.allowOutsideRoot);
  const architecture = files.map((f) => {
    const arch = torchvisionArchitecture(stateDict(readTorchCheckpoint(f, { storages: false })), inputSize, f);
    const key = JSON.stringify(arch);
    if (!index.has(key)) {
      index.set(key, architectures.length);
      architectures.push({ architecture: { ...arch }, parameters: resnetParameterShapes(arch).map(([name, shape]) => ({ name, shape })) });
    }
    return index.get(key)!;
  });
  const splitOf = rowSplits(rows, csvFile, opts.splitSeed ?? 0, "torchvision-split");
  // The classes are the networks' outputs: a label they cannot give is a wrong label, not a new class.
  const labelClasses = task === "classification" ? Math.max(...architectures.map((a) => Number(a.architecture.classes))) : 0;
  if (task === "classification") {
    rows.forEach((r, i) => {
      const classes = Number(architectures[architecture[i]].architecture.classes);
      if (r.value >= classes) throw new ImportError(csvFile, `row ${i + 2} (${r.file}): label ${r.value} is not one of the network's ${classes} classes (0 to ${classes - 1})`);
    });
  }
  const manifest = labelledZooManifest({
    family: "resnet", architectures, task, rows, splitOf, classes: labelClasses, targetColumn: "target",
    splitSeed: opts.splitSeed ?? 0, shardSize: opts.shardSize ?? 500,
    sourceDescription: "the state dict's file as the CSV names it", architectureDescription: "index of the network's architecture in zoo.json",
    provenance: { importer: "probegen zoo import torchvision", probegenVersion: PROBEGEN_VERSION, source: dir, labels: csvFile, inputSize },
    provenanceAfterSplit: { batchNorm: "eval mode, folded into each convolution: w' = w gamma / sqrt(var + eps), b' = beta - mean gamma / sqrt(var + eps), eps 1e-5" },
  });
  return {
    kind: "torchvision", out: opts.out, manifest, files, sources: rows.map((r) => r.file), architecture, values: rows.map((r) => r.value),
  };
}

export function importTorchvisionShard(plan: TorchvisionPlan, si: number, onNetwork: () => void): Uint8Array {
  const m = plan.manifest;
  const { start, count } = m.shards[si];
  const networks = [];
  for (let i = start; i < start + count; i++) {
    const file = plan.files[i];
    const sd = stateDict(readTorchCheckpoint(file));
    const a = m.architectures[plan.architecture[i]];
    const arch = a.architecture as unknown as SizedResNetArchitecture;
    if (JSON.stringify(torchvisionArchitecture(sd, arch.inputSize, file)) !== JSON.stringify(arch)) {
      throw new ImportError(file, "changed since the import was planned (its architecture differs)");
    }
    let folded: Map<string, Float32Array>;
    try {
      folded = foldTorchvisionResNet(arch, (n) => {
        const t = sd.get(n);
        return t === undefined ? undefined : { data: floatWeights(t, file, n), shape: t.shape };
      });
    } catch (e) {
      throw new ImportError(file, (e as Error).message);
    }
    const params = a.parameters.map((p) => folded.get(p.name)!);
    const bad = a.parameters.find((p, k) => !allFinite(params[k]));
    if (bad !== undefined) throw new ImportError(file, `parameter ${bad.name} (BatchNorm folded in) holds non-finite values`);
    networks.push({ architecture: plan.architecture[i], params });
    onNetwork();
  }
  const slice = <T>(a: T[]) => a.slice(start, start + count);
  const field = m.fields[0].name;
  return encodeShard(m, si, networks, { [field]: slice(plan.values), architecture: slice(plan.architecture) }, { source: slice(plan.sources) });
}

export async function importTorchvision(opts: TorchvisionImportOptions): Promise<ImportReport & { plan: TorchvisionPlan }> {
  const plan = planTorchvisionImport(opts);
  const report = await runImport(plan, importTorchvisionShard, opts.workers ?? 1, opts.onProgress);
  return { ...report, plan };
}
