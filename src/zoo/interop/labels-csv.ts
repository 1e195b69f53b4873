// A labels CSV: which network file has which label (or target value), and optionally which split
// it belongs to; the torchvision and ONNX imports read it.
import { parse as parseCsv } from "csv-parse/sync";
import { readRegularFile } from "../../io/read-file.js";
import { Rng } from "../../engine/index.js";
import { SPLIT_NAMES, planShards, type SplitName, type ZooArchitecture, type ZooManifest } from "../format.js";
import { splitsOf } from "./import-build.js";
import { ImportError } from "./state-dict.js";

export interface LabelRow { file: string; value: number; split: SplitName | null }

/** A decimal number as a CSV target may be written: 0.5, -3, 1.2e-3 (not hex, not Infinity). */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Labels name classes 0..MAX_CLASSES-1 (a zoo lists every class's name). */
const MAX_CLASSES = 100_000;

/**
 * The rows of a labels CSV: a `file` column, and a `label` column (class indices) or a numeric
 * target column (`targetColumn`, "target" unless named), and optionally a `split` column.
 */
export function readLabelRows(csvFile: string, targetColumn = "target"): { rows: LabelRow[]; task: "classification" | "regression" } {
  const text = new TextDecoder().decode(readRegularFile(csvFile, 64 * 2 ** 20));
  let records: Record<string, string>[];
  try {
    records = parseCsv(text, { columns: true, skip_empty_lines: true, trim: true, bom: true }) as Record<string, string>[];
  } catch (e) {
    throw new ImportError(csvFile, `is not a CSV with a header line: ${(e as Error).message}`);
  }
  if (records.length === 0) throw new ImportError(csvFile, "lists no networks");
  const cols = Object.keys(records[0]);
  if (!cols.includes("file")) throw new ImportError(csvFile, `has no "file" column (columns: ${cols.join(", ")})`);
  const hasLabel = cols.includes("label"), hasTarget = cols.includes(targetColumn);
  if (hasLabel === hasTarget) throw new ImportError(csvFile, `needs exactly one of a "label" column (class indices) or a "${targetColumn}" column (numbers); columns: ${cols.join(", ")}`);
  const rows = records.map((r, i): LabelRow => {
    const raw = hasLabel ? r.label : r[targetColumn];
    // Decimal only: Number() would also take "0x10" (16), "1e1" (10) and " " (0).
    const value = (hasLabel ? /^\d+$/ : DECIMAL).test(raw) ? Number(raw) : NaN;
    if (raw === "" || !Number.isFinite(value) || (hasLabel && (!Number.isInteger(value) || value < 0 || value >= MAX_CLASSES))) {
      throw new ImportError(csvFile, `row ${i + 2} (${r.file}): ${hasLabel ? "label" : targetColumn} "${raw}" is not ${hasLabel ? `a class index below ${MAX_CLASSES}` : "a finite number"}`);
    }
    if (r.file === "") throw new ImportError(csvFile, `row ${i + 2}: the file column is empty`);
    let split: SplitName | null = null;
    if (cols.includes("split")) {
      if (!(SPLIT_NAMES as readonly string[]).includes(r.split)) throw new ImportError(csvFile, `row ${i + 2} (${r.file}): split "${r.split}" is not train, val or test`);
      split = r.split as SplitName;
    }
    return { file: r.file, value, split };
  });
  return { rows, task: hasLabel ? "classification" : "regression" };
}


/**
 * Each row's split: the CSV's split column, or without one a seeded 70/10/20 split (`stream`
 * names the seed's stream), each split at least one network where there are three.
 */
export function rowSplits(rows: readonly LabelRow[], csvFile: string, seed: number, stream: string): SplitName[] {
  if (rows.every((r) => r.split !== null)) return rows.map((r) => r.split!);
  if (rows.some((r) => r.split !== null)) throw new ImportError(csvFile, "gives a split for some rows and not others");
  const order = new Rng(seed, stream).shuffle(Int32Array.from(rows.keys()));
  const n = rows.length;
  const nTest = n >= 3 ? Math.max(1, Math.round(0.2 * n)) : 0, nVal = n >= 3 ? Math.max(1, Math.round(0.1 * n)) : 0;
  const splitOf = new Array<SplitName>(n).fill("train");
  order.forEach((r, i) => { if (i < nTest) splitOf[r] = "test"; else if (i < nTest + nVal) splitOf[r] = "val"; });
  return splitOf;
}

export interface LabelledZoo {
  family: string;
  architectures: ZooArchitecture[];
  task: "classification" | "regression";
  rows: readonly LabelRow[];
  splitOf: SplitName[];
  /** Classes the labels name (classification). */
  classes: number;
  /** The CSV's target column's name (regression). */
  targetColumn: string;
  splitSeed: number;
  shardSize: number;
  /** What the per-network `source` string and `architecture` field are, for zoo.json. */
  sourceDescription: string;
  architectureDescription: string;
  /** The importer's own provenance entries (its name, folders, settings), before the split's and after it. */
  provenance: Record<string, unknown>;
  provenanceAfterSplit?: Record<string, unknown>;
}

/** The manifest of a zoo imported from files and a labels CSV: a label or target per network, its architecture index, its file. */
export function labelledZooManifest(z: LabelledZoo): ZooManifest {
  const several = z.architectures.length > 1;
  return {
    format: "probegen-zoo", version: several ? 2 : 1, family: z.family, architectures: z.architectures,
    ...(several ? { architectureField: "architecture" } : {}),
    fields: [
      z.task === "classification"
        ? { name: "label", dtype: "I32", description: "the CSV's label column" }
        : { name: "target", dtype: "F32", description: `the CSV's ${z.targetColumn} column` },
      { name: "architecture", dtype: "I32", description: z.architectureDescription },
    ],
    strings: [{ name: "source", description: z.sourceDescription }],
    task: z.task === "classification"
      ? { kind: "classification", labelNames: Array.from({ length: z.classes }, (_, i) => String(i)) }
      : { kind: "regression", target: "target" },
    count: z.rows.length, splits: splitsOf(z.splitOf), shards: planShards(z.rows.length, z.shardSize),
    provenance: {
      ...z.provenance,
      split: z.rows[0].split !== null ? "the CSV's split column" : `seeded 70/10/20 (seed ${z.splitSeed})`,
      ...z.provenanceAfterSplit,
    },
  };
}
