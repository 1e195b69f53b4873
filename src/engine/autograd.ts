// Reverse-mode differentiation over the GradNodes that ops record.
import { Tensor, isGradEnabled, type GradNode } from "./tensor.js";

/** Whether an op with these inputs should record a node. */
export function needsGrad(...inputs: (Tensor | null | undefined)[]): boolean {
  if (!isGradEnabled()) return false;
  for (const t of inputs) if (t != null && t.requiresGrad) return true;
  return false;
}

/** Attaches a backward rule to an op's output (when any input needs a gradient). */
export function record(out: Tensor, op: string, inputs: readonly (Tensor | null | undefined)[],
  backward: (gradOutput: Float32Array) => void): Tensor {
  const live = inputs.filter((t): t is Tensor => t != null);
  if (!needsGrad(...live)) return out;
  out.requiresGrad = true;
  const node: GradNode = { op, inputs: live, backward };
  out.node = node;
  return out;
}

/**
 * Where to write t's gradient: its buffer, and whether to add to it (true) or overwrite it
 * (false, the first contribution of this pass). Returns null when t needs no gradient.
 */
export function gradSink(t: Tensor | null | undefined): { g: Float32Array; acc: boolean } | null {
  if (t == null || !t.requiresGrad) return null;
  const fresh = t.grad === null || t.grad.disposed;
  const g = t.gradBuffer();
  const acc = t.gradValid && !fresh;
  t.gradValid = true;
  return { g: g.data, acc };
}

/** Marks the gradients of these tensors stale, so the next backward() overwrites them. */
export function zeroGrad(tensors: Iterable<Tensor>): void {
  for (const t of tensors) t.gradValid = false;
}

/**
 * Computes d(root)/d(t) for every tensor t that requires a gradient and that root depends on.
 * root must be a scalar unless seed (d(loss)/d(root), root's shape) is given.
 */
export function backward(root: Tensor, seed?: Float32Array): void {
  if (!root.requiresGrad) throw new Error("backward(): the tensor does not depend on anything that requires a gradient");
  if (seed === undefined && root.size !== 1) {
    throw new Error(`backward(): root has shape [${root.shape.join(",")}]; pass a seed gradient for non-scalars`);
  }
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative DFS post-order: inputs before the tensors made from them.
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.node?.inputs ?? [];
    if (i < inputs.length) {
      top[1] = i + 1;
      const u = inputs[i];
      if (!seen.has(u) && u.requiresGrad) { seen.add(u); stack.push([u, 0]); }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  for (const t of order) {
    if (t.disposed) {
      throw new Error(`backward(): a tensor of shape [${t.shape.join(",")}]${t.node ? ` made by ${t.node.op}` : ""} was freed before backward (made in a tidy() that already returned)`);
    }
    if (t.node !== null) t.gradValid = false;
  }
  const sink = gradSink(root)!;
  if (seed === undefined) sink.g.fill(1);
  else sink.g.set(seed);
  for (let i = order.length - 1; i >= 0; i--) {
    const t = order[i];
    if (t.node !== null && t.gradValid && t.grad !== null) {
      t.node.backward(t.grad.data);
    }
  }
}
