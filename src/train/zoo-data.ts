// A zoo held in tensor memory for training: every network's parameters stacked (per architecture,
// in a zoo of several), what to predict (class labels, or a scalar target such as test
// accuracy), and the split indices. Batches are gathered by copying the chosen networks' rows.
import { Tensor, gatherRows } from "../engine/index.js";
import { join } from "node:path";
import { MANIFEST_FILE, SPLIT_NAMES, ZooFormatError, rangesIndices, type SplitName, type Zoo, type ZooArchitecture, type ZooManifest } from "../zoo/format.js";

export interface ZooDataOptions {
  /** Leave out networks holding a non-finite weight (otherwise such a zoo is refused, naming one). */
  skipNonFinite?: boolean;
  /** Networks to predict, not to train on: labels or targets may be missing, the train split empty. */
  unlabelled?: boolean;
}

export class ZooData {
  /** Networks left out for holding non-finite weights (skipNonFinite). */
  readonly skippedNonFinite: number[];
  /** Per architecture: its networks' parameters stacked [n_k, ...shape], by name. */
  readonly groups: Map<string, Tensor>[];
  /** Each network's architecture (index into manifest.architectures). */
  readonly architectureOf: Int32Array;
  /** Each network's row within its architecture's stacked parameters. */
  readonly rowOf: Int32Array;
  readonly task: "classification" | "regression";
  /** Classification: each network's class (empty for regression). */
  readonly labels: Int32Array;
  /** Regression: each network's target value (empty for classification). */
  readonly targets: Float32Array;
  readonly splits: Record<SplitName, Int32Array>;
  readonly manifest: ZooManifest;
  /** Number of classes (0 for regression). */
  readonly classes: number;
  /** Every per-network metadata field, by name. */
  readonly fields: Map<string, ArrayLike<number>>;
  /** Every per-network string (source files, black-box models' paths), by name. */
  readonly strings: Map<string, string[]>;
  /** The zoo's zoo.json, for errors. */
  readonly manifestFile: string;

  constructor(zoo: Zoo, opts: ZooDataOptions = {}) {
    this.manifest = zoo.manifest;
    this.manifestFile = join(zoo.dir, MANIFEST_FILE);
    const m = this.manifest;
    // The zoo is read straight into tensor memory (not into arrays copied from after).
    const tensors = m.architectures.map(() => new Map<string, Tensor>());
    const all = zoo.readAll((k, p, networks) => {
      const t = Tensor.empty([networks, ...p.shape], { persistent: true });
      tensors[k].set(p.name, t);
      return t.data;
    });
    this.task = m.task.kind;
    const field = m.task.kind === "classification" ? "label" : m.task.target;
    const values = field === undefined ? undefined : all.fields.get(field) as ArrayLike<number> | undefined;
    if (values === undefined && opts.unlabelled !== true) {
      throw new Error(`${this.manifestFile}: the zoo has no ${field ?? "regression target"} field to predict`);
    }
    this.architectureOf = all.architecture;
    this.rowOf = new Int32Array(m.count);
    const seen = new Int32Array(m.architectures.length);
    for (let i = 0; i < m.count; i++) this.rowOf[i] = seen[all.architecture[i]]++;
    this.groups = tensors;
    this.fields = all.fields as Map<string, ArrayLike<number>>;
    this.strings = all.strings;
    // Networks of unknown label or target (opts.unlabelled) have label -1 or target NaN.
    this.labels = this.task === "classification" ? (values === undefined ? new Int32Array(m.count).fill(-1) : Int32Array.from(values)) : new Int32Array(0);
    this.targets = this.task === "regression" ? (values === undefined ? new Float32Array(m.count).fill(NaN) : Float32Array.from(values)) : new Float32Array(0);
    this.classes = this.task === "classification" ? m.task.labelNames?.length ?? 0 : 0;
    const bad = this.labels.findIndex((l) => (l < 0 && values !== undefined) || l >= this.classes);
    if (bad >= 0) throw new Error(`${this.manifestFile}: network ${bad} has label ${this.labels[bad]}, not one of the ${this.classes} classes in zoo.json`);
    const nan = values === undefined ? -1 : this.targets.findIndex((t) => !Number.isFinite(t));
    if (nan >= 0) throw new Error(`${this.manifestFile}: network ${nan} has target ${field} = ${this.targets[nan]}`);
    const nonFinite = this.nonFiniteNetworks();
    if (nonFinite.length > 0 && opts.skipNonFinite !== true) {
      const [i, param] = nonFinite[0];
      const shard = m.shards.find((s) => i >= s.start && i < s.start + s.count);
      throw new ZooFormatError(shard === undefined ? this.manifestFile : join(zoo.dir, shard.file), `network ${i} holds a non-finite weight in ${param}${nonFinite.length > 1 ? ` (and ${nonFinite.length - 1} more networks do)` : ""}; pass --skip-nonfinite to leave such networks out`);
    }
    this.skippedNonFinite = nonFinite.map(([i]) => i);
    const skip = new Set(this.skippedNonFinite);
    this.splits = Object.fromEntries(SPLIT_NAMES.map((s) => [s, Int32Array.from(rangesIndices(m.splits[s]).filter((i) => !skip.has(i)))])) as Record<SplitName, Int32Array>;
    if (this.splits.train.length === 0 && opts.unlabelled !== true) throw new Error(`${this.manifestFile}: the train split is empty`);
  }

