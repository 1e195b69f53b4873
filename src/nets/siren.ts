// SIREN implicit neural representations (DWSNets convention), evaluated zoo-batched:
// Linear(2,32), sin(30.), Linear(32,32), sin(30.), Linear(32,1), + 0.5.
// Parameters are stacked over networks under DWSNets' state-dict names: seq.{i}.weight
// [B, out, in] and seq.{i}.bias [B, out].
import { addScalar, linear, sin, ShapeError, fmtShape, type Tensor } from "../engine/index.js";

export interface SirenArchitecture {
  inDim: number;
  hidden: number[];
  outDim: number;
  w0: number;
  outputOffset: number;
}

export const DWSNETS_SIREN: SirenArchitecture = { inDim: 2, hidden: [32, 32], outDim: 1, w0: 30, outputOffset: 0.5 };

/** Parameter names and per-network shapes, in state-dict order. */
export function sirenParameterShapes(arch: SirenArchitecture): [string, number[]][] {
  const dims = [arch.inDim, ...arch.hidden, arch.outDim];
  const out: [string, number[]][] = [];
  for (let i = 0; i + 1 < dims.length; i++) {
    out.push([`seq.${i}.weight`, [dims[i + 1], dims[i]]], [`seq.${i}.bias`, [dims[i + 1]]]);
  }
  return out;
}

/**
 * Evaluates B SIRENs at coordinates x ([K, inDim] shared, or [B, K, inDim]) -> [B, K, outDim].
 * params maps each name of sirenParameterShapes to a tensor stacked over the B networks.
 */
export function sirenForward(arch: SirenArchitecture, params: ReadonlyMap<string, Tensor>, x: Tensor): Tensor {
  const layers = arch.hidden.length + 1;
  let h = x;
  for (let i = 0; i < layers; i++) {
    const w = params.get(`seq.${i}.weight`), b = params.get(`seq.${i}.bias`);
    if (w === undefined || b === undefined) throw new ShapeError("sirenForward", `missing parameters seq.${i}.weight/bias`);
    if (w.rank !== 3) throw new ShapeError("sirenForward", `seq.${i}.weight ${fmtShape(w.shape)} must be stacked [B,out,in]`);
    h = linear(h, w, b);
    // sin(w0 * z): the frequency is folded into the sine kernel.
    h = i < layers - 1 ? sin(h, arch.w0) : h;
  }
  return arch.outputOffset !== 0 ? addScalar(h, arch.outputOffset) : h;
}

/** Forward FLOPs to evaluate one SIREN at one coordinate (2 per multiply-add, 1 per sine). */
export function sirenFlopsPerPoint(arch: SirenArchitecture): number {
  const dims = [arch.inDim, ...arch.hidden, arch.outDim];
  let f = 0;
  for (let i = 0; i + 1 < dims.length; i++) f += 2 * dims[i] * dims[i + 1] + dims[i + 1];
  return f + arch.hidden.reduce((s, h) => s + h, 0);
}
