// Max pooling over planes [planes, H, W] -> [planes, OH, OW], with the position of each
// window's maximum kept for the backward pass. As PyTorch's CPU kernel: the maximum is the first
// strictly greater value in scan order (a NaN wins), starting from the window's first element.

@inline function bytes(n: i32): usize { return (<usize>n) << 2; }

export function maxPool2dForward(
  x: usize, y: usize, arg: usize, planes: i32, H: i32, W: i32, K: i32, s: i32, p: i32, OH: i32, OW: i32,
): void {
  for (let n = 0; n < planes; n++) {
    const xp = x + bytes(n * H * W);
    const o = n * OH * OW;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = max(oh * s - p, 0), h1 = min(oh * s - p + K, H);
      for (let ow = 0; ow < OW; ow++) {
        const w0 = max(ow * s - p, 0), w1 = min(ow * s - p + K, W);
        let best: f32 = -Infinity;
        let at = h0 * W + w0;
        for (let ih = h0; ih < h1; ih++) {
          for (let iw = w0; iw < w1; iw++) {
            const v = load<f32>(xp + bytes(ih * W + iw));
            if (v > best || v != v) { best = v; at = ih * W + iw; }
          }
        }
        store<f32>(y + bytes(o + oh * OW + ow), best);
        store<i32>(arg + bytes(o + oh * OW + ow), at);
      }
    }
  }
}

// dx (+)= dy routed to each window's maximum.
export function maxPool2dBackward(dy: usize, arg: usize, dx: usize, planes: i32, H: i32, W: i32, OH: i32, OW: i32, acc: bool): void {
  if (!acc) memory.fill(dx, 0, bytes(planes * H * W));
  for (let n = 0; n < planes; n++) {
    const d = dx + bytes(n * H * W);
    const o = n * OH * OW;
    for (let q = 0; q < OH * OW; q++) {
      const at = d + bytes(load<i32>(arg + bytes(o + q)));
      store<f32>(at, load<f32>(at) + load<f32>(dy + bytes(o + q)));
    }
  }
}
