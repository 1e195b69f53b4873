// The Kernels contract bound to a module with the WASM module's exports: the WASM module itself
// (wasm.ts) or the native kernels, which export the same functions with the same arguments
// (native.ts). A Float32Array view into tensor memory is passed as its address (its byteOffset
// in the WASM memory, or past it in a native region: Heap.addressOf), so nothing is copied; a
// call worth splitting is cut into parts, one per thread, each part's result independent of
// the split.
import { getRuntime } from "../memory.js";
import type { ConvGeometry, ConvTransposeShape, F32, Kernels, ZooConvShape } from "./kernels.js";
import type { KernelArgs, KernelExports, KernelName } from "./wasm-exports.js";
import type { KernelPart } from "../threads.js";

/**
 * What runs a call's parts at once, each on one thread: the WASM pool runs part t on thread t
 * (part 0 on this thread), the native pool gives each part to whichever thread claims it first.
 */
export interface PartRunner {
  readonly threads: number;
  run<N extends KernelName>(name: N, parts: readonly KernelPart<N>[]): void;
}

/** Kernel `name` of the module, called on this thread with its bools as 0 or 1. */
function exported<N extends KernelName>(ex: KernelExports, name: N): (...args: KernelArgs<N>) => ReturnType<KernelExports[N]> {
  const f = ex[name] as unknown;
  // A build/kernels.wasm older than the sources lacks a kernel the types promise.
  if (typeof f !== "function") throw new Error(`probegen: WASM kernel ${name} missing; rebuild with \`npm run build\``);
  return f as (...args: KernelArgs<N>) => ReturnType<KernelExports[N]>;
}

// How much work a thread's part of a call must have before the call is split: below it the
// dispatch (tens of microseconds at worst, a few when the workers are spinning) costs more
// than the part saves.
const MIN_MACS_PER_PART = 1 << 16;
const MIN_FLOATS_PER_PART = 1 << 15;

/**
 * [lo, hi) ranges covering [0, n) in at most `parts` pieces whose bounds are multiples of
 * `unit`. With units of several elements (GEMM tiles), a last piece of a single element is
 * merged into the one before: a GEMM dimension of 1 takes a path of its own, and results must
 * not depend on the split.
 */
export function splitRange(n: number, unit: number, parts: number): [number, number][] {
  const units = Math.ceil(n / unit);
  const p = Math.max(1, Math.min(parts, units));
  const out: [number, number][] = [];
  for (let t = 0; t < p; t++) {
    const lo = Math.min(n, Math.floor((units * t) / p) * unit);
    const hi = Math.min(n, Math.floor((units * (t + 1)) / p) * unit);
    if (hi > lo) out.push([lo, hi]);
  }
  if (unit > 1 && out.length > 1 && out[out.length - 1][1] - out[out.length - 1][0] < 2) {
    const last = out.pop()!;
    out[out.length - 1][1] = last[1];
  }
  return out;
}

