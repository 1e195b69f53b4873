// 2-D convolutions in NCHW: a single network or a zoo of networks each with its own filters,
// and the transposed convolution the image probe generators are built from.
import { kernels } from "../backend.js";
import { gradSink, record } from "../autograd.js";
import { ShapeError, fmtShape } from "../errors.js";
import { Tensor } from "../tensor.js";
import type { ConvTransposeShape, ZooConvShape } from "../kernels/kernels.js";

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
}

export interface FusedConv2dOptions extends Conv2dOptions {
  /** "relu" applies ReLU to each image's output in the same pass (conv2d only). */
  activation?: "relu" | "none";
}

const pair = (v: number | [number, number] | undefined, d: number): [number, number] =>
  v === undefined ? [d, d] : typeof v === "number" ? [v, v] : v;

/**
 * Cross-correlation as torch.nn.functional.conv2d.
 * - w [O, C, KH, KW], b [O]: x [N, C, H, W] -> [N, O, OH, OW].
 * - w [B, O, C, KH, KW], b [B, O] (a zoo): x [B, K, C, H, W] -> [B, K, O, OH, OW], or x
 *   [K, C, H, W] shared by all B networks -> [B, K, O, OH, OW].
 */
export function conv2d(x: Tensor, w: Tensor, b: Tensor | null = null, opts: FusedConv2dOptions = {}): Tensor {
  const zoo = w.rank === 5;
  if (!zoo && w.rank !== 4) throw new ShapeError("conv2d", `weight ${fmtShape(w.shape)} must be [O,C,KH,KW] or [B,O,C,KH,KW]`);
  const [nNet, O, C, KH, KW] = zoo ? w.shape : [1, ...w.shape];
  const xShared = !zoo || x.rank === 4;
  const expect = zoo ? `[${nNet},K,${C},H,W] or shared [K,${C},H,W]` : `[N,${C},H,W]`;
  const okRank = xShared ? x.rank === 4 : x.rank === 5 && x.shape[0] === nNet;
  if (!okRank || x.shape[x.rank - 3] !== C) {
    throw new ShapeError("conv2d", `input ${fmtShape(x.shape)} does not match weight ${fmtShape(w.shape)} (expects ${expect})`);
  }
  const biasShape = zoo ? [nNet, O] : [O];
  if (b !== null && (b.rank !== biasShape.length || b.shape.some((d, i) => d !== biasShape[i]))) {
    throw new ShapeError("conv2d", `bias ${fmtShape(b.shape)} does not match weight ${fmtShape(w.shape)} (expects ${fmtShape(biasShape)})`);
  }
  const [H, W] = x.shape.slice(-2);
  const [strideH, strideW] = pair(opts.stride, 1);
  const [padH, padW] = pair(opts.padding, 0);
  const OH = Math.floor((H + 2 * padH - KH) / strideH) + 1;
  const OW = Math.floor((W + 2 * padW - KW) / strideW) + 1;
  if (OH < 1 || OW < 1 || strideH < 1 || strideW < 1 || padH < 0 || padW < 0) {
    throw new ShapeError("conv2d", `input ${fmtShape(x.shape)} with kernel ${KH}x${KW}, stride ${strideH},${strideW}, padding ${padH},${padW} gives no output`);
  }
  const nImg = zoo ? x.shape[xShared ? 0 : 1] : x.shape[0];
  const s: ZooConvShape = { nNet, nImg, xShared, C, H, W, O, OH, OW, KH, KW, strideH, strideW, padH, padW };
  const y = Tensor.empty(zoo ? [nNet, nImg, O, OH, OW] : [nImg, O, OH, OW]);
  const k = kernels();
  const relu = opts.activation === "relu";
  k.conv2dForward(s, x.data, w.data, y.data, b?.data ?? null, relu);
  return record(y, zoo ? "zooConv2d" : "conv2d", [x, w, b], (gOut) => {
    // Through a fused ReLU the gradient passes where the output is positive. Where only the
    // input's gradient is wanted (a zoo's networks, probed) the input gradient applies the mask
    // as it reads dy; else it is masked in place first. Either way gOut, y's gradient, which
    // only this backward reads, may be left masked. A fresh tensor for the masked gradient cost
    // a third more memory traffic (W2 1.13x in place, bench/compare-builds), and the fused
    // mask spares the first layer's 32 MiB of maps a pass.
    const onlyInput = relu && !w.requiresGrad && !(b?.requiresGrad ?? false);
    if (relu && !onlyInput) k.leakyReluBackward(y.data, gOut, gOut, 0, false);
    const g = gOut;
    const sx = gradSink(x);
    if (sx !== null) k.conv2dBackwardInput(s, g, w.data, sx.g, sx.acc, onlyInput ? y.data : null);
    const sw = gradSink(w);
    if (sw !== null) k.conv2dBackwardWeight(s, x.data, g, sw.g, sw.acc);
    const sb = gradSink(b);
    if (sb !== null) k.sumChannel(g, sb.g, nNet, nImg, O, OH * OW, sb.acc);
  });
}

