// Tensor memory past the WASM memory's 4 GiB, which only the native backend reaches. The WASM
// memory is filled with blocks nothing writes (address space, not resident memory), so the
// tensors under test land in a native region; the same computation on copies inside the WASM
// memory must give the same bits, and the reference kernels the same values.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng, Tensor, backward, conv2d, getRuntime, globalAvgPool, linear, mseLoss, relu, tidy, withBackend } from "../src/engine/index.js";
import { nativeUnavailable } from "../src/engine/kernels/native.js";
import { assertClose, fastBackends } from "./helpers.js";

const native = fastBackends().includes("native");
const inWasm = (t: Tensor) => t.data.buffer instanceof SharedArrayBuffer;

/** Fills what is left of the WASM memory with unwritten blocks, largest first; returns them. */
function fillWasmMemory(): Tensor[] {
  const fillers: Tensor[] = [];
  for (let floats = 2 ** 28; floats >= 16; ) {
    const t = Tensor.empty([floats], { persistent: true });
    if (inWasm(t)) fillers.push(t);
    else { t.dispose(); floats /= 2; }
  }
  return fillers;
}

/** A copy of `src` in a block past the WASM memory (blocks still free inside it are taken as fillers). */
function copyPast(src: Tensor, fillers: Tensor[]): Tensor {
  for (;;) {
    const t = Tensor.empty(src.shape, { persistent: true });
    if (!inWasm(t)) { t.data.set(src.data); return t; }
    fillers.push(t);
  }
}

test("native: tensors past 4 GiB compute as they do inside the WASM memory, and the WASM kernels refuse them", { skip: native ? false : `native kernels unavailable: ${nativeUnavailable()}` }, () => {
  withBackend("native", () => {
    const heap = getRuntime().heap;
    const rng = new Rng(5, "past-4gib");
    const make = (shape: number[], std: number) => {
      const t = Tensor.empty(shape, { persistent: true });
      rng.fillNormal(t.data, 0, std);
      return t;
    };
    // A zoo of 3 networks: conv 2->4 (3x3, stride 2), ReLU, average pool, linear 4->1, MSE.
    const inside = [make([3, 5, 2, 9, 9], 1), make([3, 4, 2, 3, 3], 0.5), make([3, 4], 0.1), make([3, 1, 4], 0.5), make([3, 1], 0.1)];
    const targets = [0.3, -0.2, 0.7, 0.1, 0.5, -0.4, 0.2, 0.0, 0.9, -0.1, 0.4, 0.6, -0.3, 0.8, 0.05];
    const step = (xs: Tensor[]) => tidy(() => {
      const [x, w, b, fw, fb] = xs.map((t) => t.requireGrad());
      const h = globalAvgPool(relu(conv2d(x, w, b, { stride: 2, padding: 1 }))); // [3, 5, 4]
      const loss = mseLoss(linear(h, fw, fb), targets);
      for (const t of xs) t.grad = null;
      backward(loss);
      return { loss: loss.item(), grads: xs.map((t) => Float32Array.from(t.grad!.data)) };
    });
    const want = step(inside);

    const fillers = fillWasmMemory();
    const past = inside.map((t) => copyPast(t, fillers));
    for (const t of past) assert.ok(heap.addressOf(t.data) !== null && !inWasm(t), "the copies live past the WASM memory");
    assert.ok(heap.stats().liveBytes > 2 ** 32, `live tensor memory ${heap.stats().liveBytes} bytes, past 4 GiB`);
    const got = step(past);
    assert.equal(got.loss, want.loss, "the same loss, bit for bit");
    got.grads.forEach((g, i) => assert.deepEqual(g, want.grads[i], `gradient ${i}: the same bits`));
    const ref = withBackend("reference", () => step(past));
    assertClose(new Float32Array([got.loss]), new Float32Array([ref.loss]), 1e-5, 0, "loss against the reference");
    got.grads.forEach((g, i) => assertClose(g, ref.grads[i], 1e-4, 1e-7, `gradient ${i} against the reference`));

    // The WASM kernels reach only the WASM memory; allocation past it is the native backend's.
    // (The fillers under 1 MiB make room inside it for the outputs.)
    for (const t of fillers.filter((f) => f.size < 2 ** 18)) t.dispose();
    withBackend("wasm", () => {
      assert.throws(() => tidy(() => { relu(past[0]); }), /past the WASM memory's 4 GiB.*the WASM kernels cannot reach it/);
      assert.throws(() => Tensor.empty([2 ** 28]), /out of tensor memory: .*limit 4 GiB.*--backend native/);
    });
    // A freed block past 4 GiB is reused, and one tensor may not pass 4 GiB.
    past[0].dispose();
    const reserved = heap.stats().reservedBytes;
    const again = copyPast(inside[0], fillers);
    assert.ok(heap.stats().reservedBytes <= reserved, "freed blocks serve the next request: nothing more is reserved");
    assert.throws(() => Tensor.empty([2 ** 30 + 1]), /a tensor may hold at most 4 GiB/);
    for (const t of [...fillers.filter((f) => !f.disposed), ...past.slice(1), again, ...inside]) t.dispose();
  });
});
