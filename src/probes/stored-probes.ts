// Probes kept as values: a shipped predictor's K probes, written out when it was made so that it
// predicts without what made them (a generator's parameters, or an image set that may not be
// installed where it runs). Never trained.
import { Tensor } from "../engine/index.js";
import type { ProbeMethod, ProbeSource } from "./source.js";

export class StoredProbes implements ProbeSource {
  readonly learned = false;
  readonly count: number;
  private readonly probes: Tensor;

  /** values: [count, ...shape]; labels: each probe's class, for data probes (null otherwise). */
  constructor(readonly method: ProbeMethod, readonly shape: readonly number[], values: Float32Array, readonly labels: Int32Array | null) {
    const size = shape.reduce((a, b) => a * b, 1);
    if (size === 0 || values.length % size !== 0) throw new RangeError(`stored probes of shape [${shape.join(",")}] given ${values.length} values`);
    this.count = values.length / size;
    if (labels !== null && labels.length !== this.count) throw new RangeError(`${this.count} stored probes given ${labels.length} labels`);
    this.probes = Tensor.from(values, [this.count, ...shape], { persistent: true });
  }

  forward(): Tensor { return this.probes; }
  flops(): number { return 0; }
  namedParameters(): [string, Tensor][] { return []; }
}
