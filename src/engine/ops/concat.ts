// Joining tensors along their last axis: [..., n_p] for each part -> [..., sum of n_p] (a
// network's answers to a probe beside what its hidden layers answered). Rows are short (tens
// of values), so plain loops: a kernel call per row would cost more than the copy.
import { gradSink, record } from "../autograd.js";
import { ShapeError, fmtShape } from "../errors.js";
import { Tensor } from "../tensor.js";

export function concatLast(parts: readonly Tensor[]): Tensor {
  if (parts.length === 0) throw new ShapeError("concatLast", "no parts");
  const lead = parts[0].shape.slice(0, -1);
  parts.forEach((p, i) => {
    if (p.rank !== lead.length + 1 || p.shape.slice(0, -1).some((d, j) => d !== lead[j])) {
      throw new ShapeError("concatLast", `part ${i} ${fmtShape(p.shape)} does not share the leading axes ${fmtShape(lead)} of part 0`);
    }
  });
  const widths = parts.map((p) => p.shape[p.rank - 1]);
  const total = widths.reduce((a, b) => a + b, 0);
  const rows = lead.reduce((a, b) => a * b, 1);
  const starts = widths.map((_, i) => widths.slice(0, i).reduce((a, b) => a + b, 0));
  const y = Tensor.empty([...lead, total]);
  parts.forEach((p, i) => {
    const n = widths[i];
    for (let r = 0; r < rows; r++) y.data.set(p.data.subarray(r * n, (r + 1) * n), r * total + starts[i]);
  });
  return record(y, "concatLast", parts, (g) => {
    parts.forEach((p, i) => {
      const s = gradSink(p);
      if (s === null) return;
      const n = widths[i];
      for (let r = 0; r < rows; r++) {
        const src = g.subarray(r * total + starts[i], r * total + starts[i] + n), dst = s.g.subarray(r * n, (r + 1) * n);
        if (s.acc) for (let j = 0; j < n; j++) dst[j] += src[j];
        else dst.set(src);
      }
    });
  });
}
