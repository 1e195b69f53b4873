// A zoo held in tensor memory for training: every network's parameters stacked, what to predict
// (class labels, or a scalar target such as test accuracy), and the split indices. Batches are
// gathered by copying the chosen networks' rows.
import { Tensor } from "../engine/index.js";
import { SPLIT_NAMES, rangesIndices, type SplitName, type Zoo, type ZooManifest } from "../zoo/format.js";

export class ZooData {
  readonly params: Map<string, Tensor>;
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

  constructor(zoo: Zoo) {
    const m = zoo.manifest;
    this.task = m.task.kind;
    const field = m.task.kind === "classification" ? "label" : m.task.target;
    if (field === undefined || !m.fields.some((f) => f.name === field)) {
      throw new Error(`${zoo.dir}/zoo.json: the zoo has no ${field ?? "regression target"} field to predict`);
    }
    const all = zoo.readAll();
    this.manifest = m;
    this.params = new Map(m.parameters.map((p) => [p.name, Tensor.from(all.params.get(p.name)!, [m.count, ...p.shape], { persistent: true })]));
    this.fields = all.fields as Map<string, ArrayLike<number>>;
    const values = all.fields.get(field)! as ArrayLike<number>;
    this.labels = this.task === "classification" ? Int32Array.from(values) : new Int32Array(0);
    this.targets = this.task === "regression" ? Float32Array.from(values) : new Float32Array(0);
    this.classes = this.task === "classification" ? m.task.labelNames?.length ?? 0 : 0;
    const bad = this.labels.findIndex((l) => l < 0 || l >= this.classes);
    if (bad >= 0) throw new Error(`${zoo.dir}: network ${bad} has label ${this.labels[bad]}, not one of the ${this.classes} classes in zoo.json`);
    const nan = this.targets.findIndex((t) => !Number.isFinite(t));
    if (nan >= 0) throw new Error(`${zoo.dir}: network ${nan} has target ${field} = ${this.targets[nan]}`);
    this.splits = Object.fromEntries(SPLIT_NAMES.map((s) => [s, Int32Array.from(rangesIndices(m.splits[s]))])) as Record<SplitName, Int32Array>;
    if (this.splits.train.length === 0) throw new Error(`${zoo.dir}/zoo.json: the train split is empty`);
  }

  /** Head outputs the task needs: one per class, or one value. */
  get outputs(): number {
    return this.task === "classification" ? this.classes : 1;
  }

  /** The parameters of the given networks, stacked [indices.length, ...] (tensors in the current scope). */
  gather(indices: ArrayLike<number>): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [name, t] of this.params) {
      const per = t.size / t.shape[0];
      const g = Tensor.empty([indices.length, ...t.shape.slice(1)]);
      for (let i = 0; i < indices.length; i++) g.data.set(t.data.subarray(indices[i] * per, (indices[i] + 1) * per), i * per);
      out.set(name, g);
    }
    return out;
  }

  dispose(): void {
    for (const t of this.params.values()) t.dispose();
  }
}
