// Broadcast and reduction over a 4-axis view [n0, n1, n2, n3] with a "channel" operand
// [n0, n2]. This one pattern covers a shared bias on rows ([1, R, C, 1] + [1, C]), a
// per-network bias ([B, K, O, 1] + [B, O]) and a per-network conv bias ([B, K, O, HW] + [B, O]).

// y = x + bias[i0, i2] (y may alias x)
export function addChannel(x: usize, bias: usize, y: usize, n0: i32, n1: i32, n2: i32, n3: i32): void {
  for (let i0 = 0; i0 < n0; i0++) {
    const bRow = bias + ((<usize>i0 * <usize>n2) << 2);
    for (let i1 = 0; i1 < n1; i1++) {
      const off = ((<usize>i0 * <usize>n1 + <usize>i1) * <usize>n2 * <usize>n3) << 2;
      const xs = x + off, ys = y + off;
      if (n3 == 1) {
        let i2 = 0;
        for (; i2 + 4 <= n2; i2 += 4) {
          const o = <usize>i2 << 2;
          v128.store(ys + o, f32x4.add(v128.load(xs + o), v128.load(bRow + o)));
        }
        for (; i2 < n2; i2++) {
          const o = <usize>i2 << 2;
          store<f32>(ys + o, load<f32>(xs + o) + load<f32>(bRow + o));
        }
      } else {
        for (let i2 = 0; i2 < n2; i2++) {
          const bv = load<f32>(bRow + (<usize>i2 << 2));
          const vb = f32x4.splat(bv);
          const base = <usize>i2 * <usize>n3;
          let i3 = 0;
          for (; i3 + 4 <= n3; i3 += 4) {
            const o = (base + <usize>i3) << 2;
            v128.store(ys + o, f32x4.add(v128.load(xs + o), vb));
          }
          for (; i3 < n3; i3++) {
            const o = (base + <usize>i3) << 2;
            store<f32>(ys + o, load<f32>(xs + o) + bv);
          }
        }
      }
    }
  }
}

// out[i0, i2] (+)= sum over i1, i3 of x[i0, i1, i2, i3]
export function sumChannel(x: usize, out: usize, n0: i32, n1: i32, n2: i32, n3: i32, acc: bool): void {
  for (let i0 = 0; i0 < n0; i0++) {
    const oRow = out + ((<usize>i0 * <usize>n2) << 2);
    if (!acc) memory.fill(oRow, 0, <usize>n2 << 2);
    for (let i1 = 0; i1 < n1; i1++) {
      const xs = x + (((<usize>i0 * <usize>n1 + <usize>i1) * <usize>n2 * <usize>n3) << 2);
      if (n3 == 1) {
        let i2 = 0;
        for (; i2 + 4 <= n2; i2 += 4) {
          const o = <usize>i2 << 2;
          v128.store(oRow + o, f32x4.add(v128.load(oRow + o), v128.load(xs + o)));
        }
        for (; i2 < n2; i2++) {
          const o = <usize>i2 << 2;
          store<f32>(oRow + o, load<f32>(oRow + o) + load<f32>(xs + o));
        }
      } else {
        for (let i2 = 0; i2 < n2; i2++) {
          const row = xs + ((<usize>i2 * <usize>n3) << 2);
          let s = f32x4.splat(0);
          let i3 = 0;
          for (; i3 + 4 <= n3; i3 += 4) s = f32x4.add(s, v128.load(row + (<usize>i3 << 2)));
          let t = f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
          for (; i3 < n3; i3++) t += load<f32>(row + (<usize>i3 << 2));
          const o = oRow + (<usize>i2 << 2);
          store<f32>(o, load<f32>(o) + t);
        }
      }
    }
  }
}

// The sum of p floats from row: four lanes, then the tail.
@inline function rowSum(row: usize, p: i32): f32 {
  let s = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= p; j += 4) s = f32x4.add(s, v128.load(row + (<usize>j << 2)));
  let t = f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
  for (; j < p; j++) t += load<f32>(row + (<usize>j << 2));
  return t;
}