/** The kernels of module `ex`, calls split over `pool()`'s threads. */
export function bindKernels(name: Kernels["name"], ex: KernelExports, pool: () => PartRunner): Kernels {
  const { heap } = getRuntime();
  const k = <N extends KernelName>(name: N) => exported(ex, name);
  const gemmWork = ex.gemmWorkFloats();
  let workPtr = 0;
  let workBytes = 0;
  // One scratch block reused by every kernel call, one region per thread (a call's parts run
  // at once, kernel calls one after another). Returns the base; region t is t * stride later.
  const work = (floats: number, parts: number): { base: number; stride: number } => {
    const stride = Math.ceil(floats / 16) * 64;
    const bytes = stride * parts;
    if (bytes > workBytes) {
      if (workPtr !== 0) heap.free(workPtr, workBytes);
      workBytes = Math.max(bytes, Math.ceil(workBytes * 1.5));
      workPtr = heap.alloc(workBytes);
    }
    return { base: workPtr, stride };
  };
  /** Parts worth making of a call with this much work (1 when the pool has one thread). */
  const partsFor = (amount: number, perPart: number): number =>
    Math.max(1, Math.min(pool().threads, Math.floor(amount / perPart)));
  // A view outside tensor memory would be read as an unrelated address: refuse it. The WASM
  // module reaches only the WASM memory, not the native backend's regions past it.
  const p = (a: F32 | Int32Array) => {
    const at = heap.addressOf(a);
    if (at === null) throw new TypeError(`probegen: ${name} kernels take views of tensor memory (Tensor.empty/Tensor.from), not a plain typed array`);
    if (name === "wasm" && !heap.inWasmMemory(a)) {
      throw new RangeError("probegen: this tensor lives past the WASM memory's 4 GiB, where the native backend put it; the WASM kernels cannot reach it");
    }
    return at;
  };
  const n = (a: F32) => a.length;
  const b = (v: boolean) => (v ? 1 : 0);
  const run = <N extends KernelName>(name: N, parts: KernelArgs<N>[]) => pool().run(name, parts);

  // Element-wise kernels, called as (pointers..., n, scalars...) with `ptrs` pointers: each part
  // a contiguous run of the n elements, in whole cache lines.
  const map = <N extends KernelName>(name: N, ptrs: number, args: KernelArgs<N>) => {
    const a = args as unknown as number[];
    const count = a[ptrs];
    const parts = partsFor(count, MIN_FLOATS_PER_PART);
    if (parts === 1) { run(name, [args]); return; }
    run(name, splitRange(count, 16, parts).map(([lo, hi]) =>
      a.map((v, i) => (i < ptrs ? v + 4 * lo : i === ptrs ? hi - lo : v)) as unknown as KernelArgs<N>));
  };
  const sum = k("sum"), dot = k("dot");
  const ce = k("softmaxCrossEntropy"), mse = k("mse");
  const im2col = k("im2col"), col2im = k("col2im");
  const convWork = k("conv2dWorkFloats"), convTWork = k("convTranspose2dWorkFloats");

  // Argument groups as tuples, so that every call below is checked against the kernel's signature.
  const geo = (g: ConvGeometry) => [g.C, g.H, g.W, g.KH, g.KW, g.strideH, g.strideW, g.padH, g.padW, g.OH, g.OW] as const;
  const zoo = (s: ZooConvShape) =>
    [s.nNet, s.nImg, b(s.xShared), s.C, s.H, s.W, s.O, s.KH, s.KW, s.strideH, s.strideW, s.padH, s.padW] as const;
  const zooWorkFloats = (s: ZooConvShape) => convWork(s.nNet, s.C, s.H, s.W, s.O, s.KH, s.KW, s.strideH, s.strideW, s.padH, s.padW);
  const zooMacs = (s: ZooConvShape) => s.nNet * s.nImg * s.O * s.C * s.KH * s.KW * s.OH * s.OW;
  const convT = (s: ConvTransposeShape) =>
    [s.n, s.Cin, s.H, s.W, s.Cout, s.KH, s.KW, s.strideH, s.strideW, s.padH, s.padW, s.OH, s.OW] as const;
  const convTMacs = (s: ConvTransposeShape) => s.n * s.Cin * s.Cout * s.KH * s.KW * s.H * s.W;

  // GEMM parts: C's columns (or rows when it is taller than wide) in whole micro-kernel tiles;
  // thin products (a dimension of 1) take a path of their own and stay whole.
  const gemmSplit = (M: number, N: number, K: number): { cols: boolean; ranges: [number, number][] } | null => {
    const parts = partsFor(M * N * K, MIN_MACS_PER_PART);
    if (parts === 1 || M === 1 || N === 1 || K === 1) return null;
    const cols = N >= M;
    const ranges = splitRange(cols ? N : M, cols ? 8 : 4, parts);
    return ranges.length > 1 ? { cols, ranges } : null;
  };

  return {
    name,
    gemm(tA, tB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) {
      const sp = gemmSplit(M, N, K);
      const w = work(gemmWork, sp === null ? 1 : sp.ranges.length);
      const a = p(A), bb = p(B), c = p(C);
      if (sp === null) { run("gemm", [[b(tA), b(tB), M, N, K, alpha, a, lda, bb, ldb, beta, c, ldc, w.base]]); return; }
      run("gemm", sp.ranges.map(([lo, hi], t) => sp.cols
        ? [b(tA), b(tB), M, hi - lo, K, alpha, a, lda, bb + 4 * (tB ? lo * ldb : lo), ldb, beta, c + 4 * lo, ldc, w.base + t * w.stride]
        : [b(tA), b(tB), hi - lo, N, K, alpha, a + 4 * (tA ? lo : lo * lda), lda, bb, ldb, beta, c + 4 * lo * ldc, ldc, w.base + t * w.stride]));
    },
    gemmBatched(batch, tA, tB, M, N, K, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC) {
      const a = p(A), bb = p(B), c = p(C);
      const args = (nb: number, a0: number, b0: number, c0: number, m: number, nn: number, wp: number): KernelArgs<"gemmBatched"> =>
        [nb, b(tA), b(tB), m, nn, K, alpha, a0, lda, sA, b0, ldb, sB, beta, c0, ldc, sC, wp];
      const parts = partsFor(batch * M * N * K, MIN_MACS_PER_PART);
      if (parts > 1 && sC !== 0 && batch > 1) {
        // separate outputs: whole products per thread
        const ranges = splitRange(batch, 1, parts);
        const w = work(gemmWork, ranges.length);
        run("gemmBatched", ranges.map(([lo, hi], t) =>
          args(hi - lo, a + 4 * lo * sA, bb + 4 * lo * sB, c + 4 * lo * sC, M, N, w.base + t * w.stride)));
        return;
      }
      // one output summed over the batch (or a single product): split C, each thread over the
      // whole batch in order
      const sp = parts > 1 ? gemmSplit(M, N, K * batch) : null;
      const w = work(gemmWork, sp === null ? 1 : sp.ranges.length);
      if (sp === null) { run("gemmBatched", [args(batch, a, bb, c, M, N, w.base)]); return; }
      run("gemmBatched", sp.ranges.map(([lo, hi], t) => sp.cols
        ? args(batch, a, bb + 4 * (tB ? lo * ldb : lo), c + 4 * lo, M, hi - lo, w.base + t * w.stride)
        : args(batch, a + 4 * (tA ? lo : lo * lda), bb, c + 4 * lo * ldc, hi - lo, N, w.base + t * w.stride)));
    },
    fill: (y, v) => map("fill", 1, [p(y), n(y), v]),
    axpby: (x, y, a, bb) => map("axpby", 2, [p(x), p(y), n(y), a, bb]),
    add: (a, bb, y) => map("add", 3, [p(a), p(bb), p(y), n(y)]),
    sub: (a, bb, y) => map("sub", 3, [p(a), p(bb), p(y), n(y)]),
    mul: (a, bb, y, acc) => map("mul", 3, [p(a), p(bb), p(y), n(y), b(acc)]),
    addScalar: (x, y, c) => map("addScalar", 2, [p(x), p(y), n(y), c]),
    sum: (x) => sum(p(x), n(x)) as number,
    dot: (x, y) => dot(p(x), p(y), n(x)) as number,
    sinForward: (x, y, w) => map("sinForward", 2, [p(x), p(y), n(y), w]),
    sinBackward: (x, dy, dx, w, acc) => map("sinBackward", 3, [p(x), p(dy), p(dx), n(dx), w, b(acc)]),
    gatherRows(src, per, rows, dst) {
      const count = rows.length;
      // The kernel copies without bounds: a row outside src would read unrelated memory.
      const available = per > 0 ? Math.floor(src.length / per) : 0;
      for (let i = 0; i < count; i++) {
        if (!(rows[i] >= 0 && rows[i] < available)) throw new RangeError(`gatherRows: row ${rows[i]} is outside the ${available} rows of the source`);
      }
      if (dst.length < count * per) throw new RangeError(`gatherRows: the destination holds ${dst.length} floats, ${count} rows of ${per} need ${count * per}`);
      if (count === 0 || per === 0) return;
      // Random rows of a large zoo miss the caches: two threads keep twice the misses in flight.
      const parts = partsFor(count * per, MIN_FLOATS_PER_PART / 4);
      const [sp, rp, dp] = [p(src), p(rows), p(dst)];
      run("gatherRows", splitRange(count, 1, parts).map(([lo, hi]) => [sp, per, rp + 4 * lo, hi - lo, dp + 4 * lo * per]));
    },
    dropoutMask(state, mode, keep, mask, per) {
      const nets = keep.length;
      if (state.length < 4 * nets || mode.length < 2 * nets || mask.length < nets * per) {
        throw new RangeError(`dropoutMask: ${nets} networks of ${per} floats need 4 state words, 2 mode words and ${per} mask floats each`);
      }
      if (nets === 0) return;
      // Each network's mask comes from its own generator: networks split over threads freely.
      // Not on native, whose kernel runs 16 generators side by side and then only writes as fast
      // as memory takes it: one thread was faster than two for 8 to 64 networks.
      const parts = name === "native" ? 1 : partsFor(nets * per, MIN_FLOATS_PER_PART);
      const [sp, mp, kp, op] = [p(state), p(mode), p(keep), p(mask)];
      run("dropoutMask", splitRange(nets, 1, parts).map(([lo, hi]) => [sp + 16 * lo, mp + 8 * lo, kp + 4 * lo, op + 4 * lo * per, hi - lo, per]));
    },
    biasSinForward(z, bias, y, dydz, n0, n1, n2, w) {
      const parts = partsFor(n0 * n1 * n2, MIN_FLOATS_PER_PART / 4);
      const [zp, bp, yp, dp] = [p(z), p(bias), p(y), dydz === null ? 0 : p(dydz)];
      run("biasSinForward", splitRange(n0, 1, parts).map(([lo, hi]) => {
        const o = 4 * lo * n1 * n2;
        return [zp + o, bp + 4 * lo * n2, yp + o, dp === 0 ? 0 : dp + o, hi - lo, n1, n2, w];
      }));
    },
    cosForward: (x, y, w) => map("cosForward", 2, [p(x), p(y), n(y), w]),
    cosBackward: (x, dy, dx, w, acc) => map("cosBackward", 3, [p(x), p(dy), p(dx), n(dx), w, b(acc)]),
    expForward: (x, y) => map("expForward", 2, [p(x), p(y), n(y)]),
    tanhForward: (x, y) => map("tanhForward", 2, [p(x), p(y), n(y)]),
    tanhBackward: (y, dy, dx, acc) => map("tanhBackward", 3, [p(y), p(dy), p(dx), n(dx), b(acc)]),
    sigmoidForward: (x, y) => map("sigmoidForward", 2, [p(x), p(y), n(y)]),
    sigmoidBackward: (y, dy, dx, acc) => map("sigmoidBackward", 3, [p(y), p(dy), p(dx), n(dx), b(acc)]),
    leakyReluForward: (x, y, s) => map("leakyReluForward", 2, [p(x), p(y), n(y), s]),
    leakyReluBackward: (x, dy, dx, s, acc) => map("leakyReluBackward", 3, [p(x), p(dy), p(dx), n(dx), s, b(acc)]),
    geluForward: (x, y) => map("geluForward", 2, [p(x), p(y), n(y)]),
    geluBackward: (x, dy, dx, acc) => map("geluBackward", 3, [p(x), p(dy), p(dx), n(dx), b(acc)]),
    addChannel(x, bias, y, n0, n1, n2, n3) {
      const parts = partsFor(n0 * n1 * n2 * n3, MIN_FLOATS_PER_PART);
      const [xp, bp, yp] = [p(x), p(bias), p(y)];
      const plane = n1 * n2 * n3;
      if (n0 > 1 || parts === 1) {
        run("addChannel", splitRange(n0, 1, parts).map(([lo, hi]) =>
          [xp + 4 * lo * plane, bp + 4 * lo * n2, yp + 4 * lo * plane, hi - lo, n1, n2, n3]));
      } else {
        run("addChannel", splitRange(n1, 1, parts).map(([lo, hi]) =>
          [xp + 4 * lo * n2 * n3, bp, yp + 4 * lo * n2 * n3, 1, hi - lo, n2, n3]));
      }
    },
    sumChannel(x, out, n0, n1, n2, n3, acc) {
      // each output element sums its own i1, i3 in order: only n0 splits
      const parts = partsFor(n0 * n1 * n2 * n3, MIN_FLOATS_PER_PART);
      const [xp, op] = [p(x), p(out)];
      run("sumChannel", splitRange(n0, 1, parts).map(([lo, hi]) =>
        [xp + 4 * lo * n1 * n2 * n3, op + 4 * lo * n2, hi - lo, n1, n2, n3, b(acc)]));
    },
    meanLast(x, y, m, pp) {
      const parts = partsFor(m * pp, MIN_FLOATS_PER_PART);
      const [xp, yp] = [p(x), p(y)];
      run("meanLast", splitRange(m, 1, parts).map(([lo, hi]) => [xp + 4 * lo * pp, yp + 4 * lo, hi - lo, pp]));
    },
    meanLastBackward(dy, dx, m, pp, acc) {
      const parts = partsFor(m * pp, MIN_FLOATS_PER_PART);
      const [dyp, dxp] = [p(dy), p(dx)];
      run("meanLastBackward", splitRange(m, 1, parts).map(([lo, hi]) => [dyp + 4 * lo, dxp + 4 * lo * pp, hi - lo, pp, b(acc)]));
    },
    planeMoments(x, y, m, pp, eps) {
      const parts = partsFor(m * pp, MIN_FLOATS_PER_PART);
      const [xp, yp] = [p(x), p(y)];
      run("planeMoments", splitRange(m, 1, parts).map(([lo, hi]) => [xp + 4 * lo * pp, yp + 8 * lo, hi - lo, pp, eps]));
    },
    planeMomentsBackward(x, y, dy, dx, m, pp, acc) {
      const parts = partsFor(m * pp, MIN_FLOATS_PER_PART);
      const [xp, yp, dyp, dxp] = [p(x), p(y), p(dy), p(dx)];
      run("planeMomentsBackward", splitRange(m, 1, parts).map(([lo, hi]) => [xp + 4 * lo * pp, yp + 8 * lo, dyp + 8 * lo, dxp + 4 * lo * pp, hi - lo, pp, b(acc)]));
    },
    maxPool2dForward(x, y, argmax, planes, H, W, K, stride, pad, OH, OW) {
      const parts = partsFor(planes * OH * OW * K * K, MIN_FLOATS_PER_PART);
      const [xp, yp, ap] = [p(x), p(y), p(argmax)];
      run("maxPool2dForward", splitRange(planes, 1, parts).map(([lo, hi]) =>
        [xp + 4 * lo * H * W, yp + 4 * lo * OH * OW, ap + 4 * lo * OH * OW, hi - lo, H, W, K, stride, pad, OH, OW]));
    },
    maxPool2dBackward(dy, argmax, dx, planes, H, W, OH, OW, acc) {
      const parts = partsFor(planes * H * W, MIN_FLOATS_PER_PART);
      const [dyp, ap, dxp] = [p(dy), p(argmax), p(dx)];
      run("maxPool2dBackward", splitRange(planes, 1, parts).map(([lo, hi]) =>
        [dyp + 4 * lo * OH * OW, ap + 4 * lo * OH * OW, dxp + 4 * lo * H * W, hi - lo, H, W, OH, OW, b(acc)]));
    },
    softmaxCrossEntropy: (logits, labels, nn, c, grad) =>
      ce(p(logits), p(labels), nn, c, grad === null ? 0 : p(grad)) as number,
    mse: (pred, target, grad) => mse(p(pred), p(target), n(pred), grad === null ? 0 : p(grad)) as number,
    adamStep: (pp, g, m, v, lr, b1, b2, eps, bc1, bc2Sqrt, wd) =>
      map("adamStep", 4, [p(pp), p(g), p(m), p(v), n(pp), lr, b1, b2, eps, bc1, bc2Sqrt, wd]),
    rmspropStep: (pp, g, v, lr, rho, eps) => map("rmspropStep", 3, [p(pp), p(g), p(v), n(pp), lr, rho, eps]),
    im2col: (x, g, cols) => void im2col(p(x), ...geo(g), p(cols)),
    col2im: (cols, g, x) => void col2im(p(cols), ...geo(g), p(x)),
    conv2dForward(s, x, w, y, bias, relu) {
      const images = s.xShared ? s.nImg : s.nNet * s.nImg;
      const ranges = splitRange(images, 1, partsFor(zooMacs(s), MIN_MACS_PER_PART));
      const wk = work(zooWorkFloats(s), ranges.length);
      const head = [...zoo(s), p(x), p(w), bias === null ? 0 : p(bias), b(relu), p(y)] as const;
      run("conv2dForward", ranges.map(([lo, hi], t) => [...head, wk.base + t * wk.stride, lo, hi]));
    },
    conv2dBackwardInput(s, dy, w, dx, acc, mask = null) {
      const images = s.xShared ? s.nImg : s.nNet * s.nImg;
      const ranges = splitRange(images, 1, partsFor(zooMacs(s), MIN_MACS_PER_PART));
      const wk = work(zooWorkFloats(s), ranges.length);
      const head = [...zoo(s), p(dy), p(w), p(dx), b(acc)] as const;
      const masked = mask === null ? 0 : p(mask);
      run("conv2dBackwardInput", ranges.map(([lo, hi], t) => [...head, wk.base + t * wk.stride, lo, hi, masked]));
    },
    conv2dBackwardWeight(s, x, dy, dw, acc) {
      const parts = partsFor(zooMacs(s), MIN_MACS_PER_PART);
      const CKK = s.C * s.KH * s.KW;
      // whole networks per thread when there are enough, else columns of each weight gradient
      const byNet = s.nNet >= parts;
      const ranges = byNet ? splitRange(s.nNet, 1, parts) : splitRange(CKK, 8, parts);
      const wk = work(zooWorkFloats(s), ranges.length);
      const head = [...zoo(s), p(x), p(dy), p(dw), b(acc)] as const;
      run("conv2dBackwardWeight", ranges.map(([lo, hi], t) =>
        [...head, wk.base + t * wk.stride, ...(byNet ? [lo, hi, 0, CKK] as const : [0, s.nNet, lo, hi] as const)]));
    },
    convTranspose2dForward(s, x, w, y) {
      const ranges = splitRange(s.n, 4, partsFor(convTMacs(s), MIN_MACS_PER_PART));
      const wk = work(convTWork(s.n, s.Cin, s.H, s.W, s.Cout, s.KH, s.KW) as number, ranges.length);
      const head = [...convT(s), p(x), p(w), p(y)] as const;
      run("convTranspose2dForward", ranges.map(([lo, hi], t) => [...head, wk.base + t * wk.stride, lo, hi]));
    },
    convTranspose2dBackward(s, x, w, dy, dx, accX, dw, accW) {
      const parts = partsFor(convTMacs(s), MIN_MACS_PER_PART);
      const CKK = s.Cout * s.KH * s.KW;
      // dx by images; dw by its columns, or by its rows where it has few columns (an image's
      // last layer): each thread one range of each
      const xr = splitRange(s.n, 4, parts);
      const byCols = CKK >= 16 * parts;
      const wr = byCols ? splitRange(CKK, 8, parts) : splitRange(s.Cin, 4, parts);
      const count = Math.max(xr.length, wr.length);
      const wk = work(convTWork(s.n, s.Cin, s.H, s.W, s.Cout, s.KH, s.KW) as number, count);
      const head = [...convT(s), p(x), p(w), p(dy), dx === null ? 0 : p(dx), b(accX), dw === null ? 0 : p(dw), b(accW)] as const;
      run("convTranspose2dBackward", Array.from({ length: count }, (_, t) => {
        const r = wr[t];
        const dwRange: [number, number, number, number] = r === undefined ? [0, 0, 0, 0] : byCols ? [r[0], r[1], 0, s.Cin] : [0, CKK, r[0], r[1]];
        return [...head, wk.base + t * wk.stride, ...(xr[t] ?? [0, 0]), ...dwRange];
      }));
    },

  };
}
