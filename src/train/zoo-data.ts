// A zoo held in tensor memory for training: every network's parameters stacked, labels, and
// the split indices. Batches are gathered by copying the chosen networks' rows.
import { Tensor } from "../engine/index.js";
import { SPLIT_NAMES, rangesIndices, type SplitName, type Zoo, type ZooManifest } from "../zoo/format.js";

export class ZooData {
  readonly params: Map<string, Tensor>;
  readonly labels: Int32Array;
  readonly splits: Record<SplitName, Int32Array>;
  readonly manifest: ZooManifest;
  readonly classes: number;

  constructor(zoo: Zoo) {
    const m = zoo.manifest;
    if (m.task.kind !== "classification") {
      throw new Error(`${zoo.dir}: probing INR zoos needs a classification zoo; this one's task is ${m.task.kind}`);
    }
    if (!m.fields.some((f) => f.name === "label")) throw new Error(`${zoo.dir}/zoo.json: the zoo has no label field`);
    const all = zoo.readAll();
    this.manifest = m;
    this.params = new Map(m.parameters.map((p) => [p.name, Tensor.from(all.params.get(p.name)!, [m.count, ...p.shape], { persistent: true })]));
    this.labels = Int32Array.from(all.fields.get("label")! as ArrayLike<number>);
    this.classes = m.task.labelNames?.length ?? 0;
    const bad = this.labels.findIndex((l) => l < 0 || l >= this.classes);
    if (bad >= 0) throw new Error(`${zoo.dir}: network ${bad} has label ${this.labels[bad]}, not one of the ${this.classes} classes in zoo.json`);
    this.splits = Object.fromEntries(SPLIT_NAMES.map((s) => [s, Int32Array.from(rangesIndices(m.splits[s]))])) as Record<SplitName, Int32Array>;
    if (this.splits.train.length === 0) throw new Error(`${zoo.dir}/zoo.json: the train split is empty`);
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