  /** Networks holding a NaN or infinite parameter, with the first such parameter's name, in index order. */
  private nonFiniteNetworks(): [number, string][] {
    const networkOf = this.groups.map(() => [] as number[]);
    this.architectureOf.forEach((k, i) => networkOf[k].push(i));
    const found = new Map<number, string>();
    this.groups.forEach((g, k) => {
      for (const [name, t] of g) {
        const per = t.size / Math.max(1, t.shape[0]);
        const d = t.data;
        for (let j = 0; j < d.length; j++) {
          if (Number.isFinite(d[j])) continue;
          const row = Math.floor(j / per);
          if (!found.has(networkOf[k][row])) found.set(networkOf[k][row], name);
          j = (row + 1) * per - 1;
        }
      }
    });
    return [...found].sort((a, b) => a[0] - b[0]);
  }

  get architectures(): readonly ZooArchitecture[] {
    return this.manifest.architectures;
  }

  /** A zoo of one architecture: its stacked parameters. */
  get params(): Map<string, Tensor> {
    if (this.groups.length !== 1) throw new RangeError(`the zoo has ${this.groups.length} architectures; use groups`);
    return this.groups[0];
  }

  /** Head outputs the task needs: one per class, or one value. */
  get outputs(): number {
    return this.task === "classification" ? this.classes : 1;
  }

  /** The parameters of the given networks (all of one architecture), stacked [indices.length, ...] (tensors in the current scope). */
  gather(indices: ArrayLike<number>): Map<string, Tensor> {
    const arch = indices.length > 0 ? this.architectureOf[indices[0]] : 0;
    const rowsHolder = Tensor.empty([indices.length]);
    const rows = new Int32Array(rowsHolder.data.buffer, rowsHolder.data.byteOffset, indices.length);
    for (let i = 0; i < indices.length; i++) {
      if (this.architectureOf[indices[i]] !== arch) throw new RangeError(`gather: networks ${indices[0]} and ${indices[i]} have different architectures`);
      rows[i] = this.rowOf[indices[i]];
    }
    const out = new Map<string, Tensor>();
    for (const [name, t] of this.groups[arch]) {
      out.set(name, gatherRows(t, rows));
    }
    rowsHolder.dispose();
    return out;
  }

  dispose(): void {
    for (const g of this.groups) for (const t of g.values()) t.dispose();
  }
}
