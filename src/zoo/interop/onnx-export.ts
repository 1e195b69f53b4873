// A zoo as one ONNX model per network, with a labels CSV that `probegen zoo import onnx` reads
// back: networks/NNNNNN.onnx and labels.csv (file, label or the target, split), written last.
// The import gives back the same parameters, and the engine evaluates them as the zoo's family
// does (tested: a CNN zoo exported and imported trains to the same metrics).
import { join, resolve } from "node:path";
import { makeDirectory } from "../../io/dirs.js";
import { writeFileAtomic } from "../../io/atomic.js";
import { csvText } from "../../io/csv-columns.js";
import { networkArchitecture } from "../../nets/family.js";
import { isBlackBoxSpec } from "../../nets/onnx-black-box.js";
import { MAX_ONNX_BYTES, parseOnnx } from "../../io/onnx.js";
import { readRegularFile } from "../../io/read-file.js";
import { blackBoxModelFiles } from "../black-box-models.js";
import { OnnxExportError, onnxWriter, type OnnxNetworkWriter } from "../../nets/onnx-export.js";
import { Zoo } from "../format.js";
import { ExportFolder, networkParams, networkPlaces, type ExportReport } from "./export-folder.js";
import { ImportError } from "./state-dict.js";

export interface OnnxExportOptions {
  zoo: string;
  out: string;
  onProgress?: (done: number, total: number) => void;
}

function keptModelBytes(file: string): Uint8Array {
  const bytes = readRegularFile(file, MAX_ONNX_BYTES);
  parseOnnx(bytes, file);
  return bytes;
}

export function exportOnnx(opts: OnnxExportOptions): ExportReport {
  const zoo = Zoo.open(opts.zoo);
  const m = zoo.manifest;
  const zooFile = join(opts.zoo, "zoo.json");
  // Every architecture (and variant) is checked before anything is written.
  const writers = new Map<string, OnnxNetworkWriter>();
  const writerFor = (k: number, code: number | null): OnnxNetworkWriter => {
    const key = `${k}:${code}`;
    let w = writers.get(key);
    if (w === undefined) {
      try {
        const arch = networkArchitecture(m.family, m.architectures[k].architecture, `architectures[${k}]`);
        w = onnxWriter(code === null ? arch : arch.variant(code));
      } catch (e) {
        if (e instanceof OnnxExportError) throw new ImportError(zooFile, e.message);
        throw e;
      }
      writers.set(key, w);
    }
    return w;
  };
  const all = zoo.readAll();
  // Black-box networks are kept whole in the zoo, and exported as they were imported.
  const blackBox = m.architectures.map((a) => isBlackBoxSpec(a.architecture));
  const keptIndices = Array.from({ length: m.count }, (_, i) => i).filter((i) => blackBox[all.architecture[i]]);
  const keptFile = new Map(blackBoxModelFiles(zooFile, all.strings.get("model"), keptIndices).map((f, j) => [keptIndices[j], f]));
  const variantField = networkArchitecture(m.family, m.architectures[0].architecture).variantField;
  const codes = variantField === null ? null : all.fields.get(variantField)!;
  for (let i = 0; i < m.count; i++) if (!blackBox[all.architecture[i]]) writerFor(all.architecture[i], codes === null ? null : codes[i]);
  const folder = ExportFolder.start(opts.out, { format: "onnx", zoo: resolve(opts.zoo) });
  makeDirectory(join(opts.out, "networks"));
  const { splitOf, rowOf } = networkPlaces(m, all);
  const target = m.task.kind === "regression" ? m.task.target : undefined;
  const valueColumn = m.task.kind === "classification" ? "label" : target!;
  const values = m.task.kind === "classification" ? all.fields.get("label")! : all.fields.get(target!)!;
  const digits = Math.max(6, String(m.count - 1).length);
  const rows: string[][] = [];
  for (let i = 0; i < m.count; i++) {
    const k = all.architecture[i];
    const file = `${String(i).padStart(digits, "0")}.onnx`;
    const kept = keptFile.get(i);
    // A kept model is read back through the checked reader before it is written out.
    const bytes = kept !== undefined ? keptModelBytes(kept) : writerFor(k, codes === null ? null : codes[i])(networkParams(m, all, rowOf, i));
    writeFileAtomic(join(opts.out, "networks", file), bytes);
    rows.push([file, String(values[i]), splitOf[i] ?? ""]);
    opts.onProgress?.(i + 1, m.count);
  }
  // The label column is "label", or the target under its own name (zoo import onnx --target NAME).
  // A zoo with networks in no split gives no split column: the import then draws its own.
  const whole = rows.every((r) => r[2] !== "");
  const csv = whole ? csvText(["file", valueColumn, "split"], rows) : csvText(["file", valueColumn], rows.map((r) => r.slice(0, 2)));
  return folder.finish([[join(opts.out, "networks", "labels.csv"), csv]], m.count);
}
