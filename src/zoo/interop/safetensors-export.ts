// A zoo as one .safetensors state dict per network, for tools that read safetensors
// (Hugging Face's, PyTorch through `safetensors.torch.load_file`) and for `probegen predict`.
// Each file's metadata says what the network is — its split, its label or target, and, in a zoo
// whose networks differ in a way the weights do not show (the Small-CNN zoo's activation), that
// variant — so a file carries everything `predict` needs. networks.csv, written last, lists them.
import { join, resolve } from "node:path";
import { makeDirectory } from "../../io/dirs.js";
import { writeFileAtomic } from "../../io/atomic.js";
import { encodeSafetensors } from "../../io/safetensors.js";
import { csvText } from "../../io/csv-columns.js";
import { Zoo } from "../format.js";
import { ExportFolder, networkParams, networkPlaces, type ExportReport } from "./export-folder.js";

export interface SafetensorsExportOptions {
  zoo: string;
  out: string;
  onProgress?: (done: number, total: number) => void;
}

/** Metadata keys of an exported network's file. */
export const NETWORK_METADATA = { split: "split", index: "index", label: "label", labelName: "label_name", activation: "activation", architecture: "architecture" } as const;

export function exportSafetensors(opts: SafetensorsExportOptions): ExportReport {
  const zoo = Zoo.open(opts.zoo);
  const m = zoo.manifest;
  const folder = ExportFolder.start(opts.out, { format: "safetensors", zoo: resolve(opts.zoo) });
  makeDirectory(join(opts.out, "networks"));
  const all = zoo.readAll();
  const { splitOf, rowOf } = networkPlaces(m, all);
  const target = m.task.kind === "regression" ? m.task.target : undefined;
  const labels = m.task.kind === "classification" ? all.fields.get("label") : undefined;
  const byField = (m.architectures[0].architecture as { activationByField?: { field: string; names: string[] } }).activationByField;
  const rows: Record<string, string>[] = [];
  const digits = Math.max(6, String(m.count - 1).length);
  for (let i = 0; i < m.count; i++) {
    const k = all.architecture[i];
    const a = m.architectures[k];
    const params = networkParams(m, all, rowOf, i);
    const tensors = a.parameters.map((p): [string, { shape: number[]; data: Float32Array }] => [p.name, { shape: p.shape, data: params.get(p.name)! }]);
    const meta: Record<string, string> = { [NETWORK_METADATA.index]: String(i), [NETWORK_METADATA.split]: splitOf[i] ?? "" };
    const { activationByField: _v, ...spec } = a.architecture as Record<string, unknown>;
    meta[NETWORK_METADATA.architecture] = JSON.stringify(spec);
    if (labels !== undefined) {
      meta[NETWORK_METADATA.label] = String(labels[i]);
      meta[NETWORK_METADATA.labelName] = m.task.labelNames?.[labels[i]] ?? String(labels[i]);
    }
    if (target !== undefined) meta[target] = String(all.fields.get(target)![i]);
    if (byField !== undefined) meta[NETWORK_METADATA.activation] = byField.names[all.fields.get(byField.field)![i]];
    const file = `networks/${String(i).padStart(digits, "0")}.safetensors`;
    writeFileAtomic(join(opts.out, file), encodeSafetensors(tensors, meta));
    rows.push({ file, ...meta });
    opts.onProgress?.(i + 1, m.count);
  }
  const columns = ["file", NETWORK_METADATA.index, NETWORK_METADATA.split,
    ...(labels !== undefined ? [NETWORK_METADATA.label, NETWORK_METADATA.labelName] : []), ...(target !== undefined ? [target] : []),
    ...(byField !== undefined ? [NETWORK_METADATA.activation] : [])];
  return folder.finish([[join(opts.out, "networks.csv"), csvText(columns, rows.map((r) => columns.map((c) => r[c])))]], m.count);
}