// y[m] = mean of x[m, 0..p)  (global average pooling over the last axis)
export function meanLast(x: usize, y: usize, m: i32, p: i32): void {
  const inv: f32 = 1 / <f32>p;
  for (let i = 0; i < m; i++) store<f32>(y + (<usize>i << 2), rowSum(x + ((<usize>i * <usize>p) << 2), p) * inv);
}

// dx[m, j] (+)= dy[m] / p
export function meanLastBackward(dy: usize, dx: usize, m: i32, p: i32, acc: bool): void {
  const inv: f32 = 1 / <f32>p;
  for (let i = 0; i < m; i++) {
    const g = load<f32>(dy + (<usize>i << 2)) * inv;
    const vg = f32x4.splat(g);
    const row = dx + ((<usize>i * <usize>p) << 2);
    let j = 0;
    for (; j + 4 <= p; j += 4) {
      const o = row + (<usize>j << 2);
      v128.store(o, acc ? f32x4.add(v128.load(o), vg) : vg);
    }
    for (; j < p; j++) {
      const o = row + (<usize>j << 2);
      store<f32>(o, acc ? load<f32>(o) + g : g);
    }
  }
}

// y[2i] = mean of x[i, 0..p), y[2i+1] = sqrt(variance + eps): each plane's mean and standard
// deviation, the variance taken about the mean in a second pass (no cancellation of large means).
export function planeMoments(x: usize, y: usize, m: i32, p: i32, eps: f32): void {
  const inv: f32 = 1 / <f32>p;
  for (let i = 0; i < m; i++) {
    const row = x + ((<usize>i * <usize>p) << 2);
    const mean = rowSum(row, p) * inv;
    const vm = f32x4.splat(mean);
    let q = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= p; j += 4) {
      const d = f32x4.sub(v128.load(row + (<usize>j << 2)), vm);
      q = f32x4.add(q, f32x4.mul(d, d));
    }
    let u = f32x4.extract_lane(q, 0) + f32x4.extract_lane(q, 1) + f32x4.extract_lane(q, 2) + f32x4.extract_lane(q, 3);
    for (; j < p; j++) {
      const d = load<f32>(row + (<usize>j << 2)) - mean;
      u += d * d;
    }
    store<f32>(y + (<usize>i << 3), mean);
    store<f32>(y + (<usize>i << 3) + 4, Mathf.sqrt(u * inv + eps));
  }
}

// dx[i, j] (+)= dy[2i] / p + dy[2i+1] (x[i, j] - mean_i) / (p std_i), from planeMoments' y
export function planeMomentsBackward(x: usize, y: usize, dy: usize, dx: usize, m: i32, p: i32, acc: bool): void {
  const inv: f32 = 1 / <f32>p;
  for (let i = 0; i < m; i++) {
    const mean = load<f32>(y + (<usize>i << 3));
    const gm = load<f32>(dy + (<usize>i << 3)) * inv;
    const gs = load<f32>(dy + (<usize>i << 3) + 4) * inv / load<f32>(y + (<usize>i << 3) + 4);
    const xr = x + ((<usize>i * <usize>p) << 2);
    const dr = dx + ((<usize>i * <usize>p) << 2);
    const vm = f32x4.splat(mean), vgm = f32x4.splat(gm), vgs = f32x4.splat(gs);
    let j = 0;
    for (; j + 4 <= p; j += 4) {
      const o = dr + (<usize>j << 2);
      const g = f32x4.add(vgm, f32x4.mul(vgs, f32x4.sub(v128.load(xr + (<usize>j << 2)), vm)));
      v128.store(o, acc ? f32x4.add(v128.load(o), g) : g);
    }
    for (; j < p; j++) {
      const o = dr + (<usize>j << 2);
      const g = gm + gs * (load<f32>(xr + (<usize>j << 2)) - mean);
      store<f32>(o, acc ? load<f32>(o) + g : g);
    }
  }
}