export interface ConvTranspose2dOptions extends Conv2dOptions {
  outputPadding?: number | [number, number];
}

/**
 * Transposed convolution as torch.nn.functional.conv_transpose2d: x [N, Cin, H, W],
 * w [Cin, Cout, KH, KW], b [Cout] -> [N, Cout, (H-1)*stride - 2*padding + KH + outputPadding, ...].
 */
export function convTranspose2d(x: Tensor, w: Tensor, b: Tensor | null = null, opts: ConvTranspose2dOptions = {}): Tensor {
  if (w.rank !== 4) throw new ShapeError("convTranspose2d", `weight ${fmtShape(w.shape)} must be [Cin,Cout,KH,KW]`);
  const [Cin, Cout, KH, KW] = w.shape;
  if (x.rank !== 4 || x.shape[1] !== Cin) {
    throw new ShapeError("convTranspose2d", `input ${fmtShape(x.shape)} does not match weight ${fmtShape(w.shape)} (expects [N,${Cin},H,W])`);
  }
  if (b !== null && (b.rank !== 1 || b.shape[0] !== Cout)) {
    throw new ShapeError("convTranspose2d", `bias ${fmtShape(b.shape)} does not match weight ${fmtShape(w.shape)} (expects [${Cout}])`);
  }
  const [n, , H, W] = x.shape;
  const [strideH, strideW] = pair(opts.stride, 1);
  const [padH, padW] = pair(opts.padding, 0);
  const [opH, opW] = pair(opts.outputPadding, 0);
  const OH = (H - 1) * strideH - 2 * padH + KH + opH;
  const OW = (W - 1) * strideW - 2 * padW + KW + opW;
  if (OH < 1 || OW < 1 || opH >= strideH && opH > 0 || opW >= strideW && opW > 0) {
    throw new ShapeError("convTranspose2d", `input ${fmtShape(x.shape)} with kernel ${KH}x${KW}, stride ${strideH},${strideW}, padding ${padH},${padW}, output padding ${opH},${opW} is invalid`);
  }
  const s: ConvTransposeShape = { n, Cin, H, W, Cout, OH, OW, KH, KW, strideH, strideW, padH, padW };
  const y = Tensor.empty([n, Cout, OH, OW]);
  const k = kernels();
  k.convTranspose2dForward(s, x.data, w.data, y.data);
  if (b !== null) k.addChannel(y.data, b.data, y.data, 1, n, Cout, OH * OW);
  return record(y, "convTranspose2d", [x, w, b], (g) => {
    const sx = gradSink(x);
    const sw = gradSink(w);
    if (sx !== null || sw !== null) {
      k.convTranspose2dBackward(s, x.data, w.data, g, sx?.g ?? null, sx?.acc ?? false, sw?.g ?? null, sw?.acc ?? false);
    }
    const sb = gradSink(b);
    if (sb !== null) k.sumChannel(g, sb.g, 1, n, Cout, OH * OW, sb.acc);
  });
}
