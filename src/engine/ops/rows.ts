// Assembling a batch from row groups computed separately (e.g. networks of different
// activations evaluated in groups of equal architecture).
import { kernels } from "../backend.js";
import { gradSink, record } from "../autograd.js";
import { ShapeError, fmtShape } from "../errors.js";
import { Tensor } from "../tensor.js";

/** parts[p] [n_p, ...row] -> out [total, ...row] with out[rows[p][r]] = parts[p][r]; every row of out is written once. */
export function scatterRows(parts: readonly Tensor[], rows: readonly ArrayLike<number>[], total: number): Tensor {
  if (parts.length === 0 || parts.length !== rows.length) throw new ShapeError("scatterRows", `${parts.length} parts for ${rows.length} row lists`);
  const rowShape = parts[0].shape.slice(1);
  const per = rowShape.reduce((a, b) => a * b, 1);
  const seen = new Uint8Array(total);
  parts.forEach((p, i) => {
    if (p.rank !== rowShape.length + 1 || p.shape.slice(1).some((d, j) => d !== rowShape[j]) || p.shape[0] !== rows[i].length) {
      throw new ShapeError("scatterRows", `part ${i} ${fmtShape(p.shape)} does not hold ${rows[i].length} rows of ${fmtShape(rowShape)}`);
    }
    for (let r = 0; r < rows[i].length; r++) {
      const to = rows[i][r];
      if (!(to >= 0 && to < total) || seen[to]) throw new RangeError(`scatterRows: row ${to} is out of [0, ${total}) or written twice`);
      seen[to] = 1;
    }
  });
  if (seen.includes(0)) throw new RangeError(`scatterRows: rows do not cover all ${total} output rows`);
  const y = Tensor.empty([total, ...rowShape]);
  parts.forEach((p, i) => {
    for (let r = 0; r < rows[i].length; r++) y.data.set(p.data.subarray(r * per, (r + 1) * per), rows[i][r] * per);
  });
  return record(y, "scatterRows", parts, (g) => {
    parts.forEach((p, i) => {
      const s = gradSink(p);
      if (s === null) return;
      for (let r = 0; r < rows[i].length; r++) {
        const src = g.subarray(rows[i][r] * per, (rows[i][r] + 1) * per), dst = s.g.subarray(r * per, (r + 1) * per);
        if (s.acc) kernels().axpby(src, dst, 1, 1);
        else dst.set(src);
      }
    });
  });
}

/**
 * src [n, ...row] -> [rows.length, ...row] with row i = src[rows[i]]: networks of a zoo gathered
 * into a batch. `rows` must be a view of tensor memory; the result is data (no gradient flows
 * back to src, which holds weights read from files, not parameters).
 */
export function gatherRows(src: Tensor, rows: Int32Array): Tensor {
  if (src.rank < 1) throw new ShapeError("gatherRows", `source ${fmtShape(src.shape)} has no rows`);
  const y = Tensor.empty([rows.length, ...src.shape.slice(1)]);
  kernels().gatherRows(src.data, src.size / Math.max(1, src.shape[0]), rows, y.data);
  return y;
}
